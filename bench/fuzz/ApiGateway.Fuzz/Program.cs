using System.Globalization;
using ApiGateway.Fuzz;
using ApiGateway.Fuzz.Driver;

// The policy expressions a worker runs use regular expressions; the gateway sets the same default (Program.cs of the host).
AppContext.SetData("REGEX_DEFAULT_MATCH_TIMEOUT", TimeSpan.FromSeconds(2));

const string Usage = """
    ApiGateway.Fuzz: fuzzing of configuration files, policy documents and policy expressions (see bench/fuzz/README.md).

      run [--count <n>] [--configuration <n>] [--policy <n>] [--expression <n>] [--seed <n>] [--regressions <folder>]
          Runs the cases (by default 1,000,000 split 45 % / 45 % / 10 % over the three targets) in worker processes,
          prints the outcomes and every finding, writes each failing case to the regression folder
          (default tests/ApiGateway.Host.Tests/Fuzz/regressions) and exits 1 when anything failed.
      replay <file.case>...
          Runs regression cases.
      worker ...
          The child process the driver starts (internal).
    """;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}
if (args[0] == "worker")
    return Worker.Run(args[1..]);

var seed = (ulong)Random.Shared.NextInt64();
var counts = new Dictionary<FuzzTarget, long>();
long? total = null;
string? regressions = null;
var replay = new List<string>();
for (var i = 1; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--count": total = long.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--configuration": counts[FuzzTarget.Configuration] = long.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--policy": counts[FuzzTarget.Policy] = long.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--expression": counts[FuzzTarget.Expression] = long.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--seed": seed = ulong.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--regressions": regressions = Next(); break;
        default:
            if (args[0] == "replay")
            {
                replay.Add(args[i]);
                break;
            }
            Console.Error.WriteLine($"Unknown option '{args[i]}'.{Environment.NewLine}{Usage}");
            return 2;
    }
}

if (args[0] == "replay")
{
    var replayed = FuzzDriver.Run(new FuzzRunOptions { Replay = replay }, Console.WriteLine);
    Console.WriteLine(replayed.Summary());
    return replayed.Findings.Count == 0 ? 0 : 1;
}
if (args[0] != "run")
{
    Console.Error.WriteLine($"Unknown command '{args[0]}'.{Environment.NewLine}{Usage}");
    return 2;
}

if (counts.Count == 0 || total is not null)
{
    var n = total ?? 1_000_000;
    counts[FuzzTarget.Configuration] = n * 45 / 100;
    counts[FuzzTarget.Policy] = n * 45 / 100;
    counts[FuzzTarget.Expression] = n - (n * 45 / 100) * 2;
}
regressions ??= Path.Combine(FindRepository() ?? ".", "tests", "ApiGateway.Host.Tests", "Fuzz", "regressions");
Console.WriteLine($"seed {seed}; regressions go to {regressions}");
var failed = false;
var grand = System.Diagnostics.Stopwatch.StartNew();
long cases = 0;
foreach (var (target, count) in counts.OrderBy(p => p.Key))
{
    if (count <= 0)
        continue;
    var report = FuzzDriver.Run(new FuzzRunOptions { Target = target, Seed = seed, Count = count, RegressionFolder = regressions }, Console.WriteLine);
    Console.WriteLine($"== {target}: {report.Summary()}");
    cases += report.Cases;
    failed |= report.Findings.Count > 0;
}
Console.WriteLine($"== total: {cases} cases in {grand.Elapsed.TotalMinutes:0.0} min, seed {seed}, {(failed ? "FINDINGS (see above)" : "no findings")}");
return failed ? 1 : 0;

static string? FindRepository()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "GatewayModule.sln")))
            return dir.FullName;
    }
    for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "GatewayModule.sln")))
            return dir.FullName;
    }
    return null;
}
