using System.Globalization;
using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary><c>&lt;set-status code="..." reason="..." /&gt;</c>.</summary>
internal sealed record SetStatusPolicy(PolicyValue Code, PolicyValue? Reason, int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "set-status";

    public override string ElementName => XmlName;

    internal override IEnumerable<PolicyValueUse> ValueUses =>
        [new(Code, PolicyValueRole.StatusCode), new(Reason, PolicyValueRole.Text)];

    internal static SetStatusPolicy? Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.Attributes(e, "code", "reason");
        p.NoChildren(e);
        var code = p.Required(e, "code");
        if (code?.Literal is { } literal && (!int.TryParse(literal, NumberStyles.None, CultureInfo.InvariantCulture, out var status) || status is < 100 or > 599))
            p.Error(e.Attribute("code")!, $"code=\"{literal}\" is not an HTTP status code (100-599)");
        return code is null ? null : new SetStatusPolicy(code, p.Optional(e, "reason"), at.Line, at.Column);
    }
}
