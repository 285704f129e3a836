using System.Net.Sockets;
using System.Security.Authentication;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;
using ApiGateway.Host.Pipeline.Steps;
using ApiGateway.Host.Pipeline;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace ApiGateway.Host.Backends;

/// <summary>
/// forward-request: picks the backend (set-backend-service, else the API's), the invoker for its TLS settings and
/// client certificate (authentication-certificate first, then the backend's credentials), and hands the request to
/// YARP's <see cref="IHttpForwarder"/>. A failure becomes a JSON error: 500 when the backend's certificate fails
/// validation, 502 when the backend cannot be reached or the TLS handshake fails otherwise, 504 on timeout.
/// </summary>
internal sealed class BackendForwarder
{
    private readonly IHttpForwarder _forwarder;
    private readonly ILogger _logger;
    private readonly BackendOutages _outages;

    public BackendForwarder(IHttpForwarder forwarder, ILogger logger)
    {
        _forwarder = forwarder;
        _logger = logger;
        _outages = new BackendOutages(logger);
    }

    public HttpTransformer Transformer { get; } = new GatewayTransformer();

    public async ValueTask<Flow> ForwardAsync(PolicyContext context, ForwardSettings settings, Step step)
    {
        if (context.State.Trace is { } trace)
        {
            trace.Forward(step, TargetOf(context).LogName);
            if (trace.DryRun)
            {
                // A dry run stops where the request would leave: the backend it would go to is the answer.
                context.State.ForwardTarget = TargetOf(context);
                return Flow.Continue;
            }
        }
        return Complete(context, await SendAsync(context, settings).ConfigureAwait(false), settings, step);
    }

    /// <summary>The backend a forward-request sends to now: set-backend-service's, or the API's.</summary>
    public static BackendTarget TargetOf(PolicyContext context) => context.State.BackendOverride ?? context.State.ApiRoute.DefaultBackend;

    /// <summary>
    /// The sending half of <see cref="ForwardAsync"/>, without a state machine of its own: the pipeline awaits YARP's
    /// send directly when its backend section is a lone forward-request (each async level a forwarded request passes
    /// through costs a suspended state machine, about 150 bytes, and a resumption).
    /// </summary>
    public ValueTask<ForwarderError> SendAsync(PolicyContext context, ForwardSettings settings)
    {
        var target = TargetOf(context);
        var invoker = context.State.Snapshot.Invokers.Get(target, context.State.AuthenticationCertificate, settings.FollowRedirects);
        context.State.ForwardTarget = target;
        // Set before sending: outbound runs inside the send (on the response headers) and must know the request went out.
        context.State.Forwarded = true;
        return _forwarder.SendAsync(context.State.Http, target.DestinationPrefix, invoker, settings.RequestConfig, Transformer);
    }

    /// <summary>What the pipeline does next after <see cref="SendAsync"/> returned <paramref name="error"/>.</summary>
    public Flow Complete(PolicyContext context, ForwarderError error, ForwardSettings settings, Step step)
    {
        var http = context.State.Http;
        var target = context.State.ForwardTarget!;
        if (context.State.Error is not null)
            return Flow.Error; // outbound failed while the response headers were handled
        if (error == ForwarderError.None)
        {
            _outages.Succeeded(target);
            return Flow.Continue;
        }

        var exception = http.Features.Get<IForwarderErrorFeature>()?.Exception;
        switch (error)
        {
            case ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient
                or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient or ForwarderError.UpgradeRequestCanceled
                or ForwarderError.UpgradeRequestClient or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient:
                // The client went away: nobody to answer.
                return Flow.Continue;
        }
        if (http.Response.HasStarted)
        {
            // The body was streaming when the backend failed: the client sees a cut response.
            if (_outages.IsFirst(target, "ResponseBroken"))
                Log.BackendFailed(_logger, target.Name, target.Authority, error.ToString(), (exception?.Message ?? "the connection broke") + BackendOutages.Once);
            return Flow.Continue;
        }
        context.State.Error = Classify(target, error, exception, settings, step);
        return Flow.Error;
    }

