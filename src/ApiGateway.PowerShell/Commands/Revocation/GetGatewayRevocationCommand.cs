using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Revocation;

/// <summary>
/// <c>Get-GatewayRevocation</c>: how the gateway checks revocation (mode, CRL folder, whether the folder exists and
/// how many CRL files it holds now).
/// </summary>
[Cmdlet(VerbsCommon.Get, "GatewayRevocation")]
[OutputType(typeof(GatewayRevocation))]
public sealed class GetGatewayRevocationCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (TryInvoke(service.GetRevocation, out var revocation))
            WriteObject(revocation);
    }
}
