using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ApiGateway.Benchmarks;

/// <summary>
/// A stated goal of a benchmark: its median must be at most <see cref="Maximum"/> nanoseconds (for the cases whose
/// parameters match <see cref="Where"/>, e.g. <c>"Apis=1000"</c>). The <see cref="TargetColumn"/> judges it from the
/// confidence interval, so that a row is called met or missed only when the measurement shows it.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class TargetAttribute(double maximum) : Attribute
{
    /// <summary>The goal in nanoseconds.</summary>
    public double Maximum { get; } = maximum;

    /// <summary><c>Name=value[,Name=value]</c>: the cases the goal is for; all when null.</summary>
    public string? Where { get; init; }

    internal bool AppliesTo(BenchmarkCase benchmark) =>
        Where is null || Where.Split(',').All(condition =>
        {
            var (name, value) = (condition.Split('=')[0].Trim(), condition.Split('=')[1].Trim());
            return benchmark.Parameters.Items.Any(p => p.Name == name && Convert.ToString(p.Value, CultureInfo.InvariantCulture) == value);
        });
}

/// <summary>
/// The verdict on a row's <see cref="TargetAttribute"/>: <c>met</c> when the whole 99.9 % confidence interval of the
/// mean is under the goal, <c>MISSED</c> when all of it is over, and <c>unsure</c> when the interval spans the goal
/// (more iterations, or a quieter machine, would decide). Rows without a goal stay empty.
/// </summary>
public sealed class TargetColumn : IColumn
{
    public string Id => nameof(TargetColumn);
    public string ColumnName => "Target";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => false;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "the stated goal, the 99.9% confidence interval of the mean, and whether the 99.9% confidence interval shows it met, MISSED, or is unsure (spans the goal)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var target = benchmarkCase.Descriptor.WorkloadMethod.GetCustomAttributes<TargetAttribute>().FirstOrDefault(t => t.AppliesTo(benchmarkCase));
        if (target is null || summary[benchmarkCase]?.ResultStatistics is not { } statistics)
            return string.Empty;
        var interval = statistics.ConfidenceInterval;
        var verdict = interval.Upper <= target.Maximum ? "met" : interval.Lower > target.Maximum ? "**MISSED**" : "unsure";
        return $"≤ {Time(target.Maximum)}: {verdict} (CI {Time(interval.Lower)} – {Time(interval.Upper)})";
    }

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    internal static string Time(double nanoseconds) => nanoseconds switch
    {
        >= 1e6 => (nanoseconds / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + " ms",
        >= 1e3 => (nanoseconds / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + " µs",
        _ => nanoseconds.ToString("0.#", CultureInfo.InvariantCulture) + " ns",
    };
}

/// <summary>
/// What a boolean parameter switched on costs, beside the row where it is on: the difference of the medians from the
/// row with the same method and other parameters where it is off, and the worst case the confidence intervals allow
/// (upper bound on minus lower bound off), judged against the allowance <c>max(share × off, floor)</c>.
/// </summary>
public sealed class CostOfColumn(string parameter, double share, double floorNanoseconds) : IColumn
{
    public string Id => nameof(CostOfColumn) + parameter;
    public string ColumnName => $"Cost of {parameter}";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 1;
    public bool IsNumeric => false;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"median with {parameter} minus median without (worst case by the 99.9% confidence intervals), against max({share:P0}, {floorNanoseconds} ns): met, MISSED or unsure";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (!IsOn(benchmarkCase) || summary[benchmarkCase]?.ResultStatistics is not { } on)
            return string.Empty;
        var twin = summary.BenchmarksCases.FirstOrDefault(other => other.Descriptor == benchmarkCase.Descriptor
            && other.Parameters.Items.Any(p => p.Name == parameter && p.Value is false)
            && other.Parameters.Items.Where(p => p.Name != parameter).All(p => Equals(benchmarkCase.Parameters[p.Name], p.Value)));
        if (twin is null || summary[twin]?.ResultStatistics is not { } off)
            return string.Empty;
        var allowed = Math.Max(share * off.Median, floorNanoseconds);
        var difference = on.Median - off.Median;
        var worst = on.ConfidenceInterval.Upper - off.ConfidenceInterval.Lower;
        var best = on.ConfidenceInterval.Lower - off.ConfidenceInterval.Upper;
        var verdict = worst <= allowed ? "met" : best > allowed ? "**MISSED**" : "unsure";
        return string.Create(CultureInfo.InvariantCulture, $"{difference:+0.0;-0.0} ns (worst {worst:+0.0;-0.0}) ≤ {allowed:0.0} ns: {verdict}");
    }

    private bool IsOn(BenchmarkCase benchmarkCase) => benchmarkCase.Parameters.Items.Any(p => p.Name == parameter && p.Value is true);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(IsOn);
}
