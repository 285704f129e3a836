using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace ApiGateway.Host.Expressions;

/// <summary>
/// Rewrites what an expression means in APIM into what the gateway runs, using the semantic model of the code as
/// written:
/// <list type="bullet">
/// <item><c>cert.SubjectName != "CN=x"</c> (which does not compile in C#) and <c>cert.Subject == "CN=x, O=y"</c>,
/// <c>Issuer</c>, <c>SubjectName.Name</c>, <c>IssuerName.Name</c> compared with a string → a distinguished-name comparison;</item>
/// <item><c>a.Thumbprint == b</c> → a comparison without regard to case; every <c>x.Thumbprint</c> → a cached value;</item>
/// <item><c>context.Deployment.Certificates.Any(c => c.Value.Thumbprint == x)</c> (APIM's "one of the uploaded
/// certificates" check) → a lookup in the revision's thumbprint set instead of a walk over every certificate;</item>
/// <item><c>cert.Verify()</c>, <c>cert.VerifyNoRevocation()</c> (and their <c>?.</c> forms) → the gateway's checks, which
/// use the chain built during the handshake instead of the system store and never block a request on the network
/// more than once per connection.</item>
/// <item>loops, gotos, yields, lambdas, local functions, sizes, Enumerable.Range/Repeat and regular expressions →
/// counted against the expression's budget (ExpressionRewriter.Budget.cs).</item>
/// </list>
/// </summary>
internal sealed partial class ExpressionRewriter : CSharpSyntaxRewriter
{
    private const string X509Namespace = "System.Security.Cryptography.X509Certificates";

    private static readonly ExpressionSyntax Runtime = ParseExpression("global::ApiGateway.Host.Context.ExpressionRuntime");
    private static readonly ArgumentSyntax Gateway = Argument(IdentifierName(ExpressionCompiler.GatewayParameter));

    private readonly SemanticModel _model;
    private readonly CancellationToken _cancellationToken;
    private readonly bool _budget;

    public ExpressionRewriter(SemanticModel model, bool budget = true, CancellationToken cancellationToken = default)
    {
        _model = model;
        _cancellationToken = cancellationToken;
        _budget = budget;
    }

    /// <summary>Spans (in the original tree) of X500DistinguishedName-vs-string comparisons: their CS0019 errors are expected and dropped.</summary>
    public List<TextSpan> DistinguishedNameOperators { get; } = [];

    /// <summary>Problems the rewriter finds (position in the original tree, message).</summary>
    public List<(int Position, string Message)> Problems { get; } = [];

    public override SyntaxNode? VisitBinaryExpression(BinaryExpressionSyntax node)
    {
        var visited = (BinaryExpressionSyntax)base.VisitBinaryExpression(node)!;
        if (!node.IsKind(SyntaxKind.EqualsExpression) && !node.IsKind(SyntaxKind.NotEqualsExpression))
            return visited;
        var left = _model.GetTypeInfo(node.Left).Type;
        var right = _model.GetTypeInfo(node.Right).Type;
        string? helper = null;
        if ((IsX500(left) && IsString(right)) || (IsString(left) && IsX500(right)))
        {
            helper = "DnEquals";
            DistinguishedNameOperators.Add(node.Span);
        }
        else if (IsString(left) && IsString(right))
        {
            if (IsDistinguishedNameValued(node.Left) || IsDistinguishedNameValued(node.Right))
                helper = "DnEquals";
            else if (IsThumbprint(node.Left) || IsThumbprint(node.Right))
                helper = "ThumbprintEquals";
        }
        if (helper is null)
            return visited;
        ExpressionSyntax call = Call(helper, Argument(visited.Left.WithoutTrivia()), Argument(visited.Right.WithoutTrivia()));
        if (node.IsKind(SyntaxKind.NotEqualsExpression))
            call = PrefixUnaryExpression(SyntaxKind.LogicalNotExpression, ParenthesizedExpression(call));
        return ParenthesizedExpression(call).WithTriviaFrom(node);
    }

