using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ApiGateway.Host.Tests.Support;

/// <summary>
/// Abusive clients for the abuse tests, each bounded in count and time. They talk to 127.0.0.1 only and stop by
/// themselves.
/// </summary>
internal static class Attackers
{
    /// <summary>An attacker does not care whose server it talks to; it only needs one that presents a certificate.</summary>
    private static bool AnyServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) => certificate is not null;

    /// <summary>
    /// Full TLS handshakes in a loop from <paramref name="parallel"/> clients until <paramref name="duration"/> is over,
    /// presenting <paramref name="certificate"/> (or none). Returns how many handshakes were attempted and how many
    /// the server refused.
    /// </summary>
    public static async Task<(int Attempts, int Refused)> HandshakeFloodAsync(int port, string host, X509Certificate2? certificate, TimeSpan duration, int parallel = 4)
    {
        var attempts = 0;
        var refused = 0;
        var watch = Stopwatch.StartNew();
        async Task Loop()
        {
            while (watch.Elapsed < duration)
            {
                Interlocked.Increment(ref attempts);
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    using var tcp = new TcpClient();
                    await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
                    await using var ssl = new SslStream(tcp.GetStream());
                    var options = new SslClientAuthenticationOptions
                    {
                        TargetHost = host,
                        RemoteCertificateValidationCallback = AnyServerCertificate,
                    };
                    if (certificate is not null)
                    {
                        options.ClientCertificates = [certificate];
                        options.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
                    }
                    await ssl.AuthenticateAsClientAsync(options, timeout.Token);
                    // TLS 1.3 reports a refused client certificate on the first read.
                    await ssl.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), timeout.Token);
                    var buffer = new byte[1];
                    if (await ssl.ReadAsync(buffer, timeout.Token) == 0)
                        Interlocked.Increment(ref refused);
                }
                catch (Exception ex) when (ex is IOException or SocketException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(_ => Loop()));
        return (attempts, refused);
    }

    /// <summary>An open connection held by an attacker, and when the server closed it.</summary>
    internal sealed class HeldConnection : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly Stopwatch _since = Stopwatch.StartNew();

        public HeldConnection(TcpClient tcp, Stream stream)
        {
            _tcp = tcp;
            Stream = stream;
        }

        public Stream Stream { get; }

        /// <summary>Time from opening to the server closing it; null while open.</summary>
        public TimeSpan? ClosedAfter { get; private set; }

        /// <summary>Completes when the server closes the connection (reads and drops whatever it sends).</summary>
        public async Task WatchAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[4096];
            try
            {
                while (await Stream.ReadAsync(buffer, cancellationToken) > 0)
                {
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
            {
            }
            catch (OperationCanceledException)
            {
                return;
            }
            ClosedAfter = _since.Elapsed;
        }

        public void Dispose()
        {
            Stream.Dispose();
            _tcp.Dispose();
        }
    }

    /// <summary>Opens a TCP connection and, when <paramref name="tls"/>, completes a TLS handshake without client certificate.</summary>
    public static async Task<HeldConnection> OpenAsync(int port, bool tls, string host = "localhost", CancellationToken cancellationToken = default)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        Stream stream = tcp.GetStream();
        if (tls)
        {
            var ssl = new SslStream(stream);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                RemoteCertificateValidationCallback = AnyServerCertificate,
            }, cancellationToken);
            stream = ssl;
        }
        return new HeldConnection(tcp, stream);
    }

    /// <summary>
    /// A TLS handshake, then an HTTP/2 connection that opens streams and resets each at once (CVE-2023-44487, "rapid
    /// reset"), until the server closes the connection, <paramref name="maxStreams"/> were sent or
    /// <paramref name="duration"/> is over. Returns the streams sent and whether the server ended the connection
    /// (GOAWAY or close).
    /// </summary>
    public static async Task<RapidResetResult> RapidResetAsync(int port, string path, X509Certificate2? certificate, TimeSpan duration, int maxStreams)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var ssl = new SslStream(tcp.GetStream());
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            RemoteCertificateValidationCallback = AnyServerCertificate,
        };
        if (certificate is not null)
        {
            options.ClientCertificates = [certificate];
            options.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        }
        await ssl.AuthenticateAsClientAsync(options);
        if (ssl.NegotiatedApplicationProtocol != SslApplicationProtocol.Http2)
            throw new InvalidOperationException("The gateway did not negotiate HTTP/2.");

        var goAway = new TaskCompletionSource<int?>(TaskCreationOptions.RunContinuationsAsynchronously);
        int? maxConcurrentStreams = null;
        var settings = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            var header = new byte[9];
            try
            {
                while (true)
                {
                    await ssl.ReadExactlyAsync(header);
                    var length = (header[0] << 16) | (header[1] << 8) | header[2];
                    var payload = new byte[length];
                    await ssl.ReadExactlyAsync(payload);
                    if (header[3] == 0x4 && (header[4] & 0x1) == 0) // SETTINGS (not an ACK): id(2) value(4) pairs
                    {
                        for (var at = 0; at + 6 <= payload.Length; at += 6)
                        {
                            if (BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(at)) == 0x3)
                                maxConcurrentStreams = (int)BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(at + 2));
                        }
                        settings.TrySetResult();
                    }
                    if (header[3] == 0x7) // GOAWAY: last-stream-id(4) error-code(4)
                        goAway.TrySetResult(length >= 8 ? (int)BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(4)) : null);
                }
            }
            catch (Exception ex) when (ex is IOException or EndOfStreamException or ObjectDisposedException)
            {
                goAway.TrySetResult(null);
            }
        });

        var frames = new MemoryStream();
        frames.Write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8);
        Frame(frames, 0x4, 0, 0, []); // SETTINGS (defaults)
        await ssl.WriteAsync(frames.ToArray());
        // The server's SETTINGS first: once the flood makes it reset the connection, unread bytes are lost.
        await Task.WhenAny(settings.Task, goAway.Task, Task.Delay(TimeSpan.FromSeconds(5)));
        var block = HeaderBlock(path);
        var streams = 0;
        var watch = Stopwatch.StartNew();
        try
        {
            while (streams < maxStreams && watch.Elapsed < duration && !goAway.Task.IsCompleted)
            {
                frames.SetLength(0);
                for (var i = 0; i < 50 && streams < maxStreams; i++)
                {
                    var id = 1 + (2 * streams++);
                    Frame(frames, 0x1, 0x4 | 0x1, id, block); // HEADERS, END_HEADERS | END_STREAM
                    Frame(frames, 0x3, 0, id, [0, 0, 0, 0x8]); // RST_STREAM CANCEL
                }
                await ssl.WriteAsync(frames.ToArray());
            }
        }
        catch (IOException)
        {
            // The server closed the connection under us.
        }
        var closed = await Task.WhenAny(goAway.Task, Task.Delay(TimeSpan.FromSeconds(1))) == goAway.Task;
        var code = closed ? await goAway.Task : null;
        tcp.Close();
        await Task.WhenAny(reader, Task.Delay(TimeSpan.FromSeconds(2)));
        return new RapidResetResult(streams, closed, code, maxConcurrentStreams);
    }

    /// <summary>What one rapid-reset connection did: streams sent, whether the server ended it, its GOAWAY code and advertised stream limit.</summary>
    internal sealed record RapidResetResult(int Streams, bool ServerClosed, int? GoAwayError, int? MaxConcurrentStreams);

    private static byte[] HeaderBlock(string path)
    {
        // HPACK (RFC 7541): :method GET (static 2), :scheme https (static 7), :path and :authority as literals
        // without indexing (so every stream's block is the same bytes).
        var block = new List<byte> { 0x82, 0x87 };
        Literal(block, 0x04, path);
        Literal(block, 0x01, "localhost");
        return [.. block];

        static void Literal(List<byte> into, byte nameIndex, string value)
        {
            var bytes = Encoding.ASCII.GetBytes(value);
            into.Add(nameIndex); // 0000 + 4-bit index: literal without indexing, indexed name
            into.Add((byte)bytes.Length); // short values only: no Huffman, 7-bit length
            into.AddRange(bytes);
        }
    }

    private static void Frame(Stream into, byte type, byte flags, int streamId, byte[] payload)
    {
        Span<byte> header = stackalloc byte[9];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header[5..], streamId & 0x7FFFFFFF);
        into.Write(header);
        into.Write(payload);
    }

    /// <summary>Sends raw HTTP/1.1 bytes on a new TLS connection and returns the status code of the answer (0: none).</summary>
    public static async Task<int> RawRequestAsync(int port, X509Certificate2? certificate, byte[] head, long bodyBytes = 0)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        await using var ssl = new SslStream(tcp.GetStream());
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [SslApplicationProtocol.Http11],
            RemoteCertificateValidationCallback = AnyServerCertificate,
        };
        if (certificate is not null)
        {
            options.ClientCertificates = [certificate];
            options.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        }
        await ssl.AuthenticateAsClientAsync(options, timeout.Token);
        var response = new byte[256];
        var read = 0;
        try
        {
            await ssl.WriteAsync(head, timeout.Token);
            var chunk = new byte[16 * 1024];
            for (long sent = 0; sent < bodyBytes; sent += chunk.Length)
                await ssl.WriteAsync(chunk, timeout.Token);
        }
        catch (IOException)
        {
            // The server answered and closed while the body was still being written: read what it said.
        }
        try
        {
            while (read < 12)
            {
                var n = await ssl.ReadAsync(response.AsMemory(read), timeout.Token);
                if (n == 0)
                    break;
                read += n;
            }
        }
        catch (IOException)
        {
        }
        var text = Encoding.ASCII.GetString(response, 0, read);
        return text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Length >= 12 && int.TryParse(text.AsSpan(9, 3), out var status) ? status : 0;
    }
}
