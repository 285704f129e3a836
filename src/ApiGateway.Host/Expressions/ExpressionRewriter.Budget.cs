using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace ApiGateway.Host.Expressions;

/// <summary>
/// The instrumentation that keeps every expression within its budget (see <see cref="Context.ExpressionBudget"/>):
/// a step at every loop iteration, <c>goto</c> and <c>yield</c>; entry and exit around the bodies of lambdas,
/// anonymous methods and local functions (depth and stack); sizes checked where counts, lengths and capacities reach
/// library code and where arrays are made; Enumerable.Range and Repeat counted per element; a regular expression's
/// match timeout never longer than what is left of the expression's time. A method with any of these starts its
/// budget first; a method without (the usual certificate check) runs as written.
/// </summary>
internal sealed partial class ExpressionRewriter
{
    private static readonly ExpressionSyntax Budget = ParseExpression("global::ApiGateway.Host.Context.ExpressionBudget");
    private static readonly StatementSyntax StepStatement = ExpressionStatement(BudgetCall("Step"));
    private static readonly StatementSyntax EnterStatement = ExpressionStatement(BudgetCall("Enter"));
    private static readonly StatementSyntax ExitStatement = ExpressionStatement(BudgetCall("Exit"));

    /// <summary>Parameters through which a count, length or capacity reaches library code (and so an allocation or a loop).</summary>
    private static readonly HashSet<string> SizeParameters = new(StringComparer.Ordinal)
    {
        "count", "repeatCount", "totalWidth", "capacity", "minimumCapacity", "maxCapacity", "newSize", "length",
    };

    /// <summary>Whether the method being visited got instrumentation (it then starts its budget first).</summary>
    private bool _instrumented;

    public override SyntaxNode? VisitMethodDeclaration(MethodDeclarationSyntax node)
    {
        if (!_budget)
            return base.VisitMethodDeclaration(node);
        _cancellationToken.ThrowIfCancellationRequested();
        var outer = _instrumented;
        _instrumented = false;
        var visited = (MethodDeclarationSyntax)base.VisitMethodDeclaration(node)!;
        var instrumented = _instrumented;
        _instrumented = outer;
        if (!instrumented || visited.Body is null)
            return visited;
        var begin = ExpressionStatement(BudgetCall("Begin", Argument(IdentifierName(ExpressionCompiler.GatewayParameter))));
        // Code that catches Exception (allowed) must not turn an exceeded budget into an answer: what the method returns
        // passes through Checked, which throws again when the budget was exceeded on the way.
        var body = (BlockSyntax)new ReturnChecker(visited.ReturnType).Visit(visited.Body)!;
        return visited.WithBody(body.WithStatements(body.Statements.Insert(0, begin)));
    }

    /// <summary>Wraps the values of the method's own return statements (not those of nested functions) in <c>Checked</c>.</summary>
    private sealed class ReturnChecker(TypeSyntax returnType) : CSharpSyntaxRewriter
    {
        public override SyntaxNode? VisitReturnStatement(ReturnStatementSyntax node) =>
            node.Expression is null
                ? node
                : node.WithExpression(InvocationExpression(
                    MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, Budget, GenericName(Identifier("Checked"), TypeArgumentList(SingletonSeparatedList(returnType.WithoutTrivia())))),
                    ArgumentList(SingletonSeparatedList(Argument(node.Expression.WithoutTrivia())))));

        public override SyntaxNode? VisitLocalFunctionStatement(LocalFunctionStatementSyntax node) => node;

        public override SyntaxNode? VisitSimpleLambdaExpression(SimpleLambdaExpressionSyntax node) => node;

        public override SyntaxNode? VisitParenthesizedLambdaExpression(ParenthesizedLambdaExpressionSyntax node) => node;

