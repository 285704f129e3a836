using System.Management.Automation;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Apis;

/// <summary>
/// <c>New-GatewayApi [-ApiId] -Path &lt;url suffix&gt; -ServiceUrl &lt;url&gt; | -BackendId &lt;id&gt; [-DisplayName]</c>:
/// an API with the default policy (everything from the global policy through &lt;base /&gt;).
/// </summary>
[Cmdlet(VerbsCommon.New, "GatewayApi", SupportsShouldProcess = true, DefaultParameterSetName = ParameterSets.ServiceUrl)]
[OutputType(typeof(GatewayApi))]
public sealed class NewGatewayApiCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The id to give it (default: made from the display name or path).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? ApiId { get; set; }

    /// <summary>A name for people (default: the id). <c>-Name</c> is Az's name for it.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    public string? DisplayName { get; set; }

    /// <summary>Free text for people.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Description { get; set; }

    /// <summary>The URL suffix the API is reached under, e.g. 'orders' ('' is the root). Not a file path.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string Path { get; set; } = null!;

    /// <summary>Absolute URL requests are forwarded to.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.ServiceUrl, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? ServiceUrl { get; set; }

    /// <summary>A backend (New-GatewayBackend) requests are forwarded to.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.BackendId, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BackendIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string? BackendId { get; set; }

    /// <summary>Az's -Protocols: only https is offered (the default), anything else is refused.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public ApiProtocol[]? Protocols { get; set; }

    /// <summary>
    /// Which headers carry the client's certificate to the backend: <c>XArrClientCert</c> (X-ARR-ClientCert, base64
    /// DER), <c>ClientCert</c> (RFC 9440 Client-Cert and Client-Cert-Chain), both, or <c>None</c>. The same headers
    /// sent by a client are always removed.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public ClientCertificateForwarding ForwardClientCertificate
    {
        get => _forwardClientCertificate ?? ClientCertificateForwarding.None;
        set => _forwardClientCertificate = value;
    }

    // Not nullable as a parameter: PowerShell converts a list (XArrClientCert, ClientCert) to a flags enum, not to a
    // Nullable of one. Null here means "not given".
    private ClientCertificateForwarding? _forwardClientCertificate;

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!ShouldProcess(Target("API", ApiId, service), $"Create API at '/{Path}' forwarding to {BackendId ?? ServiceUrl}"))
            return;
        if (TryInvoke(() => Create(service), out var api))
            WriteObject(api);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal GatewayApi Create(GatewayService service) => service.NewApi(new ApiDefinition
    {
        ApiId = ApiId,
        DisplayName = DisplayName,
        Description = Description,
        Path = Path,
        ServiceUrl = ServiceUrl,
        BackendId = BackendId,
        Protocols = Protocols,
        ForwardClientCertificate = _forwardClientCertificate,
    });
}
