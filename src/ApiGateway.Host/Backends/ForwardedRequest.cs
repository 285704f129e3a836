using ApiGateway.Core.Configuration;
using ApiGateway.Host.Context;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;

namespace ApiGateway.Host.Backends;

/// <summary>
/// What a forwarded request carries besides the client's own headers, the same for both backend clients (YARP's
/// for HTTP/2 and upgrades, <see cref="Http1.Http1Forwarder"/> for HTTP/1.1): the path after the API's own and the
/// query with the credentials' parameters, X-Forwarded-For with the client's address, and the client certificate in
/// the headers the API asks for.
/// </summary>
internal static class ForwardedRequest
{
    public const string ForwardedForHeader = "X-Forwarded-For";

    /// <summary>The path after the API's own, and the client's query merged with the backend's credential parameters.</summary>
    public static (PathString Remainder, QueryString Query) PathAndQuery(PolicyContext context, BackendTarget target)
    {
        var request = context.State.Http.Request;
        var path = request.Path.Value ?? string.Empty;
        var remainder = context.State.PathConsumed >= path.Length ? PathString.Empty : new PathString(path[context.State.PathConsumed..]);
        var query = target.Query.Count == 0 ? request.QueryString : MergeQuery(request.QueryString, target.Query);
        return (remainder, query);
    }

    /// <summary>The X-Forwarded-For value: what the client sent, then the client's address; null without an address.</summary>
    public static string? ForwardedFor(HttpContext http)
    {
        if (http.Connection.RemoteIpAddress is not { } address)
            return null;
        var forwarded = address.ToString();
        var existing = http.Request.Headers[ForwardedForHeader];
        return existing.Count == 0 ? forwarded : string.Join(", ", existing.ToArray()) + ", " + forwarded;
    }

    /// <summary>
    /// The client certificate of the TLS connection in the headers the API asks for (none without a certificate, or
    /// when the API forwards none). They replace whatever a policy wrote under the same names.
    /// </summary>
    public static List<(string Name, string Value)> CertificateHeaders(PolicyContext context)
    {
        var headers = new List<(string, string)>(3);
        var forwarding = context.State.ApiRoute.Api.ForwardClientCertificate;
        if (forwarding == ClientCertificateForwarding.None || context.State.ClientCertificate is not { } certificate)
            return headers;
        var der = certificate.RawDataMemory.Span;
        if ((forwarding & ClientCertificateForwarding.XArrClientCert) != 0)
            headers.Add((ClientCertificateHeaders.XArrClientCert, ClientCertificateHeaders.XArrValue(der)));
        if ((forwarding & ClientCertificateForwarding.ClientCert) != 0)
        {
            headers.Add((ClientCertificateHeaders.ClientCert, ClientCertificateHeaders.ByteSequence(der)));
            // The chain of the handshake that presented this certificate (a renegotiated one has none recorded).
            if (context.State.Tls is { } tls && ReferenceEquals(tls.Certificate, certificate)
                && ClientCertificateHeaders.ByteSequenceList(tls.ForwardedChain) is { } chain)
            {
                headers.Add((ClientCertificateHeaders.ClientCertChain, chain));
            }
        }
        return headers;
    }

    private static QueryString MergeQuery(QueryString original, IReadOnlyList<KeyValuePair<string, string[]>> credentials)
    {
        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(original.Value);
        var builder = new QueryBuilder();
        foreach (var (name, values) in parsed)
        {
            if (credentials.Any(c => string.Equals(c.Key, name, StringComparison.Ordinal)))
                continue;
            foreach (var value in values)
                builder.Add(name, value ?? string.Empty);
        }
        foreach (var (name, values) in credentials)
        {
            foreach (var value in values)
                builder.Add(name, value);
        }
        return builder.ToQueryString();
    }
}
