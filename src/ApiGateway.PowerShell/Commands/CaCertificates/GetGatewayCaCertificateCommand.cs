using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.CaCertificates;

/// <summary><c>Get-GatewayCaCertificate [-CertificateId &lt;wildcards&gt;]</c>: the CA certificates trusted for client chains.</summary>
[Cmdlet(VerbsCommon.Get, "GatewayCaCertificate")]
[OutputType(typeof(GatewayCaCertificate))]
public sealed class GetGatewayCaCertificateCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>Id of the CA certificates to get; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CaCertificateIdCompleter))]
    [SupportsWildcards]
    public string? CertificateId { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (TryInvoke(() => Get(service), out var certificates))
            WriteObject(certificates, enumerateCollection: true);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal IReadOnlyList<GatewayCaCertificate> Get(GatewayService service) => service.GetCaCertificates(CertificateId);
}
