using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Hosting;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Context;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Tls;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ApiGateway.Host.Runtime;

/// <summary>A dry run that cannot be made as asked (an unknown API or hostname).</summary>
internal sealed class DryRunException : Exception
{
    public DryRunException(string message)
        : base(message)
    {
    }

    public DryRunException()
    {
    }

    public DryRunException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The dry run of <c>explain</c> (and Test-GatewayClientCertificate): the request goes through the same code as a
/// served one — the hostname's handshake decision (<see cref="ConnectionTls.Validate"/> with a chain built by the
/// handshake's own policy), the route table, the pooled context, revocation prefetch, and the API's composed
/// <see cref="PolicyPipeline"/> of the snapshot (compiled expressions) — and stops where the request would leave
/// for the backend (<see cref="PolicyPipeline.ExplainAsync"/>). Nothing is sent anywhere.
/// </summary>
internal static class DryRun
{
    public static async Task<GatewayDecision> ExplainAsync(GatewaySnapshot snapshot, DryRunCase request)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(request);
        var api = snapshot.Routes.Routes.FirstOrDefault(r => Ids.Comparer.Equals(r.ApiId, request.ApiId))
            ?? throw new DryRunException($"No API '{request.ApiId}' is configured in '{snapshot.ConfigurationPath}'. Configured: {string.Join(", ", snapshot.Routes.Routes.Select(r => "'" + r.ApiId + "'"))}.");
        var host = SelectHost(snapshot, request.HostName);
        var trace = new PolicyTrace(dryRun: true);
        var certificate = request.Certificate;
        var tls = new ConnectionTls(host.Mode, snapshot.ClientTrust, host.HostName);

        var suffix = string.IsNullOrEmpty(request.Path) ? string.Empty : request.Path.StartsWith('/') ? request.Path : "/" + request.Path;
        var target = "/" + api.Path + suffix;
        if (target.Length > 1 && target.StartsWith("//", StringComparison.Ordinal))
            target = target[1..];
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var path = query >= 0 ? target[..query] : target;
        var decision = new GatewayDecision
        {
            ApiId = api.ApiId,
            HostName = host.HostName,
            Method = request.Method.ToUpperInvariant(),
            Path = target,
            CertificateSubject = certificate?.Subject,
            CertificateThumbprint = certificate?.Thumbprint,
            Stage = "handshake",
            ConfigurationPath = snapshot.ConfigurationPath,
            Revision = snapshot.Revision,
        };

        if (!Handshake(snapshot, host, tls, certificate, trace))
            return decision with { Allowed = false, Reason = tls.RejectReason, Trace = trace.ToModel() };

        if (!snapshot.Routes.TryMatch(path, out var route, out var consumed))
            throw new DryRunException($"No API serves the path '{path}'.");

        var http = new DefaultHttpContext();
        http.Request.Method = decision.Method;
        http.Request.Scheme = "https";
        http.Request.Host = new HostString(host.HostName, host.Port);
        http.Request.Path = path;
        if (query >= 0)
            http.Request.QueryString = new QueryString(target[query..]);
        http.Request.Protocol = "HTTP/1.1";
        foreach (var (name, value) in request.Headers ?? new Dictionary<string, string>())
            http.Request.Headers.Append(name, value);
        http.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        http.Connection.ClientCertificate = tls.Certificate;
        http.Features.Set(tls);
        using var body = new MemoryStream();
        http.Response.Body = body;

        snapshot.Enter();
        var pool = snapshot.Services.Contexts;
        var context = pool.Get();
        try
        {
            context.Begin(http, snapshot, route, consumed, tls);
            context.State.Trace = trace;
            http.Features.Set(context);
            if (route.ChecksRevocation && context.State.ClientCertificate is { } presented)
                await context.State.VerificationOf(presented).PrefetchRevocationAsync().ConfigureAwait(false);
            var allowed = await route.Pipeline.ExplainAsync(context).ConfigureAwait(false);
            if (allowed)
            {
                var backend = (context.State.ForwardTarget ?? BackendForwarder.TargetOf(context)).LogName;
                return decision with { ApiId = route.ApiId, Allowed = true, Stage = "backend", Backend = backend, Trace = trace.ToModel() };
            }
            var (error, message) = ErrorBody(http, body);
            return decision with
            {
                ApiId = route.ApiId,
                Allowed = false,
                Stage = "policy",
                StatusCode = http.Response.StatusCode,
                Reason = http.Features.Get<IHttpResponseFeature>()?.ReasonPhrase,
                Error = error,
                Message = message,
                Trace = trace.ToModel(),
            };
        }
        finally
        {
            http.Features.Set<PolicyContext>(null);
            context.End();
            pool.Return(context);
            snapshot.Exit();
        }
    }

