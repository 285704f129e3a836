using ApiGateway.Host.Backends;

namespace ApiGateway.Host.Pipeline;

/// <summary>
/// What the steps of a revision are built from besides the policy: its loaded certificates and backends by id, and
/// the thumbprints of its CA certificates by id (for an identity's issuer-certificate-id).
/// </summary>
internal sealed record StepResources(
    IReadOnlyDictionary<string, ServedCertificate> Certificates,
    IReadOnlyDictionary<string, BackendTarget> Backends,
    IReadOnlyDictionary<string, string> CaThumbprints)
{
    /// <summary>The first loaded certificate whose thumbprint is <paramref name="thumbprint"/> (any case, separators allowed), or null.</summary>
    public ServedCertificate? CertificateWithThumbprint(string thumbprint) => ServedCertificate.FindByThumbprint(Certificates.Values, thumbprint);
}
