using FsCheck;
using FsCheck.Fluent;

namespace ApiGateway.Fuzz.Generators;

/// <summary>
/// Policy expressions from a small typed grammar over the context API the gateway allows (bool, string and int
/// expressions, statement blocks with locals, branches and loops), mixed with hostile constructs that the budget must
/// bound (endless and huge loops, goto, recursion through local functions, lambdas and mutual calls, growing
/// collections and strings, huge ranges and allocations, catastrophic regular expressions, code that catches the
/// budget's exception), constructs the allow-list must refuse (I/O, processes, reflection, threads, dynamic, unsafe,
/// the budget itself), brackets nested past the limit, and token mutations of all of them.
/// </summary>
internal static class ExpressionGenerator
{
    private static readonly string[] BoolLeaves =
    [
        "true", "false",
        "context.Request.Certificate == null",
        "context.Request.Certificate != null",
        "context.Request.Headers.ContainsKey(\"Authorization\")",
        "context.Variables.ContainsKey(\"v\")",
        "context.Request.Url.Query.ContainsKey(\"a\")",
        "context.Request.Certificate?.Verify() == true",
        "context.Request.Certificate?.VerifyNoRevocation() == true",
        "context.Deployment.Certificates.Any()",
        "context.Deployment.Certificates.ContainsThumbprint(context.Request.Certificate?.Thumbprint)",
        "context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate?.Thumbprint)",
        "context.Request.Certificate.NotAfter < DateTime.Now",
        "context.Request.Certificate?.NotBefore > DateTime.UtcNow",
        "context.Request.Certificate?.Issuer == \"CN=Fuzz CA, O=Contoso\"",
        "context.Request.Certificate?.SubjectName.Name != \"CN=client, O=Contoso\"",
        "context.Request.Certificate?.Thumbprint == \"0123456789ABCDEF0123456789ABCDEF01234567\"",
        "context.Tracing",
        "context.LastError == null",
        "context.Elapsed < TimeSpan.FromSeconds(1)",
    ];

    private static readonly string[] StringLeaves =
    [
        "\"\"", "\"a\"", "\"GET\"", "\"x-fuzz\"", "\"CN=client, O=Contoso\"", "\"\\u00e9\\u4e2d\\ud83d\\ude00\"", "\"\\\"quoted\\\"\"",
        "\"<&>\"", "\"a,b,,c\"", "\"12345\"", "\"-7\"", "@\"C:\\path\"", "\"\\0\"", "\"\\r\\n\"",
        "context.Request.Method",
        "context.Request.Url.Path",
        "context.Request.Url.Host",
        "context.Request.Url.QueryString",
        "context.Request.Url.ToString()",
        "context.Request.IpAddress",
        "context.Api.Name",
        "context.Api.Id",
        "context.Deployment.ServiceName",
        "context.RequestId.ToString()",
        "(context.Request.Certificate?.Thumbprint ?? \"none\")",
        "context.Request.Headers.GetValueOrDefault(\"Host\", \"\")",
        "context.Request.Headers.GetValueOrDefault(\"x-missing\")",
        "context.Request.Url.Query.GetValueOrDefault(\"a\", \"\")",
        "context.Variables.GetValueOrDefault<string>(\"v\", \"\")",
        "context.Timestamp.ToString(\"o\")",
        "context.Response.StatusReason",
        "context.Request.Certificate.Subject",
    ];

    private static readonly string[] IntLeaves =
    [
        "0", "1", "-1", "2", "7", "200", "403", "599", "600", "99", "1000", "100000", "int.MaxValue", "int.MinValue",
        "context.Request.Url.Port",
        "context.Request.Headers.Count",
        "context.Response.StatusCode",
        "context.Variables.Count",
        "context.Deployment.Certificates.Count",
    ];

    private static readonly string[] Patterns = ["\"^[a-z]+$\"", "\"(a+)+$\"", "\"^(a|aa)+$\"", "\"[\"", "\".*\"", "\"\\\\d{3}\""];

