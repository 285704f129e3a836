using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Management;

/// <summary>Filters of <see cref="GatewayService.GetCertificates"/>.</summary>
internal sealed record CertificateQuery
{
    /// <summary>Id, wildcards allowed; null: all.</summary>
    public string? CertificateId { get; init; }

    /// <summary>Only certificates that expire within this many days (expired ones included).</summary>
    public int? ExpiringInDays { get; init; }

    /// <summary>True: only those in use; false: only those not in use; null: both.</summary>
    public bool? InUse { get; init; }
}

internal sealed partial class GatewayService
{
    private const string ListCertificates = "Get-GatewayCertificate";

    /// <summary>
    /// Adds a certificate under <paramref name="certificateId"/> (null: an id made from its common name). Uploaded
    /// material is stored encrypted beside the configuration; a linked file or store entry is referred to, not copied.
    /// An expired certificate is accepted with a warning, as APIM does.
    /// </summary>
    public OperationResult<GatewayCertificate> AddCertificate(string? certificateId, CertificateInput input)
    {
        // Stryker disable once Statement : equivalent: CertificateLoader.Load throws the same ArgumentNullException first
        ArgumentNullException.ThrowIfNull(input);
        RequireValidId("Certificate", certificateId, "certificate id");
        using var loaded = CertificateLoader.Load(input);
        var warnings = ValidityWarnings(certificateId ?? loaded.Leaf.GetNameInfo(X509NameType.SimpleName, false), loaded.Leaf);
        // Stryker disable once all : equivalent: id is assigned again inside the change before any use
        var id = certificateId ?? string.Empty;
        CertificateEntry entry = null!;
        var change = Change("Certificate", before =>
        {
            if (certificateId is not null && before.Certificates.ContainsKey(certificateId))
            {
                throw new GatewayException("Certificate", "Exists", GatewayErrorCategory.AlreadyExists,
                    $"Certificate '{certificateId}' already exists. Choose another id, or replace its content with Set-GatewayCertificate -CertificateId {certificateId}.",
                    certificateId);
            }
            id = certificateId ?? Ids.Generate(loaded.Leaf.GetNameInfo(X509NameType.SimpleName, false), "certificate", before.Certificates.ContainsKey);
            entry = CreateEntry(loaded, input);
            return before with { Certificates = before.Certificates.Add(id, entry) };
        });
        var twin = change.Before.Certificates.FirstOrDefault(p => string.Equals(p.Value.Thumbprint, entry.Thumbprint, StringComparison.OrdinalIgnoreCase));
        if (twin.Key is not null)
            warnings.Add($"The same certificate ({entry.Thumbprint}) is also certificate '{twin.Key}'.");
        return new OperationResult<GatewayCertificate>(ToOutput(id, entry, new ReferenceIndex(change.After, ConfigurationPath)), warnings);
    }

    /// <summary>Certificates matching <paramref name="query"/>. Linked certificates show the metadata of their file as it is now.</summary>
    public IReadOnlyList<GatewayCertificate> GetCertificates(CertificateQuery? query = null)
    {
        query ??= new CertificateQuery();
        var configuration = Read();
        var index = new ReferenceIndex(configuration, ConfigurationPath);
        var limit = query.ExpiringInDays is { } days ? Time.GetUtcNow().AddDays(days) : (DateTimeOffset?)null;
        var result = new List<GatewayCertificate>();
        foreach (var (id, recorded) in Match(configuration.Certificates, query.CertificateId))
        {
            var entry = Refresh(recorded);
            if (limit is { } l && entry.NotAfter > l)
                continue;
            var output = ToOutput(id, entry, index);
            if (query.InUse is { } inUse && output.InUse != inUse)
                continue;
            result.Add(output);
        }
        RequireFound(result.Count, query.InUse is null && query.ExpiringInDays is null ? query.CertificateId : null, "Certificate", "Certificate", ListCertificates);
        return result;
    }

