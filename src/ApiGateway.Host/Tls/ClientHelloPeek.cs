using System.Buffers;
using System.Buffers.Binary;
using Microsoft.AspNetCore.Connections;

namespace ApiGateway.Host.Tls;

/// <summary>
/// What the connection's ClientHello offers, read before the TLS middleware sees it (the bytes stay in the pipe).
/// SslStream parses only the server name of a ClientHello before asking for the handshake's options, so its
/// <c>SslClientHelloInfo.SslProtocols</c> holds the record header's legacy version (TLS 1.2 for every TLS 1.3 client);
/// the supported_versions extension (RFC 8446 4.2.1) is what says whether the client offers TLS 1.3.
/// </summary>
internal sealed class ClientHelloOffer
{
    /// <summary>Whether the ClientHello lists TLS 1.3 in supported_versions.</summary>
    public bool OffersTls13 { get; init; }

    /// <summary>
    /// Peeks at the first TLS record of <paramref name="connection"/> for at most <paramref name="timeout"/> and sets the
    /// feature; any connection that is not a well-formed ClientHello gets none (its handshake then gets the whole offer,
    /// and fails there as it would have).
    /// </summary>
    public static async Task PeekAsync(ConnectionContext connection, TimeSpan timeout)
    {
        var input = connection.Transport.Input;
        using var cts = new CancellationTokenSource(timeout);
        using var _ = connection.ConnectionClosed.Register(static s => ((CancellationTokenSource)s!).Cancel(), cts);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(cts.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var state = TryParse(buffer, out var offersTls13);
                // Nothing is consumed: the TLS middleware reads the same bytes.
                input.AdvanceTo(buffer.Start, state == ParseState.NeedMore ? buffer.End : buffer.Start);
                if (state == ParseState.Done)
                {
                    connection.Features.Set(new ClientHelloOffer { OffersTls13 = offersTls13 });
                    return;
                }
                if (state == ParseState.NotAClientHello || result.IsCompleted || result.IsCanceled)
                    return;
            }
        }
        catch (OperationCanceledException)
        {
            // Too slow or gone: the TLS middleware's own handshake timeout and errors take it from here.
        }
    }

    internal enum ParseState
    {
        NeedMore,
        Done,
        NotAClientHello,
    }

    /// <summary>Parses the first record as a ClientHello (RFC 8446 4.1.2); reads only what one record holds.</summary>
    internal static ParseState TryParse(ReadOnlySequence<byte> buffer, out bool offersTls13)
    {
        offersTls13 = false;
        if (buffer.Length < 5)
            return ParseState.NeedMore;
        Span<byte> header = stackalloc byte[5];
        buffer.Slice(0, 5).CopyTo(header);
        if (header[0] != 0x16 || header[1] != 0x03)
            return ParseState.NotAClientHello;
        int recordLength = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
        if (recordLength is 0 or > 16384 + 2048)
            return ParseState.NotAClientHello;
        if (buffer.Length < 5 + recordLength)
            return ParseState.NeedMore;
        var record = buffer.Slice(5, recordLength);
        byte[]? rented = null;
        Span<byte> span = recordLength <= 2048 ? stackalloc byte[recordLength] : (rented = ArrayPool<byte>.Shared.Rent(recordLength)).AsSpan(0, recordLength);
        try
        {
            record.CopyTo(span);
            offersTls13 = OffersTls13In(span);
            return ParseState.Done;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool OffersTls13In(ReadOnlySpan<byte> hello)
    {
        // handshake type 1 (client_hello), 3-byte length, legacy_version, random.
        if (hello.Length < 4 + 2 + 32 + 1 || hello[0] != 1)
            return false;
        var p = hello[(4 + 2 + 32)..];
        if (!Skip8(ref p) || !Skip16(ref p) || !Skip8(ref p) || p.Length < 2)
            return false; // session id, cipher suites, compression methods
        int extensionsLength = BinaryPrimitives.ReadUInt16BigEndian(p);
        p = p[2..];
        if (extensionsLength < p.Length)
            p = p[..extensionsLength];
        while (p.Length >= 4)
        {
            int type = BinaryPrimitives.ReadUInt16BigEndian(p);
            int length = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
            p = p[4..];
            if (length > p.Length)
                return false;
            if (type == 0x002b)
            {
                var versions = p[..length];
                if (versions.Length < 1 || versions[0] + 1 > versions.Length)
                    return false;
                for (var i = 1; i + 1 < versions[0] + 1; i += 2)
                {
                    if (versions[i] == 0x03 && versions[i + 1] == 0x04)
                        return true;
                }
                return false;
            }
            p = p[length..];
        }
        return false;
    }

    private static bool Skip8(ref ReadOnlySpan<byte> p)
    {
        if (p.Length < 1 || p[0] + 1 > p.Length)
            return false;
        p = p[(p[0] + 1)..];
        return true;
    }

    private static bool Skip16(ref ReadOnlySpan<byte> p)
    {
        if (p.Length < 2)
            return false;
        var n = BinaryPrimitives.ReadUInt16BigEndian(p) + 2;
        if (n > p.Length)
            return false;
        p = p[n..];
        return true;
    }
}
