using System.Diagnostics;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Hardening;

/// <summary>The configured limits reach Kestrel at start, and on reload where Kestrel reads them per connection.</summary>
public sealed class LimitsTests
{
    private static readonly Dictionary<string, string> TenKilobyteHeader = new() { ["X-Big"] = new string('h', 10_000) };

    [Fact]
    public async Task Reload_LowersTheHeaderLimit_NewConnectionsGet431_WithoutARestartNotice()
    {
        await using var gateway = TestGateway.Create();
        var server = await gateway.StartAsync();
        Assert.Equal(404, (await gateway.SendAsync("/none", headers: TenKilobyteHeader)).Status);

        gateway.Service.SetLimits(new Dictionary<string, double> { ["MaxRequestHeadersTotalSize"] = 8192 });
        await gateway.WaitForRevisionAsync(server.Snapshot.Revision + 1);

        Assert.Equal(431, (await gateway.SendAsync("/none", headers: TenKilobyteHeader)).Status);
        Assert.Equal(404, (await gateway.SendAsync("/none")).Status);
        Assert.Empty(gateway.Logs.Messages(23));
    }

    [Fact]
    public async Task Reload_ChangesTheConnectionLimit_SaysOnceThatItWaitsForARestart()
    {
        await using var gateway = TestGateway.Create();
        var server = await gateway.StartAsync();

        gateway.Service.SetLimits(new Dictionary<string, double> { ["MaxConcurrentConnections"] = 50 });
        await gateway.WaitForRevisionAsync(server.Snapshot.Revision + 1);
        gateway.AddApi("other", "other");
        await gateway.WaitForRevisionAsync(server.Snapshot.Revision + 1);

        var notice = Assert.Single(gateway.Logs.Messages(23));
        Assert.Contains("MaxConcurrentConnections 10000 → 50", notice, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxConcurrentConnections_ConnectionsOverItAreClosedAtOnce_UntilTheIdleOnesTimeOut()
    {
        await using var gateway = TestGateway.Create();
        gateway.Service.SetLimits(new Dictionary<string, double> { ["MaxConcurrentConnections"] = 20, ["TlsHandshakeTimeoutSeconds"] = 2 });
        await gateway.StartAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var idle = new List<Attackers.HeldConnection>();
        for (var i = 0; i < 20; i++)
            idle.Add(await Attackers.OpenAsync(gateway.Port, tls: false));
        var closed = Task.WhenAll(idle.Select(c => c.WatchAsync(stop.Token)));
        await Task.Delay(200); // the server has accepted them all

        var watch = Stopwatch.StartNew();
        var over = await gateway.SendAsync("/none", gateway.Client());
        var refusedAfter = watch.Elapsed;
        await closed;
        var after = await gateway.SendAsync("/none", gateway.Client());
        foreach (var connection in idle)
            connection.Dispose();

        Assert.True(over.Refused, over.ToString());
        Assert.True(refusedAfter < TimeSpan.FromSeconds(1), $"The connection over the limit took {refusedAfter.TotalMilliseconds:0} ms to be refused.");
        Assert.Equal(404, after.Status);
    }
}
