using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Limits;

/// <summary>
/// <c>Get-GatewayLimit [-Name &lt;wildcards&gt;]</c>: the connection and request limits of the gateway, each with the
/// value in force, its default, its unit and whether a change needs a restart.
/// </summary>
[Cmdlet(VerbsCommon.Get, "GatewayLimit")]
[OutputType(typeof(GatewayLimit))]
public sealed class GetGatewayLimitCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>Limits to get; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(LimitNameCompleter))]
    [SupportsWildcards]
    public string? Name { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (TryInvoke(() => Get(service), out var limits))
            WriteObject(limits, enumerateCollection: true);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal IReadOnlyList<GatewayLimit> Get(GatewayService service) => service.GetLimits(Name);
}
