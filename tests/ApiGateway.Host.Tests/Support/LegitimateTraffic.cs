using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Host.Tests.Support;

/// <summary>What legitimate clients saw while something else went on.</summary>
internal sealed record TrafficResult(int Succeeded, int Total, IReadOnlyList<string> Failures, TimeSpan Slowest)
{
    public double SuccessRate => Total == 0 ? 0 : (double)Succeeded / Total;

    public override string ToString() =>
        $"{Succeeded}/{Total} legitimate mTLS requests succeeded ({SuccessRate:P2}), slowest {Slowest.TotalMilliseconds:0} ms"
        + (Failures.Count == 0 ? string.Empty : "; failures: " + string.Join(" | ", Failures.Distinct().Take(5)));
}

/// <summary>
/// Legitimate mutual-TLS clients: each request is a new TCP connection, a full TLS handshake presenting a trusted
/// client certificate, and one request that must come back 200, so every request has to get through the accept
/// queue, the handshake and the request path while abuse competes for them.
/// </summary>
internal static class LegitimateTraffic
{
    /// <summary>
    /// Runs <paramref name="workers"/> sequential clients against <paramref name="hosts"/> in turn until
    /// <paramref name="until"/> completes (and for at least <paramref name="minimum"/>), then reports.
    /// </summary>
    public static async Task<TrafficResult> RunAsync(TestGateway gateway, X509Certificate2 certificate, string path, Task until,
        TimeSpan minimum, IReadOnlyList<string>? hosts = null, int workers = 4)
    {
        hosts ??= ["localhost"];
        var succeeded = 0;
        var total = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var slowest = TimeSpan.Zero;
        var started = Stopwatch.StartNew();
        var gate = new object();

        async Task Worker(int index)
        {
            var n = index;
            while (!until.IsCompleted || started.Elapsed < minimum)
            {
                var host = hosts[n++ % hosts.Count];
                var watch = Stopwatch.StartNew();
                var response = await gateway.SendAsync(path, certificate, host: host);
                watch.Stop();
                Interlocked.Increment(ref total);
                if (response.Status == 200)
                    Interlocked.Increment(ref succeeded);
                else
                    failures.Enqueue($"{host}: {response}");
                lock (gate)
                {
                    if (watch.Elapsed > slowest)
                        slowest = watch.Elapsed;
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(Worker));
        return new TrafficResult(succeeded, total, [.. failures], slowest);
    }
}
