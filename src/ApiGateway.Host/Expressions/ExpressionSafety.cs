using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace ApiGateway.Host.Expressions;

/// <summary>
/// What policy expressions may touch. An expression is checked through the semantic model: every type that any
/// expression, member access, invocation (its containing type, return and parameter types), object creation,
/// typeof, cast, declaration or attribute binds to must be allowed here. The list follows APIM's (primitives, string,
/// DateTime/TimeSpan/Guid, Math/Convert, LINQ, collections, StringBuilder/Encoding, Regex, the X509 types, the
/// context model) and leaves out everything that reaches the machine: files, processes, reflection, the environment,
/// sockets, threads, interop.
/// </summary>
internal static class TypeAllowList
{
    /// <summary>Namespaces whose every type is allowed (exactly these, not their sub-namespaces).</summary>
    private static readonly HashSet<string> Namespaces = new(StringComparer.Ordinal)
    {
        "System.Collections.Generic",
        "System.Linq",
        "System.Text.RegularExpressions",
        "System.Security.Cryptography.X509Certificates",
        "System.Globalization",
        "ApiGateway.Host.Context",
    };

    /// <summary>Single allowed types, by namespace and metadata name.</summary>
    private static readonly HashSet<string> Types = new(StringComparer.Ordinal)
    {
        "System.Object", "System.String", "System.Boolean", "System.Char", "System.SByte", "System.Byte", "System.Int16",
        "System.UInt16", "System.Int32", "System.UInt32", "System.Int64", "System.UInt64", "System.Int128", "System.UInt128",
        "System.Single", "System.Double", "System.Decimal", "System.Half", "System.Void",
        "System.Math", "System.MathF", "System.Convert", "System.BitConverter", "System.Guid", "System.Random",
        "System.DateTime", "System.DateTimeOffset", "System.TimeSpan", "System.DateTimeKind", "System.DayOfWeek", "System.DateOnly", "System.TimeOnly",
        "System.Nullable", "System.Nullable`1", "System.Enum", "System.Array", "System.Index", "System.Range",
        "System.Span`1", "System.ReadOnlySpan`1", "System.Memory`1", "System.ReadOnlyMemory`1", "System.MemoryExtensions",
        "System.Uri", "System.UriBuilder", "System.UriKind", "System.UriComponents", "System.UriFormat", "System.UriPartial",
        "System.StringComparison", "System.StringComparer", "System.StringSplitOptions", "System.MidpointRounding", "System.Base64FormattingOptions",
        "System.FormattableString",
        "System.IComparable", "System.IComparable`1", "System.IEquatable`1", "System.IFormattable", "System.ISpanFormattable",
        "System.IConvertible", "System.IFormatProvider", "System.IDisposable",
        "System.Exception", "System.ArgumentException", "System.ArgumentNullException", "System.ArgumentOutOfRangeException",
        "System.InvalidOperationException", "System.FormatException", "System.NotSupportedException", "System.NotImplementedException",
        "System.OverflowException", "System.IndexOutOfRangeException", "System.DivideByZeroException", "System.NullReferenceException",
        "System.Tuple", "System.ValueTuple", "System.Action", "System.Predicate`1", "System.Comparison`1", "System.Converter`2",
        "System.Collections.IEnumerable", "System.Collections.IEnumerator", "System.Collections.IComparer", "System.Collections.IEqualityComparer",
        "System.Collections.ICollection", "System.Collections.IList", "System.Collections.IDictionary", "System.Collections.IStructuralEquatable",
        // foreach over a string (String.GetEnumerator), and Count of X509CertificateCollection (inherited from CollectionBase).
        "System.CharEnumerator", "System.Collections.CollectionBase",
        "System.Text.StringBuilder", "System.Text.Encoding", "System.Text.UTF8Encoding", "System.Text.ASCIIEncoding",
        "System.Text.UnicodeEncoding", "System.Text.UTF32Encoding", "System.Text.NormalizationForm", "System.Text.Rune",
        "System.Text.CompositeFormat",
        "System.Security.Cryptography.Oid", "System.Security.Cryptography.OidCollection", "System.Security.Cryptography.AsnEncodedData",
        "System.Security.Cryptography.HashAlgorithmName", "System.Security.Cryptography.HashAlgorithm", "System.Security.Cryptography.KeyedHashAlgorithm",
        "System.Security.Cryptography.SHA1", "System.Security.Cryptography.SHA256", "System.Security.Cryptography.SHA384", "System.Security.Cryptography.SHA512",
        "System.Security.Cryptography.MD5", "System.Security.Cryptography.HMAC", "System.Security.Cryptography.HMACSHA1", "System.Security.Cryptography.HMACSHA256",
        "System.Security.Cryptography.HMACSHA384", "System.Security.Cryptography.HMACSHA512",
        "System.Runtime.CompilerServices.DefaultInterpolatedStringHandler",
    };

