using System.Globalization;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Policies;

/// <summary>
/// The checks of a policy expression's text that come before any compiler sees it: its length and how deep its
/// brackets nest. A compiler's work grows with both, pathologically with nesting (20,000 nested parentheses cost
/// Roslyn tens of seconds), so an expression over either limit is refused where it is written and never compiled.
/// </summary>
internal static class ExpressionText
{
    /// <summary>
    /// How deep <c>(</c>, <c>[</c> and <c>{</c> nest in <paramref name="code"/>. Brackets inside string literals count
    /// too: an interpolation hole is code, and counting every bracket cannot be fooled by a string; the few a
    /// literal holds do not change the answer for a real expression.
    /// </summary>
    public static int Nesting(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        int depth = 0, deepest = 0;
        foreach (var c in code)
        {
            if (c is '(' or '[' or '{')
            {
                if (++depth > deepest)
                    deepest = depth;
            }
            else if (c is ')' or ']' or '}' && depth > 0)
            {
                depth--;
            }
        }
        return deepest;
    }

    /// <summary>What is wrong with <paramref name="expression"/> under <paramref name="limits"/> (resolved), or null.</summary>
    public static string? LimitProblem(PolicyExpression expression, GatewayLimits limits)
    {
        ArgumentNullException.ThrowIfNull(expression);
        ArgumentNullException.ThrowIfNull(limits);
        var maxLength = limits.MaxExpressionLength ?? GatewayLimits.Defaults.MaxExpressionLength!.Value;
        if (expression.Code.Length > maxLength)
        {
            return $"the expression is {expression.Code.Length.ToString(CultureInfo.InvariantCulture)} characters long, more than MaxExpressionLength ({maxLength.ToString(CultureInfo.InvariantCulture)}). " +
                "Shorten it, or raise the limit with Set-GatewayLimit -MaxExpressionLength <characters>";
        }
        var maxNesting = limits.MaxExpressionNesting ?? GatewayLimits.Defaults.MaxExpressionNesting!.Value;
        var nesting = Nesting(expression.Code);
        if (nesting > maxNesting)
        {
            return $"the expression's brackets nest {nesting.ToString(CultureInfo.InvariantCulture)} deep, more than MaxExpressionNesting ({maxNesting.ToString(CultureInfo.InvariantCulture)}). " +
                "Simplify it, or raise the limit with Set-GatewayLimit -MaxExpressionNesting <levels>";
        }
        return null;
    }

    /// <summary>What is wrong with a policy document of <paramref name="length"/> characters, or null.</summary>
    public static string? PolicySizeProblem(int length, GatewayLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var max = limits.MaxPolicySize ?? GatewayLimits.Defaults.MaxPolicySize!.Value;
        return length <= max ? null
            : $"it is {length.ToString(CultureInfo.InvariantCulture)} characters long, more than MaxPolicySize ({max.ToString(CultureInfo.InvariantCulture)}). " +
              "Split it over APIs, or raise the limit with Set-GatewayLimit -MaxPolicySize <characters>";
    }
}
