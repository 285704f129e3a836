using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Hostnames;

/// <summary><c>Remove-GatewayHostname</c>: the gateway stops listening for it. ConfirmImpact High.</summary>
[Cmdlet(VerbsCommon.Remove, "GatewayHostname", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ParameterSets.HostName)]
[OutputType(typeof(GatewayHostname))]
public sealed class RemoveGatewayHostnameCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.HostName, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ParameterSets.InputObject, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext? Context { get; set; }

    /// <summary>The hostname to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.HostName, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string HostName { get; set; } = null!;

    /// <summary>Hostnames from Get-GatewayHostname.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.InputObject, ValueFromPipeline = true)]
    [ValidateNotNull]
    public GatewayHostname[] InputObject { get; set; } = null!;

    /// <summary>Do not ask for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Output the removed hostname.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => RemoveEach(
        ParameterSetName == ParameterSets.InputObject
            ? InputObject.Select(h => (h.HostName, h.ConfigurationPath))
            : [(HostName, (string?)null)],
        Context, "hostname", "Remove hostname", Force, PassThru, Remove);

    /// <summary>The Core operation.</summary>
    internal static GatewayHostname Remove(GatewayService service, string hostName) => service.RemoveHostname(hostName);
}