    /// <summary>One certificate by id (no wildcards); <c>CertificateNotFound</c> when there is none.</summary>
    public GatewayCertificate GetCertificate(string certificateId)
    {
        var configuration = Read();
        var (id, entry) = Existing(configuration.Certificates, certificateId, "Certificate", "Certificate", ListCertificates);
        return ToOutput(id, Refresh(entry), new ReferenceIndex(configuration, ConfigurationPath));
    }

    /// <summary>
    /// Replaces the content of certificate <paramref name="certificateId"/> (rotation): every hostname, API and
    /// backend that refers to the id uses the new certificate from the next request on. References by thumbprint do
    /// not follow; they are named in the warnings.
    /// </summary>
    public OperationResult<GatewayCertificate> ReplaceCertificate(string certificateId, CertificateInput input)
    {
        // Stryker disable once Statement : equivalent: CertificateLoader.Load throws the same ArgumentNullException first
        ArgumentNullException.ThrowIfNull(input);
        using var loaded = CertificateLoader.Load(input);
        var warnings = ValidityWarnings(certificateId, loaded.Leaf);
        var id = certificateId;
        CertificateEntry entry = null!;
        var change = Change("Certificate", before =>
        {
            (id, var old) = Existing(before.Certificates, certificateId, "Certificate", "Certificate", ListCertificates);
            entry = CreateEntry(loaded, input);
            var references = new ReferenceIndex(before, ConfigurationPath).For(id, old.Thumbprint);
            if (!entry.HasPrivateKey)
            {
                var presenters = references.Where(r => r.Usage is CertificateUsage.ServerCertificate or CertificateUsage.GatewayCredential or CertificateUsage.BackendCredential).ToList();
                if (presenters.Count > 0)
                {
                    throw new GatewayException("Certificate", "NoPrivateKey", GatewayErrorCategory.InvalidArgument,
                        $"The new content of certificate '{id}' has no private key, but {JoinAnd(presenters.Select(r => r.Describe()).ToList())} present{(presenters.Count == 1 ? "s" : string.Empty)} it. Give a PFX with its key, or a PEM certificate with -KeyFilePath.",
                        id);
                }
            }
            var byThumbprint = references.Where(r => r.ByThumbprint).ToList();
            if (byThumbprint.Count > 0 && !string.Equals(old.Thumbprint, entry.Thumbprint, StringComparison.OrdinalIgnoreCase))
            {
                // A reference by thumbprint does not follow the id. It keeps working only if another certificate
                // still has the old thumbprint; otherwise the replacement would break it, so refuse and say how to fix it.
                var twin = before.Certificates.Any(p => !Ids.Comparer.Equals(p.Key, id) && string.Equals(p.Value.Thumbprint, old.Thumbprint, StringComparison.OrdinalIgnoreCase));
                var who = JoinAnd(byThumbprint.Select(r => r.Describe()).ToList());
                if (!twin)
                {
                    throw new GatewayException("Certificate", "ReferencedByThumbprint", GatewayErrorCategory.InUse,
                        $"Certificate '{id}' cannot be replaced: {who} refer{(byThumbprint.Count == 1 ? "s" : string.Empty)} to it by its thumbprint {old.Thumbprint}, which would then point at nothing. Refer to it by id first ({ByIdExample(byThumbprint[0], id)}), then replace it.",
                        id)
                    { Details = byThumbprint.Select(r => r.Describe()).ToList() };
                }
                warnings.Add($"{Capital(who)} refer{(byThumbprint.Count == 1 ? "s" : string.Empty)} to thumbprint {old.Thumbprint} and keep{(byThumbprint.Count == 1 ? "s" : string.Empty)} using the other certificate with that thumbprint, not the new content of '{id}'.");
            }
            return before with { Certificates = before.Certificates.SetItem(id, entry) };
        });
        return new OperationResult<GatewayCertificate>(ToOutput(id, entry, new ReferenceIndex(change.After, ConfigurationPath)), warnings);
    }

