using System.Management.Automation;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Backends;

/// <summary>
/// <c>New-GatewayBackend</c>, as New-AzApiManagementBackend:
/// <c>New-GatewayBackend -Context $context -Url 'https://contoso.com/myapi' -Protocol http -SkipCertificateChainValidation $true</c>.
/// Every property binds by name, so <c>Import-Csv</c> rows or backends of another configuration can be piped in.
/// </summary>
[Cmdlet(VerbsCommon.New, "GatewayBackend", SupportsShouldProcess = true)]
[OutputType(typeof(GatewayBackend))]
public sealed class NewGatewayBackendCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The id to give it (default: made from the URL's host).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? BackendId { get; set; }

    /// <summary>Absolute http or https URL of the backend.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Url { get; set; } = null!;

    /// <summary>http or soap.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public BackendProtocol Protocol { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Title { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Description { get; set; }

    /// <summary>$true: accept a backend certificate whose chain does not build to a trusted root (self-signed backends).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public bool? SkipCertificateChainValidation { get; set; }

    /// <summary>$true: accept a backend certificate that does not name the URL's host.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public bool? SkipCertificateNameValidation { get; set; }

    /// <summary>What the gateway presents to the backend (New-GatewayBackendCredential).</summary>
    [Parameter]
    [ValidateNotNull]
    public GatewayBackendCredential? Credential { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!ShouldProcess(Target("backend", BackendId, service), $"Create backend for {Url}"))
            return;
        if (TryInvoke(() => Create(service), out var backend))
            WriteObject(backend);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal GatewayBackend Create(GatewayService service) => service.NewBackend(new BackendDefinition
    {
        BackendId = BackendId,
        Url = Url,
        Protocol = Protocol,
        Title = Title,
        Description = Description,
        SkipCertificateChainValidation = SkipCertificateChainValidation,
        SkipCertificateNameValidation = SkipCertificateNameValidation,
        Credentials = Credential,
    });
}
