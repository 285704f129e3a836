using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Host.Runtime;
using ApiGateway.Host.Tls;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Context;

/// <summary>
/// The <c>context</c> of APIM policy expressions: what <c>@(context.Request.Certificate == null)</c> reads. One
/// instance is pooled per concurrent request and reset between requests, so reading it allocates nothing unless
/// a member says otherwise. Members follow APIM's context variable reference where they apply to this gateway.
/// </summary>
public sealed class PolicyContext
{
    /// <summary>
    /// The pipeline's state of the request running now and the values behind the members below: reset as a whole by
    /// <see cref="End"/>. A field (not a property) so that steps change it in place.
    /// </summary>
    internal RequestState State;

    internal PolicyContext()
    {
        Request = new PolicyRequest(this);
        Response = new PolicyResponse(this);
        Variables = new PolicyVariableDictionary();
    }

    /// <summary>The client's request: certificate, headers, method, URL, address.</summary>
    public PolicyRequest Request { get; }

    /// <summary>The response: the backend's in <c>outbound</c>, the one being built in <c>return-response</c> and <c>on-error</c>.</summary>
    public PolicyResponse Response { get; }

    /// <summary>The API the request was routed to.</summary>
    public PolicyApi Api => State.Api ?? PolicyApi.None;

    /// <summary>The gateway: service name and the certificates of the configuration by id.</summary>
    public PolicyDeployment Deployment
    {
        get => State.Deployment ?? PolicyDeployment.None;
        internal set => State.Deployment = value;
    }

    /// <summary>Values set with <c>&lt;set-variable&gt;</c>.</summary>
    public PolicyVariableDictionary Variables { get; }

    /// <summary>A unique id of this request (made on first use).</summary>
    public Guid RequestId
    {
        get
        {
            if (!State.HasRequestId)
            {
                State.RequestId = Guid.NewGuid();
                State.HasRequestId = true;
            }
            return State.RequestId;
        }
    }

    /// <summary>When the gateway received the request (UTC).</summary>
    /// <remarks>
    /// Worked out on first use from the monotonic clock reading taken when the request arrived, so the requests that
    /// never ask pay one clock reading instead of two.
    /// </remarks>
    public DateTime Timestamp
    {
        get
        {
            if (!State.HasTimestamp)
            {
                State.Timestamp = DateTime.UtcNow - Stopwatch.GetElapsedTime(State.StartTimestamp);
                State.HasTimestamp = true;
            }
            return State.Timestamp;
        }
    }

    /// <summary>Time since the gateway received the request.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(State.StartTimestamp);

    /// <summary>In <c>on-error</c> (and after a failed <c>validate-client-certificate</c> with ignore-error): what went wrong.</summary>
    public PolicyLastError? LastError
    {
        get => State.LastError;
        internal set => State.LastError = value;
    }

    /// <summary>
    /// Always false, also for a traced request (a dry run, or a live trace the status token's holder asked for): a
    /// trace must show what an untraced request gets, so no policy may behave differently under it.
    /// </summary>
    public bool Tracing => false;

    internal bool VerifyCertificate(X509Certificate2 certificate, bool checkRevocation)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return State.VerificationOf(certificate).Verify(checkRevocation);
    }

    internal void Begin(HttpContext http, GatewaySnapshot snapshot, ApiRoute route, int pathConsumed, ConnectionTls? tls)
    {
        State.Http = http;
        State.Snapshot = snapshot;
        State.ApiRoute = route;
        State.PathConsumed = pathConsumed;
        State.Tls = tls;
        State.ClientCertificate = tls?.Certificate ?? http.Connection.ClientCertificate;
        State.StartTimestamp = Stopwatch.GetTimestamp();
        State.Api = route.ModelApi;
        State.Deployment = snapshot.Deployment;
        Request.Attach(http.Request);
        Response.Attach(http.Response);
    }

    /// <summary>Forgets the request: the context is then as a new one (the pool hands it to the next request).</summary>
    internal void End()
    {
        Request.Attach(null);
        Response.Attach(null);
        Variables.Clear();
        State = default;
    }
}

/// <summary>The client's request (APIM <c>context.Request</c>).</summary>
public sealed class PolicyRequest
{
    private readonly PolicyContext _context;
    private HttpRequest? _request;
    private string? _ipAddress;

    internal PolicyRequest(PolicyContext context)
    {
        _context = context;
        Headers = new PolicyHeaderDictionary();
        Url = new PolicyUrl();
    }

    /// <summary>
    /// The client certificate of the TLS connection, or null when the hostname does not negotiate one or the client
    /// sent none. <c>Verify()</c> and <c>VerifyNoRevocation()</c> check it against the uploaded CA certificates and the
    /// system roots, using the chain built during the handshake.
    /// </summary>
    public X509Certificate2? Certificate
    {
        get
        {
            _context.State.CertificateRead = true;
            return _context.State.ClientCertificate;
        }
    }

    /// <summary>Request headers by name (case-insensitive).</summary>
    public PolicyHeaderDictionary Headers { get; }

    /// <summary>The HTTP method, e.g. <c>GET</c>.</summary>
    public string Method => _request?.Method ?? string.Empty;

    /// <summary>The URL the client asked for.</summary>
    public PolicyUrl Url { get; }

    /// <summary>The URL the client asked for (the same as <see cref="Url"/>: this gateway does not rewrite it before the policies run).</summary>
    public PolicyUrl OriginalUrl => Url;

