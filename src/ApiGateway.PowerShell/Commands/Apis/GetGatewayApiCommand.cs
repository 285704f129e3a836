using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Apis;

/// <summary><c>Get-GatewayApi [-ApiId &lt;wildcards&gt;] | -DisplayName &lt;wildcards&gt;</c> (Az's <c>-Name</c>).</summary>
[Cmdlet(VerbsCommon.Get, "GatewayApi", DefaultParameterSetName = ParameterSets.ApiId)]
[OutputType(typeof(GatewayApi))]
public sealed class GetGatewayApiCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>Id of the APIs to get; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ParameterSetName = ParameterSets.ApiId, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ApiIdCompleter))]
    [SupportsWildcards]
    public string? ApiId { get; set; }

    /// <summary>
    /// Display name of the APIs to get (Az's <c>-Name</c>); wildcards allowed. Not bound from the pipeline: a piped
    /// API is found by its id, and a display name such as 'Orders [beta]' would be read as a pattern.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.DisplayName)]
    [Alias("Name")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string? DisplayName { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (TryInvoke(() => Get(service), out var apis))
            WriteObject(apis, enumerateCollection: true);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal IReadOnlyList<GatewayApi> Get(GatewayService service) =>
        DisplayName is not null ? service.GetApisByDisplayName(DisplayName) : service.GetApis(ApiId);
}
