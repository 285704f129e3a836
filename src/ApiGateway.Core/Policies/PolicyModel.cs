namespace ApiGateway.Core.Policies;

/// <summary>The four sections of an APIM policy document, in the order a request meets them.</summary>
internal enum PolicySectionKind
{
    Inbound,
    Backend,
    Outbound,
    OnError,
}

/// <summary>The XML names of the sections, beside the enum they name.</summary>
internal static class PolicySections
{
    private static readonly string[] Names = ["inbound", "backend", "outbound", "on-error"];

    /// <summary>The XML name of a section: <c>inbound</c>, <c>backend</c>, <c>outbound</c> or <c>on-error</c>.</summary>
    public static string XmlName(this PolicySectionKind kind) => Names[(int)kind];

    /// <summary>The section named <paramref name="name"/> in XML.</summary>
    public static bool TryParse(string name, out PolicySectionKind kind)
    {
        var index = Array.IndexOf(Names, name);
        kind = (PolicySectionKind)Math.Max(index, 0);
        return index >= 0;
    }
}

/// <summary>Where a policy document applies: the global ("All APIs") policy or one API's.</summary>
public enum PolicyScope
{
    Global,
    Api,
}

/// <summary>A problem in a policy document, at a 1-based line and column of the text the author wrote.</summary>
internal sealed record PolicyError(int Line, int Column, string Message)
{
    public override string ToString() => $"line {Line}, column {Column}: {Message}";
}

/// <summary>A C# policy expression: <c>@(expression)</c> or <c>@{ statements }</c>, with where it starts.</summary>
/// <param name="Code">The C# between the brackets.</param>
/// <param name="IsBlock">True for <c>@{ ... }</c> (statements with <c>return</c>), false for <c>@( ... )</c>.</param>
/// <param name="Line">1-based line of the '@'.</param>
/// <param name="Column">1-based column of the '@'.</param>
internal sealed record PolicyExpression(string Code, bool IsBlock, int Line, int Column)
{
    /// <summary>The expression as written, <c>@(...)</c> or <c>@{...}</c>.</summary>
    public string Source => IsBlock ? "@{" + Code + "}" : "@(" + Code + ")";
}

/// <summary>A value that is either literal text or a policy expression.</summary>
internal sealed record PolicyValue
{
    private PolicyValue(string? literal, PolicyExpression? expression)
    {
        Literal = literal;
        Expression = expression;
    }

    /// <summary>The literal text, or null when the value is an expression.</summary>
    public string? Literal { get; }

    /// <summary>The expression, or null when the value is literal.</summary>
    public PolicyExpression? Expression { get; }

    public bool IsExpression => Expression is not null;

    public static PolicyValue FromLiteral(string text) => new(text, null);

    public static PolicyValue FromExpression(PolicyExpression expression) => new(null, expression);

    public override string ToString() => Expression?.Source ?? Literal ?? string.Empty;
}

/// <summary>What a value of an element must produce; the host compiles an expression there to match.</summary>
internal enum PolicyValueRole
{
    /// <summary>A bool: <c>&lt;when condition="..."&gt;</c>.</summary>
    Condition,
    /// <summary>Any value, turned into text: attribute and element text.</summary>
    Text,
    /// <summary>An int (or text holding one): <c>&lt;set-status code="..."&gt;</c>.</summary>
    StatusCode,
    /// <summary>Any value, kept as it is: <c>&lt;set-variable value="..."&gt;</c>.</summary>
    Value,
}

/// <summary>A value of an element (null when the attribute is left out) and what it must produce.</summary>
internal readonly record struct PolicyValueUse(PolicyValue? Value, PolicyValueRole Role);

/// <summary>
/// One policy element; <see cref="Line"/> and <see cref="Column"/> are where it starts in the author's text. Each
/// element is a record under Elements/ that declares its values (<see cref="ValueUses"/>), its nested elements
/// (<see cref="Children"/>) and how it is parsed; <see cref="PolicyElements"/> lists them.
/// </summary>
internal abstract record PolicyNode(int Line, int Column)
{
    /// <summary>The XML element name, e.g. <c>set-header</c>.</summary>
    public abstract string ElementName { get; }

    /// <summary>Every value of the element, in document order, with its role: the one list the parser's users read.</summary>
    internal virtual IEnumerable<PolicyValueUse> ValueUses => [];

    /// <summary>The elements nested in this one (the bodies of choose and return-response).</summary>
    internal virtual IEnumerable<PolicyNode> Children => [];
}

/// <summary>One section (inbound, backend, outbound, on-error) of a policy document.</summary>
internal sealed record PolicySection(PolicySectionKind Kind, IReadOnlyList<PolicyNode> Policies, int Line, int Column);