    /// <summary>Types of allowed namespaces that still reach outside (the OS certificate store, chain downloads, parallel threads, expression trees).</summary>
    private static readonly Dictionary<string, string> Denied = new(StringComparer.Ordinal)
    {
        ["System.Security.Cryptography.X509Certificates.X509Store"] = "it opens the operating system's certificate store",
        ["ApiGateway.Host.Context.ExpressionBudget"] = "it is the gateway's own accounting of what an expression may do",
        ["System.Security.Cryptography.X509Certificates.X509Chain"] = "it downloads certificates and revocation lists; use Verify() or VerifyNoRevocation()",
        ["System.Linq.ParallelEnumerable"] = "it runs code on other threads",
        ["System.Linq.ParallelQuery"] = "it runs code on other threads",
        ["System.Linq.ParallelQuery`1"] = "it runs code on other threads",
        ["System.Linq.OrderedParallelQuery`1"] = "it runs code on other threads",
        ["System.Linq.Queryable"] = "it compiles expression trees",
        ["System.Linq.IQueryable"] = "it compiles expression trees",
        ["System.Linq.IQueryable`1"] = "it compiles expression trees",
        ["System.Linq.IOrderedQueryable"] = "it compiles expression trees",
        ["System.Linq.IOrderedQueryable`1"] = "it compiles expression trees",
        ["System.Linq.IQueryProvider"] = "it compiles expression trees",
        ["System.Linq.EnumerableQuery"] = "it compiles expression trees",
        ["System.Linq.EnumerableQuery`1"] = "it compiles expression trees",
        ["System.Linq.EnumerableExecutor"] = "it compiles expression trees",
        ["System.Linq.EnumerableExecutor`1"] = "it compiles expression trees",
    };

    // Compiling many expressions asks about the same few types and namespaces thousands of times, and a symbol's display
    // string is built anew on every call: the answers are kept per symbol (the metadata symbols are shared by every
    // compilation made from the compiler's template; the table lets them go with it).
    private static readonly ConditionalWeakTable<INamespaceSymbol, string> NamespaceNames = new();
    private static readonly ConditionalWeakTable<INamedTypeSymbol, string> Keys = new();
    private static readonly ConditionalWeakTable<INamedTypeSymbol, Decision> Decisions = new();

    private sealed record Decision(bool Allowed, string? Why);

    /// <summary>The namespace <paramref name="symbol"/> is declared in, as written (<c>System.Linq</c>), or empty.</summary>
    internal static string NamespaceOf(ISymbol symbol) =>
        symbol.ContainingNamespace is { IsGlobalNamespace: false } ns ? NamespaceNames.GetValue(ns, static n => n.ToDisplayString()) : string.Empty;

    /// <summary>The key of a type: namespace, containing types and metadata name (<c>System.Collections.Generic.List`1</c>).</summary>
    internal static string KeyOf(INamedTypeSymbol type) => Keys.GetValue(type, static t =>
    {
        var name = t.MetadataName;
        for (var outer = t.ContainingType; outer is not null; outer = outer.ContainingType)
            name = outer.MetadataName + "+" + name;
        var ns = NamespaceOf(t);
        return ns.Length > 0 ? ns + "." + name : name;
    });

    /// <summary>Whether <paramref name="definition"/> (an original definition) may be used; <paramref name="why"/> explains a denial when there is more to say.</summary>
    public static bool IsAllowed(INamedTypeSymbol definition, out string? why)
    {
        var decision = Decisions.GetValue(definition, static d => new Decision(Decide(d, out var reason), reason));
        why = decision.Why;
        return decision.Allowed;
    }

    private static bool Decide(INamedTypeSymbol definition, out string? why)
    {
        why = null;
        var key = KeyOf(definition);
        if (Denied.TryGetValue(key, out why))
            return false;
        if (definition.ContainingType is { } outer)
            return IsAllowed(outer.OriginalDefinition, out why);
        var ns = NamespaceOf(definition);
        if (Namespaces.Contains(ns) || Types.Contains(key))
            return true;
        // The generic delegate and tuple families: Func`1..`17, Action`1..`16, Tuple`1..`8, ValueTuple`1..`8.
        if (ns == "System" && (definition.Name is "Func" or "Action" or "Tuple" or "ValueTuple"))
            return true;
        return false;
    }

