using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary><c>&lt;return-response&gt;</c>: stop and answer with what its children set.</summary>
internal sealed record ReturnResponsePolicy(IReadOnlyList<PolicyNode> Body, int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "return-response";

    /// <summary>The elements that may build the response.</summary>
    private static readonly string[] BodyElements = [SetStatusPolicy.XmlName, SetHeaderPolicy.XmlName, SetBodyPolicy.XmlName];

    public override string ElementName => XmlName;

    internal override IEnumerable<PolicyNode> Children => Body;

    internal static ReturnResponsePolicy Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.Attributes(e, "response-variable-name");
        if (e.Attribute("response-variable-name") is { } rv)
            p.Error(rv, "response-variable-name is not supported; set the response with <set-status>, <set-header> and <set-body> inside <return-response>");
        var body = new List<PolicyNode>();
        foreach (var child in p.ElementsOf(e))
        {
            if (BodyElements.Contains(child.Name.LocalName))
            {
                if (p.ParseElement(child, at.Section, topLevel: false) is { } n)
                    body.Add(n);
            }
            else
            {
                p.Error(child, $"<{child.Name.LocalName}> is not allowed in <return-response>; use <set-status>, <set-header> and <set-body>");
            }
        }
        return new ReturnResponsePolicy(body, at.Line, at.Column);
    }
}
