using ApiGateway.Host.Metrics;
using BenchmarkDotNet.Attributes;

namespace ApiGateway.Benchmarks.Suites;

/// <summary>
/// What the metrics cost per event, with the /metrics export listening (as in a running gateway): the per-request
/// record (a counter with api and status, the duration histogram with api) and the per-connection handshake counter.
/// Target: the per-request cost within 2 % of the gateway's CPU per request (about 71 µs in bench/RESULTS.md), i.e.
/// under 1.4 µs, with no allocation. Scrape is measured too: it runs once per scrape interval, never per request.
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks : IDisposable
{
    private static readonly string[] Apis = ["orders", "billing", "echo", "inventory"];
    private GatewayMetrics _metrics = null!;
    private PrometheusExport _export = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _metrics = new GatewayMetrics();
        _export = new PrometheusExport(_metrics);
        foreach (var api in Apis)
            _metrics.RecordRequest(api, 200, 0.001);
    }

    [Benchmark(Description = "RecordRequest (counter + histogram)")]
    public void RecordRequest() => _metrics.RecordRequest(Apis[_next++ & 3], 200, 0.0042);

    [Benchmark(Description = "RecordHandshake")]
    public void RecordHandshake() => _metrics.RecordHandshake("127.0.0.1:8443", System.Security.Authentication.SslProtocols.Tls13);

    [Benchmark(Description = "Scrape /metrics (text)")]
    public async Task<string> Scrape()
    {
        using var buffer = new MemoryStream();
        return await _export.WriteAsync(buffer, null, CancellationToken.None).ConfigureAwait(false);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _export?.Dispose();
        _metrics?.Dispose();
        GC.SuppressFinalize(this);
    }
}
