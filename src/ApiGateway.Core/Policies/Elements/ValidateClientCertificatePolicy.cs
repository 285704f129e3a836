using System.Xml.Linq;
using ApiGateway.Core.Certificates;

namespace ApiGateway.Core.Policies;

/// <summary>
/// <c>&lt;validate-client-certificate&gt;</c>: the client certificate is valid when every top-level rule passes and,
/// if identities are given, every attribute of at least one identity matches.
/// </summary>
internal sealed record ValidateClientCertificatePolicy(int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "validate-client-certificate";

    public bool ValidateRevocation { get; init; } = true;
    public bool ValidateTrust { get; init; } = true;
    public bool ValidateNotBefore { get; init; } = true;
    public bool ValidateNotAfter { get; init; } = true;
    public bool IgnoreError { get; init; }
    public IReadOnlyList<CertificateIdentity> Identities { get; init; } = [];

    public override string ElementName => XmlName;

    internal static ValidateClientCertificatePolicy Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.Attributes(e, "validate-revocation", "validate-trust", "validate-not-before", "validate-not-after", "ignore-error");
        var node = new ValidateClientCertificatePolicy(at.Line, at.Column)
        {
            ValidateRevocation = p.BoolAttribute(e, "validate-revocation", true),
            ValidateTrust = p.BoolAttribute(e, "validate-trust", true),
            ValidateNotBefore = p.BoolAttribute(e, "validate-not-before", true),
            ValidateNotAfter = p.BoolAttribute(e, "validate-not-after", true),
            IgnoreError = p.BoolAttribute(e, "ignore-error", false),
        };
        var identities = new List<CertificateIdentity>();
        var seenIdentities = false;
        foreach (var child in p.ElementsOf(e))
        {
            if (child.Name.LocalName != "identities" || seenIdentities)
            {
                p.Error(child, child.Name.LocalName == "identities"
                    ? "<validate-client-certificate> has more than one <identities>"
                    : $"<{child.Name.LocalName}> is not allowed in <validate-client-certificate>; it holds one <identities> element");
                continue;
            }
            seenIdentities = true;
            p.NoAttributes(child);
            foreach (var identity in p.ElementsOf(child))
            {
                if (identity.Name.LocalName != "identity")
                {
                    p.Error(identity, $"<{identity.Name.LocalName}> is not allowed in <identities>; use <identity ... />");
                    continue;
                }
                identities.Add(CertificateIdentity.Parse(p, identity));
            }
        }
        return node with { Identities = identities };
    }
}

/// <summary>
/// One <c>&lt;identity&gt;</c> of <c>validate-client-certificate</c>: every attribute given must match. APIM's
/// attributes, and beyond them the identities peers match (Envoy's match_typed_subject_alt_names,
/// verify_certificate_spki and verify_certificate_hash): <c>san-uri</c>, <c>san-email</c>, <c>san-ip</c>,
/// <c>spki-sha256</c> and <c>thumbprint-sha256</c>. Values are compared as <see cref="IdentityValues"/> describes; a
/// value that can never match (an IP address that is none, a pin that is not 32 bytes) is refused here.
/// </summary>
internal sealed record CertificateIdentity(int Line, int Column)
{
    private static readonly string[] AttributeNames =
        ["thumbprint", "serial-number", "common-name", "subject", "dns-name", "issuer-subject", "issuer-thumbprint", "issuer-certificate-id", "certificate-id",
            "san-uri", "san-email", "san-ip", "spki-sha256", "thumbprint-sha256"];

    public string? Thumbprint { get; init; }
    public string? SerialNumber { get; init; }
    public string? CommonName { get; init; }
    public string? Subject { get; init; }
    public string? DnsName { get; init; }
    public string? IssuerSubject { get; init; }
    public string? IssuerThumbprint { get; init; }
    public string? IssuerCertificateId { get; init; }
    public string? CertificateId { get; init; }

    /// <summary>A URI of the subject alternative names (e.g. a SPIFFE ID).</summary>
    public string? SanUri { get; init; }

    /// <summary>An e-mail address (rfc822Name) of the subject alternative names.</summary>
    public string? SanEmail { get; init; }

