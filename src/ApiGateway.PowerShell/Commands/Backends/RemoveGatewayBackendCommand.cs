using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Backends;

/// <summary><c>Remove-GatewayBackend</c>: ConfirmImpact High; refused while an API or a policy uses the backend.</summary>
[Cmdlet(VerbsCommon.Remove, "GatewayBackend", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ParameterSets.BackendId)]
[OutputType(typeof(GatewayBackend))]
public sealed class RemoveGatewayBackendCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.BackendId, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ParameterSets.InputObject, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext? Context { get; set; }

    /// <summary>The backend to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.BackendId, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BackendIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string BackendId { get; set; } = null!;

    /// <summary>Backends from Get-GatewayBackend.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.InputObject, ValueFromPipeline = true)]
    [ValidateNotNull]
    public GatewayBackend[] InputObject { get; set; } = null!;

    /// <summary>Do not ask for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Output the removed backend.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => RemoveEach(
        ParameterSetName == ParameterSets.InputObject
            ? InputObject.Select(b => (b.BackendId, b.ConfigurationPath))
            : [(BackendId, (string?)null)],
        Context, "backend", "Remove backend", Force, PassThru, Remove);

    /// <summary>The Core operation.</summary>
    internal static GatewayBackend Remove(GatewayService service, string backendId) => service.RemoveBackend(backendId);
}
