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
            .AddExporter(MarkdownExporter.GitHub)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithOption(ConfigOptions.JoinSummary, false);
}

/// <summary>Nanosecond-scale code: many short iterations.</summary>
internal sealed class FastJobConfig : ManualConfig
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
            .WithIterationCount(BenchConfig.Quick ? 3 : 8)
            .WithId("slow"));
    }
}
