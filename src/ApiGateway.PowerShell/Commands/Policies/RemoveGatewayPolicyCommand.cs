using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Policies;

/// <summary>
/// <c>Remove-GatewayPolicy [-ApiId]</c>, as Remove-AzApiManagementPolicy: the API (or, without <c>-ApiId</c>, the
/// global scope) goes back to the default policy and Get-GatewayPolicy returns nothing for it. ConfirmImpact High;
/// the gateway credential written into the policy goes with it (a warning says how to set it again).
/// </summary>
[Cmdlet(VerbsCommon.Remove, "GatewayPolicy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(GatewayPolicy))]
public sealed class RemoveGatewayPolicyCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The API whose policy to remove; without it, the global ("All APIs") policy.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ApiIdCompleter))]
    public string? ApiId { get; set; }

    /// <summary>Do not ask for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Output the removed policy.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => RemoveEach(
        [(string.IsNullOrEmpty(ApiId) ? null : ApiId, (string?)null)],
        Context, PolicyTarget, "Remove policy (the default applies from then on)", Force, PassThru, Remove);

    /// <summary>The Core operation.</summary>
    internal static OperationResult<GatewayPolicy?> Remove(GatewayService service, string? apiId) => service.RemovePolicy(apiId);
}
