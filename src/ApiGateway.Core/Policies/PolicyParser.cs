using System.Xml;
using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary>Where an element stands: its section, whether directly in it, and its position in the author's text.</summary>
internal readonly record struct ElementPlace(PolicySectionKind Section, bool TopLevel, int Line, int Column);

/// <summary>
/// Turns the XML of a policy document into <see cref="PolicyNode"/>s, collecting every problem with its line and
/// column. It knows sections, attributes, values and positions; what each element accepts is in that element's own
/// <c>Parse</c> method, found through <see cref="PolicyElements"/>.
/// </summary>
internal sealed class PolicyParser(PolicyXmlPreprocessor pre, PolicyScope scope)
{
    public List<PolicyError> Errors { get; } = [];

    public PolicyScope Scope => scope;

    public PolicyDocument Run(XDocument xml, string text)
    {
        var sections = new Dictionary<PolicySectionKind, PolicySection>();
        var root = xml.Root!;
        if (root.Name.LocalName != "policies" || root.Name.NamespaceName.Length != 0)
        {
            Error(root, $"the root element must be <policies>, not <{root.Name}>");
            return new PolicyDocument(text, scope, sections);
        }
        NoAttributes(root);
        foreach (var child in ElementsOf(root))
        {
            if (!PolicySections.TryParse(child.Name.LocalName, out var kind))
            {
                Error(child, $"unknown section <{child.Name.LocalName}>; a policy has the sections <inbound>, <backend>, <outbound> and <on-error>");
                continue;
            }
            if (sections.ContainsKey(kind))
            {
                Error(child, $"the section <{child.Name.LocalName}> appears twice");
                continue;
            }
            NoAttributes(child);
            var (line, column) = Position(child);
            sections[kind] = new PolicySection(kind, ParseBody(child, kind, topLevel: true), line, column);
        }
        return new PolicyDocument(text, scope, sections);
    }

    /// <summary>The elements inside <paramref name="parent"/>, each parsed by its own element.</summary>
    public List<PolicyNode> ParseBody(XElement parent, PolicySectionKind section, bool topLevel)
    {
        var nodes = new List<PolicyNode>();
        var bases = 0;
        foreach (var element in ElementsOf(parent))
        {
            var node = ParseElement(element, section, topLevel);
            if (node is null)
                continue;
            if (node is BasePolicy && ++bases == 2)
                Error(element, $"<base /> appears more than once in <{section.XmlName()}>");
            nodes.Add(node);
        }
        return nodes;
    }

    /// <summary>One element, through the entry of <see cref="PolicyElements"/> for its name; null when it is unusable.</summary>
    public PolicyNode? ParseElement(XElement e, PolicySectionKind section, bool topLevel)
    {
        var (line, column) = Position(e);
        if (e.Name.NamespaceName.Length != 0)
        {
            Error(e, $"unknown element <{e.Name}>: policy elements have no XML namespace");
            return null;
        }
        if (!PolicyElements.TryGet(e.Name.LocalName, out var element))
        {
            Error(e, $"unknown policy element <{e.Name.LocalName}>. Known elements: {PolicyElements.KnownNames}");
            return null;
        }
        if (element.Sections is { } allowed)
            AllowedIn(e, section, allowed);
        return element.Parse(this, e, new ElementPlace(section, topLevel, line, column));
    }

    private void AllowedIn(XElement e, PolicySectionKind section, PolicySectionKind[] allowed)
    {
        if (!allowed.Contains(section))
        {
            var where = string.Join(" or ", allowed.Select(k => $"<{k.XmlName()}>"));
            Error(e, $"<{e.Name.LocalName}> is allowed only in {where}, not in <{section.XmlName()}>");
        }
    }

    public PolicyValue? Required(XElement e, string attribute)
    {
        var value = Optional(e, attribute);
        if (value is null)
            Error(e, $"<{e.Name.LocalName}> needs a {attribute}=\"...\" attribute");
        return value;
    }

    public PolicyValue? Optional(XElement e, string attribute) =>
        e.Attribute(attribute) is { } a ? ValueOf(a.Value, a) : null;

    /// <summary>Two attributes of which the element needs exactly one (either may be an expression).</summary>
    public (PolicyValue? First, PolicyValue? Second) ExactlyOne(XElement e, string first, string second)
    {
        var a = Optional(e, first);
        var b = Optional(e, second);
        if ((a is null) == (b is null))
            Error(e, $"<{e.Name.LocalName}> needs exactly one of {first}=\"...\" and {second}=\"...\"");
        return (a, b);
    }