    /// <summary>Statements that must end within the budget (a step, depth, memory or time limit), never hang or crash.</summary>
    private static readonly string[] Hostile =
    [
        "while (true) { }",
        "for (long n = 0; n < 1000000000000L; n++) { }",
        "var n = 0; do { n++; } while (n != -1);",
        "again: goto again;",
        "int F(int n) => F(n + 1) + 1; F(0);",
        "int F(int n) { return n < 0 ? 0 : F(n + 1); } F(0);",
        "int A(int n) => B(n + 1); int B(int n) => A(n + 1); A(0);",
        "Func<int, int> f = null; f = n => f(n + 1); f(0);",
        "Func<int, int> f = null; f = delegate (int n) { return f(n + 1); }; f(0);",
        "var list = new List<string>(); while (true) list.Add(new string('x', 100));",
        "var sb = new StringBuilder(); while (true) sb.Append(\"0123456789\");",
        "var s = \"x\"; for (var n = 0; n < 40; n++) s += s;",
        "var s = \"ab\"; for (var n = 0; n < 40; n++) s = s.Replace(\"a\", s);",
        "var d = new Dictionary<int, string>(); for (var n = 0; ; n++) d[n] = n.ToString();",
        "IEnumerable<int> Forever() { while (true) yield return 1; } Forever().Count();",
        "try { while (true) { } } catch (Exception) { }",
        "while (true) { try { while (true) { } } catch { } }",
        "try { int F(int n) => F(n + 1); F(0); } catch (Exception) { }",
        "Enumerable.Range(0, int.MaxValue).Select(n => (long)n).Sum();",
        "Enumerable.Range(0, int.MaxValue).Count();",
        "Enumerable.Range(0, 100000).SelectMany(n => Enumerable.Range(0, 100000)).LongCount();",
        "Enumerable.Repeat(\"x\", int.MaxValue).ToList();",
        "string.Concat(Enumerable.Repeat(\"xxxxxxxx\", int.MaxValue));",
        "string.Join(\",\", Enumerable.Range(0, int.MaxValue));",
        "new string('x', int.MaxValue);",
        "\"x\".PadLeft(1 << 30);",
        "new StringBuilder(1 << 30);",
        "new long[1 << 28];",
        "new int[100000, 100000];",
        "new List<int>(int.MaxValue);",
        "Regex.IsMatch(new string('a', 40) + \"!\", \"^(a+)+$\");",
        "new Regex(\"^(a+)+$\", RegexOptions.None, Regex.InfiniteMatchTimeout).IsMatch(new string('a', 40) + \"!\");",
        "Enumerable.Range(0, int.MaxValue).OrderBy(n => -n).First();",
        "Enumerable.Range(0, int.MaxValue).Reverse().First();",
        "var q = new Queue<int>(); q.Enqueue(1); while (q.Count > 0) { var v = q.Dequeue(); q.Enqueue(v); q.Enqueue(v); }",
        "var a = new int[1]; while (true) Array.Resize(ref a, a.Length * 2);",
        "var x = 0; checked { while (true) x++; }",
    ];

    /// <summary>Code the allow-list must refuse with a line and column, never run.</summary>
    private static readonly string[] Forbidden =
    [
        "System.IO.File.ReadAllText(\"/etc/passwd\")",
        "System.Diagnostics.Process.Start(\"sh\")",
        "Environment.Exit(1)",
        "Environment.FailFast(\"fuzz\")",
        "Environment.GetEnvironmentVariable(\"HOME\")",
        "typeof(string).Assembly.GetTypes()",
        "Type.GetType(\"System.IO.File\")",
        "System.Threading.Thread.Sleep(100000)",
        "System.Threading.Tasks.Task.Run(() => 1).Result",
        "new System.Threading.Thread(() => { }).Start()",
        "GC.Collect()",
        "GC.AllocateUninitializedArray<byte>(int.MaxValue)",
        "AppDomain.CurrentDomain.BaseDirectory",
        "AppContext.SetData(\"x\", 1)",
        "Activator.CreateInstance(typeof(object))",
        "Array.CreateInstance(typeof(int), int.MaxValue)",
        "System.Runtime.InteropServices.Marshal.AllocHGlobal(1)",
        "System.Runtime.CompilerServices.Unsafe.SizeOf<int>()",
        "((dynamic)context).Request",
        "System.Reflection.Assembly.Load(\"x\")",
        "Console.WriteLine(\"x\")",
        "new System.Net.Http.HttpClient()",
        "ApiGateway.Host.Context.ExpressionBudget.Exit()",
        "ApiGateway.Host.Context.ExpressionBudget.Begin(context)",
        "Enumerable.InfiniteSequence(0, 1).First()",
        "Enumerable.Sequence(0, int.MaxValue, 1).Count()",
        "System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack()",
        "context.GetType().GetProperty(\"State\")",
        "__gateway",
        "__slots[0]",
        "Regex.CacheSize = 100000",
        "System.Text.RegularExpressions.Regex.CacheSize",
    ];

