using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace ApiGateway.Host.Tests.Hardening;

/// <summary>Abuse tests run alone: they measure success rates, which other tests' load on two cores would blur.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AbuseTestGroup
{
    public const string Name = "Abuse";
}

/// <summary>
/// One gateway under abuse from real sockets on 127.0.0.1, with legitimate mutual-TLS clients measured during each
/// abuse (new connection, handshake with a trusted certificate, one request that must answer 200). The gateway runs
/// with short timeouts (2 s instead of 10–120 s) and smaller size limits than the defaults, so each test is bounded
/// to a few seconds and proves the configured limit, not Kestrel's default, did the work.
/// </summary>
public sealed class AbuseFixture : IAsyncLifetime
{
    public const string Strict = "strict.localhost";

    internal TestGateway Gateway { get; } = TestGateway.Create(negotiate: true);

    public X509Certificate2 Client { get; private set; } = null!;

    internal TestBackend Backend { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Client = Gateway.Client();
        Backend = await TestBackend.StartAsync(https: false, handler: http => http.Response.WriteAsync("ok"));
        Gateway.Service.SetHostname(new HostnameDefinition
        {
            HostName = Strict, Port = Gateway.Port, ListenAddress = "127.0.0.1", CertificateId = "gateway-server", RequireClientCertificate = true,
        });
        Gateway.Service.SetLimits(new Dictionary<string, double>
        {
            ["TlsHandshakeTimeoutSeconds"] = 2,
            ["RequestHeadersTimeoutSeconds"] = 2,
            ["KeepAliveTimeoutSeconds"] = 2,
            ["MaxRequestLineSize"] = 4096,
            ["MaxRequestHeadersTotalSize"] = 16 * 1024,
            ["MaxRequestBodySize"] = 1_000_000,
            ["Http2MaxStreamsPerConnection"] = 10,
        });
        Gateway.AddApi("api", "api", Backend.Url, policy: """
            <policies>
              <inbound>
                <base />
                <choose>
                  <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.VerifyNoRevocation())">
                    <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
                  </when>
                </choose>
              </inbound>
              <backend><base /></backend>
              <outbound><base /></outbound>
              <on-error><base /></on-error>
            </policies>
            """);
        await Gateway.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Backend.DisposeAsync();
    }
}

[Collection(AbuseTestGroup.Name)]
public sealed class AbuseTests(AbuseFixture fixture, ITestOutputHelper output) : IClassFixture<AbuseFixture>
{
    private static readonly TimeSpan Abuse = TimeSpan.FromSeconds(3);
    private static readonly string[] BothHostnames = ["localhost", AbuseFixture.Strict];

    private TestGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task HandshakeFlood_WithoutCertificate_IsRefusedAndLegitimateClientsGetThrough()
    {
        var flood = Attackers.HandshakeFloodAsync(Gateway.Port, AbuseFixture.Strict, certificate: null, Abuse);
        var legitimate = await Measure(flood, BothHostnames);
        var (attempts, refused) = await flood;

        Report($"handshake flood without certificate: {attempts} handshakes, {refused} refused", legitimate);
        Assert.Equal(attempts, refused);
        AssertLegitimate(legitimate);
    }

    [Fact]
    public async Task HandshakeFlood_WithUntrustedCertificate_IsRefusedAndLegitimateClientsGetThrough()
    {
        using var untrusted = TestCertificates.Create("CN=intruder", clientAuth: true);
        var flood = Attackers.HandshakeFloodAsync(Gateway.Port, AbuseFixture.Strict, untrusted, Abuse);
        var legitimate = await Measure(flood, BothHostnames);
        var (attempts, refused) = await flood;

        Report($"handshake flood with an untrusted certificate: {attempts} handshakes, {refused} refused", legitimate);
        Assert.Equal(attempts, refused);
        AssertLegitimate(legitimate);
    }

    [Fact]
    public async Task SlowHeaders_AByteAtATime_AreCutOffByTheRequestHeadersTimeout()
    {
        const int count = 100;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var held = await OpenAsync(count, tls: true);
        var watchers = held.Select(c => c.WatchAsync(stop.Token)).ToList();
        var trickle = Task.Run(async () =>
        {
            var head = Encoding.ASCII.GetBytes("GET /api/ HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
            for (var i = 0; !stop.IsCancellationRequested && held.Any(c => c.ClosedAfter is null); i++)
            {
                foreach (var connection in held.Where(c => c.ClosedAfter is null))
                {
                    try
                    {
                        await connection.Stream.WriteAsync(head.AsMemory(Math.Min(i, head.Length - 1), 1));
                    }
                    catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                    {
                    }
                }
                await Task.Delay(200);
            }
        });
        var allClosed = Task.WhenAll(watchers);
        var legitimate = await Measure(allClosed, BothHostnames);
        await trickle;
        Dispose(held);

        Report($"slow headers: {count} connections, closed after {Closed(held)}", legitimate);
        // RequestHeadersTimeoutSeconds is 2 here (Kestrel's default would be 30 s): each one is cut off after about 2 s.
        Assert.All(held, c => Assert.InRange(c.ClosedAfter!.Value, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(5)));
        AssertLegitimate(legitimate);
    }

    [Fact]
    public async Task IdleConnections_BeforeAndAfterTheHandshake_AreClosedByTheTimeouts()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var silent = await OpenAsync(150, tls: false);
        var afterHandshake = await OpenAsync(50, tls: true);
        var all = silent.Concat(afterHandshake).ToList();
        var allClosed = Task.WhenAll(all.Select(c => c.WatchAsync(stop.Token)));
        var legitimate = await Measure(allClosed, BothHostnames);
        Dispose(all);

        Report($"idle connections: {silent.Count} without a byte closed after {Closed(silent)}, {afterHandshake.Count} after the handshake closed after {Closed(afterHandshake)}", legitimate);
        // TlsHandshakeTimeoutSeconds (2; default 10) and KeepAliveTimeoutSeconds (2; default 120) close them.
        Assert.All(all, c => Assert.InRange(c.ClosedAfter!.Value, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(5)));
        AssertLegitimate(legitimate);
    }

