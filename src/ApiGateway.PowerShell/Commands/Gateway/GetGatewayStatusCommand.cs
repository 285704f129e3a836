using System.Management.Automation;
using ApiGateway.Core.Hosting;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Gateway;

/// <summary>
/// <c>Get-GatewayStatus</c>: whether a gateway serves the context's configuration, the revision it loaded, its last
/// reload error and the URLs it listens on (from the state file beside the configuration and the status endpoint).
/// </summary>
[Cmdlet(VerbsCommon.Get, "GatewayStatus")]
[OutputType(typeof(GatewayStatus))]
public sealed class GetGatewayStatusCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (TryInvoke(() => Get(service.ConfigurationPath), out var status))
            WriteObject(status);
    }

    /// <summary>The Core operation.</summary>
    internal static GatewayStatus Get(string configurationPath) => GatewayProcess.GetStatus(configurationPath);
}
