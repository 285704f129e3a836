using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace ApiGateway.Host.Tests.Support;

/// <summary>What a server answered to one ClientHello.</summary>
internal sealed record ProbeAnswer(bool Accepted, ushort Version, TlsCipherSuite Suite, string Detail)
{
    public override string ToString() => Accepted ? $"accepted: 0x{Version:X4} {Suite}" : $"refused: {Detail}";
}

/// <summary>
/// A handshake probe that does what testssl.sh does for protocols and cipher suites: it writes a raw ClientHello
/// with exactly the version and suites asked for, and reads whether the server answers with a ServerHello (and which
/// suite it chose) or with an alert. It is written by hand, not with a TLS library, because a client library refuses
/// to offer what its own policy forbids (OpenSSL 3 will not send TLS 1.0 or RC4 at its default security level), and a
/// probe that cannot offer a suite would "prove" the server refuses it.
/// </summary>
internal static class TlsProbe
{
    public const ushort Ssl30 = 0x0300;
    public const ushort Tls10 = 0x0301;
    public const ushort Tls11 = 0x0302;
    public const ushort Tls12 = 0x0303;

    /// <summary>Offers <paramref name="suites"/> at <paramref name="version"/> to 127.0.0.1:<paramref name="port"/> with SNI <paramref name="serverName"/>.</summary>
    public static async Task<ProbeAnswer> HelloAsync(int port, string serverName, ushort version, IReadOnlyCollection<TlsCipherSuite> suites)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(ClientHello(serverName, version, suites), timeout.Token);
        var header = new byte[5];
        if (!await ReadExactlyAsync(stream, header, timeout.Token))
            return new ProbeAnswer(false, 0, default, "the server closed the connection without answering");
        var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(3));
        var body = new byte[length];
        if (!await ReadExactlyAsync(stream, body, timeout.Token))
            return new ProbeAnswer(false, 0, default, "the server closed the connection in the middle of a record");
        switch (header[0])
        {
            case 21 when body.Length >= 2:
                return new ProbeAnswer(false, 0, default, $"alert {body[1]} ({AlertName(body[1])})");
            case 22 when body.Length >= 4 + 2 + 32 + 1 && body[0] == 2:
                // ServerHello: type(1) length(3) version(2) random(32) session_id(1 + n) cipher_suite(2)
                var serverVersion = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(4));
                var sessionIdLength = body[4 + 2 + 32];
                var suiteAt = 4 + 2 + 32 + 1 + sessionIdLength;
                var suite = (TlsCipherSuite)BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(suiteAt));
                return new ProbeAnswer(true, serverVersion, suite, "ServerHello");
            default:
                return new ProbeAnswer(false, 0, default, $"record type {header[0]}, first byte {(body.Length > 0 ? body[0] : -1)}");
        }
    }

    /// <summary>
    /// Every suite of <paramref name="suites"/> the server accepts at <paramref name="version"/>: offers them all,
    /// removes the one the server chose, and asks again until it refuses (as testssl.sh's cipher enumeration does).
    /// </summary>
    public static async Task<List<TlsCipherSuite>> AcceptedSuitesAsync(int port, string serverName, ushort version, IEnumerable<TlsCipherSuite> suites)
    {
        var left = suites.ToList();
        var accepted = new List<TlsCipherSuite>();
        while (left.Count > 0)
        {
            var answer = await HelloAsync(port, serverName, version, left);
            if (!answer.Accepted || !left.Remove(answer.Suite))
                break;
            accepted.Add(answer.Suite);
        }
        return accepted;
    }

    private static async Task<bool> ReadExactlyAsync(NetworkStream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException)
        {
            return false;
        }
    }

    /// <summary>A ClientHello record (RFC 5246 §7.4.1.2) with SNI, groups, point formats, signature algorithms and secure renegotiation.</summary>
    internal static byte[] ClientHello(string serverName, ushort version, IReadOnlyCollection<TlsCipherSuite> suites)
    {
        var extensions = new List<byte>();
        var name = Encoding.ASCII.GetBytes(serverName);
        // server_name: list(2) [type 0, name(2)]
        Extension(extensions, 0x0000, [.. U16(name.Length + 3), 0, .. U16(name.Length), .. name]);
        // supported_groups: x25519, secp256r1, secp384r1, secp521r1
        Extension(extensions, 0x000A, [.. U16(8), 0x00, 0x1D, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19]);
        // ec_point_formats: uncompressed
        Extension(extensions, 0x000B, [1, 0]);
        if (version >= Tls12)
        {
            // signature_algorithms: ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384, rsa_pss_rsae_sha256/384, rsa_pkcs1_sha256/384, rsa_pkcs1_sha1, ecdsa_sha1
            byte[] algorithms = [0x04, 0x03, 0x05, 0x03, 0x08, 0x04, 0x08, 0x05, 0x04, 0x01, 0x05, 0x01, 0x02, 0x01, 0x02, 0x03];
            Extension(extensions, 0x000D, [.. U16(algorithms.Length), .. algorithms]);
        }
        // renegotiation_info (empty): servers that insist on secure renegotiation answer it.
        Extension(extensions, 0xFF01, [0]);

        var hello = new List<byte>();
        hello.AddRange(U16(version));
        hello.AddRange(RandomNumberGenerator.GetBytes(32));
        hello.Add(0); // no session id
        hello.AddRange(U16(suites.Count * 2));
        foreach (var suite in suites)
            hello.AddRange(U16((int)suite));
        hello.Add(1); // compression methods: null only
        hello.Add(0);
        if (version > Ssl30)
        {
            hello.AddRange(U16(extensions.Count));
            hello.AddRange(extensions);
        }

        var handshake = new List<byte> { 1 }; // client_hello
        handshake.AddRange(U24(hello.Count));
        handshake.AddRange(hello);
        // The record layer says TLS 1.0 for any ClientHello (RFC 8446 §5.1 compatibility), SSL 3.0 for an SSL 3.0 one.
        var record = new List<byte> { 22 };
        record.AddRange(U16(version == Ssl30 ? Ssl30 : Tls10));
        record.AddRange(U16(handshake.Count));
        record.AddRange(handshake);
        return [.. record];
    }

    private static void Extension(List<byte> into, int type, byte[] data)
    {
        into.AddRange(U16(type));
        into.AddRange(U16(data.Length));
        into.AddRange(data);
    }

    private static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];

    private static byte[] U24(int value) => [(byte)(value >> 16), (byte)(value >> 8), (byte)value];

    private static string AlertName(byte code) => code switch
    {
        40 => "handshake_failure",
        47 => "illegal_parameter",
        50 => "decode_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        112 => "unrecognized_name",
        _ => "alert",
    };
}