    private PipelineError Classify(BackendTarget target, ForwarderError error, Exception? exception, ForwardSettings settings, Step step)
    {
        const PolicySectionKind section = PolicySectionKind.Backend;
        if (error == ForwarderError.RequestTimedOut)
        {
            if (_outages.IsFirst(target, "BackendTimeout"))
                Log.BackendTimedOut(_logger, target.Name, target.Authority, settings.Timeout.TotalSeconds, BackendOutages.Once);
            return new PipelineError(StatusCodes.Status504GatewayTimeout, "BackendTimeout",
                $"The {target.Describe()} did not answer within {settings.Timeout.TotalSeconds:0.###} s. Check that it is not overloaded or stuck, or give forward-request a longer timeout (<forward-request timeout=\"60\" />).", step.ElementName, section, backend: target.Name);
        }
        if (Find<BackendCertificateException>(exception) is { } certificateError)
        {
            if (_outages.IsFirst(target, "BackendCertificateInvalid"))
                Log.BackendTlsFailed(_logger, target.Name, target.Authority, certificateError.Message + BackendOutages.Once);
            var hint = (certificateError.Errors & System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors) != 0
                ? " If the backend uses a self-signed certificate, set -SkipCertificateChainValidation on the backend."
                : (certificateError.Errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0
                    ? " If the backend's certificate names another host, set -SkipCertificateNameValidation on the backend."
                    : string.Empty;
            return new PipelineError(StatusCodes.Status500InternalServerError, "BackendCertificateInvalid",
                $"The TLS certificate of the {target.Describe()} was not accepted: {certificateError.Message}{hint}", step.ElementName, section, backend: target.Name);
        }
        if (Find<AuthenticationException>(exception) is { } tls)
        {
            var detail = Innermost(tls);
            if (_outages.IsFirst(target, "BackendTlsHandshakeFailed"))
                Log.BackendTlsFailed(_logger, target.Name, target.Authority, detail + BackendOutages.Once);
            return new PipelineError(StatusCodes.Status502BadGateway, "BackendTlsHandshakeFailed",
                $"The TLS handshake with the {target.Describe()} failed: {detail}", step.ElementName, section, backend: target.Name);
        }
        if (Find<SocketException>(exception) is { SocketErrorCode: not (SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown) } socket)
        {
            if (_outages.IsFirst(target, "BackendConnectionFailure:" + socket.SocketErrorCode))
                Log.BackendFailed(_logger, target.Name, target.Authority, error.ToString(), socket.Message + BackendOutages.Once);
            return new PipelineError(StatusCodes.Status502BadGateway, "BackendConnectionFailure",
                $"The {target.Describe()} cannot be reached at {target.Authority}: {socket.Message}. Check that it runs and listens there, or {ChangeUrl(target)}.", step.ElementName, section, backend: target.Name);
        }
        var reason = exception is null ? error.ToString() : Innermost(exception);
        if (_outages.IsFirst(target, "BackendFailed:" + error))
            Log.BackendFailed(_logger, target.Name, target.Authority, error.ToString(), reason + BackendOutages.Once);
        if (IsTlsFailure(exception))
        {
            return new PipelineError(StatusCodes.Status502BadGateway, "BackendTlsHandshakeFailed",
                $"The TLS handshake with the {target.Describe()} failed: {reason}", step.ElementName, section, backend: target.Name);
        }
        // TLS 1.3 backends judge the client certificate after the gateway's side of the handshake has finished, so a
        // refused (or missing) certificate shows up as a connection closed before the first response.
        var advice = target.Authority.StartsWith("https:", StringComparison.OrdinalIgnoreCase) && ClosedEarly(exception)
            ? " The backend closed the connection before answering; if it requires a client certificate, give the API a gateway credential (Set-ApiGatewayCredential) or the backend a credential certificate, one the backend accepts."
            : string.Empty;
        return new PipelineError(StatusCodes.Status502BadGateway, "BackendConnectionFailure",
            $"The request to the {target.Describe()} failed: {reason}{advice}", step.ElementName, section, backend: target.Name);
    }

    private static string ChangeUrl(BackendTarget target) => target.BackendId is { } id
        ? $"correct its URL (Set-GatewayBackend -BackendId {id} -Url <url>)"
        : "correct the API's service URL (Set-GatewayApi -ServiceUrl <url>)";

    /// <summary>Whether the connection broke after it was made (not a refused connect): how a refused client certificate looks from here.</summary>
    private static bool ClosedEarly(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse or HttpRequestError.HttpProtocolError }
                or ObjectDisposedException or IOException or SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown })
            {
                return true;
            }
            // HTTP/2: the backend closed a new connection before its first request ("An HTTP/2 connection could not be
            // established"), which HttpClient reports without a cause.
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.Unknown, InnerException: null })
                return true;
        }
        return false;
    }

    private static bool IsTlsFailure(Exception? exception) =>
        exception is HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError };

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
                return found;
        }
        return null;
    }

    private static string Innermost(Exception exception)
    {
        var e = exception;
        while (e.InnerException is not null)
            e = e.InnerException;
        return ReferenceEquals(e, exception) ? e.Message : $"{exception.Message} {e.Message}";
    }
}

/// <summary>
/// Which backends are failing now, so that an outage is logged once instead of once per request: the first failure
/// of a kind (refused, timed out, certificate rejected, …) is logged; repeats of the same kind are only counted; the
/// first success afterwards logs how many requests failed (event 25). A failure of another kind is logged again, so
/// a backend that goes from refusing connections to a bad certificate says so. The answer to every client is the
/// same JSON error either way.
/// </summary>
internal sealed class BackendOutages(ILogger logger)
{
    /// <summary>Appended to the first log line of an outage.</summary>
    public const string Once = " (logged once: further failures of this backend are counted until it answers again)";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Outage> _failing = new(StringComparer.Ordinal);
    private int _count;

