using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary><c>&lt;set-backend-service backend-id="..." | base-url="..." /&gt;</c>.</summary>
internal sealed record SetBackendServicePolicy(PolicyValue? BackendId, PolicyValue? BaseUrl, int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "set-backend-service";

    public override string ElementName => XmlName;

    internal override IEnumerable<PolicyValueUse> ValueUses =>
        [new(BackendId, PolicyValueRole.Text), new(BaseUrl, PolicyValueRole.Text)];

    internal static SetBackendServicePolicy Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.Attributes(e, "backend-id", "base-url");
        p.NoChildren(e);
        var (backend, baseUrl) = p.ExactlyOne(e, "backend-id", "base-url");
        if (baseUrl?.Literal is { } url && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
            p.Error(e.Attribute("base-url")!, $"base-url=\"{url}\" must be an absolute http or https URL");
        return new SetBackendServicePolicy(backend, baseUrl, at.Line, at.Column);
    }
}