    public override SyntaxNode? VisitMemberAccessExpression(MemberAccessExpressionSyntax node)
    {
        var visited = (MemberAccessExpressionSyntax)base.VisitMemberAccessExpression(node)!;
        if (node.IsKind(SyntaxKind.SimpleMemberAccessExpression) && IsThumbprintProperty(_model.GetSymbolInfo(node).Symbol))
            return Call("Thumbprint", Argument(visited.Expression.WithoutTrivia())).WithTriviaFrom(node);
        return visited;
    }

    public override SyntaxNode? VisitInvocationExpression(InvocationExpressionSyntax node)
    {
        if (ThumbprintLookup(node) is { } lookup)
            return lookup;
        var visited = (InvocationExpressionSyntax)base.VisitInvocationExpression(node)!;
        var method = _model.GetSymbolInfo(node).Symbol as IMethodSymbol;
        if (BudgetedCall(visited, method) is { } budgeted)
            return budgeted;
        if (StatefulPredicate(node, visited, method) is { } stateful)
            return stateful;
        var helper = VerifyHelper(method);
        if (helper is null)
            return visited;
        if (node.Expression is MemberAccessExpressionSyntax && visited.Expression is MemberAccessExpressionSyntax access && node.ArgumentList.Arguments.Count == 0)
            return Call(helper, Gateway, Argument(access.Expression.WithoutTrivia())).WithTriviaFrom(node);
        if (node.Expression is MemberBindingExpressionSyntax)
            return visited; // handled (or refused) by VisitConditionalAccessExpression
        Problems.Add((node.SpanStart, $"the expression calls {method!.Name}() in a form the gateway cannot check; write certificate.{method.Name}() on a certificate expression"));
        return visited;
    }

    public override SyntaxNode? VisitConditionalAccessExpression(ConditionalAccessExpressionSyntax node)
    {
        if (node.WhenNotNull is InvocationExpressionSyntax { Expression: MemberBindingExpressionSyntax, ArgumentList.Arguments.Count: 0 } invocation
            && VerifyHelper(_model.GetSymbolInfo(invocation).Symbol as IMethodSymbol) is { } helper)
        {
            var target = (ExpressionSyntax)Visit(node.Expression)!;
            return Call(helper + "OrNull", Gateway, Argument(target.WithoutTrivia())).WithTriviaFrom(node);
        }
        foreach (var inner in node.WhenNotNull.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>())
        {
            if (inner.Expression is MemberBindingExpressionSyntax && VerifyHelper(_model.GetSymbolInfo(inner).Symbol as IMethodSymbol) is not null)
            {
                Problems.Add((inner.SpanStart, "the expression calls Verify() after '?.' in a chain the gateway cannot check; write 'certificate != null && certificate.Verify()' instead"));
                break;
            }
        }
        return base.VisitConditionalAccessExpression(node);
    }

