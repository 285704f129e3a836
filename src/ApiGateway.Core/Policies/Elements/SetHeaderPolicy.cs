using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary>What <c>set-header</c> does when the header already exists.</summary>
internal enum HeaderExistsAction
{
    Override,
    Skip,
    Append,
    Delete,
}

/// <summary><c>&lt;set-header name="..." exists-action="..."&gt;&lt;value&gt;...&lt;/value&gt;&lt;/set-header&gt;</c>.</summary>
internal sealed record SetHeaderPolicy(PolicyValue Name, HeaderExistsAction ExistsAction, IReadOnlyList<PolicyValue> Values, int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "set-header";

    public override string ElementName => XmlName;

    internal override IEnumerable<PolicyValueUse> ValueUses =>
        Values.Select(v => new PolicyValueUse(v, PolicyValueRole.Text)).Prepend(new PolicyValueUse(Name, PolicyValueRole.Text));

    internal static SetHeaderPolicy? Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.Attributes(e, "name", "exists-action");
        var headerName = p.Required(e, "name");
        var action = HeaderExistsAction.Override;
        if (e.Attribute("exists-action") is { } ea)
        {
            action = ea.Value switch
            {
                "override" => HeaderExistsAction.Override,
                "skip" => HeaderExistsAction.Skip,
                "append" => HeaderExistsAction.Append,
                "delete" => HeaderExistsAction.Delete,
                _ => p.Invalid(ea, HeaderExistsAction.Override, $"exists-action=\"{ea.Value}\" must be override, skip, append or delete"),
            };
        }
        var values = new List<PolicyValue>();
        foreach (var child in p.ElementsOf(e))
        {
            if (child.Name.LocalName != "value")
            {
                p.Error(child, $"<{child.Name.LocalName}> is not allowed in <set-header>; give each value in a <value> element");
                continue;
            }
            p.NoAttributes(child);
            p.NoChildren(child);
            values.Add(p.TextValue(child));
        }
        if (action != HeaderExistsAction.Delete && values.Count == 0)
            p.Error(e, "<set-header> needs at least one <value> unless exists-action=\"delete\"");
        return headerName is null ? null : new SetHeaderPolicy(headerName, action, values, at.Line, at.Column);
    }
}