    /// <summary>An IP address of the subject alternative names.</summary>
    public string? SanIp { get; init; }

    /// <summary>Base64 SHA-256 of the certificate's SubjectPublicKeyInfo (RFC 7469 pin-sha256).</summary>
    public string? SpkiSha256 { get; init; }

    /// <summary>Hex SHA-256 of the whole certificate (its DER encoding).</summary>
    public string? ThumbprintSha256 { get; init; }

    internal static CertificateIdentity Parse(PolicyParser p, XElement e)
    {
        p.Attributes(e, AttributeNames);
        p.NoChildren(e);
        var (line, column) = p.Position(e);
        string? Literal(string name)
        {
            if (e.Attribute(name) is not { } a)
                return null;
            if (PolicyParser.IsExpression(a.Value))
                p.Error(a, $"{name} must be a literal value: identities are compared as written, expressions are not allowed here");
            if (a.Value.Length == 0)
                p.Error(a, $"{name}=\"\" is empty");
            return a.Value;
        }
        var identity = new CertificateIdentity(line, column)
        {
            Thumbprint = Literal("thumbprint"),
            SerialNumber = Literal("serial-number"),
            CommonName = Literal("common-name"),
            Subject = Literal("subject"),
            DnsName = Literal("dns-name"),
            IssuerSubject = Literal("issuer-subject"),
            IssuerThumbprint = Literal("issuer-thumbprint"),
            IssuerCertificateId = Literal("issuer-certificate-id"),
            CertificateId = Literal("certificate-id"),
            SanUri = Literal("san-uri"),
            SanEmail = Literal("san-email"),
            SanIp = Literal("san-ip"),
            SpkiSha256 = Literal("spki-sha256"),
            ThumbprintSha256 = Literal("thumbprint-sha256"),
        };
        void Check(string name, string? value, bool valid, string rule)
        {
            if (value is { Length: > 0 } && !PolicyParser.IsExpression(value) && !valid)
                p.Error(e.Attribute(name)!, $"{name}=\"{value}\" {rule}");
        }
        Check("serial-number", identity.SerialNumber, IdentityValues.SerialNumber(identity.SerialNumber) is not null,
            "is not a serial number: write it in hex (e.g. 0A:1B:2C or 0a1b2c), as Get-GatewayCertificate or openssl x509 -serial show it");
        Check("dns-name", identity.DnsName, IdentityValues.DnsName(identity.DnsName) is not null,
            "is not a DNS name (letters, digits, '-' and '_' in labels of at most 63 characters; '*' only as the whole first label)");
        Check("san-uri", identity.SanUri, IdentityValues.Uri(identity.SanUri) is not null,
            "is not an absolute URI (scheme:rest, e.g. spiffe://contoso.com/orders, in ASCII)");
        Check("san-email", identity.SanEmail, IdentityValues.Email(identity.SanEmail) is not null,
            "is not an e-mail address (local-part@domain)");
        Check("san-ip", identity.SanIp, IdentityValues.IpAddress(identity.SanIp) is not null,
            "is not an IP address (an IPv4 dotted quad such as 192.0.2.10 or an IPv6 address such as 2001:db8::10, without zone)");
        Check("spki-sha256", identity.SpkiSha256, IdentityValues.Sha256Pin(identity.SpkiSha256) is not null,
            "is not a SHA-256 pin: give the base64 of the 32-byte SHA-256 of the SubjectPublicKeyInfo (RFC 7469 pin-sha256), e.g. from "
            + "'openssl x509 -in client.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64'");
        Check("thumbprint-sha256", identity.ThumbprintSha256, IdentityValues.Sha256Hex(identity.ThumbprintSha256) is not null,
            "is not a SHA-256 fingerprint: give the 64 hex digits (':' between bytes allowed), e.g. from 'openssl x509 -in client.pem -noout -fingerprint -sha256'");
        if (!e.Attributes().Any())
            p.Error(e, $"<identity> needs at least one attribute ({string.Join(", ", AttributeNames[..^1])} or {AttributeNames[^1]})");
        return identity;
    }
}
