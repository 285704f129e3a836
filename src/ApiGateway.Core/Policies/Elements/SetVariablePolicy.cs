using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary><c>&lt;set-variable name="..." value="..." /&gt;</c>: stores a value in <c>context.Variables</c>.</summary>
internal sealed record SetVariablePolicy(string Name, PolicyValue Value, int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "set-variable";

    public override string ElementName => XmlName;

    internal override IEnumerable<PolicyValueUse> ValueUses => [new(Value, PolicyValueRole.Value)];

    internal static SetVariablePolicy? Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.Attributes(e, "name", "value");
        p.NoChildren(e);
        var variable = e.Attribute("name")?.Value;
        var value = p.Required(e, "value");
        if (string.IsNullOrWhiteSpace(variable))
        {
            p.Error(e, "<set-variable> needs a name=\"...\" attribute");
            return null;
        }
        return value is null ? null : new SetVariablePolicy(variable, value, at.Line, at.Column);
    }
}
