using System.Management.Automation;
using ApiGateway.Core.Hosting;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Gateway;

/// <summary>
/// <c>Start-Gateway</c>: runs the gateway for the context's configuration as a background process, waits until it
/// serves the configuration, and returns its process id, status URL and listening URLs. The gateway runs out of the
/// pwsh process (it needs ASP.NET Core, Roslyn and YARP, which must not load into pwsh).
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Gateway", SupportsShouldProcess = true)]
[OutputType(typeof(GatewayStartResult))]
public sealed class StartGatewayCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The gateway host (ApiGateway.Host.dll). Default: the one in the module's host folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HostPath { get; set; }

    /// <summary>Port of the status endpoint on 127.0.0.1. Default: an ephemeral port.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int? StatusPort { get; set; }

    /// <summary>Where the gateway writes its log. Default: gateway.log beside the configuration.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LogPath { get; set; }

    /// <summary>Seconds to wait for the gateway to serve the configuration. Default: 60.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 60;

    /// <summary>
    /// A file the gateway appends one JSON line per request to (time, API, method, path without the query, status,
    /// client certificate, decision, backend, latency; never a secret). Default: no access log.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AccessLogPath { get; set; }

    /// <summary>
    /// An address and port where /healthz, /readyz and /metrics are also served (never /status or /shutdown), for a
    /// load balancer or Prometheus: e.g. '*:9100', '0.0.0.0:9100', '[::]:9100', '127.0.0.1:9100'.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HealthAddress { get; set; }

    /// <summary>Seconds a stop lets requests in flight finish before it closes their connections. Default: 30.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int? DrainTimeoutSec { get; set; }

    /// <summary>Seconds a stop keeps accepting connections, with /readyz answering 503, before draining (so a load balancer moves away first). Default: 0.</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int? ShutdownDelaySec { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!ShouldProcess(service.ConfigurationPath, "Start gateway"))
            return;
        if (TryInvoke(() => Start(service.ConfigurationPath, ResolvePath, ModuleHostPath()), out var started))
            WriteObject(started);
    }

    /// <summary>
    /// The host in the folder of the module this cmdlet was imported from (its ModuleBase), which is where the module
    /// ships it even when the engine already had the assembly loaded from somewhere else.
    /// </summary>
    private string? ModuleHostPath() =>
        MyInvocation.MyCommand.Module?.ModuleBase is { Length: > 0 } moduleBase
            ? System.IO.Path.Combine(moduleBase, "host", "ApiGateway.Host.dll")
            : null;

    /// <summary>The Core operation with this cmdlet's inputs (<paramref name="moduleHostPath"/>: the default host).</summary>
    internal GatewayStartResult Start(string configurationPath, Func<string, string> resolvePath, string? moduleHostPath = null) =>
        GatewayProcess.Start(configurationPath, new GatewayStartOptions
        {
            HostPath = HostPath is null ? moduleHostPath : resolvePath(HostPath),
            StatusPort = StatusPort,
            LogPath = LogPath is null ? null : resolvePath(LogPath),
            Timeout = TimeSpan.FromSeconds(TimeoutSec),
            AccessLogPath = AccessLogPath is null ? null : resolvePath(AccessLogPath),
            HealthAddress = HealthAddress,
            DrainTimeout = DrainTimeoutSec is { } drain ? TimeSpan.FromSeconds(drain) : null,
            ShutdownDelay = ShutdownDelaySec is { } delay ? TimeSpan.FromSeconds(delay) : null,
        });
}
