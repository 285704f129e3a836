using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Certificates;

/// <summary><c>Get-GatewayCertificate [-CertificateId &lt;wildcards&gt;] [-ExpiringInDays n] [-InUse]</c>.</summary>
[Cmdlet(VerbsCommon.Get, "GatewayCertificate")]
[OutputType(typeof(GatewayCertificate))]
public sealed class GetGatewayCertificateCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>Id of the certificates to get; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CertificateIdCompleter))]
    [SupportsWildcards]
    public string? CertificateId { get; set; }

    /// <summary>Only certificates that expire within this many days (expired ones included).</summary>
    [Parameter]
    [ValidateRange(0, 36500)]
    public int? ExpiringInDays { get; set; }

    /// <summary>Only certificates that something uses (<c>-InUse:$false</c>: only unused ones).</summary>
    [Parameter]
    public SwitchParameter InUse { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        bool? inUse = MyInvocation.BoundParameters.ContainsKey(nameof(InUse)) ? InUse.IsPresent : null;
        if (TryInvoke(() => Get(service, inUse), out var certificates))
            WriteObject(certificates, enumerateCollection: true);
    }

    /// <summary>The Core operation with this cmdlet's inputs (<paramref name="inUse"/>: the switch if given, else null).</summary>
    internal IReadOnlyList<GatewayCertificate> Get(GatewayService service, bool? inUse) =>
        service.GetCertificates(new CertificateQuery { CertificateId = CertificateId, ExpiringInDays = ExpiringInDays, InUse = inUse });
}
