using System.Diagnostics;
using ApiGateway.Core.Configuration;
using ApiGateway.Host.Context;
using ApiGateway.Host.Metrics;
using ApiGateway.Host.Runtime;
using ApiGateway.Host.Tls;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Pipeline;

/// <summary>
/// The terminal middleware of every listener: captures the current snapshot once, routes by API path (404 JSON when
/// none matches), runs the API's composed policy with a pooled context, records the request (metrics, access log)
/// and leaves the snapshot when done.
/// </summary>
internal sealed class GatewayRequestHandler(GatewayRuntime runtime)
{
    /// <summary>The access log's <c>decision</c> values (see docs/gateway.md "Access log").</summary>
    internal static class Decisions
    {
        public const string Forwarded = "forwarded";
        public const string Returned = "returned";
        public const string Error = "error";
        public const string NoApi = "no_api";
        public const string Failed = "failed";
        public const string ClientGone = "client_gone";
        private static readonly string[] RefusedTexts = Enum.GetValues<ClientCertificateRefusal>().Select(r => "refused:" + GatewayMetrics.RefusalText(r)).ToArray();

        public static string Refused(ClientCertificateRefusal reason) => RefusedTexts[(int)reason];
    }

    /// <summary>
    /// False only when <c>APIGATEWAY_REQUEST_METRICS=0</c>: bench/settings-sweep.sh measures the per-request metrics'
    /// cost against a gateway without them (bench/RESULTS.md); never needed in production.
    /// </summary>
    internal static readonly bool RecordRequests = Environment.GetEnvironmentVariable("APIGATEWAY_REQUEST_METRICS") != "0";

    public async Task InvokeAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        var snapshot = runtime.EnterSnapshot();
        string? apiId = null;
        var decision = Decisions.NoApi;
        string? error = null;
        string? backend = null;
        try
        {
            // Removed from every request whoever sent it (no policy, log or backend sees it); a valid proof gets a trace.
            var trace = http.Request.Headers.ContainsKey(Core.Hosting.TraceProof.RequestHeader) ? TraceAuthority.Accept(runtime.TraceAuthority, http) : null;
            var path = http.Request.Path.Value is { Length: > 0 } p ? p : "/";
            if (!snapshot.Routes.TryMatch(path, out var route, out var consumed))
            {
                await ErrorResponses.WriteNotFoundAsync(http, path).ConfigureAwait(false);
                return;
            }
            apiId = route.ApiId;
            // A client's own claim of a client certificate never reaches a policy or a backend (forwarding on or off):
            // only the gateway, from the TLS connection, writes these headers.
            foreach (var name in ClientCertificateHeaders.All)
                http.Request.Headers.Remove(name);
            var pool = snapshot.Services.Contexts;
            var context = pool.Get();
            context.Begin(http, snapshot, route, consumed, http.Features.Get<ConnectionTls>());
            if (trace is not null)
            {
                context.State.Trace = trace;
                TraceAuthority.Attach(trace, http, context.State.Tls);
            }
            http.Features.Set(context);
            try
            {
                if (route.ChecksRevocation && context.State.ClientCertificate is { } certificate)
                    await context.State.VerificationOf(certificate).PrefetchRevocationAsync().ConfigureAwait(false);
                await route.Pipeline.ExecuteAsync(context).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                // The client went away.
                decision = Decisions.ClientGone;
            }
            catch (Exception ex)
            {
                decision = Decisions.Failed;
                Log.RequestFailed(snapshot.Services.Logger, path, ex);
                if (!http.Response.HasStarted)
                {
                    http.Response.Headers.Clear();
                    await ErrorResponses.WriteAsync(http, StatusCodes.Status500InternalServerError, null, "InternalError",
                        "The gateway failed while handling the request; see its log.", null, context.RequestId).ConfigureAwait(false);
                }
                else
                {
                    http.Abort();
                }
            }
            finally
            {
                if (decision == Decisions.NoApi)
                    decision = Decide(ref context.State, http.Response.StatusCode, out error);
                backend = context.State.ForwardTarget?.LogName;
                http.Features.Set<PolicyContext>(null);
                context.End();
                pool.Return(context);
            }
        }
        finally
        {
            var status = http.Response.StatusCode;
            var services = snapshot.Services;
            var elapsed = Stopwatch.GetElapsedTime(start);
            if (RecordRequests)
                services.Metrics.RecordRequest(apiId, status, elapsed.TotalSeconds);
            if (services.AccessLog is { } accessLog)
                WriteAccessLog(accessLog, http, apiId, status, decision, error, backend, elapsed);
            snapshot.Exit();
        }
    }

    /// <summary>
    /// What the policy decided, from the request's state; counts a certificate refusal by the operator's own policy
    /// (a 403 answered by a policy that read <c>context.Request.Certificate</c>: APIM's documented thumbprint check).
    /// </summary>
    private static string Decide(ref RequestState state, int status, out string? error)
    {
        error = null;
        if (state.Refusal is { } refusal)
            return Decisions.Refused(refusal);
        if (state.ErrorCode is { } code)
        {
            error = code;
            return Decisions.Error;
        }
        if (status == StatusCodes.Status403Forbidden && state.ResponseReplaced && state.CertificateRead)
        {
            state.Snapshot.Services.Metrics.RecordClientCertificateRefusal(state.ApiRoute.ApiId, ClientCertificateRefusal.Policy);
            return Decisions.Refused(ClientCertificateRefusal.Policy);
        }
        if (state.ResponseReplaced && !state.Forwarded)
            return Decisions.Returned;
        return state.Forwarded ? Decisions.Forwarded : Decisions.Returned;
    }

    private static void WriteAccessLog(AccessLog accessLog, HttpContext http, string? apiId, int status, string decision, string? error, string? backend, TimeSpan elapsed)
    {
        var tls = http.Features.Get<ConnectionTls>();
        CertificateFacts? facts = tls?.Certificate is not null ? tls.Facts : null;
        var request = http.Request;
        // Path only: the query string (signatures, tokens, keys) never reaches the log.
        accessLog.Write(new AccessLogEntry(
            DateTime.UtcNow - elapsed,
            apiId,
            request.Method,
            request.Path.Value is { Length: > 0 } p ? p : "/",
            status,
            facts?.Thumbprint,
            facts?.Subject,
            decision,
            error,
            backend,
            elapsed.TotalMilliseconds,
            http.Connection.RemoteIpAddress,
            request.Protocol));
    }
}