    /// <summary>The client's IP address.</summary>
    public string IpAddress => _ipAddress ??= _request?.HttpContext.Connection.RemoteIpAddress?.ToString() ?? string.Empty;

    /// <summary>URL template parameters: always empty (APIs here have no operations with templates).</summary>
    public IReadOnlyDictionary<string, string> MatchedParameters => EmptyParameters.Instance;

    internal void Attach(HttpRequest? request)
    {
        _request = request;
        _ipAddress = null;
        Headers.Attach(request);
        Url.Attach(request);
    }

    private static class EmptyParameters
    {
        public static readonly IReadOnlyDictionary<string, string> Instance = new Dictionary<string, string>();
    }
}

/// <summary>The response (APIM <c>context.Response</c>).</summary>
public sealed class PolicyResponse
{
    private HttpResponse? _response;

    internal PolicyResponse(PolicyContext context)
    {
        _ = context;
        Headers = new PolicyHeaderDictionary();
    }

    /// <summary>The status code.</summary>
    public int StatusCode => _response?.StatusCode ?? 0;

    /// <summary>The reason phrase, e.g. <c>OK</c>.</summary>
    public string StatusReason
    {
        get
        {
            if (_response is null)
                return string.Empty;
            var feature = _response.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>();
            return feature?.ReasonPhrase ?? Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(_response.StatusCode);
        }
    }

    /// <summary>Response headers by name (case-insensitive).</summary>
    public PolicyHeaderDictionary Headers { get; }

    internal void Attach(HttpResponse? response)
    {
        _response = response;
        Headers.Attach(response);
    }
}

/// <summary>A URL (APIM <c>IUrl</c>).</summary>
public sealed class PolicyUrl
{
    private HttpRequest? _request;

    internal PolicyUrl()
    {
        Query = new PolicyQueryDictionary();
    }

    /// <summary><c>https</c> or <c>http</c>.</summary>
    public string Scheme => _request?.Scheme ?? string.Empty;

    /// <summary>The host name the client used (without port).</summary>
    public string Host => _request?.Host.Host ?? string.Empty;

    /// <summary>The port.</summary>
    public int Port => _request is null ? 0 : _request.Host.Port ?? (_request.IsHttps ? 443 : 80);

    /// <summary>The path, starting with '/', without the query.</summary>
    public string Path => _request?.Path.Value is { Length: > 0 } path ? path : "/";

    /// <summary>The query with its leading '?', or an empty string.</summary>
    public string QueryString => _request?.QueryString.Value ?? string.Empty;

    /// <summary>Query parameters by name.</summary>
    public PolicyQueryDictionary Query { get; }

    /// <summary>The whole URL.</summary>
    public override string ToString() =>
        _request is null ? string.Empty : $"{_request.Scheme}://{_request.Host}{_request.PathBase}{_request.Path}{_request.QueryString}";

    internal void Attach(HttpRequest? request)
    {
        _request = request;
        Query.Attach(request);
    }
}

/// <summary>The API a request was routed to (APIM <c>context.Api</c>).</summary>
public sealed class PolicyApi
{
    internal static readonly PolicyApi None = new(string.Empty, string.Empty, string.Empty);

    internal PolicyApi(string id, string name, string path)
    {
        Id = id;
        Name = name;
        Path = path;
    }

    /// <summary>The API id.</summary>
    public string Id { get; }

    /// <summary>The display name.</summary>
    public string Name { get; }

    /// <summary>The URL suffix, e.g. <c>orders</c> (empty for the root).</summary>
    public string Path { get; }
}

/// <summary>The gateway itself (APIM <c>context.Deployment</c>).</summary>
public sealed class PolicyDeployment
{
    internal static readonly PolicyDeployment None = new(string.Empty, CertificateDictionary.Empty);

    internal PolicyDeployment(string serviceName, CertificateDictionary certificates)
    {
        ServiceName = serviceName;
        Certificates = certificates;
    }

    /// <summary>The service name of the configuration.</summary>
    public string ServiceName { get; }

    /// <summary>Always <c>local</c>.</summary>
    public string Region => "local";

    /// <summary>
    /// The certificates of the configuration (uploaded, linked and store) by id. They are public copies: no private
    /// key is reachable from a policy expression.
    /// </summary>
    public CertificateDictionary Certificates { get; }
}

/// <summary>What went wrong (APIM <c>context.LastError</c>).</summary>
public sealed class PolicyLastError
{
    internal PolicyLastError(string source, string reason, string message, string section, string? policyId)
    {
        Source = source;
        Reason = reason;
        Message = message;
        Section = section;
        PolicyId = policyId;
    }

    /// <summary>The element that failed, e.g. <c>validate-client-certificate</c> or <c>forward-request</c>.</summary>
    public string Source { get; }

    /// <summary>A machine-readable reason, e.g. <c>ClientCertificateNotValid</c>.</summary>
    public string Reason { get; }

    /// <summary>A sentence for people.</summary>
    public string Message { get; }

    /// <summary>Always empty (APIM's scope of the failing policy).</summary>
    public string Scope => string.Empty;

    /// <summary>The section: inbound, backend, outbound.</summary>
    public string Section { get; }

    /// <summary>Always empty.</summary>
    public string Path => string.Empty;

    /// <summary>The id attribute of the failing element, if any.</summary>
    public string? PolicyId { get; }
}
