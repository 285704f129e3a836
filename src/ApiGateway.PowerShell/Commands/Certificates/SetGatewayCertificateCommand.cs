using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Certificates;

/// <summary>
/// <c>Set-GatewayCertificate</c>: replaces the content of a certificate under the same id (rotation in place):
/// every hostname, API and backend that refers to the id uses the new certificate from the next request on.
/// </summary>
/// <remarks>
/// No -InputObject set: the six content sets would double. <c>CertificateId</c> and <c>-Context</c> (alias
/// ConfigurationPath) bind by property name, so <c>Get-GatewayCertificate x | Set-GatewayCertificate -PfxFilePath ...</c> works.
/// </remarks>
[Cmdlet(VerbsCommon.Set, "GatewayCertificate", SupportsShouldProcess = true)]
[OutputType(typeof(GatewayCertificate))]
public sealed class SetGatewayCertificateCommand : CertificateSourceCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The certificate to replace.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CertificateIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string CertificateId { get; set; } = null!;

    /// <summary>Output the certificate with its new content.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!ShouldProcess(Target("certificate", CertificateId, service), $"Replace content with {DescribeSource()}"))
            return;
        if (!TryInvoke(() => Replace(service, ResolvePath), out var result))
            return;
        foreach (var warning in result.Warnings)
            WriteWarning(warning);
        if (PassThru)
            WriteObject(result.Value);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal OperationResult<GatewayCertificate> Replace(GatewayService service, Func<string, string> resolvePath) =>
        service.ReplaceCertificate(CertificateId, ToInput(resolvePath));
}
