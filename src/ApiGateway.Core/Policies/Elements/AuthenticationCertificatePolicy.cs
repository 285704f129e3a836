using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary><c>&lt;authentication-certificate certificate-id="..." | thumbprint="..." /&gt;</c>: the client certificate presented to the backend.</summary>
internal sealed record AuthenticationCertificatePolicy(PolicyValue? CertificateId, PolicyValue? Thumbprint, int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "authentication-certificate";

    public override string ElementName => XmlName;

    internal override IEnumerable<PolicyValueUse> ValueUses =>
        [new(CertificateId, PolicyValueRole.Text), new(Thumbprint, PolicyValueRole.Text)];

    internal static AuthenticationCertificatePolicy Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.Attributes(e, "certificate-id", "thumbprint");
        p.NoChildren(e);
        var (id, thumbprint) = p.ExactlyOne(e, "certificate-id", "thumbprint");
        return new AuthenticationCertificatePolicy(id, thumbprint, at.Line, at.Column);
    }
}
