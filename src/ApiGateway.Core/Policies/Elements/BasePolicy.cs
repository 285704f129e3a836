using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary><c>&lt;base /&gt;</c>: the enclosing scope's section goes here.</summary>
internal sealed record BasePolicy(int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "base";

    public override string ElementName => XmlName;

    internal static BasePolicy Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.NoAttributes(e);
        p.NoChildren(e);
        if (p.Scope == PolicyScope.Global)
            p.Error(e, "<base /> has no meaning in the global policy: there is no enclosing scope. Remove it");
        else if (!at.TopLevel)
            p.Error(e, $"<base /> must be a direct child of <{at.Section.XmlName()}>, not inside another element");
        return new BasePolicy(at.Line, at.Column);
    }
}
