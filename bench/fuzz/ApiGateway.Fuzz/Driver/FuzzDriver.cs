using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ApiGateway.Fuzz.Driver;

/// <summary>What to run: a target's cases <c>[From, From + Count)</c> of <see cref="Seed"/>, or the regression files of <see cref="Replay"/>.</summary>
internal sealed record FuzzRunOptions
{
    public FuzzTarget Target { get; init; }
    public ulong Seed { get; init; }
    public long From { get; init; }
    public long Count { get; init; }

    /// <summary>Expressions compiled together (one compilation, as a reload compiles a revision).</summary>
    public int Batch { get; init; } = 100;

    /// <summary>How long one case may run before it counts as a hang and the worker is killed.</summary>
    public TimeSpan CaseTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a batch of expressions may take to compile.</summary>
    public TimeSpan CompileTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Where a failing case is written (<c>&lt;name&gt;.case</c>); null: nowhere.</summary>
    public string? RegressionFolder { get; init; }

    /// <summary>Regression files to run instead of generated cases.</summary>
    public IReadOnlyList<string> Replay { get; init; } = [];

    /// <summary>The worker's command line: the dotnet host and this assembly.</summary>
    public string WorkerAssembly { get; init; } = typeof(FuzzDriver).Assembly.Location;
}

/// <summary>A case that did not end in success or a typed error.</summary>
internal sealed record FuzzFinding(long Index, string Kind, string Detail, FuzzCase? Case, string? SavedAs)
{
    public override string ToString() =>
        $"case {Index.ToString(CultureInfo.InvariantCulture)} ({Kind}): {Detail}" +
        (Case is null ? string.Empty : $"{Environment.NewLine}    origin: {Case.Origin}{Environment.NewLine}    input: {Preview(Case)}") +
        (SavedAs is null ? string.Empty : $"{Environment.NewLine}    saved as {SavedAs}");

    private static string Preview(FuzzCase c)
    {
        var text = c.Text.ReplaceLineEndings("\\n");
        return text.Length <= 600 ? text : text[..600] + $"... ({c.Input.Length.ToString(CultureInfo.InvariantCulture)} bytes)";
    }
}

/// <summary>What a run did: cases run, how each ended, what failed, how long it took.</summary>
internal sealed class FuzzReport
{
    public long Cases { get; internal set; }
    public Dictionary<string, long> Outcomes { get; } = new(StringComparer.Ordinal);
    public List<FuzzFinding> Findings { get; } = [];
    public int WorkersStarted { get; internal set; }
    public TimeSpan Elapsed { get; internal set; }

    public string Summary()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Cases} cases in {Elapsed.TotalSeconds:0.0} s ({WorkersStarted} worker processes), {Findings.Count} findings");
        foreach (var (bucket, count) in Outcomes.OrderByDescending(p => p.Value))
            text.Append(CultureInfo.InvariantCulture, $"{Environment.NewLine}  {count,9} {bucket}");
        foreach (var finding in Findings)
            text.Append(Environment.NewLine).Append("  ").Append(finding);
        return text.ToString();
    }
}

/// <summary>
/// Runs cases in worker processes and watches them: a worker that dies (a crash) or says nothing within the timeout
/// (a hang, killed) is a finding for the case it was running, and a new worker goes on after it; a batch of
/// expressions that dies while compiling is run again a case at a time to find the one. Every failing case is written
/// to the regression folder.
/// </summary>
internal static class FuzzDriver
{
    public static FuzzReport Run(FuzzRunOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var report = new FuzzReport();
        var watch = Stopwatch.StartNew();
        if (options.Replay.Count > 0)
            RunReplay(options, report, log);
        else
            RunRange(options, options.From, options.Count, options.Batch, report, log);
        report.Elapsed = watch.Elapsed;
        return report;
    }

    private static void RunReplay(FuzzRunOptions options, FuzzReport report, Action<string>? log)
    {
        // Each file in a worker of its own when one ends the process: the others still run.
        var files = options.Replay.ToList();
        var next = 0;
        while (next < files.Count)
        {
            var args = files.Skip(next).SelectMany(f => new[] { "--replay", f }).Prepend("1").Prepend("--batch").Prepend("worker").ToList();
            var end = Watch(options, args, next, report, log, out var stoppedAt, out _);
            if (end is null)
            {
                report.Cases += files.Count - next;
                return;
            }
            // The worker numbers the files it was given from 0.
            var index = next + (stoppedAt ?? 0);
            report.Cases += index - next + 1;
            Record(options, report, new FuzzFinding(index, end, Describe(end, options), Read(files[(int)index]), null));
            next = (int)index + 1;
        }
    }