    private static readonly string[] Tokens =
    [
        "(", ")", "{", "}", "[", "]", ";", ",", ".", "?.", "?", ":", "!", "=>", "=", "==", "+", "-", "*", "/", "%", "&&", "||",
        "\"", "'", "@", "$", "$\"", "@\"", "\"\"\"", "//", "/*", "*/", "#", "\\", "\n", "\0", "\u00a0", "\ud800",
        "null", "null!", "default", "new", "var", "return", "yield return", "goto", "stackalloc", "unsafe", "fixed", "checked",
        "context", "__gateway", "__slots", "__0", "throw", "throw null;", "catch", "await", "async", "typeof", "nameof", "is",
        "^1", "..", "0x7FFFFFFF", "1e309", "'\\u0000'", "int.MaxValue", "}\n}\npublic static class X {", "#line 1", "#error x",
    ];

    /// <summary>Any case for the expression target: where it stands, block or not, and its code.</summary>
    public static Gen<FuzzCase> Cases { get; }

    /// <summary>An expression (not a block) for any place, from the grammar: what a policy generator embeds.</summary>
    public static Gen<string> ForPlace(ExpressionPlace place, int depth) => place switch
    {
        ExpressionPlace.Condition => Bool(depth),
        ExpressionPlace.StatusCode => Int(depth),
        ExpressionPlace.Text => Str(depth),
        _ => Gen.OneOf(Bool(depth), Str(depth), Int(depth)),
    };

    private static Gen<FuzzCase> Valid(int depth) =>
        from place in Gen.Elements(Enum.GetValues<ExpressionPlace>())
        from block in Gen.Elements(true, false, false)
        from code in block ? BlockCode(place, depth) : ForPlace(place, depth)
        select FuzzCase.OfText(FuzzTarget.Expression, code, "generated", place, block);

    private static Gen<FuzzCase> HostileCase =>
        from statement in Gen.Elements(Hostile)
        from place in Gen.Elements(Enum.GetValues<ExpressionPlace>())
        from tail in Result(place, 1)
        select FuzzCase.OfText(FuzzTarget.Expression, $"{statement} return {tail};", "hostile", place, block: true);

    private static Gen<FuzzCase> ForbiddenCase =>
        from code in Gen.Elements(Forbidden)
        from block in Gen.Elements(true, false)
        select FuzzCase.OfText(FuzzTarget.Expression, block ? $"var forbidden = {code}; return forbidden != null;" : $"{code} != null", "forbidden", ExpressionPlace.Condition, block);

