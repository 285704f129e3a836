using System.Security.Cryptography.X509Certificates;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Runtime;
using ApiGateway.Host.Tls;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Context;

/// <summary>
/// Everything one request carries through the pipeline that policy expressions do not see, plus the per-request
/// values behind <see cref="PolicyContext"/>'s own members. A struct held by the pooled context, so ending a request
/// resets all of it at once (<c>State = default</c>): a field added here cannot survive into the next request, and
/// nothing is allocated for it.
/// </summary>
internal struct RequestState
{
    public HttpContext Http;
    public GatewaySnapshot Snapshot;
    public ApiRoute ApiRoute;
    public ConnectionTls? Tls;
    public X509Certificate2? ClientCertificate;

    /// <summary>The monotonic clock reading when the request arrived.</summary>
    public long StartTimestamp;

    /// <summary>Characters of the request path taken by the API path ("/orders" of "/orders/1").</summary>
    public int PathConsumed;

    /// <summary>Set by set-backend-service.</summary>
    public BackendTarget? BackendOverride;

    /// <summary>Set by authentication-certificate.</summary>
    public ServedCertificate? AuthenticationCertificate;

    /// <summary>The backend the request went to (for the transformer and error reports).</summary>
    public BackendTarget? ForwardTarget;

    public bool Forwarded;

    /// <summary>Set when set-header gave the request a Host of its own: the backend then gets that, not its own host name.</summary>
    public bool HostHeaderSet;

    /// <summary>A body set by set-body for the response (written by the pipeline) or null.</summary>
    public string? ResponseBody;

    /// <summary>The failure that sends the request to on-error.</summary>
    public PipelineError? Error;

    /// <summary>Set when a policy ended the response itself (return-response, or set-body after forwarding).</summary>
    public bool ResponseReplaced;

    /// <summary>Set when a policy set the status or body of the response (on-error answers then, instead of the default error body).</summary>
    public bool ResponseCustomized;

    /// <summary>Set when a policy expression read <c>context.Request.Certificate</c> (a 403 of such a policy is a certificate refusal).</summary>
    public bool CertificateRead;

    /// <summary>Set when validate-client-certificate refused the request (metrics and the access log).</summary>
    public Metrics.ClientCertificateRefusal? Refusal;

    /// <summary>The code of the error that sent the request to on-error (kept when on-error answers), or null.</summary>
    public string? ErrorCode;

    /// <summary>The step running now, for error reports.</summary>
    public Step? CurrentStep;

    /// <summary>
    /// The trace of this request, or null (always, unless a dry run or a caller holding the status token asked): every
    /// recording site is a null check, so an untraced request pays nothing else.
    /// </summary>
    public PolicyTrace? Trace;

    // Behind PolicyContext's members (made on first use).
    public Guid RequestId;
    public bool HasRequestId;
    public DateTime Timestamp;
    public bool HasTimestamp;
    public PolicyLastError? LastError;
    public PolicyApi? Api;
    public PolicyDeployment? Deployment;

    /// <summary>The checks of <paramref name="certificate"/>: the connection's (seeded by the handshake) or the revision's.</summary>
    public readonly CertificateVerification VerificationOf(X509Certificate2 certificate) =>
        Tls is { Certificate: { } presented } tls && ReferenceEquals(presented, certificate)
            ? tls.Verification!
            : Snapshot.ClientTrust.VerificationOf(certificate);
}
