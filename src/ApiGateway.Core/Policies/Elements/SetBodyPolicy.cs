using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary><c>&lt;set-body&gt;text or expression&lt;/set-body&gt;</c>.</summary>
internal sealed record SetBodyPolicy(PolicyValue Body, int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "set-body";

    public override string ElementName => XmlName;

    internal override IEnumerable<PolicyValueUse> ValueUses => [new(Body, PolicyValueRole.Text)];

    internal static SetBodyPolicy Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.Attributes(e);
        p.NoChildren(e);
        return new SetBodyPolicy(p.TextValue(e), at.Line, at.Column);
    }
}
