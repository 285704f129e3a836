using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Hostnames;

/// <summary><c>Get-GatewayHostname [-HostName &lt;wildcards&gt;]</c>: the hostnames the gateway listens on.</summary>
[Cmdlet(VerbsCommon.Get, "GatewayHostname")]
[OutputType(typeof(GatewayHostname))]
public sealed class GetGatewayHostnameCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>Hostnames to get; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    [SupportsWildcards]
    public string? HostName { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (TryInvoke(() => Get(service), out var hostnames))
            WriteObject(hostnames, enumerateCollection: true);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal IReadOnlyList<GatewayHostname> Get(GatewayService service) => service.GetHostnames(HostName);
}