    /// <summary>Members of allowed types that still read files, change shared state or expose private keys.</summary>
    public static string? DeniedMember(INamedTypeSymbol containing, ISymbol member)
    {
        var key = KeyOf(containing.OriginalDefinition);
        var name = member.Name;
        if (key == "System.Object" && name == "GetType")
            return null; // reported as System.Type through its return type
        if (key == "System.Text.Encoding" && name == "RegisterProvider")
            return "it changes process-wide state";
        if (key == "System.Linq.Enumerable" && name is "InfiniteSequence" or "Sequence")
            return "it makes a sequence without a bound; use Enumerable.Range, which the gateway counts";
        if (key == "System.Text.RegularExpressions.Regex" && name is "CacheSize")
            return "it changes process-wide state";
        if (NamespaceOf(containing) == "System.Security.Cryptography.X509Certificates")
        {
            if (name.Contains("File", StringComparison.Ordinal))
                return "it reads files";
            if (member is IMethodSymbol { MethodKind: MethodKind.Constructor } ctor && ctor.Parameters.Any(p => p.Name == "fileName"))
                return "it reads files";
            if (name is "Import" or "Reset" or "Dispose" or "PrivateKey" or "CopyWithPrivateKey" or "SetPrivateKey")
                return "it changes or exposes the certificates the gateway uses";
            if (name.StartsWith("Export", StringComparison.Ordinal) && name is not "ExportCertificatePem" and not "ExportCertificatePems")
                return "it exports certificate and key material";
        }
        return null;
    }
}

/// <summary>Finds the uses of forbidden types and members in one expression's code (a span of the generated source).</summary>
internal sealed class ForbiddenUseFinder
{
    private readonly SemanticModel _model;
    private readonly List<(TextSpan Span, string Message)> _found = [];

    private ForbiddenUseFinder(SemanticModel model)
    {
        _model = model;
    }

    /// <summary>
    /// Every forbidden use inside <paramref name="span"/> of <paramref name="root"/>, once per distinct message, with
    /// its position. One use can break more than one rule (<c>typeof(int).Name</c> touches System.Type and
    /// System.Reflection.MemberInfo): each is reported, so fixing one never reveals another later.
    /// </summary>
    public static List<(int Position, string Message)> Find(SemanticModel model, SyntaxNode root, TextSpan span)
    {
        var finder = new ForbiddenUseFinder(model);
        foreach (var node in root.DescendantNodes(span))
        {
            if (span.Contains(node.Span))
                finder.Check(node);
        }
        // One finding per message, at its outermost node: System.IO.File.Exists(...) is reported where it starts.
        return finder._found
            .GroupBy(f => f.Message, StringComparer.Ordinal)
            .Select(g => g.OrderBy(f => f.Span.Start).ThenByDescending(f => f.Span.Length).First())
            .OrderBy(f => f.Span.Start)
            .Select(f => (f.Span.Start, f.Message))
            .ToList();
    }

    private void Report(SyntaxNode at, string what, string? why = null)
    {
        var message = why is null
            ? $"the expression uses {what}, which policy expressions may not use"
            : $"the expression uses {what}, which policy expressions may not use: {why}";
        _found.Add((at.Span, message));
    }