    /// <summary>Brackets nested around the limit (MaxExpressionNesting, 100 by default): refused above it, compiled below.</summary>
    private static Gen<FuzzCase> NestingCase =>
        from depth in Gen.Elements(50, 99, 100, 101, 150, 400)
        from bracket in Gen.Elements("(", "(!", "new[] { ")
        select FuzzCase.OfText(FuzzTarget.Expression, Nest(bracket, depth), "nesting " + depth.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static string Nest(string open, int depth)
    {
        var close = open == "new[] { " ? " }[0]" : ")";
        return string.Concat(Enumerable.Repeat(open, depth)) + "true" + string.Concat(Enumerable.Repeat(close, depth));
    }

    private static Gen<string> Result(ExpressionPlace place, int depth) => place switch
    {
        ExpressionPlace.Condition => Bool(depth),
        ExpressionPlace.StatusCode => Int(depth),
        ExpressionPlace.Text => Str(depth),
        _ => Str(depth),
    };

    private static Gen<string> BlockCode(ExpressionPlace place, int depth) =>
        from local in Int(depth)
        from text in Str(depth)
        from condition in Bool(depth)
        from loop in Gen.Elements(
            "",
            "for (var k = 0; k < Math.Min(n, 50); k++) { acc += k; }",
            "var m = 0; while (m < 10 && m < n) { m++; acc += m; }",
            "foreach (var h in context.Request.Headers) { acc += h.Key.Length; }",
            "foreach (var part in t.Split(',')) { acc += part.Length; }",
            "int Fact(int v) => v <= 1 ? 1 : v * Fact(v - 1); acc += Fact(Math.Min(Math.Abs(n % 10), 10));",
            "acc += Enumerable.Range(0, Math.Min(Math.Abs(n), 100)).Where(v => v % 3 == 0).Sum();",
            "try { acc += int.Parse(t); } catch (FormatException) { acc--; }")
        from result in Result(place, depth)
        select $"var n = {local}; var t = {text}; var acc = 0; {loop} if ({condition}) {{ context.Variables.TryGetValue(\"v\", out var _); }} return {result};";

    private const int MaxDepth = 5;

    // Built bottom-up once: each level uses only the level below, so the generators are shared, not rebuilt per use.
    private static readonly Gen<string>[] Bools = new Gen<string>[MaxDepth + 1];
    private static readonly Gen<string>[] Strings = new Gen<string>[MaxDepth + 1];
    private static readonly Gen<string>[] Ints = new Gen<string>[MaxDepth + 1];

#pragma warning disable CA1810 // the levels must be built in order, after the leaf tables
    static ExpressionGenerator()
#pragma warning restore CA1810
    {
        for (var d = 0; d <= MaxDepth; d++)
        {
            Bools[d] = MakeBool(d);
            Strings[d] = MakeStr(d);
            Ints[d] = MakeInt(d);
        }
        Cases = Gen.Frequency(
            (6, Gen.Sized(size => Valid(Math.Clamp(size / 20, 1, MaxDepth)))),
            (2, HostileCase),
            (1, ForbiddenCase),
            (1, NestingCase),
            (3, Gen.Sized(size => Valid(Math.Clamp(size / 20, 1, MaxDepth))).SelectMany(Mutated)));
    }

    private static Gen<string> Bool(int depth) => Bools[Math.Clamp(depth, 0, MaxDepth)];

    private static Gen<string> Str(int depth) => Strings[Math.Clamp(depth, 0, MaxDepth)];

    private static Gen<string> Int(int depth) => Ints[Math.Clamp(depth, 0, MaxDepth)];

    private static Gen<(T1, T2, T3)> Zip3<T1, T2, T3>(Gen<T1> a, Gen<T2> b, Gen<T3> c) =>
        Gen.Zip(Gen.Zip(a, b), c, (ab, z) => (ab.Item1, ab.Item2, z));

    private static Gen<string> MakeBool(int depth) => depth <= 0
        ? Gen.Elements(BoolLeaves)
        : Gen.Frequency(
            (4, Gen.Elements(BoolLeaves)),
            (1, Bool(depth - 1).Select(b => $"!({b})")),
            (2, Gen.Zip(Bool(depth - 1), Bool(depth - 1), (a, b) => $"({a} && {b})")),
            (2, Gen.Zip(Bool(depth - 1), Bool(depth - 1), (a, b) => $"({a} || {b})")),
            (1, Gen.Zip(Int(depth - 1), Int(depth - 1), (a, b) => $"{a} < {b}")),
            (1, Gen.Zip(Int(depth - 1), Int(depth - 1), (a, b) => $"{a} == {b}")),
            (1, Gen.Zip(Str(depth - 1), Str(depth - 1), (a, b) => $"{a} == {b}")),
            (1, Gen.Zip(Str(depth - 1), Str(depth - 1), (a, b) => $"{a}.StartsWith({b})")),
            (1, Gen.Zip(Str(depth - 1), Str(depth - 1), (a, b) => $"{a}.Contains({b}, StringComparison.OrdinalIgnoreCase)")),
            (1, Str(depth - 1).Select(s => $"string.IsNullOrEmpty({s})")),
            (1, Gen.Zip(Str(depth - 1), Gen.Elements(Patterns), (s, p) => $"Regex.IsMatch({s}, {p})")),
            (1, Zip3(Bool(depth - 1), Bool(depth - 1), Bool(depth - 1)).Select(t => $"({t.Item1} ? {t.Item2} : {t.Item3})")),
            (1, Int(depth - 1).Select(i => $"Enumerable.Range(0, {i}).Any(x => x > 5)")),
            (1, Str(depth - 1).Select(s => $"context.Request.Headers.Any(h => h.Key.StartsWith({s}))")));

    private static Gen<string> MakeStr(int depth) => depth <= 0
        ? Gen.Elements(StringLeaves)
        : Gen.Frequency(
            (4, Gen.Elements(StringLeaves)),
            (2, Gen.Zip(Str(depth - 1), Str(depth - 1), (a, b) => $"({a} + {b})")),
            (1, Str(depth - 1).Select(s => $"{s}.ToUpperInvariant()")),
            (1, Gen.Zip(Str(depth - 1), Int(depth - 1), (s, i) => $"{s}.Substring({i})")),
            (1, Gen.Zip(Str(depth - 1), Str(depth - 1), (a, b) => $"{a}.Replace(\"a\", {b})")),
            (1, Gen.Constant("string.Join(\",\", context.Request.Headers.Keys)")),
            (1, Int(depth - 1).Select(i => $"({i}).ToString()")),
            (1, Gen.Zip(Str(depth - 1), Int(depth - 1), (s, i) => $"$\"{{{s}}}:{{{i}}}\"")),
            (1, Zip3(Bool(depth - 1), Str(depth - 1), Str(depth - 1)).Select(t => $"({t.Item1} ? {t.Item2} : {t.Item3})")),
            (1, Gen.Zip(Str(depth - 1), Int(depth - 1), (s, i) => $"{s}.PadLeft({i})")),
            (1, Int(depth - 1).Select(i => $"new string('x', {i})")),
            (1, Gen.Zip(Str(depth - 1), Int(depth - 1), (s, i) => $"string.Concat(Enumerable.Repeat({s}, {i}))")),
            (1, Gen.Zip(Str(depth - 1), Int(depth - 1), (s, i) => $"{s}.Split(',')[{i}]")),
            (1, Str(depth - 1).Select(s => $"Convert.ToBase64String(Encoding.UTF8.GetBytes({s}))")));

    private static Gen<string> MakeInt(int depth) => depth <= 0
        ? Gen.Elements(IntLeaves)
        : Gen.Frequency(
            (4, Gen.Elements(IntLeaves)),
            (1, Gen.Zip(Int(depth - 1), Int(depth - 1), (a, b) => $"({a} + {b})")),
            (1, Gen.Zip(Int(depth - 1), Int(depth - 1), (a, b) => $"({a} * {b})")),
            (1, Gen.Zip(Int(depth - 1), Int(depth - 1), (a, b) => $"({a} / {b})")),
            (1, Gen.Zip(Int(depth - 1), Int(depth - 1), (a, b) => $"({a} % {b})")),
            (1, Str(depth - 1).Select(s => $"{s}.Length")),
            (1, Int(depth - 1).Select(i => $"Math.Abs({i})")),
            (1, Gen.Zip(Int(depth - 1), Int(depth - 1), (a, b) => $"checked({a} * {b})")),
            (1, Int(depth - 1).Select(i => $"Enumerable.Range(0, {i}).Sum()")),
            (1, Int(depth - 1).Select(i => $"Enumerable.Range(0, {i}).Count(x => x % 2 == 0)")),
            (1, Str(depth - 1).Select(s => $"int.Parse({s})")),
            (1, Zip3(Bool(depth - 1), Int(depth - 1), Int(depth - 1)).Select(t => $"({t.Item1} ? {t.Item2} : {t.Item3})")),
            (1, Gen.Zip(Str(depth - 1), Str(depth - 1), (a, b) => $"{a}.IndexOf({b})")));

    /// <summary>One to four token edits: a token inserted, a span deleted or doubled, two spans swapped.</summary>
    private static Gen<FuzzCase> Mutated(FuzzCase valid) =>
        from edits in Gen.Choose(1, 4)
        from seeds in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), edits * 3)
        select valid with { Input = System.Text.Encoding.UTF8.GetBytes(Mutations.EditText(valid.Text, seeds, Tokens)), Origin = "mutated " + valid.Origin };
}
