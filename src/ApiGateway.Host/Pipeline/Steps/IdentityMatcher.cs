using ApiGateway.Core.Certificates;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Pipeline.Steps;

/// <summary>
/// What an identity's certificate-id or issuer-certificate-id named when the configuration loaded: the thumbprint
/// of that certificate, or <see cref="Unresolved"/> when the id named none (the validator reports that; until it is
/// fixed such an identity matches no certificate, rather than matching by its other attributes alone).
/// </summary>
internal readonly record struct ResolvedThumbprint
{
    private ResolvedThumbprint(string? thumbprint)
    {
        Thumbprint = thumbprint;
    }

    /// <summary>An id that named no certificate: matches nothing.</summary>
    public static ResolvedThumbprint Unresolved => default;

    public static ResolvedThumbprint Of(string? thumbprint) => new(thumbprint);

    /// <summary>The thumbprint, or null when unresolved.</summary>
    public string? Thumbprint { get; }

    public bool Matches(string thumbprint) => Thumbprint is not null && string.Equals(Thumbprint, thumbprint, StringComparison.OrdinalIgnoreCase);
}

/// <summary>One &lt;identity&gt; of validate-client-certificate: every attribute it has must match.</summary>
internal sealed class IdentityMatcher
{
    private readonly CertificateIdentity _identity;
    private readonly string? _thumbprint;
    private readonly string? _issuerThumbprint;
    private readonly ResolvedThumbprint? _certificate;
    private readonly ResolvedThumbprint? _issuerCertificate;

    /// <param name="identity">The identity as written.</param>
    /// <param name="certificate">certificate-id, resolved to the thumbprint of that certificate (null: not given).</param>
    /// <param name="issuerCertificate">issuer-certificate-id, resolved to the thumbprint of that certificate or CA certificate (null: not given).</param>
    public IdentityMatcher(CertificateIdentity identity, ResolvedThumbprint? certificate, ResolvedThumbprint? issuerCertificate)
    {
        _identity = identity;
        // Thumbprints compared as the certificate reports them: upper-case hex without separators.
        _thumbprint = identity.Thumbprint is { } t ? CertificateMetadata.NormalizeThumbprint(t) : null;
        _issuerThumbprint = identity.IssuerThumbprint is { } it ? CertificateMetadata.NormalizeThumbprint(it) : null;
        _certificate = certificate;
        _issuerCertificate = issuerCertificate;
    }

    /// <summary>The matcher of <paramref name="identity"/>, its certificate ids resolved against <paramref name="resources"/>.</summary>
    public static IdentityMatcher Resolve(CertificateIdentity identity, StepResources resources)
    {
        ResolvedThumbprint? certificate = identity.CertificateId is { } cid
            ? ResolvedThumbprint.Of(resources.Certificates.GetValueOrDefault(cid)?.Thumbprint)
            : null;
        ResolvedThumbprint? issuer = identity.IssuerCertificateId is { } iid
            ? ResolvedThumbprint.Of(resources.Certificates.GetValueOrDefault(iid)?.Thumbprint ?? resources.CaThumbprints.GetValueOrDefault(iid))
            : null;
        return new IdentityMatcher(identity, certificate, issuer);
    }

    public bool Matches(CertificateFacts facts)
    {
        if (_thumbprint is not null && !string.Equals(_thumbprint, facts.Thumbprint, StringComparison.OrdinalIgnoreCase))
            return false;
        if (_certificate is { } certificate && !certificate.Matches(facts.Thumbprint))
            return false;
        if (_identity.SerialNumber is { } serial && !SerialEquals(serial, facts.SerialNumber))
            return false;
        if (_identity.CommonName is { } commonName && !string.Equals(commonName, facts.CommonName, StringComparison.OrdinalIgnoreCase))
            return false;
        if (_identity.Subject is { } subject && !DistinguishedName.Equals(subject, facts.Subject))
            return false;
        if (_identity.IssuerSubject is { } issuerSubject && !DistinguishedName.Equals(issuerSubject, facts.Issuer))
            return false;
        if (_issuerThumbprint is not null && !string.Equals(_issuerThumbprint, facts.IssuerThumbprint, StringComparison.OrdinalIgnoreCase))
            return false;
        if (_issuerCertificate is { } issuer && (facts.IssuerThumbprint is not { } actual || !issuer.Matches(actual)))
            return false;
        if (_identity.DnsName is { } dnsName && !HasDnsName(facts.DnsNames, dnsName))
            return false;
        return true;
    }

    private static bool HasDnsName(string[] names, string wanted)
    {
        foreach (var name in names)
        {
            if (string.Equals(name, wanted, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    /// <summary>Serial numbers as hex, without regard to case, separators or leading zeros.</summary>
    private static bool SerialEquals(string wanted, string actual)
    {
        var a = wanted.AsSpan();
        var b = actual.AsSpan().TrimStart('0');
        var i = 0;
        while (i < a.Length && (a[i] == '0' || !char.IsAsciiHexDigit(a[i])))
            i++;
        var j = 0;
        for (; i < a.Length; i++)
        {
            if (!char.IsAsciiHexDigit(a[i]))
                continue;
            if (j >= b.Length || char.ToUpperInvariant(a[i]) != char.ToUpperInvariant(b[j]))
                return false;
            j++;
        }
        return j == b.Length;
    }
}
