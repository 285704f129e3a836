using System.Globalization;
using System.Security;
using System.Text.RegularExpressions;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Expressions;

namespace ApiGateway.Fuzz.Targets;

/// <summary>
/// Policy expressions, a batch at a time (one compilation for the batch, as a reload compiles a revision's new
/// expressions together). Properties: an expression over the length or nesting limit is refused with the limit named
/// before any compiler sees it; compiling ends in a delegate or problems with a message and a position inside the
/// code, never an exception; every expression that compiles, set in an API's policy where its kind belongs, loads,
/// and a request through the pipeline ends in an HTTP answer (a decision, or the 500 of a failed or over-budget
/// expression) within a small multiple of the budget's time and memory.
/// </summary>
internal static partial class ExpressionTarget
{
    /// <summary>The bound a request must end within: the budget is 50 ms (FuzzWorld.ExpressionLimits); this allows for a busy machine.</summary>
    public static TimeSpan MaxRequestTime { get; } = TimeSpan.FromSeconds(2);

    /// <summary>The memory a request may allocate: the budget's 16 MB with room for the step that crossed it.</summary>
    public static long MaxRequestBytes { get; } = 64L * 1024 * 1024;

    /// <summary>
    /// Runs <paramref name="cases"/>; <paramref name="starting"/> is told the index (in the batch) of each case about
    /// to run alone, and -1 while the batch compiles together, so the caller knows what ran when a process dies.
    /// </summary>
    public static Verdict[] Run(FuzzWorld world, IReadOnlyList<FuzzCase> cases, Action<int> starting, int variant)
    {
        var verdicts = new Verdict?[cases.Count];
        var limits = (world.Base.Service.Limits ?? FuzzWorld.ExpressionLimits).Resolve();
        var keys = new Dictionary<int, ExpressionKey>();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var expression = new PolicyExpression(c.Text, c.Block, 1, 1);
            if (ExpressionText.LimitProblem(expression, limits) is { } problem)
            {
                verdicts[i] = problem.Contains("MaxExpression", StringComparison.Ordinal) && problem.Contains("Set-GatewayLimit", StringComparison.Ordinal)
                    ? Verdict.Refused("ExpressionTooLarge")
                    : Verdict.Failure("the limit refusal does not name the limit and the fix: " + problem);
                continue;
            }
            keys[i] = new ExpressionKey(KindOf(c.Place), c.Block, c.Text);
        }

        starting(-1);
        world.Expressions.Retain([]);
        var resolution = world.Expressions.Resolve(keys.Values.Distinct().ToList());
        var compiled = new List<int>();
        foreach (var (i, key) in keys)
        {
            if (resolution.Problems.TryGetValue(key, out var problems))
            {
                verdicts[i] = Judge(problems, cases[i].Text);
                continue;
            }
            if (!resolution.Compiled.ContainsKey(key))
            {
                verdicts[i] = Verdict.Failure("the compiler returned neither a delegate nor a problem");
                continue;
            }
            compiled.Add(i);
        }

        // One API per compiled expression, in the place its kind belongs; an API the gateway refuses is left out and
        // the rest loaded again (its refusal is a typed one: the problems name it).
        for (var attempt = 0; compiled.Count > 0; attempt++)
        {
            var configuration = world.Base with
            {
                Service = world.Base.Service with { Limits = FuzzWorld.ExpressionLimits },
                Apis = compiled.Aggregate(world.Base.Apis, (apis, i) => apis.SetItem(ApiId(i), new ApiEntry
                {
                    DisplayName = ApiId(i),
                    Path = ApiId(i),
                    ServiceUrl = "https://127.0.0.1:9/",
                    OwnPolicy = Policy(cases[i]),
                })),
            };
            using var built = Loader.Build(world, ConfigurationSerializer.Serialize(configuration));
            if (built.Snapshot is { } snapshot)
            {
                foreach (var i in compiled)
                {
                    starting(i);
                    verdicts[i] = Loader.Judge(Loader.Run(world, snapshot, "/" + ApiId(i) + "/x", variant + i), MaxRequestTime, MaxRequestBytes);
                }
                break;
            }
            var named = built.Errors.SelectMany(e => ApiName().Matches(e).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))).ToHashSet();
            if (built.Verdict.Kind == VerdictKind.Failure || named.Count == 0 || attempt > 3)
            {
                foreach (var i in compiled)
                    verdicts[i] = Verdict.Failure("an expression that compiled alone made the gateway refuse the configuration: " + string.Join(" | ", built.Errors.Take(3)));
                break;
            }
            foreach (var i in named)
                verdicts[i] = Verdict.Refused("PolicyRefused");
            compiled.RemoveAll(named.Contains);
        }
        return verdicts.Select(v => v ?? Verdict.Failure("no verdict")).ToArray();
    }

    private static Verdict Judge(List<ExpressionProblem> problems, string code)
    {
        var lines = code.Split('\n').Length;
        foreach (var p in problems)
        {
            if (string.IsNullOrWhiteSpace(p.Message))
                return Verdict.Failure("a compile problem has no message");
            if (p.Line < 0 || p.Column < 0 || p.Line >= lines)
                return Verdict.Failure($"a compile problem is placed at line {p.Line}, column {p.Column}, outside the code's {lines} lines: {p.Message}");
        }
        return Verdict.Refused(problems.Count == 0 ? "NoProblem" : "ExpressionInvalid");
    }

    private static string ApiId(int i) => "e" + i.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"API 'e(\d+)'")]
    private static partial Regex ApiName();

    private static ExpressionKind KindOf(ExpressionPlace place) => place switch
    {
        ExpressionPlace.Condition => ExpressionKind.Condition,
        ExpressionPlace.StatusCode => ExpressionKind.StatusCode,
        ExpressionPlace.Text => ExpressionKind.Text,
        _ => ExpressionKind.Value,
    };

    /// <summary>An API policy with the expression where its kind belongs, ending in a response of its own (no backend).</summary>
    internal static string Policy(FuzzCase c)
    {
        var source = SecurityElement.Escape(c.Block ? "@{" + c.Text + "}" : "@(" + c.Text + ")");
        var inbound = c.Place switch
        {
            ExpressionPlace.Condition => $"""
                <choose><when condition="{source}"><return-response><set-status code="200" reason="yes" /></return-response></when></choose>
                <return-response><set-status code="200" reason="no" /></return-response>
                """,
            ExpressionPlace.StatusCode => $"""<return-response><set-status code="{source}" reason="OK" /></return-response>""",
            ExpressionPlace.Text => $"""
                <set-header name="x-fuzz" exists-action="override"><value>{source}</value></set-header>
                <return-response><set-status code="200" reason="OK" /><set-body>{source}</set-body></return-response>
                """,
            _ => """<set-variable name="v" value="SOURCE" /><return-response><set-status code="200" reason="OK" /><set-body>@(context.Variables.ContainsKey("v").ToString())</set-body></return-response>""".Replace("SOURCE", source, StringComparison.Ordinal),
        };
        return PolicyTemplates.Inheriting(inbound: inbound);
    }
}