    /// <summary>
    /// <c>context.Deployment.Certificates.Any(c => ... context ...)</c>: a lambda that captures <c>context</c> costs a
    /// closure and a delegate on every evaluation. Passing the context as state to a static lambda
    /// (<c>Any(__gateway, static (c, context) => ...)</c>) means the same and allocates nothing.
    /// </summary>
    private InvocationExpressionSyntax? StatefulPredicate(InvocationExpressionSyntax node, InvocationExpressionSyntax visited, IMethodSymbol? method)
    {
        if (method is not { Name: "Any" or "All", IsStatic: false, Parameters.Length: 1 }
            || method.ContainingType is not { Name: "CertificateDictionary" } type
            || TypeAllowList.NamespaceOf(type) != "ApiGateway.Host.Context"
            || node.ArgumentList.Arguments.Count != 1
            || node.ArgumentList.Arguments[0].Expression is not LambdaExpressionSyntax lambda
            || visited.ArgumentList.Arguments[0].Expression is not LambdaExpressionSyntax rewritten)
        {
            return null;
        }

        var parameter = lambda switch
        {
            SimpleLambdaExpressionSyntax simple => simple.Parameter,
            ParenthesizedLambdaExpressionSyntax { ParameterList.Parameters.Count: 1 } parenthesized => parenthesized.ParameterList.Parameters[0],
            _ => null,
        };
        if (parameter is null || parameter.Identifier.Text == "context" || lambda.AsyncKeyword != default || lambda.Body is null)
            return null;
        var captured = _model.AnalyzeDataFlow(lambda) is { Succeeded: true } flow ? flow.Captured : default;
        if (captured.IsDefault || captured.Length != 1 || captured[0] is not ILocalSymbol { Name: "context" })
            return null;
        var body = rewritten switch
        {
            SimpleLambdaExpressionSyntax s => s.Body,
            ParenthesizedLambdaExpressionSyntax p => p.Body,
            _ => null,
        };
        if (body is null)
            return null;
        var stateful = ParenthesizedLambdaExpression(
                ParameterList(SeparatedList([Parameter(Identifier(parameter.Identifier.Text)), Parameter(Identifier("context"))])),
                body)
            .WithModifiers(TokenList(Token(SyntaxKind.StaticKeyword)));
        return visited.WithArgumentList(ArgumentList(SeparatedList([Gateway, Argument(stateful)])));
    }

    /// <summary>
    /// <c>certificates.Any(c => c.Value.Thumbprint == x)</c> (either side of <c>==</c>), where <c>x</c> does not use
    /// <c>c</c> and only reads members of <c>context</c> (no calls, so evaluating it once instead of once per certificate
    /// changes nothing) → <c>ThumbprintIn(certificates, context, static context => x)</c>: a set lookup. <c>x</c> is
    /// still evaluated only when there is a certificate, as in the walk, so a null certificate throws exactly when the
    /// original would.
    /// </summary>
    private InvocationExpressionSyntax? ThumbprintLookup(InvocationExpressionSyntax node)
    {
        if (node.Expression is not MemberAccessExpressionSyntax { Name.Identifier.Text: "Any" } access
            || node.ArgumentList.Arguments.Count != 1
            || node.ArgumentList.Arguments[0].Expression is not SimpleLambdaExpressionSyntax { AsyncKeyword.RawKind: 0, Body: ExpressionSyntax body } lambda
            || _model.GetSymbolInfo(node).Symbol is not IMethodSymbol { Name: "Any", IsStatic: false, Parameters.Length: 1 } method
            || method.ContainingType is not { Name: "CertificateDictionary" } type
            || TypeAllowList.NamespaceOf(type) != "ApiGateway.Host.Context"
            || _model.GetDeclaredSymbol(lambda.Parameter) is not { } parameter)
        {
            return null;
        }

        while (body is ParenthesizedExpressionSyntax parenthesized)
            body = parenthesized.Expression;
        if (body is not BinaryExpressionSyntax binary || !binary.IsKind(SyntaxKind.EqualsExpression))
            return null;
        ExpressionSyntax other;
        if (IsParameterThumbprint(binary.Left, parameter))
            other = binary.Right;
        else if (IsParameterThumbprint(binary.Right, parameter))
            other = binary.Left;
        else
            return null;
        if (!IsString(_model.GetTypeInfo(other).Type) || !IsPureRead(other, parameter))
            return null;
        var receiver = (ExpressionSyntax)Visit(access.Expression)!;
        var value = (ExpressionSyntax)Visit(other)!;
        var lookup = ParenthesizedLambdaExpression(
                ParameterList(SingletonSeparatedList(Parameter(Identifier("context")))),
                value.WithoutTrivia())
            .WithModifiers(TokenList(Token(SyntaxKind.StaticKeyword)));
        return Call("ThumbprintIn", Argument(receiver.WithoutTrivia()), Argument(IdentifierName("context")), Argument(lookup)).WithTriviaFrom(node);
    }

