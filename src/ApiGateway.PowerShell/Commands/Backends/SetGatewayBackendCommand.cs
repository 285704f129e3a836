using System.Management.Automation;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Backends;

/// <summary>
/// <c>Set-GatewayBackend</c>: changes what is given, leaves the rest. The two TLS switches are independent:
/// <c>Get-GatewayBackend -Context $c | Set-GatewayBackend -SkipCertificateNameValidation $true</c> leaves chain
/// validation as it was.
/// </summary>
[Cmdlet(VerbsCommon.Set, "GatewayBackend", SupportsShouldProcess = true, DefaultParameterSetName = ParameterSets.BackendId)]
[OutputType(typeof(GatewayBackend))]
public sealed class SetGatewayBackendCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.BackendId, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ParameterSets.InputObject, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext? Context { get; set; }

    /// <summary>The backend to change.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.BackendId, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BackendIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string BackendId { get; set; } = null!;

    /// <summary>Backends from Get-GatewayBackend.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.InputObject, ValueFromPipeline = true)]
    [ValidateNotNull]
    public GatewayBackend[] InputObject { get; set; } = null!;

    /// <summary>New absolute http or https URL.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Url { get; set; }

    /// <summary>http or soap.</summary>
    [Parameter]
    public BackendProtocol? Protocol { get; set; }

    /// <summary>New title ('' clears it).</summary>
    [Parameter]
    public string? Title { get; set; }

    /// <summary>New description ('' clears it).</summary>
    [Parameter]
    public string? Description { get; set; }

    [Parameter]
    public bool? SkipCertificateChainValidation { get; set; }

    [Parameter]
    public bool? SkipCertificateNameValidation { get; set; }

    /// <summary>New credentials (replace the old ones).</summary>
    [Parameter]
    [ValidateNotNull]
    public GatewayBackendCredential? Credential { get; set; }

    /// <summary>Remove the backend's credentials.</summary>
    [Parameter]
    public SwitchParameter RemoveCredential { get; set; }

    /// <summary>Output the changed backend.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => ChangeEach(
        ParameterSetName == ParameterSets.InputObject
            ? InputObject.Select(b => (b.BackendId, b.ConfigurationPath))
            : [(BackendId, (string?)null)],
        Context, "backend", "Change backend", PassThru, (service, id) => Change(service, id, RemoveCredential.IsPresent));

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal GatewayBackend Change(GatewayService service, string backendId, bool removeCredential)
    {
        if (removeCredential && Credential is not null)
            throw new ArgumentException("Give -Credential (replace the credentials) or -RemoveCredential (drop them), not both.");
        return service.SetBackend(backendId, new BackendDefinition
        {
            Url = Url,
            Protocol = Protocol,
            Title = Title,
            Description = Description,
            SkipCertificateChainValidation = SkipCertificateChainValidation,
            SkipCertificateNameValidation = SkipCertificateNameValidation,
            Credentials = Credential,
            RemoveCredentials = removeCredential,
        });
    }
}
