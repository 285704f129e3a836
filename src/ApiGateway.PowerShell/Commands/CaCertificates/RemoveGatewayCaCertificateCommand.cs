using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.CaCertificates;

/// <summary>
/// <c>Remove-GatewayCaCertificate</c>: stops trusting a CA certificate. ConfirmImpact High; refused while a
/// validate-client-certificate identity names it, or while it is the last CA and a hostname requires client certificates.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "GatewayCaCertificate", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ParameterSets.CertificateId)]
[OutputType(typeof(GatewayCaCertificate))]
public sealed class RemoveGatewayCaCertificateCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.CertificateId, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ParameterSets.InputObject, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext? Context { get; set; }

    /// <summary>The CA certificate to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.CertificateId, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CaCertificateIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string CertificateId { get; set; } = null!;

    /// <summary>CA certificates from Get-GatewayCaCertificate.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.InputObject, ValueFromPipeline = true)]
    [ValidateNotNull]
    public GatewayCaCertificate[] InputObject { get; set; } = null!;

    /// <summary>Do not ask for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Output the removed CA certificate.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => RemoveEach(
        ParameterSetName == ParameterSets.InputObject
            ? InputObject.Select(c => (c.CertificateId, c.ConfigurationPath))
            : [(CertificateId, (string?)null)],
        Context, "CA certificate", "Stop trusting CA certificate", Force, PassThru, Remove);

    /// <summary>The Core operation.</summary>
    internal static GatewayCaCertificate Remove(GatewayService service, string certificateId) => service.RemoveCaCertificate(certificateId);
}
