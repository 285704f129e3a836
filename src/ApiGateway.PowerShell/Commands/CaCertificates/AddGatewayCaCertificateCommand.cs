using System.Management.Automation;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.CaCertificates;

/// <summary>
/// <c>Add-GatewayCaCertificate</c>: trusts a CA certificate (root or intermediate) for client-certificate chains,
/// as APIM's CA certificates (New-AzApiManagementSystemCertificate -StoreName Root|CertificateAuthority). Only the
/// public certificate is kept.
/// </summary>
/// <remarks>No default parameter set, for the reason given on <see cref="Certificates.CertificateSourceCmdlet"/>.</remarks>
[Cmdlet(VerbsCommon.Add, "GatewayCaCertificate", SupportsShouldProcess = true)]
[OutputType(typeof(GatewayCaCertificate))]
public sealed class AddGatewayCaCertificateCommand : GatewayCmdlet
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

    /// <summary>A PEM, DER (.cer) or PFX file holding the CA certificate. Piped files bind by their PSPath, piped strings as paths.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.File, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath")]
    [ValidateNotNullOrEmpty]
    public string? FilePath { get; set; }

    /// <summary>The password, when the file is a protected PFX.</summary>
    [Parameter(ParameterSetName = ParameterSets.File)]
    public SecureString? PfxPassword { get; set; }

    /// <summary>A certificate object, e.g. from Cert:\ or X509Certificate2.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.Certificate, ValueFromPipeline = true)]
    [ValidateNotNull]
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Root (a trust anchor, the default) or CertificateAuthority (an intermediate that completes chains).</summary>
    [Parameter]
    public CaStoreName StoreName { get; set; } = CaStoreName.Root;

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        var source = FilePath ?? (Certificate is null ? "certificate" : $"certificate '{Certificate.Subject}'");
        if (!ShouldProcess(Target("CA certificate", CertificateId, service), $"Trust CA certificate from {source} ({StoreName})"))
            return;
        if (TryInvoke(() => Add(service, ResolvePath), out var result))
            WriteResult(result);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal OperationResult<GatewayCaCertificate> Add(GatewayService service, Func<string, string> resolvePath)
    {
        ArgumentNullException.ThrowIfNull(resolvePath);
        var input = Certificate is not null
            ? CertificateInput.FromCertificate(Certificate)
            : CertificateInput.FromFile(resolvePath(FilePath ?? throw new ArgumentException("Give the CA certificate with -FilePath or -Certificate.")), PfxPassword);
        return service.AddCaCertificate(CertificateId, input, StoreName);
    }
}
