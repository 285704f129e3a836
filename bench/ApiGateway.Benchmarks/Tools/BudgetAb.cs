using System.Diagnostics;
using System.Globalization;
using System.Text;
using ApiGateway.Benchmarks.Suites;

namespace ApiGateway.Benchmarks.Tools;

/// <summary>
/// <c>budget-ab</c>: the expression budget's cost measured as an interleaved A/B run, for machines too noisy for
/// BenchmarkDotNet's one-case-after-the-other runs. For each policy, the same setup as <see cref="PolicyEvaluationBenchmarks"/>
/// is built twice (budget on and off); then, round after round, a block of evaluations of one and a block of the
/// other run back to back in a random order, so that whatever else the machine does hits both alike. Each round gives
/// a paired difference (on − off, ns per evaluation); the report is the median of those differences with a 99 %
/// confidence interval from order statistics (distribution-free), judged against the target: at most 5 % of the
/// unbudgeted time or 20 ns, whichever is larger, and no byte allocated more.
/// </summary>
internal static class BudgetAb
{
    private static readonly string[] AllPolicies = ["none", "expiry", "issuer-subject", "thumbprint", "uploaded", "validate-10", "allow-list", "loop"];

    public static int Run(Arguments arguments)
    {
        var rounds = int.Parse(arguments.Optional("rounds") ?? "301", CultureInfo.InvariantCulture);
        var blockMs = double.Parse(arguments.Optional("block-ms") ?? "4", CultureInfo.InvariantCulture);
        var outFile = arguments.Optional("out");
        var policies = arguments.Optional("policies")?.Split(',') ?? AllPolicies;
        var random = new Random(20261204);
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Interleaved A/B, {rounds} rounds per policy and method, blocks of ~{blockMs} ms each, order random per round; machine load at start: {LoadAverage()}.");
        report.AppendLine();
        report.AppendLine("| Method | Policy | off ns (median) | on ns (median) | on − off, median [99 % CI] | ratio | allowed | verdict | bytes/op off, on |");
        report.AppendLine("|---|---|---:|---:|---:|---:|---:|---|---:|");
        var allMet = true;
        foreach (var policy in policies)
        {
            var on = Create(policy, budget: true);
            var off = Create(policy, budget: false);
            try
            {
                foreach (var (method, onRun, offRun) in new (string, Func<int>, Func<int>)[]
                {
                    ("Request", on.Request, off.Request),
                    ("PolicyOnly", on.PolicyOnly, off.PolicyOnly),
                })
                {
                    var row = Measure(onRun, offRun, rounds, blockMs, random);
                    var allowed = Math.Max(0.05 * row.OffMedian, 20);
                    var verdict = row.High <= allowed && row.BytesOn <= row.BytesOff ? "met"
                        : row.Low > allowed || row.BytesOn > row.BytesOff ? "**MISSED**" : "unsure";
                    allMet &= verdict == "met";
                    report.AppendLine(CultureInfo.InvariantCulture,
                        $"| {method} | {policy} | {row.OffMedian:0.0} | {row.OnMedian:0.0} | {row.Difference:+0.0;-0.0} [{row.Low:+0.0;-0.0}, {row.High:+0.0;-0.0}] | {row.OnMedian / row.OffMedian:0.000} | ≤ {allowed:0.0} | {verdict} | {row.BytesOff:0.#}, {row.BytesOn:0.#} |");
                    Console.Error.WriteLine($"{policy} {method}: {row.Difference:+0.0;-0.0} ns [{row.Low:+0.0;-0.0}, {row.High:+0.0;-0.0}], {verdict}");
                }
            }
            finally
            {
                on.Cleanup();
                off.Cleanup();
            }
        }
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Machine load at the end: {LoadAverage()}.");
        Console.Out.Write(report.ToString());
        if (outFile is not null)
            File.WriteAllText(outFile, report.ToString());
        return allMet ? 0 : 2;
    }

    private static PolicyEvaluationBenchmarks Create(string policy, bool budget)
    {
        var bench = new PolicyEvaluationBenchmarks { Policy = policy, Budget = budget };
        bench.Setup();
        return bench;
    }

    private sealed record Row(double OffMedian, double OnMedian, double Difference, double Low, double High, double BytesOff, double BytesOn);

    private static Row Measure(Func<int> on, Func<int> off, int rounds, double blockMs, Random random)
    {
        // Warm both (tiered JIT to its final code) and size a block to ~blockMs of the slower one.
        var warm = Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 1500)
        {
            Loop(on, 1000);
            Loop(off, 1000);
        }
        var probe = Stopwatch.StartNew();
        Loop(on, 10_000);
        var perOp = probe.Elapsed.TotalMilliseconds / 10_000;
        var n = Math.Max(100, (int)(blockMs / perOp));

        var onNs = new double[rounds];
        var offNs = new double[rounds];
        var diffs = new double[rounds];
        long bytesOn = 0, bytesOff = 0;
        for (var r = 0; r < rounds; r++)
        {
            if (random.Next(2) == 0)
            {
                (onNs[r], var b1) = Block(on, n);
                (offNs[r], var b2) = Block(off, n);
                bytesOn += b1;
                bytesOff += b2;
            }
            else
            {
                (offNs[r], var b2) = Block(off, n);
                (onNs[r], var b1) = Block(on, n);
                bytesOn += b1;
                bytesOff += b2;
            }
            diffs[r] = onNs[r] - offNs[r];
        }
        Array.Sort(diffs);
        var (low, high) = MedianInterval(diffs);
        return new Row(Median(offNs), Median(onNs), Median(diffs), low, high,
            (double)bytesOff / ((long)rounds * n), (double)bytesOn / ((long)rounds * n));
    }

    private static (double Ns, long Bytes) Block(Func<int> evaluate, int n)
    {
        var bytes = GC.GetAllocatedBytesForCurrentThread();
        var start = Stopwatch.GetTimestamp();
        Loop(evaluate, n);
        var elapsed = Stopwatch.GetElapsedTime(start);
        return (elapsed.TotalNanoseconds / n, GC.GetAllocatedBytesForCurrentThread() - bytes);
    }

    private static int Loop(Func<int> evaluate, int n)
    {
        var sum = 0;
        for (var i = 0; i < n; i++)
            sum += evaluate();
        return sum;
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }

    /// <summary>
    /// A distribution-free 99 % interval for the median of sorted values: the order statistics k and n − 1 − k with
    /// k = floor(n/2 − 2.576·√n/2) (normal approximation of the binomial).
    /// </summary>
    private static (double Low, double High) MedianInterval(double[] sorted)
    {
        var n = sorted.Length;
        var k = Math.Max(0, (int)Math.Floor(n / 2.0 - 2.576 * Math.Sqrt(n) / 2));
        return (sorted[k], sorted[n - 1 - k]);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
