using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Certificates;

/// <summary>
/// <c>Get-GatewayCertificateReference</c>: every place that uses a certificate (hostname, API gateway credential,
/// backend credential, validate-client-certificate identity), so a rotation script knows what to move first.
/// </summary>
[Cmdlet(VerbsCommon.Get, "GatewayCertificateReference")]
[OutputType(typeof(CertificateReference))]
public sealed class GetGatewayCertificateReferenceCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The certificate whose users to list.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CertificateIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string CertificateId { get; set; } = null!;

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (TryInvoke(() => Get(service), out var references))
            WriteObject(references, enumerateCollection: true);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal IReadOnlyList<CertificateReference> Get(GatewayService service) => service.GetCertificateReferences(CertificateId);
}
