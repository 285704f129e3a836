using System.Collections;
using System.Management.Automation;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Hosting;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Testing;

/// <summary>
/// <c>Invoke-GatewayRequest</c>: the test console — one request through the running gateway of the context (by API
/// id or path; method, headers, body, client certificate), returning status, headers, body and, with
/// <c>-IncludeTrace</c>, the gateway's trace of that request. The trace is asked for with a per-request proof of the
/// gateway's status token (read from the owner-only state file), so no client from the network can have one. The
/// gateway's server certificate must be the hostname's configured certificate unless <c>-SkipCertificateCheck</c>.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "GatewayRequest", DefaultParameterSetName = ParameterSets.RequestPath)]
[OutputType(typeof(GatewayResponse))]
public sealed class InvokeGatewayRequestCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The API to call: its path comes first, then -Path.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ParameterSets.ApiId)]
    [ArgumentCompleter(typeof(ApiIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string ApiId { get; set; } = null!;

    /// <summary>The path below the API's (with -ApiId), or the whole path with any query string, e.g. <c>/orders/1?x=1</c>.</summary>
    [Parameter(ParameterSetName = ParameterSets.ApiId)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.RequestPath)]
    [ValidateNotNull]
    public string? Path { get; set; }

    /// <summary>The request method. Default: GET.</summary>
    [Parameter]
    [ValidatePattern("^[A-Za-z]{1,32}$")]
    public string Method { get; set; } = "GET";

    /// <summary>Request headers, e.g. <c>@{ 'X-Request' = '1' }</c>.</summary>
    [Parameter]
    public IDictionary? Headers { get; set; }

    /// <summary>The request body (sent as UTF-8; text/plain unless -Headers gives a Content-Type).</summary>
    [Parameter]
    public string? Body { get; set; }

    /// <summary>The client certificate with its private key: an X509Certificate2, a Cert: drive item or path, or a PFX/PEM file.</summary>
    [Parameter]
    [ValidateNotNull]
    public object? Certificate { get; set; }

    /// <summary>The password of a PFX file given as -Certificate.</summary>
    [Parameter]
    public SecureString? CertificatePassword { get; set; }

    /// <summary>The hostname to call (SNI and Host). Default: the first configured.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? HostName { get; set; }

    /// <summary>Return the gateway's trace of the request (Trace, DecidedBy).</summary>
    [Parameter]
    [Alias("Trace")]
    public SwitchParameter IncludeTrace { get; set; }

    /// <summary>Accept any server certificate the gateway presents (otherwise it must be the hostname's configured one).</summary>
    [Parameter]
    public SwitchParameter SkipCertificateCheck { get; set; }

    /// <summary>Seconds to wait for the answer. Default: 100.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 100;

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        X509Certificate2? certificate = null;
        if (Certificate is not null && !TryInvoke(() => ClientCertificateArgument.Resolve(this, Certificate, CertificatePassword, needPrivateKey: true), out certificate))
            return;
        if (TryInvoke(() => GatewayRequestClient.Send(service.ConfigurationPath, Options(certificate)), out var response))
            WriteObject(response);
    }

    /// <summary>The Core request of this cmdlet's inputs.</summary>
    internal GatewayRequestOptions Options(X509Certificate2? certificate) => new()
    {
        ApiId = ParameterSetName == ParameterSets.ApiId ? ApiId : null,
        Path = Path,
        Method = Method.ToUpperInvariant(),
        Headers = HeaderArguments.ToList(Headers),
        Body = Body,
        Certificate = certificate,
        HostName = HostName,
        IncludeTrace = IncludeTrace.IsPresent,
        SkipCertificateCheck = SkipCertificateCheck.IsPresent,
        Timeout = TimeSpan.FromSeconds(TimeoutSec),
    };
}
