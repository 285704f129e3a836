using System.Globalization;
using System.Text;
using ApiGateway.Fuzz.Targets;

namespace ApiGateway.Fuzz.Driver;

/// <summary>
/// The child process that runs cases (<c>ApiGateway.Fuzz worker ...</c>), so that a case that ends the process (a
/// stack overflow, which no .NET code can catch) or never ends is seen by the driver instead of taking the run down.
/// It speaks in lines on stdout, flushed before each case: <c>&gt; i</c> case i starts alone, <c>&gt;&gt; a b</c> cases a
/// to b-1 compile together, <c>! i base64</c> case i failed (the base64 of its case file), <c>= bucket n</c> how many
/// cases ended so, <c>done</c>. A line the driver does not see within its timeout is a hang.
/// </summary>
internal static class Worker
{
    public static int Run(string[] args)
    {
        var options = Arguments.Parse(args);
        using var world = FuzzWorld.Create();
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false, NewLine = "\n" };
        var stats = new Dictionary<string, long>(StringComparer.Ordinal);
        void Say(string line)
        {
            output.WriteLine(line);
            output.Flush();
        }
        var recorded = 0;
        void Flush()
        {
            foreach (var (bucket, count) in stats.OrderBy(p => p.Key, StringComparer.Ordinal))
                Say($"= {bucket} {count.ToString(CultureInfo.InvariantCulture)}");
            stats.Clear();
        }
        void Record(long index, FuzzCase c, Verdict verdict)
        {
            var bucket = verdict.Bucket;
            stats[bucket] = stats.GetValueOrDefault(bucket) + 1;
            // Counted in portions, so what a worker that dies later did is not lost.
            if (++recorded % 1000 == 0)
                Flush();
            if (verdict.Kind == VerdictKind.Failure)
                Say($"! {index.ToString(CultureInfo.InvariantCulture)} {Convert.ToBase64String(CaseFile.Write(c, verdict.Detail))}");
        }

        if (options.Print is { } print)
        {
            var c = CaseSource.At(options.Target, options.Seed, print, world);
            Say(Convert.ToBase64String(CaseFile.Write(c, "printed")));
            return 0;
        }

        IEnumerable<(long Index, FuzzCase Case)> cases = options.Replay.Count > 0
            ? options.Replay.Select((path, i) => ((long)i, CaseFile.Read(path)))
            : Range(options.From, options.Count).Select(i => (i, CaseSource.At(options.Target, options.Seed, i, world)));
        var pending = new List<(long Index, FuzzCase Case)>();
        foreach (var item in cases)
        {
            if (item.Case.Target == FuzzTarget.Expression)
            {
                pending.Add(item);
                if (pending.Count >= options.Batch)
                    RunExpressions(world, pending, Say, Record);
                continue;
            }
            Say("> " + item.Index.ToString(CultureInfo.InvariantCulture));
            // A regression case runs every check (index 0: loaded even when the validator refuses it).
            Record(item.Index, item.Case, RunOne(world, item.Case, options.Replay.Count > 0 ? 0 : item.Index));
        }
        RunExpressions(world, pending, Say, Record);
        Flush();
        Say("done");
        return 0;
    }

    private static IEnumerable<long> Range(long from, long count)
    {
        for (var i = from; i < from + count; i++)
            yield return i;
    }

    private static Verdict RunOne(FuzzWorld world, FuzzCase c, long index)
    {
        try
        {
            return c.Target switch
            {
                FuzzTarget.Configuration => ConfigurationTarget.Run(world, c, index),
                FuzzTarget.Policy => PolicyTarget.Run(world, c, (int)(index % 1000)),
                _ => throw new InvalidOperationException("expressions run in batches"),
            };
        }
        catch (Exception ex)
        {
            return Verdict.Unhandled(ex);
        }
    }

    private static void RunExpressions(FuzzWorld world, List<(long Index, FuzzCase Case)> pending, Action<string> say, Action<long, FuzzCase, Verdict> record)
    {
        if (pending.Count == 0)
            return;
        var first = pending[0].Index;
        var batch = pending.Select(p => p.Case).ToList();
        Verdict[] verdicts;
        try
        {
            verdicts = ExpressionTarget.Run(world, batch, i => say(i < 0
                ? $">> {pending[0].Index.ToString(CultureInfo.InvariantCulture)} {(pending[^1].Index + 1).ToString(CultureInfo.InvariantCulture)}"
                : "> " + pending[i].Index.ToString(CultureInfo.InvariantCulture)), (int)(first % 1000));
        }
        catch (Exception ex)
        {
            // Which case of the batch threw is found by the driver, which runs the batch again a case at a time.
            verdicts = batch.Count == 1 ? [Verdict.Unhandled(ex)] : [.. batch.Select(_ => Verdict.Failure("batch: " + Verdict.Unhandled(ex).Detail))];
        }
        for (var i = 0; i < pending.Count; i++)
            record(pending[i].Index, pending[i].Case, verdicts[i]);
        pending.Clear();
    }

    private sealed class Arguments
    {
        public FuzzTarget Target { get; private set; }
        public ulong Seed { get; private set; }
        public long From { get; private set; }
        public long Count { get; private set; }
        public int Batch { get; private set; } = 100;
        public long? Print { get; private set; }
        public List<string> Replay { get; } = [];

        public static Arguments Parse(string[] args)
        {
            var a = new Arguments();
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--target": a.Target = Enum.Parse<FuzzTarget>(Next(), ignoreCase: true); break;
                    case "--seed": a.Seed = ulong.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--from": a.From = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--count": a.Count = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--batch": a.Batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--print": a.Print = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--replay": a.Replay.Add(Next()); break;
                    default: throw new ArgumentException($"Unknown worker option '{args[i]}'.");
                }
            }
            return a;
        }
    }
}
