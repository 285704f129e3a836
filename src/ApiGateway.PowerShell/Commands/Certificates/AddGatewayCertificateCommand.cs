using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Certificates;

/// <summary>
/// <c>Add-GatewayCertificate</c>: uploads a certificate (stored encrypted beside the configuration), or links a
/// file another tool rotates, or an OS store entry. An expired certificate is accepted with a warning.
/// </summary>
[Cmdlet(VerbsCommon.Add, "GatewayCertificate", SupportsShouldProcess = true)]
[OutputType(typeof(GatewayCertificate))]
public sealed class AddGatewayCertificateCommand : CertificateSourceCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The id to give it (default: made from its common name).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? CertificateId { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!ShouldProcess(Target("certificate", CertificateId, service), $"Add certificate from {DescribeSource()}"))
            return;
        if (TryInvoke(() => Add(service, ResolvePath), out var result))
            WriteResult(result);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal OperationResult<GatewayCertificate> Add(GatewayService service, Func<string, string> resolvePath) =>
        service.AddCertificate(CertificateId, ToInput(resolvePath));
}
