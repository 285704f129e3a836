using System.Management.Automation;
using ApiGateway.Core.Hosting;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Gateway;

/// <summary>
/// <c>Stop-Gateway</c>: stops the gateway that serves the context's configuration gracefully (in-flight requests
/// finish), killing it only when it does not stop within -TimeoutSec. Nothing running is not an error.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "Gateway", SupportsShouldProcess = true)]
[OutputType(typeof(GatewayStopResult))]
public sealed class StopGatewayCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>Seconds to wait for a graceful stop before the process is killed. Default: 30.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    /// <summary>Output what happened.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!ShouldProcess(service.ConfigurationPath, "Stop gateway"))
            return;
        if (!TryInvoke(() => Stop(service.ConfigurationPath), out var stopped))
            return;
        if (stopped.Message is { } message)
            WriteVerbose(message);
        if (stopped.Killed)
            WriteWarning($"The gateway (process {stopped.Pid}) did not stop within {TimeoutSec} s and was killed; requests in flight were cut off.");
        if (PassThru)
            WriteObject(stopped);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal GatewayStopResult Stop(string configurationPath) => GatewayProcess.Stop(configurationPath, TimeSpan.FromSeconds(TimeoutSec));
}