        public override SyntaxNode? VisitAnonymousMethodExpression(AnonymousMethodExpressionSyntax node) => node;
    }

    public override SyntaxNode? VisitWhileStatement(WhileStatementSyntax node)
    {
        if (!_budget)
            return base.VisitWhileStatement(node);
        var visited = (WhileStatementSyntax)base.VisitWhileStatement(node)!;
        return visited.WithStatement(Stepped(visited.Statement));
    }

    public override SyntaxNode? VisitDoStatement(DoStatementSyntax node)
    {
        if (!_budget)
            return base.VisitDoStatement(node);
        var visited = (DoStatementSyntax)base.VisitDoStatement(node)!;
        return visited.WithStatement(Stepped(visited.Statement));
    }

    public override SyntaxNode? VisitForStatement(ForStatementSyntax node)
    {
        if (!_budget)
            return base.VisitForStatement(node);
        var visited = (ForStatementSyntax)base.VisitForStatement(node)!;
        return visited.WithStatement(Stepped(visited.Statement));
    }

    public override SyntaxNode? VisitForEachStatement(ForEachStatementSyntax node)
    {
        if (!_budget)
            return base.VisitForEachStatement(node);
        var visited = (ForEachStatementSyntax)base.VisitForEachStatement(node)!;
        return visited.WithStatement(Stepped(visited.Statement));
    }

    public override SyntaxNode? VisitForEachVariableStatement(ForEachVariableStatementSyntax node)
    {
        if (!_budget)
            return base.VisitForEachVariableStatement(node);
        var visited = (ForEachVariableStatementSyntax)base.VisitForEachVariableStatement(node)!;
        return visited.WithStatement(Stepped(visited.Statement));
    }

    public override SyntaxNode? VisitGotoStatement(GotoStatementSyntax node)
    {
        if (!_budget)
            return base.VisitGotoStatement(node);
        var visited = (StatementSyntax)base.VisitGotoStatement(node)!;
        _instrumented = true;
        return Block(StepStatement, visited.WithoutLeadingTrivia()).WithTriviaFrom(node);
    }

    public override SyntaxNode? VisitYieldStatement(YieldStatementSyntax node)
    {
        if (!_budget)
            return base.VisitYieldStatement(node);
        var visited = (StatementSyntax)base.VisitYieldStatement(node)!;
        _instrumented = true;
        return Block(StepStatement, visited.WithoutLeadingTrivia()).WithTriviaFrom(node);
    }

    public override SyntaxNode? VisitSimpleLambdaExpression(SimpleLambdaExpressionSyntax node)
    {
        if (!_budget)
            return base.VisitSimpleLambdaExpression(node);
        var visited = (SimpleLambdaExpressionSyntax)base.VisitSimpleLambdaExpression(node)!;
        return WithBudgetedBody(visited, ReturnsVoid(node), visited.Block, visited.ExpressionBody, (b) => visited.WithExpressionBody(null).WithBlock(b));
    }

    public override SyntaxNode? VisitParenthesizedLambdaExpression(ParenthesizedLambdaExpressionSyntax node)
    {
        if (!_budget)
            return base.VisitParenthesizedLambdaExpression(node);
        var visited = (ParenthesizedLambdaExpressionSyntax)base.VisitParenthesizedLambdaExpression(node)!;
        return WithBudgetedBody(visited, ReturnsVoid(node), visited.Block, visited.ExpressionBody, (b) => visited.WithExpressionBody(null).WithBlock(b));
    }

    public override SyntaxNode? VisitAnonymousMethodExpression(AnonymousMethodExpressionSyntax node)
    {
        if (!_budget)
            return base.VisitAnonymousMethodExpression(node);
        var visited = (AnonymousMethodExpressionSyntax)base.VisitAnonymousMethodExpression(node)!;
        return WithBudgetedBody(visited, ReturnsVoid(node), visited.Block, null, (b) => visited.WithBlock(b));
    }

    public override SyntaxNode? VisitLocalFunctionStatement(LocalFunctionStatementSyntax node)
    {
        if (!_budget)
            return base.VisitLocalFunctionStatement(node);
        var visited = (LocalFunctionStatementSyntax)base.VisitLocalFunctionStatement(node)!;
        // An iterator's body runs later, one MoveNext at a time: its yields and loops are counted; entry and exit would
        // not pair up.
        if (IsIterator(node) || (visited.Body is null && visited.ExpressionBody is null))
            return visited; // an extern declaration has no body (and is refused anyway)
        var returnsVoid = _model.GetDeclaredSymbol(node) is IMethodSymbol { ReturnsVoid: true };
        var body = BudgetedBlock(visited.Body, visited.ExpressionBody?.Expression, returnsVoid);
        return visited.WithExpressionBody(null).WithSemicolonToken(default).WithBody(body);
    }

    public override SyntaxNode? VisitArgument(ArgumentSyntax node)
    {
        if (!_budget)
            return base.VisitArgument(node);
        var visited = (ArgumentSyntax)base.VisitArgument(node)!;
        if (node.Parent?.Parent is not { } call || _model.GetSymbolInfo(call).Symbol is not IMethodSymbol method)
            return visited;
        var parameter = ParameterOf(node, method);
        if (parameter is null)
            return visited;
        if (parameter.Type.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64 && SizeParameters.Contains(parameter.Name)
            && !IsEnumerable(method.ContainingType))
        {
            _instrumented = true;
            return visited.WithExpression(BudgetCall("Size", Argument(visited.Expression.WithoutTrivia())).WithTriviaFrom(visited.Expression));
        }
        if (parameter.Name == "matchTimeout" && IsRegex(method.ContainingType))
        {
            _instrumented = true;
            return visited.WithExpression(BudgetCall("MatchTimeout", Argument(visited.Expression.WithoutTrivia())).WithTriviaFrom(visited.Expression));
        }
        return visited;
    }

    public override SyntaxNode? VisitArrayCreationExpression(ArrayCreationExpressionSyntax node)
    {
        if (!_budget)
            return base.VisitArrayCreationExpression(node);
        var visited = (ArrayCreationExpressionSyntax)base.VisitArrayCreationExpression(node)!;
        var elementBytes = _model.GetTypeInfo(node).Type is IArrayTypeSymbol array ? ElementBytes(array.ElementType) : 8;
        // The dimensions of one array multiply: ArrayLength checks the first against the budget, and each further one
        // (ArrayDimension, evaluated left to right after it) the product so far.
        var ranks = visited.Type.RankSpecifiers.Select(rank => rank.WithSizes(SeparatedList(rank.Sizes.Select((size, i) =>
            size is OmittedArraySizeExpressionSyntax ? size
            : (ExpressionSyntax)BudgetCall(i == 0 ? "ArrayLength" : "ArrayDimension", Argument(size.WithoutTrivia()), Argument(Literal(elementBytes))))))).ToList();
        if (ranks.SequenceEqual(visited.Type.RankSpecifiers))
            return visited;
        _instrumented = true;
        return visited.WithType(visited.Type.WithRankSpecifiers(List(ranks)));
    }

    public override SyntaxNode? VisitObjectCreationExpression(ObjectCreationExpressionSyntax node)
    {
        if (!_budget)
            return base.VisitObjectCreationExpression(node);
        var visited = (ObjectCreationExpressionSyntax)base.VisitObjectCreationExpression(node)!;
        return _model.GetSymbolInfo(node).Symbol is IMethodSymbol constructor && WithMatchTimeout(constructor, visited.ArgumentList) is { } arguments
            ? visited.WithArgumentList(arguments)
            : visited;
    }

    /// <summary>
    /// Enumerable.Range and Repeat → the budget's, counted per element; a Regex call without a match timeout → the
    /// overload with one (RegexOptions.None where the call gave none). Null when <paramref name="method"/> is neither.
    /// </summary>
    private InvocationExpressionSyntax? BudgetedCall(InvocationExpressionSyntax visited, IMethodSymbol? method)
    {
        if (method is null || !_budget)
            return null;
        if (method is { IsStatic: true, Name: "Range" or "Repeat" } && IsEnumerable(method.ContainingType)
            && visited.Expression is MemberAccessExpressionSyntax access)
        {
            _instrumented = true;
            return visited.WithExpression(access.WithExpression(Budget));
        }
        return IsRegex(method.ContainingType) && WithMatchTimeout(method, visited.ArgumentList) is { } arguments
            ? visited.WithArgumentList(arguments)
            : null;
    }

    /// <summary>The arguments of a Regex constructor or method call extended to the overload with a match timeout, or null.</summary>
    private ArgumentListSyntax? WithMatchTimeout(IMethodSymbol method, ArgumentListSyntax? arguments)
    {
        if (!IsRegex(method.ContainingType) || arguments is null || method.Parameters.Any(p => p.Name == "matchTimeout")
            || arguments.Arguments.Any(a => a.NameColon is not null))
        {
            return null;
        }
        var hasOptions = method.Parameters.Any(p => p.Name == "options");
        var wanted = method.Parameters.Select(p => p.Type).ToList();
        if (!hasOptions)
            wanted.Add(method.ContainingType.ContainingNamespace.GetTypeMembers("RegexOptions").FirstOrDefault()!);
        var overload = method.ContainingType.GetMembers(method.Name).OfType<IMethodSymbol>().FirstOrDefault(m =>
            m.IsStatic == method.IsStatic && m.MethodKind == method.MethodKind && m.Parameters.Length == wanted.Count + 1
            && m.Parameters[^1].Name == "matchTimeout"
            && m.Parameters.Take(wanted.Count).Select(p => p.Type).SequenceEqual(wanted, SymbolEqualityComparer.Default));
        if (overload is null)
            return null;
        _instrumented = true;
        var extra = new List<ArgumentSyntax>();
        if (!hasOptions)
            extra.Add(Argument(ParseExpression("global::System.Text.RegularExpressions.RegexOptions.None")));
        extra.Add(Argument(BudgetCall("MatchTimeout", Argument(ParseExpression("global::System.Text.RegularExpressions.Regex.InfiniteMatchTimeout")))));
        return arguments.WithArguments(arguments.Arguments.AddRange(extra));
    }

    private BlockSyntax Stepped(StatementSyntax body)
    {
        _instrumented = true;
        return body is BlockSyntax block
            ? block.WithStatements(block.Statements.Insert(0, StepStatement))
            : Block(StepStatement, body);
    }

    private SyntaxNode WithBudgetedBody(SyntaxNode visited, bool returnsVoid, BlockSyntax? block, ExpressionSyntax? expression, Func<BlockSyntax, SyntaxNode> with) =>
        block is null && expression is null ? visited : with(BudgetedBlock(block, expression, returnsVoid));

    /// <summary><c>{ Enter(); try { body } finally { Exit(); } }</c>, an expression body first turned into a block.</summary>
    private BlockSyntax BudgetedBlock(BlockSyntax? block, ExpressionSyntax? expression, bool returnsVoid)
    {
        _instrumented = true;
        var body = block ?? Block(returnsVoid
            ? ExpressionStatement(expression!.WithoutTrivia())
            : ReturnStatement(expression!.WithoutTrivia()));
        return Block(EnterStatement, TryStatement(body, default, FinallyClause(Block(ExitStatement))));
    }

    private bool ReturnsVoid(AnonymousFunctionExpressionSyntax node) =>
        _model.GetSymbolInfo(node).Symbol is IMethodSymbol { ReturnsVoid: true };

    /// <summary>Whether a local function is an iterator: a yield in its own body (not in a nested function).</summary>
    private static bool IsIterator(LocalFunctionStatementSyntax node) =>
        node.DescendantNodes(n => n == node || n is not (LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax))
            .OfType<YieldStatementSyntax>().Any();

    private static IParameterSymbol? ParameterOf(ArgumentSyntax argument, IMethodSymbol method)
    {
        if (argument.NameColon is { } name)
            return method.Parameters.FirstOrDefault(p => p.Name == name.Name.Identifier.Text);
        if (argument.Parent is not ArgumentListSyntax list)
            return null;
        var index = list.Arguments.IndexOf(argument);
        // An extension method called as one (a reduced symbol) lists its parameters without the receiver already.
        var parameters = method.Parameters;
        if (index < parameters.Length)
            return parameters[index].IsParams ? null : parameters[index];
        return null;
    }

    private static int ElementBytes(ITypeSymbol type) => type.SpecialType switch
    {
        SpecialType.System_Boolean or SpecialType.System_Byte or SpecialType.System_SByte => 1,
        SpecialType.System_Char or SpecialType.System_Int16 or SpecialType.System_UInt16 => 2,
        SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Single => 4,
        SpecialType.System_Decimal => 16,
        _ => type.IsValueType ? 16 : 8,
    };

    private static bool IsEnumerable(INamedTypeSymbol? type) =>
        type is { Name: "Enumerable" } && TypeAllowList.NamespaceOf(type) == "System.Linq";

    private static bool IsRegex(INamedTypeSymbol? type) =>
        type is { Name: "Regex" } && TypeAllowList.NamespaceOf(type) == "System.Text.RegularExpressions";

    private static InvocationExpressionSyntax BudgetCall(string method, params ArgumentSyntax[] arguments) =>
        InvocationExpression(
            MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, Budget, IdentifierName(method)),
            ArgumentList(SeparatedList(arguments)));

    private static LiteralExpressionSyntax Literal(int value) =>
        LiteralExpression(SyntaxKind.NumericLiteralExpression, SyntaxFactory.Literal(value));
}
