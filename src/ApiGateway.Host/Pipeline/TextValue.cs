using ApiGateway.Host.Context;

namespace ApiGateway.Host.Pipeline;

/// <summary>A value of an attribute or element: literal text, or a compiled expression.</summary>
internal sealed class TextValue(string? literal, Func<PolicyContext, string?>? expression)
{
    public string? Evaluate(PolicyContext context) => expression is null ? literal : expression(context);

    public bool IsLiteral => expression is null;

    public string? Literal => literal;
}