    /// <summary>The text of an element (<c>&lt;value&gt;</c>, <c>&lt;set-body&gt;</c>) as a literal or an expression.</summary>
    public PolicyValue TextValue(XElement e)
    {
        var text = string.Concat(e.Nodes().OfType<XText>().Select(t => t.Value));
        var trimmed = text.Trim();
        if (IsExpression(trimmed))
        {
            var firstText = e.Nodes().OfType<XText>().FirstOrDefault();
            var (line, column) = firstText is null ? Position(e) : Position(firstText);
            var (lead, leadColumns) = LeadingWhiteSpace(text);
            line += lead;
            column = lead > 0 ? leadColumns + 1 : column + leadColumns;
            return FromExpression(trimmed, line, column);
        }
        return PolicyValue.FromLiteral(text);
    }

    private static (int Lines, int Columns) LeadingWhiteSpace(string text)
    {
        int lines = 0, columns = 0;
        foreach (var c in text)
        {
            if (!char.IsWhiteSpace(c))
                break;
            if (c == '\n')
            {
                lines++;
                columns = 0;
            }
            else if (c != '\r')
            {
                columns++;
            }
        }
        return (lines, columns);
    }

    private PolicyValue ValueOf(string text, XObject where)
    {
        if (!IsExpression(text))
            return PolicyValue.FromLiteral(text);
        var (line, column) = Position(where);
        // An attribute's line info points at its name; the '@' is after name="
        if (where is XAttribute a)
            column += a.Name.LocalName.Length + 2;
        return FromExpression(text, line, column);
    }

    private static PolicyValue FromExpression(string text, int line, int column) =>
        PolicyValue.FromExpression(new PolicyExpression(text[2..^1], text[1] == '{', line, column));

    public static bool IsExpression(string text) =>
        text.Length >= 3 && text[0] == '@' && ((text[1] == '(' && text[^1] == ')') || (text[1] == '{' && text[^1] == '}'));

    public bool BoolAttribute(XElement e, string name, bool fallback) =>
        e.Attribute(name) is { } a ? Bool(a) : fallback;

    public bool Bool(XAttribute a)
    {
        if (bool.TryParse(a.Value, out var b))
            return b;
        Error(a, IsExpression(a.Value)
            ? $"{a.Name.LocalName} must be true or false; expressions are not allowed here"
            : $"{a.Name.LocalName}=\"{a.Value}\" must be true or false");
        return false;
    }

    public T Invalid<T>(XObject where, T fallback, string message)
    {
        Error(where, message);
        return fallback;
    }

    /// <summary>Reports every attribute of <paramref name="e"/> not in <paramref name="allowed"/>.</summary>
    public void Attributes(XElement e, params string[] allowed)
    {
        foreach (var a in e.Attributes())
        {
            if (a.IsNamespaceDeclaration)
                continue;
            if (!allowed.Contains(a.Name.LocalName) || a.Name.NamespaceName.Length != 0)
            {
                Error(a, allowed.Length == 0
                    ? $"<{e.Name.LocalName}> takes no attributes; remove {a.Name}"
                    : $"unknown attribute {a.Name} on <{e.Name.LocalName}>; it takes {string.Join(", ", allowed)}");
            }
        }
    }

    public void NoAttributes(XElement e) => Attributes(e);

    public void NoChildren(XElement e)
    {
        foreach (var child in e.Elements())
            Error(child, $"<{child.Name.LocalName}> is not allowed inside <{e.Name.LocalName}>");
    }

    /// <summary>Child elements; stray text (other than white space and comments) is reported.</summary>
    public IEnumerable<XElement> ElementsOf(XElement parent)
    {
        foreach (var node in parent.Nodes())
        {
            switch (node)
            {
                case XElement child:
                    yield return child;
                    break;
                case XText text when !string.IsNullOrWhiteSpace(text.Value):
                    Error(text, $"unexpected text \"{Shorten(text.Value.Trim())}\" in <{parent.Name.LocalName}>");
                    break;
            }
        }
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";

    public (int Line, int Column) Position(XObject o)
    {
        var info = (IXmlLineInfo)o;
        return info.HasLineInfo() ? pre.Map(info.LineNumber, info.LinePosition) : (0, 0);
    }

    public void Error(XObject where, string message)
    {
        var (line, column) = Position(where);
        // Element line info points after '<'; report the '<' itself.
        if (where is XElement && column > 1)
            column--;
        Errors.Add(new PolicyError(line, column, message));
    }
}
