using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Apis;

/// <summary><c>Remove-GatewayApi</c>: ConfirmImpact High (the API's policy goes with it).</summary>
[Cmdlet(VerbsCommon.Remove, "GatewayApi", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ParameterSets.ApiId)]
[OutputType(typeof(GatewayApi))]
public sealed class RemoveGatewayApiCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.ApiId, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ParameterSets.InputObject, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext? Context { get; set; }

    /// <summary>The API to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.ApiId, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ApiIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string ApiId { get; set; } = null!;

    /// <summary>APIs from Get-GatewayApi.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.InputObject, ValueFromPipeline = true)]
    [ValidateNotNull]
    public GatewayApi[] InputObject { get; set; } = null!;

    /// <summary>Do not ask for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Output the removed API.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => RemoveEach(
        ParameterSetName == ParameterSets.InputObject
            ? InputObject.Select(a => (a.ApiId, a.ConfigurationPath))
            : [(ApiId, (string?)null)],
        Context, "API", "Remove API and its policy", Force, PassThru, Remove);

    /// <summary>The Core operation.</summary>
    internal static GatewayApi Remove(GatewayService service, string apiId) => service.RemoveApi(apiId);
}