    private void Check(SyntaxNode node)
    {
        switch (node.Kind())
        {
            case SyntaxKind.UnsafeStatement:
            case SyntaxKind.FixedStatement:
            case SyntaxKind.PointerType:
            case SyntaxKind.FunctionPointerType:
            case SyntaxKind.AddressOfExpression:
            case SyntaxKind.PointerIndirectionExpression:
            case SyntaxKind.PointerMemberAccessExpression:
            case SyntaxKind.StackAllocArrayCreationExpression:
            case SyntaxKind.ImplicitStackAllocArrayCreationExpression:
                Report(node, "unsafe code or pointers");
                return;
            case SyntaxKind.LockStatement:
                Report(node, "a lock statement (System.Threading.Monitor)");
                return;
            case SyntaxKind.ArgListExpression:
            case SyntaxKind.MakeRefExpression:
            case SyntaxKind.RefTypeExpression:
            case SyntaxKind.RefValueExpression:
                Report(node, "__arglist or __makeref (System.TypedReference)");
                return;
            case SyntaxKind.AwaitExpression:
                Report(node, "await (System.Threading.Tasks)");
                return;
        }
        if (node is LocalFunctionStatementSyntax local && local.Modifiers.Any(SyntaxKind.ExternKeyword))
            Report(node, "an extern local function (native code)");

        if (node is AssignmentExpressionSyntax assignment)
            CheckStaticWrite(assignment.Left);
        else if (node is PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.PreIncrementExpression or (int)SyntaxKind.PreDecrementExpression } pre)
            CheckStaticWrite(pre.Operand);
        else if (node is PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.PostIncrementExpression or (int)SyntaxKind.PostDecrementExpression } post)
            CheckStaticWrite(post.Operand);

        if (node is ExpressionSyntax or AttributeSyntax or ConstructorInitializerSyntax)
        {
            var info = _model.GetSymbolInfo(node);
            CheckSymbol(node, info.Symbol ?? (info.CandidateSymbols.Length > 0 ? info.CandidateSymbols[0] : null));
            var type = _model.GetTypeInfo(node);
            CheckType(node, type.Type);
            CheckType(node, type.ConvertedType);
        }
        switch (node)
        {
            case VariableDeclaratorSyntax or ParameterSyntax or SingleVariableDesignationSyntax or LocalFunctionStatementSyntax or CatchDeclarationSyntax:
                CheckSymbol(node, _model.GetDeclaredSymbol(node));
                break;
            case ForEachStatementSyntax forEach:
                CheckSymbol(node, _model.GetDeclaredSymbol(forEach));
                var each = _model.GetForEachStatementInfo(forEach);
                CheckSymbol(node, each.GetEnumeratorMethod);
                CheckType(node, each.ElementType);
                break;
        }
    }

    private void CheckStaticWrite(ExpressionSyntax target)
    {
        var symbol = _model.GetSymbolInfo(target).Symbol;
        if (symbol is (IFieldSymbol or IPropertySymbol) && symbol.IsStatic && !IsInSource(symbol))
            Report(target, $"{Display(symbol.ContainingType)}.{symbol.Name} as a target (a static member shared by every request)");
    }

    private void CheckSymbol(SyntaxNode at, ISymbol? symbol)
    {
        switch (symbol)
        {
            case null:
                return;
            case ITypeSymbol type:
                CheckType(at, type);
                return;
            case IAliasSymbol alias:
                CheckSymbol(at, alias.Target);
                return;
            case IMethodSymbol method:
                CheckReturnAndParameters(at, method.ReturnType, method.Parameters);
                foreach (var argument in method.TypeArguments)
                    CheckType(at, argument);
                if (IsInSource(method))
                    return;
                var containing = (method.ReducedFrom ?? method).ContainingType;
                CheckContaining(at, containing, method);
                return;
            case IPropertySymbol property:
                CheckReturnAndParameters(at, property.Type, property.Parameters);
                if (!IsInSource(property))
                    CheckContaining(at, property.ContainingType, property);
                return;
            case IFieldSymbol field:
                CheckType(at, field.Type);
                if (!IsInSource(field) && field.ContainingType is { IsTupleType: false })
                    CheckContaining(at, field.ContainingType, field);
                return;
            case IEventSymbol ev:
                Report(at, $"the event {Display(ev.ContainingType)}.{ev.Name}");
                return;
            case ILocalSymbol local:
                CheckType(at, local.Type);
                return;
            case IParameterSymbol parameter:
                CheckType(at, parameter.Type);
                return;
            case IDiscardSymbol discard:
                CheckType(at, discard.Type);
                return;
        }
    }

    private void CheckReturnAndParameters(SyntaxNode at, ITypeSymbol returnType, System.Collections.Immutable.ImmutableArray<IParameterSymbol> parameters)
    {
        CheckType(at, returnType);
        foreach (var p in parameters)
            CheckType(at, p.Type);
    }

    private void CheckContaining(SyntaxNode at, INamedTypeSymbol? containing, ISymbol member)
    {
        if (containing is null)
            return;
        CheckType(at, containing);
        if (TypeAllowList.DeniedMember(containing, member) is { } why)
            Report(at, $"{Display(containing)}.{member.Name}", why);
    }

    private void CheckType(SyntaxNode at, ITypeSymbol? type)
    {
        switch (type)
        {
            case null:
            case IErrorTypeSymbol:
            case ITypeParameterSymbol:
                return;
            case IArrayTypeSymbol array:
                CheckType(at, array.ElementType);
                return;
            case IPointerTypeSymbol or IFunctionPointerTypeSymbol:
                Report(at, "unsafe code or pointers");
                return;
            case IDynamicTypeSymbol:
                Report(at, "dynamic");
                return;
            case INamedTypeSymbol named:
                if (named.IsTupleType)
                {
                    foreach (var element in named.TupleElements)
                        CheckType(at, element.Type);
                    return;
                }
                if (named.IsAnonymousType)
                {
                    foreach (var property in named.GetMembers().OfType<IPropertySymbol>())
                        CheckType(at, property.Type);
                    return;
                }
                if (IsInSource(named))
                    return;
                foreach (var argument in named.TypeArguments)
                    CheckType(at, argument);
                if (!TypeAllowList.IsAllowed(named.OriginalDefinition, out var why))
                    Report(at, Display(named.OriginalDefinition), why);
                return;
        }
    }

    private static bool IsInSource(ISymbol symbol) => symbol.Locations.Any(l => l.IsInSource);

    private static string Display(ITypeSymbol type) =>
        type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat.WithGlobalNamespaceStyle(SymbolDisplayGlobalNamespaceStyle.Omitted));
}
