using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Policies;

/// <summary><c>Get-GatewayPolicy [-ApiId]</c>: an API's policy, or the global policy without <c>-ApiId</c>.</summary>
[Cmdlet(VerbsCommon.Get, "GatewayPolicy")]
[OutputType(typeof(GatewayPolicy))]
public sealed class GetGatewayPolicyCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The API; without it, the global ("All APIs") policy.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ApiIdCompleter))]
    public string? ApiId { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (TryInvoke(() => Get(service), out var policy))
            WriteObject(policy);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal GatewayPolicy Get(GatewayService service) => service.GetPolicy(string.IsNullOrEmpty(ApiId) ? null : ApiId);
}
