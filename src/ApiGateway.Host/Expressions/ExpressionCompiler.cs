using System.Collections.Immutable;
using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace ApiGateway.Host.Expressions;

/// <summary>What an expression must produce, decided by where it stands in the policy.</summary>
internal enum ExpressionKind
{
    /// <summary><c>&lt;when condition="@(...)"&gt;</c>: a bool.</summary>
    Condition,
    /// <summary>Attribute or element text: any value, turned into text.</summary>
    Text,
    /// <summary><c>&lt;set-status code="@(...)"&gt;</c>: an int (or text holding one).</summary>
    StatusCode,
    /// <summary><c>&lt;set-variable value="@(...)"&gt;</c>: any value, kept as it is.</summary>
    Value,
}

/// <summary>An expression as compiled and cached: its kind and its code. The same code in two places compiles once.</summary>
internal sealed record ExpressionKey(ExpressionKind Kind, bool IsBlock, string Code)
{
    /// <summary>The key of <paramref name="expression"/> standing where a value of <paramref name="role"/> goes.</summary>
    public static ExpressionKey Of(PolicyExpression expression, PolicyValueRole role) => new(KindOf(role), expression.IsBlock, expression.Code);

    /// <summary>What an expression must produce where the element's value has <paramref name="role"/>.</summary>
    public static ExpressionKind KindOf(PolicyValueRole role) => role switch
    {
        PolicyValueRole.Condition => ExpressionKind.Condition,
        PolicyValueRole.StatusCode => ExpressionKind.StatusCode,
        PolicyValueRole.Value => ExpressionKind.Value,
        PolicyValueRole.Text => ExpressionKind.Text,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Not a value role."),
    };
}

/// <summary>A compiled expression: one delegate, by kind.</summary>
internal sealed class CompiledExpression
{
    public CompiledExpression(ExpressionKey key, Delegate function)
    {
        Key = key;
        Condition = function as Func<PolicyContext, bool>;
        Text = function as Func<PolicyContext, string?>;
        StatusCode = function as Func<PolicyContext, int>;
        Value = function as Func<PolicyContext, object?>;
    }

    public ExpressionKey Key { get; }
    public Func<PolicyContext, bool>? Condition { get; }
    public Func<PolicyContext, string?>? Text { get; }
    public Func<PolicyContext, int>? StatusCode { get; }
    public Func<PolicyContext, object?>? Value { get; }
}

/// <summary>A problem in an expression, at a 0-based line and column relative to the start of its code.</summary>
internal sealed record ExpressionProblem(int Line, int Column, string Message);

/// <summary>The outcome of compiling a set of expressions: a delegate or the problems of each.</summary>
internal sealed class ExpressionCompileResult
{
    public Dictionary<ExpressionKey, CompiledExpression> Compiled { get; } = [];
    public Dictionary<ExpressionKey, List<ExpressionProblem>> Problems { get; } = [];
}

/// <summary>
/// Compiles policy expressions with Roslyn: all of them in one compilation (one assembly, loaded into a collectible
/// <see cref="AssemblyLoadContext"/>), each into a static method that becomes a delegate. Before emitting, every
/// expression is checked against <see cref="TypeAllowList"/> through the semantic model and rewritten by
/// <see cref="ExpressionRewriter"/>. Expressions are never interpreted or compiled per request.
/// </summary>
internal static class ExpressionCompiler
{
    /// <summary>The parameter of every generated method; <c>context</c> is a local copy, so a lambda may shadow it safely.</summary>
    internal const string GatewayParameter = "__gateway";

    /// <summary>The first parameter of every generated method: the values of its literal slots (see <see cref="LiteralSlots"/>).</summary>
    internal const string SlotsParameter = "__slots";

