using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ApiGateway.Core.Hosting;

/// <summary>
/// The per-request proof that asks a running gateway for the trace of one request: the request header
/// <c>ApiGateway-Trace: v1;&lt;unix seconds&gt;;&lt;nonce&gt;;&lt;HMAC-SHA256&gt;</c>, the HMAC keyed with the gateway's
/// status token (from the owner-only state file) over the version, time, nonce, method and path with query. The
/// token itself never travels; a proof is good for one request (its method and path), for
/// <see cref="MaxAge"/>, once. The gateway removes the header from every request, proven or not, before any
/// policy sees it or a backend could receive it, and answers the trace in the response header
/// <see cref="ResponseHeader"/> only for a valid proof.
/// </summary>
internal static class TraceProof
{
    /// <summary>The request header carrying the proof.</summary>
    public const string RequestHeader = "ApiGateway-Trace";

    /// <summary>The response header carrying the trace (base64url of its JSON).</summary>
    public const string ResponseHeader = "ApiGateway-Trace-Result";

    private const string Version = "v1";

    /// <summary>How far the proof's time may be from the gateway's clock, either way.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(2);

    /// <summary>A fresh proof for one request of <paramref name="method"/> to <paramref name="pathAndQuery"/>.</summary>
    public static string Create(string token, string method, string pathAndQuery, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        var time = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        return $"{Version};{time};{nonce};{Sign(token, time, nonce, method, pathAndQuery)}";
    }

    /// <summary>
    /// Whether <paramref name="proof"/> is a valid proof of <paramref name="token"/> for this request at
    /// <paramref name="now"/>; <paramref name="nonce"/> is its nonce (for the caller's replay check).
    /// </summary>
    public static bool Verify(string token, string? proof, string method, string pathAndQuery, DateTimeOffset now, out string? nonce)
    {
        nonce = null;
        if (string.IsNullOrEmpty(token) || string.IsNullOrEmpty(proof) || proof.Length > 256)
            return false;
        var parts = proof.Split(';');
        if (parts.Length != 4 || parts[0] != Version || parts[2].Length != 32)
            return false;
        if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            return false;
        DateTimeOffset at;
        try
        {
            at = DateTimeOffset.FromUnixTimeSeconds(seconds);
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
        if ((now - at).Duration() > MaxAge)
            return false;
        var expected = Encoding.ASCII.GetBytes(Sign(token, parts[1], parts[2], method, pathAndQuery));
        var given = Encoding.ASCII.GetBytes(parts[3]);
        if (!CryptographicOperations.FixedTimeEquals(expected, given))
            return false;
        nonce = parts[2];
        return true;
    }

    private static string Sign(string token, string time, string nonce, string method, string pathAndQuery)
    {
        var message = Encoding.UTF8.GetBytes($"{Version}\n{time}\n{nonce}\n{method.ToUpperInvariant()}\n{pathAndQuery}");
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(token), message));
    }
}
