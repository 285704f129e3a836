using System.Collections.Concurrent;
using System.Text.Json;
using ApiGateway.Core.Hosting;
using ApiGateway.Host.Tls;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ApiGateway.Host.Pipeline;

/// <summary>
/// Who may have the trace of a live request: only a caller holding the gateway's status token, proven per request
/// by <see cref="TraceProof"/> (an HMAC of the token over the request line and a fresh time and nonce; the token
/// itself never travels). The trace goes back in the response header <see cref="TraceProof.ResponseHeader"/> of that
/// request only: it is never logged, never in the access log, never sent to a backend. The proof header is removed
/// from every request before any policy runs, so a client from the network that sends one gets no trace and no
/// backend ever sees it.
/// </summary>
internal sealed class TraceAuthority
{
    /// <summary>Nonces remembered for the replay check (beyond it the oldest half goes; a proof is short-lived anyway).</summary>
    public const int NonceCapacity = 10_000;

    private readonly string _token;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public TraceAuthority(string token, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        _token = token;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Removes the proof header from <paramref name="http"/>'s request and returns a trace when the proof was valid
    /// (for this request, fresh, and not seen before); null otherwise, whoever sent it.
    /// </summary>
    public static PolicyTrace? Accept(TraceAuthority? authority, HttpContext http)
    {
        var headers = http.Request.Headers;
        var proof = headers[TraceProof.RequestHeader].ToString();
        headers.Remove(TraceProof.RequestHeader);
        if (authority is null)
            return null;
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : http.Request.Path.Value + http.Request.QueryString.Value;
        var now = authority._time.GetUtcNow();
        if (!TraceProof.Verify(authority._token, proof, http.Request.Method, target, now, out var nonce))
            return null;
        if (authority._seen.Count >= NonceCapacity)
        {
            foreach (var (key, at) in authority._seen)
            {
                if (now - at > TraceProof.MaxAge)
                    authority._seen.TryRemove(key, out _);
            }
            if (authority._seen.Count >= NonceCapacity)
                authority._seen.Clear();
        }
        if (!authority._seen.TryAdd(nonce!, now))
            return null;
        return new PolicyTrace(dryRun: false);
    }

    /// <summary>
    /// Records the connection's handshake and has the trace written into the response headers as they go out (the
    /// response of a forwarded request starts after outbound ran, so its trace holds outbound too).
    /// </summary>
    public static void Attach(PolicyTrace trace, HttpContext http, ConnectionTls? tls)
    {
        if (tls is null)
        {
            trace.Handshake(http.Request.Host.Host, "unknown", accepted: true, "no TLS connection state");
        }
        else
        {
            var mode = tls.Mode switch
            {
                ClientCertificateNegotiation.Off => "off",
                ClientCertificateNegotiation.Require => "require",
                _ => "negotiate",
            };
            var found = tls.Certificate is null
                ? mode == "off" ? "the hostname does not ask for a client certificate" : "no client certificate"
                : tls.HandshakeStatus == System.Security.Cryptography.X509Certificates.X509ChainStatusFlags.NoError
                    ? "a client certificate that chains to an uploaded CA certificate"
                    : $"a client certificate whose chain has {tls.HandshakeStatus}";
            trace.Handshake(tls.HostName, mode, accepted: true, $"{found}: the handshake completed");
        }
        http.Response.OnStarting(static state =>
        {
            var (response, trace) = ((HttpResponse, PolicyTrace))state;
            response.Headers[TraceProof.ResponseHeader] = Encode(trace.ToModel());
            return Task.CompletedTask;
        }, (http.Response, trace));
    }

    /// <summary>The trace as the response header carries it: base64url of its JSON (compact).</summary>
    internal static string Encode(GatewayTrace trace) =>
        Microsoft.AspNetCore.WebUtilities.Base64UrlTextEncoder.Encode(JsonSerializer.SerializeToUtf8Bytes(trace, CompactJson));

    private static readonly JsonSerializerOptions CompactJson = new(HostingJson.Options) { WriteIndented = false };
}
