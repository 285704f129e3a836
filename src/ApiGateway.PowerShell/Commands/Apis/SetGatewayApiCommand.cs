using System.Management.Automation;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Apis;

/// <summary>
/// <c>Set-GatewayApi</c>: changes what is given. <c>-ServiceUrl</c> and <c>-BackendId</c> replace each other
/// (an API forwards to one of them).
/// </summary>
[Cmdlet(VerbsCommon.Set, "GatewayApi", SupportsShouldProcess = true, DefaultParameterSetName = ParameterSets.ApiId)]
[OutputType(typeof(GatewayApi))]
public sealed class SetGatewayApiCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.ApiId, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ParameterSets.InputObject, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext? Context { get; set; }

    /// <summary>The API to change.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.ApiId, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ApiIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string ApiId { get; set; } = null!;

    /// <summary>APIs from Get-GatewayApi.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.InputObject, ValueFromPipeline = true)]
    [ValidateNotNull]
    public GatewayApi[] InputObject { get; set; } = null!;

    /// <summary>New display name. <c>-Name</c> is Az's name for it.</summary>
    [Parameter]
    [Alias("Name")]
    [ValidateNotNullOrEmpty]
    public string? DisplayName { get; set; }

    /// <summary>New description ('' clears it).</summary>
    [Parameter]
    public string? Description { get; set; }

    /// <summary>New URL suffix ('' is the root).</summary>
    [Parameter]
    [AllowEmptyString]
    public string? Path { get; set; }

    /// <summary>Forward to this absolute URL from now on (replaces a backend).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ServiceUrl { get; set; }

    /// <summary>Forward to this backend from now on (replaces a service URL).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(BackendIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string? BackendId { get; set; }

    /// <summary>Az's -Protocols: only https is offered, anything else is refused.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public ApiProtocol[]? Protocols { get; set; }

    /// <summary>
    /// Which headers carry the client's certificate to the backend: <c>XArrClientCert</c> (X-ARR-ClientCert, base64
    /// DER), <c>ClientCert</c> (RFC 9440 Client-Cert and Client-Cert-Chain), both, or <c>None</c>. The same headers
    /// sent by a client are always removed.
    /// </summary>
    [Parameter]
    public ClientCertificateForwarding ForwardClientCertificate
    {
        get => _forwardClientCertificate ?? ClientCertificateForwarding.None;
        set => _forwardClientCertificate = value;
    }

    // Not nullable as a parameter: PowerShell converts a list (XArrClientCert, ClientCert) to a flags enum, not to a
    // Nullable of one. Null here means "not given".
    private ClientCertificateForwarding? _forwardClientCertificate;

    /// <summary>Output the changed API.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => ChangeEach(
        ParameterSetName == ParameterSets.InputObject
            ? InputObject.Select(a => (a.ApiId, a.ConfigurationPath))
            : [(ApiId, (string?)null)],
        Context, "API", "Change API", PassThru, Change);

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal GatewayApi Change(GatewayService service, string apiId) => service.SetApi(apiId, new ApiDefinition
    {
        DisplayName = DisplayName,
        Description = Description,
        Path = Path,
        ServiceUrl = ServiceUrl,
        BackendId = BackendId,
        Protocols = Protocols,
        ForwardClientCertificate = _forwardClientCertificate,
    });
}
