using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Management;

internal sealed partial class GatewayService
{
    private const string ListCaCertificates = "Get-GatewayCaCertificate";

    /// <summary>
    /// Trusts a CA certificate (root or intermediate) for client-certificate chains. Only the public certificate is
    /// kept; a private key that comes with it is dropped (with a warning).
    /// </summary>
    public OperationResult<GatewayCaCertificate> AddCaCertificate(string? certificateId, CertificateInput input, CaStoreName storeName = CaStoreName.Root)
    {
        ArgumentNullException.ThrowIfNull(input);
        RequireValidId("CaCertificate", certificateId, "CA certificate id");
        using var loaded = CertificateLoader.Load(input);
        var leaf = loaded.Leaf;
        var warnings = new List<string>();
        var name = certificateId ?? leaf.GetNameInfo(X509NameType.SimpleName, false);
        if (leaf.HasPrivateKey)
            warnings.Add($"The private key that came with CA certificate '{name}' was not stored: trusting a CA needs only its public certificate.");
        if (!CertificateMetadata.IsCertificateAuthority(leaf))
            warnings.Add($"'{leaf.Subject}' is not marked as a certificate authority (basic constraints); chains through it may not build.");
        if (leaf.NotAfter < Time.GetLocalNow().DateTime)
            warnings.Add($"CA certificate '{name}' expired on {CertificateMetadata.Date(new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero))}; client certificates that chain to it will not validate.");
        var id = certificateId ?? string.Empty;
        CaCertificateEntry entry = CertificateMetadata.ToCaEntry(leaf, storeName);
        Change("CaCertificate", before =>
        {
            if (certificateId is not null && before.CaCertificates.ContainsKey(certificateId))
            {
                throw new GatewayException("CaCertificate", "Exists", GatewayErrorCategory.AlreadyExists,
                    $"CA certificate '{certificateId}' already exists. Choose another id, or remove it first with Remove-GatewayCaCertificate -CertificateId {certificateId}.", certificateId);
            }
            var twin = before.CaCertificates.FirstOrDefault(p => string.Equals(p.Value.Thumbprint, entry.Thumbprint, StringComparison.OrdinalIgnoreCase));
            if (twin.Key is not null)
            {
                throw new GatewayException("CaCertificate", "Exists", GatewayErrorCategory.AlreadyExists,
                    $"This CA certificate ({entry.Thumbprint}) is already trusted as '{twin.Key}'.", twin.Key);
            }
            id = certificateId ?? Ids.Generate(leaf.GetNameInfo(X509NameType.SimpleName, false), "ca", before.CaCertificates.ContainsKey);
            CertificateStore.SaveCaCertificate(leaf);
            return before with { CaCertificates = before.CaCertificates.Add(id, entry) };
        });
        return new OperationResult<GatewayCaCertificate>(ToOutput(id, entry), warnings);
    }

    /// <summary>CA certificates whose id matches <paramref name="certificateId"/> (wildcards allowed; null: all).</summary>
    public IReadOnlyList<GatewayCaCertificate> GetCaCertificates(string? certificateId = null)
    {
        var result = Match(Read().CaCertificates, certificateId).Select(p => ToOutput(p.Key, p.Value)).ToList();
        RequireFound(result.Count, certificateId, "CaCertificate", "CA certificate", ListCaCertificates);
        return result;
    }

    /// <summary>
    /// Stops trusting a CA certificate; refused while a validate-client-certificate identity names it as issuer, or
    /// while it is the last one and a hostname requires client certificates that chain to an uploaded CA.
    /// </summary>
    public GatewayCaCertificate RemoveCaCertificate(string certificateId)
    {
        GatewayCaCertificate removed = null!;
        Change("CaCertificate", before =>
        {
            var (id, entry) = Existing(before.CaCertificates, certificateId, "CaCertificate", "CA certificate", ListCaCertificates);
            var users = new ReferenceIndex(before, ConfigurationPath).For(id, null)
                .Where(r => r.Usage == CertificateUsage.IssuerIdentity && !before.Certificates.ContainsKey(id))
                .Select(r => r.Describe())
                .ToList();
            if (before.CaCertificates.Count == 1)
                users.AddRange(before.Service.Hostnames.Where(h => h.RequireClientCertificate).Select(h => $"hostname '{h.HostName}' (requires client certificates from an uploaded CA)"));
            if (users.Count > 0)
            {
                throw new GatewayException("CaCertificate", "InUse", GatewayErrorCategory.InUse,
                    $"CA certificate '{id}' is used by {JoinAnd(users)}. Change {(users.Count == 1 ? "it" : "them")} first.", id)
                { Details = users };
            }
            removed = ToOutput(id, entry);
            return before with { CaCertificates = before.CaCertificates.Remove(id) };
        });
        return removed;
    }

    private GatewayCaCertificate ToOutput(string id, CaCertificateEntry entry) => new()
    {
        CertificateId = id,
        Subject = entry.Subject,
        Issuer = entry.Issuer,
        Thumbprint = entry.Thumbprint,
        NotBefore = Local(entry.NotBefore),
        ExpirationDate = Local(entry.NotAfter),
        StoreName = entry.StoreName,
        ConfigurationPath = ConfigurationPath,
    };
}