    /// <summary>Records a failure of <paramref name="kind"/>; true when it should be logged (the first of its kind).</summary>
    public bool IsFirst(BackendTarget target, string kind)
    {
        var key = Key(target);
        while (true)
        {
            if (_failing.TryGetValue(key, out var current))
            {
                Interlocked.Increment(ref current.Failures);
                if (string.Equals(current.Kind, kind, StringComparison.Ordinal))
                    return false;
                // Another kind: replace (keeping the count) and log it.
                if (_failing.TryUpdate(key, new Outage(kind, Volatile.Read(ref current.Failures)), current))
                    return true;
                continue;
            }
            if (_failing.TryAdd(key, new Outage(kind, 1)))
            {
                Interlocked.Increment(ref _count);
                return true;
            }
        }
    }

    /// <summary>A request to <paramref name="target"/> got an answer: ends its outage, if any (one volatile read otherwise).</summary>
    public void Succeeded(BackendTarget target)
    {
        if (Volatile.Read(ref _count) == 0 || !_failing.TryRemove(Key(target), out var outage))
            return;
        Interlocked.Decrement(ref _count);
        Log.BackendRecovered(logger, target.Name, target.Authority, Volatile.Read(ref outage.Failures));
    }

    private static string Key(BackendTarget target) => target.Name + "|" + target.Authority;

    private sealed class Outage(string kind, int failures)
    {
        public readonly string Kind = kind;
        public int Failures = failures;
    }
}

/// <summary>
/// Per request: the backend URL is the backend's plus the path after the API's own (and its query plus the
/// credentials' parameters); Host is the backend's (unless set-header wrote one); credentials replace what the client
/// sent; X-Forwarded-For gets the client's address. On the way back, outbound runs on the backend's status and headers
/// before the body streams.
/// </summary>
internal sealed class GatewayTransformer : HttpTransformer
{
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        var context = httpContext.Features.Get<PolicyContext>()!;
        var target = context.State.ForwardTarget!;
        var path = httpContext.Request.Path.Value ?? string.Empty;
        var remainder = context.State.PathConsumed >= path.Length ? PathString.Empty : new PathString(path[context.State.PathConsumed..]);
        var query = target.Query.Count == 0 ? httpContext.Request.QueryString : MergeQuery(httpContext.Request.QueryString, target.Query);
        proxyRequest.RequestUri = RequestUtilities.MakeDestinationAddress(destinationPrefix, remainder, query);
        // YARP copies the client's Host (the gateway's own name); the backend gets its host name from the URL instead,
        // as APIM does, unless set-header gave the request a Host.
        if (!context.State.HostHeaderSet)
            proxyRequest.Headers.Host = null;

        if (httpContext.Connection.RemoteIpAddress is { } address)
        {
            var forwarded = address.ToString();
            if (proxyRequest.Headers.TryGetValues("X-Forwarded-For", out var existing))
            {
                forwarded = string.Join(", ", existing) + ", " + forwarded;
                proxyRequest.Headers.Remove("X-Forwarded-For");
            }
            proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-For", forwarded);
        }
        foreach (var (name, values) in target.Headers)
        {
            proxyRequest.Headers.Remove(name);
            proxyRequest.Headers.TryAddWithoutValidation(name, values);
        }
        if (target.Authorization is { } authorization)
        {
            proxyRequest.Headers.Remove("Authorization");
            proxyRequest.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        if (context.State.ApiRoute.Api.ForwardClientCertificate != ClientCertificateForwarding.None)
            ForwardClientCertificate(context, proxyRequest);
    }

    /// <summary>
    /// The client certificate of the TLS connection in the headers the API asks for. They replace whatever a policy
    /// wrote under the same names (the client's own were removed on arrival); without a certificate none is sent.
    /// </summary>
    private static void ForwardClientCertificate(PolicyContext context, HttpRequestMessage proxyRequest)
    {
        var forwarding = context.State.ApiRoute.Api.ForwardClientCertificate;
        var headers = proxyRequest.Headers;
        foreach (var name in ClientCertificateHeaders.All)
            headers.Remove(name);
        if (context.State.ClientCertificate is not { } certificate)
            return;
        var der = certificate.RawDataMemory.Span;
        if ((forwarding & ClientCertificateForwarding.XArrClientCert) != 0)
            headers.TryAddWithoutValidation(ClientCertificateHeaders.XArrClientCert, ClientCertificateHeaders.XArrValue(der));
        if ((forwarding & ClientCertificateForwarding.ClientCert) != 0)
        {
            headers.TryAddWithoutValidation(ClientCertificateHeaders.ClientCert, ClientCertificateHeaders.ByteSequence(der));
            // The chain of the handshake that presented this certificate (a renegotiated one has none recorded).
            if (context.State.Tls is { } tls && ReferenceEquals(tls.Certificate, certificate)
                && ClientCertificateHeaders.ByteSequenceList(tls.ForwardedChain) is { } chain)
            {
                headers.TryAddWithoutValidation(ClientCertificateHeaders.ClientCertChain, chain);
            }
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var copy = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
        if (proxyResponse is null)
            return copy;
        var context = httpContext.Features.Get<PolicyContext>()!;
        return context.State.ApiRoute.Pipeline.RunOutboundOnBackendResponse(context) && copy;
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
