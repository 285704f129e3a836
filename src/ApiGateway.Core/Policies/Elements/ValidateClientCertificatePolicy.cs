using System.Xml.Linq;

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

/// <summary>One <c>&lt;identity&gt;</c> of <c>validate-client-certificate</c>: every attribute given must match.</summary>
internal sealed record CertificateIdentity(int Line, int Column)
{
    private static readonly string[] AttributeNames =
        ["thumbprint", "serial-number", "common-name", "subject", "dns-name", "issuer-subject", "issuer-thumbprint", "issuer-certificate-id", "certificate-id"];

    public string? Thumbprint { get; init; }
    public string? SerialNumber { get; init; }
    public string? CommonName { get; init; }
    public string? Subject { get; init; }
    public string? DnsName { get; init; }
    public string? IssuerSubject { get; init; }
    public string? IssuerThumbprint { get; init; }
    public string? IssuerCertificateId { get; init; }
    public string? CertificateId { get; init; }

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
        };
        if (!e.Attributes().Any())
            p.Error(e, $"<identity> needs at least one attribute ({string.Join(", ", AttributeNames[..^1])} or {AttributeNames[^1]})");
        return identity;
    }
}
