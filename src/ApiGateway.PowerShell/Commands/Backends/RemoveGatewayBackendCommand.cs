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

    protected override void ProcessRecord()
    {
        var items = ParameterSetName == ParameterSets.InputObject
            ? InputObject.Select(b => (Id: b.BackendId, Path: b.ConfigurationPath))
            : [(BackendId, (string?)null)];
        foreach (var (id, path) in items)
        {
            var service = ServiceFor(Context, path);
            if (!ShouldProcessRemoval(Target("backend", id, service), "Remove backend", Force))
                continue;
            if (TryInvoke(() => Remove(service, id), out var removed) && PassThru)
                WriteObject(removed);
        }
    }

    /// <summary>The Core operation.</summary>
    internal static GatewayBackend Remove(GatewayService service, string backendId) => service.RemoveBackend(backendId);
}
