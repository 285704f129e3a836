using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ApiGateway.Host.Expressions;

/// <summary>
/// The shape of an expression: its code with the string literals replaced by slots <c>__0</c>, <c>__1</c>... (locals
/// of the generated method, filled from the expression's own values). A configuration where every API checks a
/// thumbprint or a subject of its own then compiles that check once, not once per API: Roslyn's cost is per method.
/// <para>
/// A literal stays as it is where C# needs a constant (case labels, patterns, const declarations, default values,
/// attributes), inside a lambda, local function or query (a slot there would be a captured variable, which costs a
/// closure per evaluation), and in code that already uses a name of the form <c>__</c> + digit. Positions the compiler
/// reports in the shape are mapped back to the expression as written (<see cref="Instance.ToCode"/>).
/// </para>
/// </summary>
internal static class LiteralSlots
{
    /// <summary>The name of slot <paramref name="index"/>: <c>__0</c>.</summary>
    public static string Name(int index) => "__" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The shape of <paramref name="key"/> (parsed as <paramref name="node"/>, whose positions are <paramref name="offset"/>
    /// ahead of the code's) and the expression as an instance of it. Without a literal to take out, the shape is the key.
    /// </summary>
    public static (ExpressionKey Shape, Instance Instance) Extract(ExpressionKey key, SyntaxNode node, int offset)
    {
        var literals = new List<(int Start, int Length, string Value)>();
        if (!LooksLikeSlot(key.Code))
        {
            foreach (var token in node.DescendantTokens())
            {
                if (token.IsKind(SyntaxKind.StringLiteralToken) && token.Parent is LiteralExpressionSyntax literal && CanBeSlot(literal))
                    literals.Add((token.SpanStart - offset, token.Span.Length, token.ValueText));
            }
        }
        if (literals.Count == 0)
            return (key, new Instance(key, [], []));
        var shape = new StringBuilder(key.Code.Length);
        var at = 0;
        for (var i = 0; i < literals.Count; i++)
        {
            var (start, length, _) = literals[i];
            shape.Append(key.Code, at, start - at).Append(Name(i));
            at = start + length;
        }
        shape.Append(key.Code, at, key.Code.Length - at);
        return (key with { Code = shape.ToString() }, new Instance(key, [.. literals.Select(l => l.Value)], [.. literals.Select(l => (l.Start, l.Length))]));
    }

    /// <summary>Whether the code has a name of the form <c>__</c> + digit, which a slot could be confused with.</summary>
    private static bool LooksLikeSlot(string code)
    {
        for (var i = code.IndexOf("__", StringComparison.Ordinal); i >= 0; i = code.IndexOf("__", i + 1, StringComparison.Ordinal))
        {
            if (i + 2 < code.Length && char.IsAsciiDigit(code[i + 2]))
                return true;
        }
        return false;
    }

    private static bool CanBeSlot(LiteralExpressionSyntax literal)
    {
        foreach (var ancestor in literal.Ancestors())
        {
            switch (ancestor)
            {
                case PatternSyntax or SwitchLabelSyntax or GotoStatementSyntax or AttributeSyntax or ParameterSyntax
                    or AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax or QueryExpressionSyntax:
                    return false;
                case LocalDeclarationStatementSyntax declaration when declaration.IsConst:
                    return false;
            }
        }
        return true;
    }

    /// <summary>One expression of a shape: its key, the values of its slots, and where its literals are in its code.</summary>
    internal sealed class Instance(ExpressionKey key, string[] values, (int Start, int Length)[] literals)
    {
        public ExpressionKey Key { get; } = key;

        public string[] Values { get; } = values;

        /// <summary>The position in the expression's code of <paramref name="position"/> in the shape's code (inside a slot: where its literal starts).</summary>
        public int ToCode(int position)
        {
            var shift = 0;
            for (var i = 0; i < literals.Length; i++)
            {
                var (start, length) = literals[i];
                var slotStart = start - shift;
                var slotLength = Name(i).Length;
                if (position < slotStart)
                    break;
                if (position < slotStart + slotLength)
                    return start;
                shift += length - slotLength;
            }
            return position + shift;
        }
    }
}
