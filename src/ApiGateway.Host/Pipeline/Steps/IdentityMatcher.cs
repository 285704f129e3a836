using System.Security.Cryptography;
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
    private readonly string? _serial;
    private readonly string? _dnsName;
    private readonly string? _uri;
    private readonly string? _email;
    private readonly byte[]? _ip;
    private readonly byte[]? _spki;
    private readonly byte[]? _sha256;
    private readonly bool _unmatchable;

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
        // The comparison forms, once. The parser refuses values without one; should one get here all the same, the
        // identity matches nothing rather than ignoring the attribute.
        _serial = Form(identity.SerialNumber, IdentityValues.SerialNumber, ref _unmatchable);
        _dnsName = Form(identity.DnsName, IdentityValues.DnsName, ref _unmatchable);
        _uri = Form(identity.SanUri, IdentityValues.Uri, ref _unmatchable);
        _email = Form(identity.SanEmail, IdentityValues.Email, ref _unmatchable);
        _ip = Form(identity.SanIp, IdentityValues.IpAddress, ref _unmatchable);
        _spki = Form(identity.SpkiSha256, IdentityValues.Sha256Pin, ref _unmatchable);
        _sha256 = Form(identity.ThumbprintSha256, IdentityValues.Sha256Hex, ref _unmatchable);
    }

    private static T? Form<T>(string? written, Func<string, T?> form, ref bool unmatchable)
        where T : class
    {
        if (written is null)
            return null;
        var value = form(written);
        unmatchable |= value is null;
        return value;
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
        if (_unmatchable)
            return false;
        if (_thumbprint is not null && !string.Equals(_thumbprint, facts.Thumbprint, StringComparison.OrdinalIgnoreCase))
            return false;
        if (_certificate is { } certificate && !certificate.Matches(facts.Thumbprint))
            return false;
        if (_serial is not null && !string.Equals(_serial, facts.SerialForm, StringComparison.Ordinal))
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
        var names = facts.Names;
        if (_dnsName is not null && Array.IndexOf(names.DnsForms, _dnsName) < 0)
            return false;
        if (_uri is not null && Array.IndexOf(names.UriForms, _uri) < 0)
            return false;
        if (_email is not null && Array.IndexOf(names.EmailForms, _email) < 0)
            return false;
        if (_ip is not null && !names.HasIpOctets(_ip))
            return false;
        if (_spki is not null && !CryptographicOperations.FixedTimeEquals(_spki, names.SpkiSha256))
            return false;
        if (_sha256 is not null && !CryptographicOperations.FixedTimeEquals(_sha256, names.Sha256))
            return false;
        return true;
    }
}