    private static FuzzCase? Read(string path)
    {
        try
        {
            return CaseFile.Read(path);
        }
        catch (Exception ex) when (ex is IOException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    private static void RunRange(FuzzRunOptions options, long from, long count, int batch, FuzzReport report, Action<string>? log)
    {
        var next = from;
        var end = from + count;
        while (next < end)
        {
            string[] args =
            [
                "worker", "--target", options.Target.ToString(), "--seed", options.Seed.ToString(CultureInfo.InvariantCulture),
                "--from", next.ToString(CultureInfo.InvariantCulture), "--count", (end - next).ToString(CultureInfo.InvariantCulture),
                "--batch", batch.ToString(CultureInfo.InvariantCulture),
            ];
            var stop = Watch(options, [.. args], next, report, log, out var stoppedAt, out var stoppedIn);
            if (stop is null)
            {
                report.Cases += end - next;
                return;
            }
            if (stoppedIn is { } range && range.End - range.Start > 1)
            {
                report.Cases += range.Start - next;
                // Died while compiling a batch together: find the case, one at a time.
                log?.Invoke($"worker {stop} compiling cases {range.Start}-{range.End - 1}; running them one at a time");
                RunRange(options, range.Start, range.End - range.Start, 1, report, log);
                next = range.End;
                continue;
            }
            var index = stoppedIn?.Start ?? stoppedAt ?? next;
            report.Cases += index - next + 1;
            Record(options, report, new FuzzFinding(index, stop, Describe(stop, options), Regenerate(options, index), null));
            next = index + 1;
        }
    }

    private static string Describe(string stop, FuzzRunOptions options) => stop == "hang"
        ? $"the case did not end within {options.CaseTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; the worker was killed"
        : "the worker process ended while running the case (a crash: a stack overflow or a fatal error)";

    /// <summary>The case of <paramref name="index"/>, made again by a fresh worker (the one that ran it is gone).</summary>
    private static FuzzCase? Regenerate(FuzzRunOptions options, long index)
    {
        using var process = Start(options, ["worker", "--target", options.Target.ToString(), "--seed", options.Seed.ToString(CultureInfo.InvariantCulture), "--print", index.ToString(CultureInfo.InvariantCulture)]);
        var line = process.StandardOutput.ReadLine();
        process.WaitForExit(30_000);
        return line is null ? null : Parse(Convert.FromBase64String(line));
    }

    private static FuzzCase Parse(byte[] caseFile)
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, caseFile);
            return CaseFile.Read(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Runs one worker to its end. Returns null when it finished; "crash" or "hang" when it stopped, with the case
    /// (or batch) it was running.
    /// </summary>
    private static string? Watch(FuzzRunOptions options, List<string> args, long first, FuzzReport report, Action<string>? log,
        out long? stoppedAt, out (long Start, long End)? stoppedIn)
    {
        stoppedAt = null;
        stoppedIn = null;
        using var process = Start(options, args);
        report.WorkersStarted++;
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && stderr.Length < 20_000)
                stderr.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();
        // Starting a worker (its certificates, the compiler's references) can take long on a busy machine.
        var timeout = options.CompileTimeout;
        var started = 0L;
        while (true)
        {
            var read = process.StandardOutput.ReadLineAsync();
            if (!read.Wait(timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                log?.Invoke($"hang at case {stoppedAt?.ToString(CultureInfo.InvariantCulture) ?? "?"}: killed the worker");
                return "hang";
            }
            var line = read.Result;
            if (line is null)
            {
                process.WaitForExit();
                log?.Invoke($"worker ended (exit code {process.ExitCode.ToString(CultureInfo.InvariantCulture)}) at case {stoppedAt?.ToString(CultureInfo.InvariantCulture) ?? "?"}: {Tail(stderr.ToString())}");
                if (stoppedAt is null && stoppedIn is null)
                    throw new InvalidOperationException($"The fuzz worker ended before its first case (exit code {process.ExitCode}): {stderr}");
                return "crash";
            }
            if (line == "done")
            {
                process.WaitForExit();
                return null;
            }
            if (line.StartsWith(">> ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                stoppedIn = (long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
                stoppedAt = null;
                timeout = options.CompileTimeout;
            }
            else if (line.StartsWith("> ", StringComparison.Ordinal))
            {
                stoppedAt = long.Parse(line[2..], CultureInfo.InvariantCulture);
                stoppedIn = null;
                timeout = options.CaseTimeout;
                if (++started % 100_000 == 0)
                    log?.Invoke($"{options.Target}: at case {stoppedAt}");
            }
            else if (line.StartsWith("! ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ', 3);
                var c = Parse(Convert.FromBase64String(parts[2]));
                var detail = Encoding.UTF8.GetString(Convert.FromBase64String(parts[2]));
                detail = detail[(detail.IndexOf("finding: ", StringComparison.Ordinal) + 9)..];
                detail = detail[..detail.IndexOf('\n', StringComparison.Ordinal)];
                Record(options, report, new FuzzFinding(long.Parse(parts[1], CultureInfo.InvariantCulture), "failure", detail, c, null));
            }
            else if (line.StartsWith("= ", StringComparison.Ordinal))
            {
                var cut = line.LastIndexOf(' ');
                var bucket = line[2..cut];
                var n = long.Parse(line[(cut + 1)..], CultureInfo.InvariantCulture);
                report.Outcomes[bucket] = report.Outcomes.GetValueOrDefault(bucket) + n;
            }
        }
    }

    private static void Record(FuzzRunOptions options, FuzzReport report, FuzzFinding finding)
    {
        if (finding.Kind != "failure")
            report.Outcomes[finding.Kind] = report.Outcomes.GetValueOrDefault(finding.Kind) + 1;
        string? saved = null;
        if (options.RegressionFolder is { } folder && finding.Case is { } c && options.Replay.Count == 0)
        {
            Directory.CreateDirectory(folder);
            saved = Path.Combine(folder, c.Name + ".case");
            if (!File.Exists(saved))
                File.WriteAllBytes(saved, CaseFile.Write(c, $"{finding.Kind}: {finding.Detail}"));
        }
        report.Findings.Add(finding with { SavedAs = saved });
    }

    private static Process Start(FuzzRunOptions options, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(options.WorkerAssembly);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        // A crash should end the worker at once, not write a dump the size of its heap.
        start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        return Process.Start(start) ?? throw new InvalidOperationException("The fuzz worker did not start.");
    }

    /// <summary>The dotnet host running this process (the worker runs on the same runtime), else dotnet on PATH.</summary>
    private static string DotnetHost()
    {
        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? current : "dotnet";
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];
}