    private const string ClassName = "ApiGateway.PolicyExpressions.Compiled";
    private const string Header = """
        #nullable disable
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using System.Text;
        using System.Text.RegularExpressions;
        using System.Security.Cryptography.X509Certificates;
        using ApiGateway.Host.Context;

        namespace ApiGateway.PolicyExpressions
        {
        public static class Compiled
        {

        """;

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(LoadReferences);
    private static int s_assemblyCounter;

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.None);

    private static readonly CSharpCompilationOptions CompilationOptions = new(
        OutputKind.DynamicallyLinkedLibrary,
        optimizationLevel: OptimizationLevel.Release,
        allowUnsafe: false,
        nullableContextOptions: NullableContextOptions.Disable,
        concurrentBuild: false,
        deterministic: true);

    /// <summary>How many expressions this process has compiled (for tests of the compile-once cache).</summary>
    public static int CompiledCount => s_compiledCount;

    private static int s_compiledCount;

    /// <summary>Loads the metadata references (once per process); call early to take the cost off the first reload.</summary>
    public static void Warm() => _ = Template.Value.SourceModule.ReferencedAssemblySymbols;

    /// <summary>
    /// The empty compilation every compilation of expressions starts from: Roslyn reads the metadata of the referenced
    /// assemblies once for it and shares that with every compilation made from it by adding a syntax tree (a compilation
    /// created afresh would read it all again, ~100 ms each). So every expression assembly has the same name; each is
    /// loaded into a load context of its own, which is what tells them apart.
    /// </summary>
    private static readonly Lazy<CSharpCompilation> Template = new(() =>
        CSharpCompilation.Create("ApiGateway.PolicyExpressions", [], References.Value, CompilationOptions));

    /// <summary>Below this many expressions one compilation is quickest; above it the work is split over the cores.</summary>
    internal const int ExpressionsPerParallelCompilation = 250;

    /// <summary>
    /// Compiles <paramref name="keys"/>: together, or (many expressions on a machine with more than one core) in one
    /// compilation per core side by side, since Roslyn binds and emits the methods of one compilation on one thread.
    /// </summary>
    /// <remarks>
    /// <paramref name="cancellationToken"/> ends a compile that a newer configuration supersedes or that runs past the
    /// compile deadline (OperationCanceledException): Roslyn checks it while it binds and emits.
    /// </remarks>
    public static ExpressionCompileResult Compile(IReadOnlyCollection<ExpressionKey> keys, CancellationToken cancellationToken = default) =>
        Compile(keys, budget: true, cancellationToken);

    /// <summary>
    /// <see cref="Compile(IReadOnlyCollection{ExpressionKey}, CancellationToken)"/>; <paramref name="budget"/> false
    /// leaves out the budget's instrumentation: only for the benchmark that measures what the budget costs.
    /// </summary>
    public static ExpressionCompileResult Compile(IReadOnlyCollection<ExpressionKey> keys, bool budget, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        cancellationToken.ThrowIfCancellationRequested();
        var parts = Math.Min(Environment.ProcessorCount, keys.Count / ExpressionsPerParallelCompilation);
        if (parts < 2)
            return CompileTogether(keys, budget, cancellationToken);
        var chunks = keys.Chunk((keys.Count + parts - 1) / parts).ToArray();
        var results = new ExpressionCompileResult[chunks.Length];
        Parallel.For(0, chunks.Length, new ParallelOptions { CancellationToken = cancellationToken }, i => results[i] = CompileTogether(chunks[i], budget, cancellationToken));
        var merged = new ExpressionCompileResult();
        foreach (var part in results)
        {
            foreach (var (key, compiled) in part.Compiled)
                merged.Compiled[key] = compiled;
            foreach (var (key, problems) in part.Problems)
                merged.Problems[key] = problems;
        }
        return merged;
    }

    /// <summary>Compiles <paramref name="keys"/> in one compilation (one assembly).</summary>
    private static ExpressionCompileResult CompileTogether(IReadOnlyCollection<ExpressionKey> keys, bool budget, CancellationToken cancellationToken)
    {
        var result = new ExpressionCompileResult();
        var units = GroupByShape(keys, result);
        if (units.Count == 0)
            return result;
        var tree = WriteSource(units);
        var compilation = Template.Value.AddSyntaxTrees(tree);
        var model = compilation.GetSemanticModel(tree);
        var root = tree.GetRoot(cancellationToken);

        // The rewrite uses the semantic model of the code as written.
        var rewriter = new ExpressionRewriter(model, budget, cancellationToken);
        var rewritten = rewriter.Visit(root)!;
        FindForbiddenUses(model, root, rewriter, units, cancellationToken);

        using var peStream = new MemoryStream();
        var good = Emit(compilation, tree, rewritten, rewriter, units, result, peStream, cancellationToken);
        if (good.Count > 0)
            LoadDelegates(peStream, good, result);
        return result;
    }

    /// <summary>
    /// The methods to generate. Each expression must be exactly one C# expression (or one block of statements): this
    /// keeps code from closing the generated method and declaring members of its own, and gives syntax errors exact
    /// positions. Expressions that differ only in string literals (the same check with another thumbprint or subject
    /// in each API) share one method: its literals become slots filled per expression (LiteralSlots).
    /// </summary>
    private static List<Unit> GroupByShape(IReadOnlyCollection<ExpressionKey> keys, ExpressionCompileResult result)
    {
        var units = new List<Unit>();
        var byShape = new Dictionary<ExpressionKey, Unit>();
        foreach (var key in keys)
        {
            var syntaxProblems = CheckSyntax(key, out var node, out var offset);
            if (syntaxProblems.Count > 0)
            {
                result.Problems[key] = syntaxProblems;
                continue;
            }
            var (shape, instance) = LiteralSlots.Extract(key, node, offset);
            if (!byShape.TryGetValue(shape, out var unit))
            {
                unit = new Unit(shape, units.Count) { SlotCount = instance.Values.Length };
                byShape[shape] = unit;
                units.Add(unit);
            }
            unit.Instances.Add(instance);
        }
        return units;
    }

    /// <summary>One source with one method per unit, each unit remembering where its code starts.</summary>
    private static SyntaxTree WriteSource(List<Unit> units)
    {
        var source = new StringBuilder(Header);
        foreach (var unit in units)
            unit.Write(source);
        source.Append("}\n}\n");
        return CSharpSyntaxTree.ParseText(SourceText.From(source.ToString(), Encoding.UTF8), ParseOptions);
    }

    /// <summary>
    /// The forbidden uses and the rewriter's problems, per unit (the model has bound every method for the rewriter,
    /// so these are lookups).
    /// </summary>
    private static void FindForbiddenUses(SemanticModel model, SyntaxNode root, ExpressionRewriter rewriter, List<Unit> units, CancellationToken cancellationToken)
    {
        foreach (var unit in units)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var (position, message) in ForbiddenUseFinder.Find(model, root, unit.CodeSpan))
                unit.Add(position, message);
        }
        foreach (var (position, message) in rewriter.Problems)
            UnitAt(units, position)?.Add(position, message);
    }

    /// <summary>
    /// Emits the rewritten code into <paramref name="peStream"/> and returns the units it holds. When nothing was found
    /// so far, first without asking for the compile errors of the code as written: that is one binding of every
    /// method less, and the rewrites keep the expressions' own code, so an expression with an error still fails to
    /// emit. Only then (or when something was found) are the errors collected per expression, at their positions in
    /// the code as written, and the rest emitted.
    /// </summary>
    private static List<Unit> Emit(CSharpCompilation compilation, SyntaxTree tree, SyntaxNode rewritten, ExpressionRewriter rewriter,
        List<Unit> units, ExpressionCompileResult result, MemoryStream peStream, CancellationToken cancellationToken)
    {
        var rewrittenTree = tree.WithRootAndOptions(rewritten, ParseOptions);
        if (units.TrueForAll(u => u.Problems.Count == 0) && compilation.ReplaceSyntaxTree(tree, rewrittenTree).Emit(peStream, cancellationToken: cancellationToken).Success)
            return units;

        peStream.SetLength(0);
        CollectCompileErrors(compilation, rewriter, units, cancellationToken);
        var good = units.Where(u => u.Problems.Count == 0).ToList();
        foreach (var bad in units.Where(u => u.Problems.Count > 0))
        {
            foreach (var instance in bad.Instances)
                result.Problems[instance.Key] = bad.Problems.Select(p => bad.Relative(instance, p.Position, p.Message)).ToList();
        }
        if (good.Count == 0)
            return good;

        // A failure here means the rewrite produced invalid code, which is reported against the expression. The
        // broken methods are dropped so the rest can be emitted.
        var keep = good.SelectMany(u => u.Methods.All).ToHashSet(StringComparer.Ordinal);
        var emitted = units.Count == good.Count
            ? compilation.ReplaceSyntaxTree(tree, rewrittenTree)
            : compilation.ReplaceSyntaxTree(tree, tree.WithRootAndOptions(RemoveMethods((CompilationUnitSyntax)rewritten, keep), ParseOptions));
        var emit = emitted.Emit(peStream, cancellationToken: cancellationToken);
        if (emit.Success)
            return good;
        var message = string.Join("; ", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(3).Select(Describe));
        foreach (var unit in good)
        {
            foreach (var instance in unit.Instances)
                result.Problems[instance.Key] = [new ExpressionProblem(0, 0, "the expression could not be compiled after the gateway's rewrites: " + message)];
        }
        return [];
    }

    /// <summary>Loads the emitted assembly into a collectible context of its own and makes one delegate per expression.</summary>
    private static void LoadDelegates(MemoryStream peStream, List<Unit> good, ExpressionCompileResult result)
    {
        peStream.Position = 0;
        var contextName = "ApiGateway.PolicyExpressions." + Interlocked.Increment(ref s_assemblyCounter).ToString(CultureInfo.InvariantCulture);
        var context = new AssemblyLoadContext(contextName, isCollectible: true);
        var assembly = context.LoadFromStream(peStream);
        var type = assembly.GetType(ClassName, throwOnError: true)!;
        foreach (var unit in good)
        {
            var method = type.GetMethod(unit.Methods.Entry, BindingFlags.Public | BindingFlags.Static)!;
            foreach (var instance in unit.Instances)
            {
                var (key, values) = (instance.Key, instance.Values);
                // A delegate closed over the expression's literals: a call costs what a static method call costs.
                var function = key.Kind switch
                {
                    ExpressionKind.Condition => (Delegate)method.CreateDelegate<Func<PolicyContext, bool>>(values),
                    ExpressionKind.Text => method.CreateDelegate<Func<PolicyContext, string?>>(values),
                    ExpressionKind.StatusCode => method.CreateDelegate<Func<PolicyContext, int>>(values),
                    _ => method.CreateDelegate<Func<PolicyContext, object?>>(values),
                };
                result.Compiled[key] = new CompiledExpression(key, function);
            }
        }
        Interlocked.Add(ref s_compiledCount, good.Sum(u => u.Instances.Count));
    }

    /// <summary>The compile errors of the code as written, per expression, less the ones the rewriter removes.</summary>
    private static void CollectCompileErrors(CSharpCompilation compilation, ExpressionRewriter rewriter, List<Unit> units, CancellationToken cancellationToken)
    {
        foreach (var diagnostic in compilation.GetDiagnostics(cancellationToken))
        {
            if (diagnostic.Severity != DiagnosticSeverity.Error || !diagnostic.Location.IsInSource)
                continue;
            var span = diagnostic.Location.SourceSpan;
            if (diagnostic.Id == "CS0019" && rewriter.DistinguishedNameOperators.Any(s => s.Contains(span) || span.Contains(s)))
                continue;
            if (UnitAt(units, span.Start) is { } unit)
                unit.Add(span.Start, Describe(diagnostic));
        }
    }

    private static CompilationUnitSyntax RemoveMethods(CompilationUnitSyntax root, HashSet<string> keep)
    {
        var remove = root.DescendantNodes().OfType<MethodDeclarationSyntax>()
            .Where(m => !keep.Contains(m.Identifier.Text))
            .ToList();
        return root.RemoveNodes(remove, SyntaxRemoveOptions.KeepNoTrivia)!;
    }

    private static Unit? UnitAt(List<Unit> units, int position)
    {
        foreach (var unit in units)
        {
            if (unit.MethodSpan.Contains(position) || unit.CodeSpan.Contains(position) || unit.CodeSpan.End == position)
                return unit;
        }
        return null;
    }

    private static string Describe(Diagnostic diagnostic)
    {
        var message = diagnostic.Id switch
        {
            "CS0161" => "not all code paths return a value; end every path of a @{...} block with a return statement",
            "CS0029" or "CS0266" when diagnostic.GetMessage(CultureInfo.InvariantCulture).Contains("to 'bool'", StringComparison.Ordinal) =>
                diagnostic.GetMessage(CultureInfo.InvariantCulture) + "; a condition must be a bool expression",
            _ => diagnostic.GetMessage(CultureInfo.InvariantCulture),
        };
        return $"the expression does not compile: {message} ({diagnostic.Id})";
    }

    /// <summary>Syntax errors of the code on its own, and whether it is exactly one expression or one block.</summary>
    private static List<ExpressionProblem> CheckSyntax(ExpressionKey key, out SyntaxNode node, out int offset)
    {
        var problems = new List<ExpressionProblem>();
        if (key.IsBlock)
        {
            node = SyntaxFactory.ParseStatement("{" + key.Code + "}", 0, ParseOptions, consumeFullText: true);
            offset = 1;
            if (node is not BlockSyntax)
                problems.Add(new ExpressionProblem(0, 0, "the expression does not compile: @{...} must hold statements"));
        }
        else
        {
            node = SyntaxFactory.ParseExpression(key.Code, 0, ParseOptions, consumeFullText: true);
            offset = 0;
        }
        foreach (var diagnostic in node.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(5))
        {
            var position = Math.Clamp(diagnostic.Location.SourceSpan.Start - offset, 0, key.Code.Length);
            var (line, column) = LineColumn(key.Code, position);
            problems.Add(new ExpressionProblem(line, column, Describe(diagnostic)));
        }
        if (problems.Count == 0 && !key.IsBlock && string.IsNullOrWhiteSpace(key.Code))
            problems.Add(new ExpressionProblem(0, 0, "the expression is empty"));
        return problems;
    }

    internal static (int Line, int Column) LineColumn(string code, int position)
    {
        int line = 0, column = 0;
        for (var i = 0; i < position && i < code.Length; i++)
        {
            if (code[i] == '\n')
            {
                line++;
                column = 0;
            }
            else
            {
                column++;
            }
        }
        return (line, column);
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        // Every assembly of the .NET shared framework, so that a forbidden type binds and is reported by name
        // (System.IO.File, System.Diagnostics.Process) rather than as "not found"; plus the context model.
        var references = ImmutableArray.CreateBuilder<MetadataReference>();
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        foreach (var file in Directory.EnumerateFiles(framework, "*.dll"))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (!(name.StartsWith("System", StringComparison.Ordinal) || name.StartsWith("Microsoft.", StringComparison.Ordinal) || name is "mscorlib" or "netstandard"))
                continue;
            try
            {
                using var stream = File.OpenRead(file);
                using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
                if (!pe.HasMetadata)
                    continue;
            }
            catch (BadImageFormatException)
            {
                continue;
            }
            references.Add(MetadataReference.CreateFromFile(file));
        }
        references.Add(MetadataReference.CreateFromFile(typeof(PolicyContext).Assembly.Location));
        return references.ToImmutable();
    }

    /// <summary>One method in the generated source: an expression, or the shape several expressions share.</summary>
    private sealed class Unit(ExpressionKey key, int index)
    {
        /// <summary>The code compiled: the expression, with its literals in slots <c>__0</c>, <c>__1</c>... when it has any.</summary>
        public ExpressionKey Key { get; } = key;

        /// <summary>The expressions of this shape, each with the values of its slots.</summary>
        public List<LiteralSlots.Instance> Instances { get; } = [];

        /// <summary>How many literal slots the code has.</summary>
        public int SlotCount { get; init; }
        public UnitMethods Methods { get; } = UnitMethods.For(index);
        public TextSpan CodeSpan { get; private set; }
        public TextSpan MethodSpan { get; private set; }
        public List<(int Position, string Message)> Problems { get; } = [];

        public void Add(int position, string message)
        {
            if (!Problems.Any(p => p.Message == message))
                Problems.Add((position, message));
        }

        public void Write(StringBuilder source)
        {
            var start = source.Length;
            var entry = Methods.Entry;
            var block = Methods.Body;
            const string Runtime = "global::ApiGateway.Host.Context.ExpressionRuntime";
            const string Context = "global::ApiGateway.Host.Context.PolicyContext";
            string before, after;
            const string Slots = "string[] " + SlotsParameter + ", ";
            var prelude = new StringBuilder();
            for (var i = 0; i < SlotCount; i++)
                prelude.Append(CultureInfo.InvariantCulture, $" string {LiteralSlots.Name(i)} = {SlotsParameter}[{i}];");
            switch (Key.Kind, Key.IsBlock)
            {
                case (ExpressionKind.Condition, false):
                    before = $"public static bool {entry}({Slots}{Context} {GatewayParameter})\n{{\nvar context = {GatewayParameter};{prelude}\nreturn (\n";
                    after = "\n);\n}\n";
                    break;
                case (ExpressionKind.Condition, true):
                    before = $"public static bool {entry}({Slots}{Context} {GatewayParameter})\n{{\nvar context = {GatewayParameter};{prelude}\n";
                    after = "\n}\n";
                    break;
                case (ExpressionKind.Text, false):
                    before = $"public static string {entry}({Slots}{Context} {GatewayParameter})\n{{\nvar context = {GatewayParameter};{prelude}\nreturn {Runtime}.ToText(\n";
                    after = "\n);\n}\n";
                    break;
                case (ExpressionKind.StatusCode, false):
                    before = $"public static int {entry}({Slots}{Context} {GatewayParameter})\n{{\nvar context = {GatewayParameter};{prelude}\nreturn {Runtime}.ToStatusCode(\n";
                    after = "\n);\n}\n";
                    break;
                case (ExpressionKind.Value, false):
                    before = $"public static object {entry}({Slots}{Context} {GatewayParameter})\n{{\nvar context = {GatewayParameter};{prelude}\nreturn (object)(\n";
                    after = "\n);\n}\n";
                    break;
                case (ExpressionKind.Value, true):
                    before = $"public static object {entry}({Slots}{Context} {GatewayParameter})\n{{\nvar context = {GatewayParameter};{prelude}\n";
                    after = "\n}\n";
                    break;
                default:
                    var convert = Key.Kind == ExpressionKind.Text ? "ToText" : "ToStatusCode";
                    var type = Key.Kind == ExpressionKind.Text ? "string" : "int";
                    before = $"public static {type} {entry}({Slots}{Context} {GatewayParameter}) => {Runtime}.{convert}({block}({SlotsParameter}, {GatewayParameter}));\n"
                        + $"private static object {block}({Slots}{Context} {GatewayParameter})\n{{\nvar context = {GatewayParameter};{prelude}\n";
                    after = "\n}\n";
                    break;
            }
            source.Append(before);
            CodeSpan = new TextSpan(source.Length, Key.Code.Length);
            source.Append(Key.Code);
            source.Append(after);
            MethodSpan = TextSpan.FromBounds(start, source.Length);
        }

        /// <summary>A problem at <paramref name="position"/> of the generated source, relative to this unit's code.</summary>
        public ExpressionProblem Relative(LiteralSlots.Instance instance, int position, string message)
        {
            var inside = Math.Clamp(position - CodeSpan.Start, 0, Key.Code.Length);
            if (position < CodeSpan.Start || position > CodeSpan.End)
                inside = 0;
            var (line, column) = LineColumn(instance.Key.Code, Math.Clamp(instance.ToCode(inside), 0, instance.Key.Code.Length));
            return new ExpressionProblem(line, column, message);
        }
    }
}

/// <summary>
/// The names of the methods generated for one unit: <see cref="Entry"/>, which the delegate calls, and
/// <see cref="Body"/>, the helper holding a <c>@{...}</c> block whose result the entry converts (text and status
/// codes). A unit's methods are kept or dropped together.
/// </summary>
internal readonly record struct UnitMethods(string Entry, string Body)
{
    public static UnitMethods For(int index)
    {
        var number = index.ToString(CultureInfo.InvariantCulture);
        return new UnitMethods("Expression" + number, "Block" + number);
    }

    public IEnumerable<string> All => [Entry, Body];
}
