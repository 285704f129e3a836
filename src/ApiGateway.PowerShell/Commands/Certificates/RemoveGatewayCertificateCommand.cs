using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Certificates;

/// <summary>
/// <c>Remove-GatewayCertificate</c>: ConfirmImpact High; <c>-Force</c> skips the confirmation, never the rule that
/// a certificate in use (hostname, API, backend, policy) is not removed.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "GatewayCertificate", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ParameterSets.CertificateId)]
[OutputType(typeof(GatewayCertificate))]
public sealed class RemoveGatewayCertificateCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.CertificateId, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ParameterSets.InputObject, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext? Context { get; set; }

    /// <summary>The certificate to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.CertificateId, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CertificateIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string CertificateId { get; set; } = null!;

    /// <summary>Certificates from Get-GatewayCertificate.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.InputObject, ValueFromPipeline = true)]
    [ValidateNotNull]
    public GatewayCertificate[] InputObject { get; set; } = null!;

    /// <summary>Do not ask for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Output the removed certificate.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => RemoveEach(
        ParameterSetName == ParameterSets.InputObject
            ? InputObject.Select(c => (c.CertificateId, c.ConfigurationPath))
            : [(CertificateId, (string?)null)],
        Context, "certificate", "Remove certificate", Force, PassThru, Remove);

    /// <summary>The Core operation.</summary>
    internal static GatewayCertificate Remove(GatewayService service, string certificateId) => service.RemoveCertificate(certificateId);
}