    /// <summary>
    /// Removes certificate <paramref name="certificateId"/>; refused (<c>CertificateInUse</c>) while any hostname,
    /// API policy, backend credential or validate-client-certificate identity refers to it, listing every one.
    /// </summary>
    public GatewayCertificate RemoveCertificate(string certificateId)
    {
        GatewayCertificate removed = null!;
        Change("Certificate", before =>
        {
            var (id, entry) = Existing(before.Certificates, certificateId, "Certificate", "Certificate", ListCertificates);
            var index = new ReferenceIndex(before, ConfigurationPath);
            var references = index.For(id, entry.Thumbprint);
            if (references.Count > 0)
                throw InUse(id, references);
            removed = ToOutput(id, entry, index);
            return before with { Certificates = before.Certificates.Remove(id) };
        });
        return removed;
    }

    /// <summary>Every place that uses certificate <paramref name="certificateId"/>.</summary>
    public IReadOnlyList<CertificateReference> GetCertificateReferences(string certificateId)
    {
        var configuration = Read();
        var (id, entry) = Existing(configuration.Certificates, certificateId, "Certificate", "Certificate", ListCertificates);
        return new ReferenceIndex(configuration, ConfigurationPath).For(id, entry.Thumbprint);
    }

    /// <summary>The in-use error, naming every reference and the fix.</summary>
    internal static GatewayException InUse(string id, IReadOnlyList<CertificateReference> references)
    {
        var first = references[0];
        var example = first.Usage switch
        {
            CertificateUsage.ServerCertificate => $"Set-GatewayHostname -HostName {first.ReferrerId} -CertificateId <new>",
            CertificateUsage.GatewayCredential when first.ReferrerType == ReferrerType.Api => $"Set-ApiGatewayCredential -ApiId {first.ReferrerId} -CertificateId <new>",
            CertificateUsage.BackendCredential => $"Set-GatewayBackend -BackendId {first.ReferrerId} -Credential (New-GatewayBackendCredential -CertificateId <new>)",
            _ when first.ReferrerType == ReferrerType.Api => $"Set-GatewayPolicy -ApiId {first.ReferrerId} -Policy <xml>",
            _ => "Set-GatewayPolicy -Policy <xml>",
        };
        var users = JoinAnd(references.Select(r => r.Describe()).ToList());
        return new GatewayException("Certificate", "InUse", GatewayErrorCategory.InUse,
            $"Certificate '{id}' is used by {users}. Remove it from {(references.Count == 1 ? "there" : "them")} first, e.g. {example}. To rotate it instead, replace its content: Set-GatewayCertificate -CertificateId {id}.",
            id)
        { Details = references.Select(r => r.Describe()).ToList() };
    }

    private static string ByIdExample(CertificateReference reference, string id) => reference.ReferrerType switch
    {
        ReferrerType.Backend => $"Set-GatewayBackend -BackendId {reference.ReferrerId} -Credential (New-GatewayBackendCredential -CertificateId {id})",
        ReferrerType.Api when reference.Usage == CertificateUsage.GatewayCredential => $"Set-ApiGatewayCredential -ApiId {reference.ReferrerId} -CertificateId {id}",
        // Stryker disable once String : not reachable: the only reference by thumbprint an API policy can hold is authentication-certificate's (the gateway credential arm)
        ReferrerType.Api => $"Set-GatewayPolicy -ApiId {reference.ReferrerId}",
        _ => "Set-GatewayPolicy",
    };

    /// <summary>The configuration entry for a loaded certificate; uploaded material is written to the store here (under the lock).</summary>
    private CertificateEntry CreateEntry(LoadedCertificate loaded, CertificateInput input)
    {
        switch (input.Kind)
        {
            case CertificateInputKind.LinkedFile:
            {
                var secret = input.Password is { Length: > 0 } password ? CertificateStore.SaveSecret(password) : null;
                return CertificateMetadata.ToEntry(loaded.Leaf, CertificateSource.LinkedFile) with
                {
                    Path = Path.GetFullPath(input.Path!),
                    KeyPath = input.KeyPath is null ? null : Path.GetFullPath(input.KeyPath),
                    PasswordSecret = secret,
                };
            }
            case CertificateInputKind.StoreEntry:
                return CertificateMetadata.ToEntry(loaded.Leaf, CertificateSource.Store) with
                {
                    StoreLocation = input.StoreLocation.ToString(),
                    StoreName = input.StoreName,
                };
            default:
                CertificateStore.SaveCertificate(loaded);
                return CertificateMetadata.ToEntry(loaded.Leaf, CertificateSource.Uploaded);
        }
    }