    /// <summary>The hostname the client reaches: by SNI as the listener selects it, or the first configured.</summary>
    private static HostnameTls SelectHost(GatewaySnapshot snapshot, string? hostName)
    {
        var hosts = snapshot.Listeners.SelectMany(l => l.Hosts).ToList();
        if (hosts.Count == 0)
            throw new DryRunException($"'{snapshot.ConfigurationPath}' has no hostname: a client cannot connect. Add one with Set-GatewayHostname.");
        if (string.IsNullOrEmpty(hostName))
            return hosts[0];
        foreach (var group in snapshot.Listeners)
        {
            var selected = group.Select(hostName);
            var wildcard = selected.HostName.StartsWith("*.", StringComparison.Ordinal) && hostName.EndsWith(selected.HostName[1..], StringComparison.OrdinalIgnoreCase);
            if (wildcard || string.Equals(selected.HostName, hostName, StringComparison.OrdinalIgnoreCase))
                return selected;
        }
        throw new DryRunException($"No hostname '{hostName}' is configured. Configured: {string.Join(", ", hosts.Select(h => "'" + h.HostName + "'"))}.");
    }

    /// <summary>
    /// The handshake as the listener makes it: no certificate is asked for when the hostname does not negotiate;
    /// otherwise the chain is built with the handshake's policy (uploaded roots, no revocation, no downloads) and the
    /// connection's own validation callback decides.
    /// </summary>
    private static bool Handshake(GatewaySnapshot snapshot, HostnameTls host, ConnectionTls tls, X509Certificate2? certificate, PolicyTrace trace)
    {
        if (host.Mode == ClientCertificateNegotiation.Off)
        {
            trace.Handshake(host.HostName, "off", accepted: true,
                certificate is null
                    ? "the hostname does not ask for a client certificate"
                    : "the hostname does not ask for a client certificate: the one given is not sent, context.Request.Certificate is null");
            return true;
        }
        bool accepted;
        if (certificate is null)
        {
            accepted = tls.Validate(snapshot, null, null, SslPolicyErrors.RemoteCertificateNotAvailable);
        }
        else
        {
            using var chain = new X509Chain { ChainPolicy = snapshot.ClientTrust.CreateHandshakePolicy() };
            var built = chain.Build(certificate);
            try
            {
                accepted = tls.Validate(snapshot, certificate, chain, built ? SslPolicyErrors.None : SslPolicyErrors.RemoteCertificateChainErrors);
            }
            finally
            {
                foreach (var element in chain.ChainElements)
                    element.Certificate.Dispose();
            }
        }
        var mode = host.Mode == ClientCertificateNegotiation.Require ? "require" : "negotiate";
        var found = certificate is null
            ? "no client certificate"
            : tls.HandshakeStatus == X509ChainStatusFlags.NoError ? "a client certificate that chains to an uploaded CA certificate" : $"a client certificate whose chain has {tls.HandshakeStatus}";
        trace.Handshake(host.HostName, mode, accepted,
            accepted
                ? $"{found}: the handshake completes{(mode == "negotiate" ? " (negotiate hands every certificate, or none, to the policies)" : string.Empty)}"
                : $"the handshake is refused: {tls.RejectReason}");
        return accepted;
    }

    /// <summary>The <c>error</c> and <c>message</c> of the gateway's JSON error body, when the answer is one.</summary>
    private static (string? Error, string? Message) ErrorBody(HttpContext http, MemoryStream body)
    {
        if (body.Length == 0 || http.Response.ContentType?.StartsWith("application/json", StringComparison.Ordinal) != true)
            return (null, null);
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, null);
            return (root.TryGetProperty("error", out var e) ? e.GetString() : null, root.TryGetProperty("message", out var m) ? m.GetString() : null);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }
}
