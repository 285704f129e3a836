using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace ApiGateway.Host.Backends.Http1;

/// <summary>
/// The HTTP/1.1 message syntax the backend client reads and writes (RFC 9112), and which fields a proxy must not
/// pass on (RFC 9110 7.6.1: the connection options, and every field the Connection header names).
/// </summary>
internal static class Http1Syntax
{
    /// <summary>Largest response head (status line and header section) accepted, as HttpClient's default MaxResponseHeadersLength.</summary>
    public const int MaxHeadLength = 64 * 1024;

    /// <summary>Longest chunk-size line (size, extensions) accepted in a chunked body.</summary>
    public const int MaxChunkLineLength = 4 * 1024;

    /// <summary>tchar of RFC 9110 5.6.2: what a field name (and a method) is made of.</summary>
    public static readonly SearchValues<char> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    private static readonly SearchValues<byte> TokenBytes =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>
    /// Path and query characters the gateway writes as they are: RFC 3986 pchar without '%' (so neither YARP's
    /// encoding nor Uri's normalisation would change them), plus '?' of the query.
    /// </summary>
    private static readonly SearchValues<char> PlainTargetChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?");

    /// <summary>Field-value bytes of a response: visible ASCII, space and tab (what Kestrel will send on).</summary>
    private static readonly SearchValues<byte> ValueBytes = SearchValues.Create(Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b).Append((byte)'\t').ToArray());

    /// <summary>Request fields that belong to one connection (RFC 9110 7.6.1) or that the client writes itself (framing, Host, Expect).</summary>
    private static readonly FrozenNames HopByHopRequest = new(
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Authentication-Info",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Host", "Expect", "HTTP2-Settings", "Close", "Alt-Used");

    /// <summary>Response fields that belong to the backend's connection, and the framing Kestrel writes itself.</summary>
    private static readonly FrozenNames HopByHopResponse = new(
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authentication-Info", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Alt-Svc", "Close", "Content-Length");

    public static bool IsHopByHopRequest(string name) => HopByHopRequest.Contains(name);

    public static bool IsHopByHopResponse(string name) => HopByHopResponse.Contains(name);

    /// <summary>Whether <paramref name="name"/> is a valid field name (a token).</summary>
    public static bool IsToken(ReadOnlySpan<char> name) => name.Length > 0 && !name.ContainsAnyExcept(TokenChars);

    /// <summary>Whether the request target can be written as it is (see <see cref="PlainTargetChars"/>; no dot segment).</summary>
    public static bool IsPlainTarget(ReadOnlySpan<char> value) =>
        !value.ContainsAnyExcept(PlainTargetChars) && value.IndexOf("/.", StringComparison.Ordinal) < 0;

    /// <summary>Whether a request field value may be written: no CR, LF or NUL (a value that splits the message), ASCII only (as HttpClient).</summary>
    public static bool IsWritableValue(ReadOnlySpan<char> value) => Ascii.IsValid(value) && value.IndexOfAny('\r', '\n', '\0') < 0;

    /// <summary>Whether a response field value only holds what Kestrel will send on.</summary>
    public static bool IsValidResponseValue(ReadOnlySpan<byte> value) => !value.ContainsAnyExcept(ValueBytes);

    /// <summary>Whether <paramref name="name"/> is a token (RFC 9110 5.6.2).</summary>
    public static bool IsTokenBytes(ReadOnlySpan<byte> name) => name.Length > 0 && !name.ContainsAnyExcept(TokenBytes);

    /// <summary>Whether the comma-separated list <paramref name="value"/> holds <paramref name="token"/> (any case).</summary>
    public static bool ListContains(ReadOnlySpan<char> value, string token)
    {
        foreach (var range in value.Split(','))
        {
            if (value[range].Trim(" \t").Equals(token, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    /// <summary>The last element of a comma-separated list (the transfer coding applied last), trimmed.</summary>
    public static ReadOnlySpan<char> LastListElement(ReadOnlySpan<char> value)
    {
        var comma = value.LastIndexOf(',');
        return (comma < 0 ? value : value[(comma + 1)..]).Trim(" \t");
    }

    /// <summary>A Content-Length value: digits only (RFC 9110 8.6), no sign, no overflow.</summary>
    public static bool TryParseContentLength(ReadOnlySpan<char> value, out long length)
    {
        length = 0;
        value = value.Trim(" \t");
        if (value.IsEmpty || value.Length > 18)
            return false;
        foreach (var c in value)
        {
            if (c is < '0' or > '9')
                return false;
            length = length * 10 + (c - '0');
        }
        return true;
    }

    /// <summary>
    /// The chunk-size of a chunk-size line (RFC 9112 7.1: hex digits, then optional extensions, which are ignored);
    /// false when it is not one or does not fit 60 bits.
    /// </summary>
    public static bool TryParseChunkSize(ReadOnlySpan<byte> line, out long size)
    {
        size = 0;
        var digits = 0;
        foreach (var b in line)
        {
            var v = HexValue(b);
            if (v < 0)
                break;
            if (++digits > 15)
                return false;
            size = (size << 4) | (uint)v;
        }
        if (digits == 0)
            return false;
        var rest = line[digits..];
        // BWS ; chunk-ext: whatever follows is an extension, which a recipient ignores.
        var trimmed = rest.TrimStart(" \t"u8);
        return trimmed.IsEmpty || trimmed[0] == (byte)';';
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>Writes <paramref name="value"/> as lower-case hex digits (a chunk size); returns the count written.</summary>
    public static int WriteHex(long value, Span<byte> into)
    {
        if (!Utf8Formatter.TryFormat(value, into, out var written, new StandardFormat('x')))
            throw new InvalidOperationException("chunk size does not fit");
        return written;
    }

    /// <summary>Names compared without regard to case, looked up without allocating.</summary>
    private sealed class FrozenNames(params string[] names)
    {
        private readonly HashSet<string> _names = new(names, StringComparer.OrdinalIgnoreCase);

        public bool Contains(string name) => _names.Contains(name);
    }
}
