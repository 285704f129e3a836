using System.Globalization;
using ApiGateway.Benchmarks.Tools;
using BenchmarkDotNet.Running;

namespace ApiGateway.Benchmarks;

/// <summary>
/// The benchmark executable. Commands:
/// <list type="bullet">
/// <item><c>bdn [BenchmarkDotNet arguments]</c>: the in-process benchmarks (policy evaluation, reload, store);</item>
/// <item><c>peer-setup --certs DIR --port N --backend URL --out DIR [--policy choose|validate]</c>: turns the peer
/// harness's certificate folder into a gateway configuration through the Core operations (bench/peer-gateway.sh);</item>
/// <item><c>rotation [--seconds S] [--connections C] [--out FILE]</c>: load against a gateway child process while
/// certificates are rotated through the Core operations; fails unless every request succeeded.</item>
/// <item><c>budget-ab [--rounds R] [--block-ms M] [--policies a,b] [--out FILE]</c>: the expression budget's cost as an
/// interleaved A/B run (see <see cref="BudgetAb"/>); exits 2 when a target is not shown met.</item>
/// </list>
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine("""
                ApiGateway.Benchmarks bdn [BenchmarkDotNet arguments, e.g. --filter *Policy*]
                ApiGateway.Benchmarks peer-setup --certs DIR --port N --backend URL --out DIR [--policy choose|validate]
                ApiGateway.Benchmarks rotation --host PATH-TO-ApiGateway.Host.dll [--seconds 15] [--connections 4] [--rounds 4] [--out FILE.md]
                ApiGateway.Benchmarks budget-ab [--rounds 301] [--block-ms 4] [--policies expiry,loop] [--out FILE.md]
                """);
            return args.Length == 0 ? 1 : 0;
        }
        try
        {
            return args[0] switch
            {
                "bdn" => RunBenchmarks(args[1..]),
                "peer-setup" => PeerSetup.Run(Arguments.Parse(args[1..])),
                "rotation" => await RotationRun.RunAsync(Arguments.Parse(args[1..])).ConfigureAwait(false),
                "budget-ab" => BudgetAb.Run(Arguments.Parse(args[1..])),
                _ => Unknown(args[0]),
            };
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 1;
        }
    }

    private static int RunBenchmarks(string[] args)
    {
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, BenchConfig.Create());
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }

    private static int Unknown(string command)
    {
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Unknown command '{command}'. Commands: bdn, peer-setup, rotation, budget-ab."));
        return 1;
    }
}

/// <summary><c>--name value</c> pairs of a command line.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Arguments Parse(string[] args)
    {
        var parsed = new Arguments();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"Expected '--name value' pairs; '{args[i]}' has no value.");
            parsed._values[args[i][2..]] = args[++i];
        }
        return parsed;
    }

    public string Required(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required.");

    public string? Optional(string name) => _values.GetValueOrDefault(name);

    public int Int(string name, int defaultValue) =>
        _values.TryGetValue(name, out var value)
            ? int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture)
            : defaultValue;
}