    [Fact]
    public async Task OversizedHeadersUrlsAndBodies_AreRefusedWithTheirStatus()
    {
        var longUrl = "GET /api/" + new string('u', 6000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
        var bigHeader = "GET /api/ HTTP/1.1\r\nHost: localhost\r\nX-Big: " + new string('h', 20_000) + "\r\n\r\n";
        var bigBody = "POST /api/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2000000\r\n\r\n";
        var statuses = new System.Collections.Concurrent.ConcurrentBag<(string Kind, int Status)>();
        var watch = Stopwatch.StartNew();
        async Task Attack()
        {
            while (watch.Elapsed < Abuse)
            {
                statuses.Add(("url", await Attackers.RawRequestAsync(Gateway.Port, null, Encoding.ASCII.GetBytes(longUrl))));
                statuses.Add(("header", await Attackers.RawRequestAsync(Gateway.Port, null, Encoding.ASCII.GetBytes(bigHeader))));
                // A trusted client (past the policy) that sends a body over the limit while it is forwarded.
                statuses.Add(("body", await Attackers.RawRequestAsync(Gateway.Port, fixture.Client, Encoding.ASCII.GetBytes(bigBody), bodyBytes: 2_000_000)));
            }
        }
        var attack = Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Attack()));
        var legitimate = await Measure(attack, BothHostnames);
        await attack;

        var summary = string.Join(", ", statuses.GroupBy(s => s).OrderBy(g => g.Key.Kind).Select(g => $"{g.Key.Kind} → {g.Key.Status} ×{g.Count()}"));
        Report($"oversized requests: {summary}", legitimate);
        // 4 KB line, 16 KB headers, 1 MB body here; Kestrel's defaults (8 KB, 32 KB, 30 MB) would let all three through.
        Assert.All(statuses.Where(s => s.Kind == "url"), s => Assert.Equal(414, s.Status));
        Assert.All(statuses.Where(s => s.Kind == "header"), s => Assert.Equal(431, s.Status));
        Assert.All(statuses.Where(s => s.Kind == "body"), s => Assert.Equal(413, s.Status));
        AssertLegitimate(legitimate);
    }

    [Fact]
    public async Task Http2RapidReset_StaysOnTheAttackersConnectionsAndLegitimateClientsGetThrough()
    {
        var results = new System.Collections.Concurrent.ConcurrentQueue<Attackers.RapidResetResult>();
        var backendBefore = fixture.Backend.Requests;
        var watch = Stopwatch.StartNew();
        async Task Attack()
        {
            while (watch.Elapsed < Abuse)
                results.Enqueue(await Attackers.RapidResetAsync(Gateway.Port, "/api/", fixture.Client, Abuse - watch.Elapsed, maxStreams: 200_000));
        }
        var attack = Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Attack()));
        var legitimate = await Measure(attack, BothHostnames);
        await attack;
        var elapsed = watch.Elapsed;

        var connections = results.ToList();
        var streams = connections.Sum(c => c.Streams);
        Report($"HTTP/2 rapid reset: {connections.Count} connection(s), {streams} streams opened and reset ({streams / elapsed.TotalSeconds:0}/s), {fixture.Backend.Requests - backendBefore - legitimate.Total} reached the backend, GOAWAY codes {string.Join(",", connections.Select(c => c.GoAwayError?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-").Distinct())}", legitimate);
        // The configured stream limit (10 here, default 100) is what the gateway advertises to every HTTP/2 client.
        Assert.All(connections, c => Assert.Equal(10, c.MaxConcurrentStreams));
        AssertLegitimate(legitimate);
    }

    private Task<TrafficResult> Measure(Task abuse, IReadOnlyList<string> hosts) =>
        LegitimateTraffic.RunAsync(Gateway, fixture.Client, "/api/", abuse, minimum: TimeSpan.FromSeconds(2), hosts);

    private async Task<List<Attackers.HeldConnection>> OpenAsync(int count, bool tls)
    {
        var connections = new List<Attackers.HeldConnection>();
        for (var i = 0; i < count; i++)
            connections.Add(await Attackers.OpenAsync(Gateway.Port, tls));
        return connections;
    }

    private static string Closed(IReadOnlyCollection<Attackers.HeldConnection> connections)
    {
        var times = connections.Select(c => c.ClosedAfter?.TotalSeconds).ToList();
        if (times.Any(t => t is null))
            return $"{times.Count(t => t is null)} still open";
        return $"{times.Min():0.0}–{times.Max():0.0} s";
    }

    private static void Dispose(IEnumerable<Attackers.HeldConnection> connections)
    {
        foreach (var connection in connections)
            connection.Dispose();
    }

    private void Report(string abuse, TrafficResult legitimate) => output.WriteLine($"{abuse}; {legitimate}");

    private void AssertLegitimate(TrafficResult legitimate)
    {
        Assert.True(legitimate.Total >= 20, $"Too few legitimate requests to judge: {legitimate}");
        Assert.True(legitimate.SuccessRate >= 0.99, legitimate + Environment.NewLine + Gateway.Diagnostics());
    }
}
