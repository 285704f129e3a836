using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Backends;

/// <summary><c>Get-GatewayBackend [-BackendId &lt;wildcards&gt;]</c>.</summary>
[Cmdlet(VerbsCommon.Get, "GatewayBackend")]
[OutputType(typeof(GatewayBackend))]
public sealed class GetGatewayBackendCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>Id of the backends to get; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BackendIdCompleter))]
    [SupportsWildcards]
    public string? BackendId { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (TryInvoke(() => Get(service), out var backends))
            WriteObject(backends, enumerateCollection: true);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal IReadOnlyList<GatewayBackend> Get(GatewayService service) => service.GetBackends(BackendId);
}