    /// <summary><c>c.Value.Thumbprint</c> for the lambda parameter <paramref name="parameter"/>.</summary>
    private bool IsParameterThumbprint(ExpressionSyntax expression, ISymbol parameter)
    {
        while (expression is ParenthesizedExpressionSyntax parenthesized)
            expression = parenthesized.Expression;
        return expression is MemberAccessExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.Text: "Value", Expression: IdentifierNameSyntax identifier } } thumbprint
            && IsThumbprintProperty(_model.GetSymbolInfo(thumbprint).Symbol)
            && SymbolEqualityComparer.Default.Equals(_model.GetSymbolInfo(identifier).Symbol, parameter);
    }

    /// <summary>Member reads, <c>?.</c> and literals over the local <c>context</c> only: no calls, no other variable, not <paramref name="parameter"/>.</summary>
    private bool IsPureRead(ExpressionSyntax expression, ISymbol parameter)
    {
        foreach (var part in expression.DescendantNodesAndSelf())
        {
            switch (part)
            {
                case IdentifierNameSyntax identifier:
                    var symbol = _model.GetSymbolInfo(identifier).Symbol;
                    if (SymbolEqualityComparer.Default.Equals(symbol, parameter))
                        return false;
                    if (symbol is ILocalSymbol or IParameterSymbol && identifier.Identifier.Text != "context")
                        return false;
                    if (symbol is IMethodSymbol)
                        return false; // a method group: a delegate made per evaluation
                    break;
                case MemberAccessExpressionSyntax or MemberBindingExpressionSyntax or ConditionalAccessExpressionSyntax
                    or ParenthesizedExpressionSyntax or LiteralExpressionSyntax:
                    break;
                default:
                    return false;
            }
        }
        return true;
    }

    private static InvocationExpressionSyntax Call(string helper, params ArgumentSyntax[] arguments) =>
        InvocationExpression(
            MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, Runtime, IdentifierName(helper)),
            ArgumentList(SeparatedList(arguments)));

    private static string? VerifyHelper(IMethodSymbol? method)
    {
        if (method is null)
            return null;
        var original = method.ReducedFrom ?? method;
        if (method.Name == "Verify" && method.Parameters.Length == 0 && IsX509Type(method.ContainingType, "X509Certificate2"))
            return "Verify";
        if (original.Name == "VerifyNoRevocation" && original.ContainingType?.Name == "CertificateExtensions"
            && TypeAllowList.NamespaceOf(original) == "ApiGateway.Host.Context")
        {
            return "VerifyNoRevocation";
        }

        return null;
    }

    private bool IsDistinguishedNameValued(ExpressionSyntax expression)
    {
        var symbol = SymbolOf(expression);
        return symbol is IPropertySymbol property
            && ((property.Name is "Subject" or "Issuer" && (IsX509Type(property.ContainingType, "X509Certificate") || IsX509Type(property.ContainingType, "X509Certificate2")))
                || (property.Name == "Name" && IsX509Type(property.ContainingType, "X500DistinguishedName")));
    }

    private bool IsThumbprint(ExpressionSyntax expression) => IsThumbprintProperty(SymbolOf(expression));

    private static bool IsThumbprintProperty(ISymbol? symbol) =>
        symbol is IPropertySymbol { Name: "Thumbprint" } property && IsX509Type(property.ContainingType, "X509Certificate2");

    /// <summary>The member an operand reads, looking through parentheses and <c>?.</c>.</summary>
    private ISymbol? SymbolOf(ExpressionSyntax expression)
    {
        while (expression is ParenthesizedExpressionSyntax parenthesized)
            expression = parenthesized.Expression;
        if (expression is ConditionalAccessExpressionSyntax conditional)
            expression = conditional.WhenNotNull;
        return _model.GetSymbolInfo(expression).Symbol;
    }

    private static bool IsX509Type(ITypeSymbol? type, string name) =>
        type is not null && type.Name == name && TypeAllowList.NamespaceOf(type) == X509Namespace;

    private static bool IsX500(ITypeSymbol? type) => IsX509Type(type, "X500DistinguishedName");

    private static bool IsString(ITypeSymbol? type) => type?.SpecialType == SpecialType.System_String;
}
