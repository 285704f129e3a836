using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace ApiGateway.Benchmarks;

/// <summary>
/// The configuration of every suite: in-process (no generated project to restore and build, so a run stays within
/// minutes and works with the partial NuGet mirror), allocations shown by the memory diagnoser, GitHub markdown
/// tables that bench/run.sh collects. Each suite sets its own bounded job.
/// </summary>
internal static class BenchConfig
{
    /// <summary>bench/run.sh --quick: fewer iterations, for a smoke run (figures are rough).</summary>
    public static bool Quick => Environment.GetEnvironmentVariable("APIGATEWAY_BENCH_QUICK") == "1";

    public static IConfig Create() =>
        ManualConfig.CreateEmpty()
            .AddLogger(ConsoleLogger.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            // Medians, and each stated goal judged from the 99.9 % confidence interval of the mean (shown beside it).
            .AddColumn(StatisticColumn.Median, new TargetColumn())
            .AddExporter(MarkdownExporter.GitHub)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithOption(ConfigOptions.JoinSummary, false);
}

/// <summary>Nanosecond-scale code: many short iterations.</summary>
internal class FastJobConfig : ManualConfig
{
    public FastJobConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(BenchConfig.Quick ? 1 : 4)
            .WithIterationCount(BenchConfig.Quick ? 3 : 12)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250))
            .WithId("fast"));
    }
}

/// <summary>Millisecond-scale operations with side effects: one invocation per iteration, few iterations.</summary>
internal sealed class SlowJobConfig : ManualConfig
{
    public SlowJobConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithWarmupCount(BenchConfig.Quick ? 1 : 2)
            // 20 iterations: with 8, CompileAllDistinct at 1,000 APIs measured 491 ms ± 134 ms, which shows neither
            // that it meets its 500 ms goal nor that it misses it.
            .WithIterationCount(BenchConfig.Quick ? 3 : 20)
            .WithId("slow"));
    }
}

/// <summary><see cref="FastJobConfig"/> with the cost of the expression budget beside each instrumented row.</summary>
internal sealed class BudgetCostConfig : FastJobConfig
{
    public BudgetCostConfig() =>
        // The allowance: at most 5 % or 20 ns per evaluation, whichever is larger.
        AddColumn(new CostOfColumn("Budget", share: 0.05, floorNanoseconds: 20));
}