    /// <summary>For a linked file: the metadata of the file as it is now (another tool may have rotated it).</summary>
    private CertificateEntry Refresh(CertificateEntry entry)
    {
        if (entry.Source != CertificateSource.LinkedFile)
            return entry;
        try
        {
            // Stryker disable once String : equivalent: the id appears only in an error that Refresh catches and discards
            using var loaded = CertificateStore.LoadCertificate("linked", entry);
            var current = CertificateMetadata.ToEntry(loaded.Leaf, CertificateSource.LinkedFile);
            return entry with
            {
                Thumbprint = current.Thumbprint,
                Subject = current.Subject,
                Issuer = current.Issuer,
                SerialNumber = current.SerialNumber,
                SubjectAlternativeNames = current.SubjectAlternativeNames,
                NotBefore = current.NotBefore,
                NotAfter = current.NotAfter,
                HasPrivateKey = current.HasPrivateKey,
            };
        }
        catch (GatewayException)
        {
            return entry; // the file is unreadable right now: show what was recorded
        }
    }

    /// <summary>Brings the recorded metadata of linked certificates up to date (part of every change).</summary>
    private GatewayConfiguration RefreshLinked(GatewayConfiguration configuration)
    {
        var builder = configuration.Certificates;
        foreach (var (id, entry) in configuration.Certificates)
        {
            if (entry.Source != CertificateSource.LinkedFile)
                // Stryker disable once Statement : equivalent: Refresh returns a non-linked entry unchanged
                continue;
            var current = Refresh(entry);
            if (!string.Equals(current.Thumbprint, entry.Thumbprint, StringComparison.OrdinalIgnoreCase) || current.HasPrivateKey != entry.HasPrivateKey)
                builder = builder.SetItem(id, current);
        }
        // Stryker disable once Conditional : equivalent: the same content in a new record (an allocation more)
        return ReferenceEquals(builder, configuration.Certificates) ? configuration : configuration with { Certificates = builder };
    }

    private List<string> ValidityWarnings(string name, X509Certificate2 certificate)
    {
        var warnings = new List<string>();
        var now = Time.GetUtcNow();
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        if (notAfter < now)
            warnings.Add($"Certificate '{name}' expired on {CertificateMetadata.Date(notAfter)}. It was accepted, but clients and backends will refuse it; replace it with Set-GatewayCertificate.");
        else if (notBefore > now)
            warnings.Add($"Certificate '{name}' is not valid before {CertificateMetadata.Date(notBefore)}.");
        return warnings;
    }

    private GatewayCertificate ToOutput(string id, CertificateEntry entry, ReferenceIndex index) => new()
    {
        CertificateId = id,
        Subject = entry.Subject,
        Issuer = entry.Issuer,
        Thumbprint = entry.Thumbprint,
        SerialNumber = entry.SerialNumber,
        SubjectAlternativeNames = entry.SubjectAlternativeNames,
        NotBefore = Local(entry.NotBefore),
        ExpirationDate = Local(entry.NotAfter),
        HasPrivateKey = entry.HasPrivateKey,
        Source = entry.Source,
        LinkedPath = entry.Path,
        KeyPath = entry.KeyPath,
        StoreLocation = entry.StoreLocation,
        StoreName = entry.StoreName,
        InUse = index.For(id, entry.Thumbprint).Count > 0,
        ConfigurationPath = ConfigurationPath,
    };

    // Stryker disable once Conditional : equivalent: the list of referrers is never empty here
    private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static ImmutableArray<string> NormalizeThumbprints(IEnumerable<string> thumbprints) =>
        [.. thumbprints.Select(CertificateMetadata.NormalizeThumbprint)];
}
