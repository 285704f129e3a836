using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary>One <c>&lt;when condition="..."&gt;</c> of a <c>&lt;choose&gt;</c>.</summary>
internal sealed record WhenClause(PolicyValue Condition, IReadOnlyList<PolicyNode> Body, int Line, int Column);

/// <summary><c>&lt;choose&gt;</c>: the body of the first <c>when</c> whose condition is true, else <c>otherwise</c>.</summary>
internal sealed record ChoosePolicy(IReadOnlyList<WhenClause> Whens, IReadOnlyList<PolicyNode>? Otherwise, int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "choose";

    public override string ElementName => XmlName;

    internal override IEnumerable<PolicyValueUse> ValueUses => Whens.Select(w => new PolicyValueUse(w.Condition, PolicyValueRole.Condition));

    internal override IEnumerable<PolicyNode> Children => Whens.SelectMany(w => w.Body).Concat(Otherwise ?? []);

    internal static ChoosePolicy Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.NoAttributes(e);
        var whens = new List<WhenClause>();
        List<PolicyNode>? otherwise = null;
        foreach (var child in p.ElementsOf(e))
        {
            var (cl, cc) = p.Position(child);
            switch (child.Name.LocalName)
            {
                case "when" when otherwise is not null:
                    p.Error(child, "<when> must come before <otherwise> in <choose>");
                    break;
                case "when":
                    p.Attributes(child, "condition");
                    var condition = p.Required(child, "condition");
                    if (condition is { Literal: { } lit } && !bool.TryParse(lit, out _))
                        p.Error(child.Attribute("condition")!, $"condition=\"{lit}\" must be a policy expression such as @(context.Request.Certificate == null), or true or false");
                    var body = p.ParseBody(child, at.Section, topLevel: false);
                    if (condition is not null)
                        whens.Add(new WhenClause(condition, body, cl, cc));
                    break;
                case "otherwise" when otherwise is not null:
                    p.Error(child, "<choose> has more than one <otherwise>");
                    break;
                case "otherwise":
                    p.NoAttributes(child);
                    otherwise = p.ParseBody(child, at.Section, topLevel: false);
                    break;
                default:
                    p.Error(child, $"<{child.Name.LocalName}> is not allowed in <choose>; it holds <when condition=\"...\"> elements and at most one <otherwise>");
                    break;
            }
        }
        if (whens.Count == 0)
            p.Error(e, "<choose> needs at least one <when condition=\"...\">");
        return new ChoosePolicy(whens, otherwise, at.Line, at.Column);
    }
}
