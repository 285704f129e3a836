using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;
using ApiGateway.Host.Runtime;
using ApiGateway.Host.Tests.Support;
using Microsoft.AspNetCore.Http;
using static ApiGateway.Host.Tests.Metrics.GatewayMetricsTests;

namespace ApiGateway.Host.Tests.Status;

/// <summary>
/// What an operator and an orchestrator use, over real sockets: /metrics scraped while real TLS handshakes, reloads
/// and backend failures happen; /healthz and /readyz on the loopback status listener and on the health address (which
/// never serves /status or /shutdown); and a drain: readiness turns 503 first, then new connections are refused while
/// the request in flight finishes.
/// </summary>
public sealed class ManagementEndpointTests
{
    private const string Hello = """
        <policies>
          <inbound>
            <return-response><set-status code="200" reason="OK" /><set-body>hello</set-body></return-response>
          </inbound>
        </policies>
        """;

    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Metrics_CountHandshakesReloadsAndBackendTlsFailures_AsTheyHappen()
    {
        await using var backend = await TestBackend.StartAsync(); // self-signed: refused while its chain is checked
        await using var gateway = TestGateway.Create();
        gateway.AddApi("hello", "hello", policy: Hello);
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "strict", Url = backend.Url });
        gateway.AddApi("checked", "checked", backendId: "strict");
        var server = await gateway.StartAsync(statusPort: 0);
        var listener = $"127.0.0.1:{gateway.Port}";
        var metrics = new Uri(new Uri(server.StatusUrl!), "metrics");

        var before = await Http.GetStringAsync(metrics);
        Assert.Equal(server.Snapshot.Revision, Value(before, "apigateway_configuration_revision", null));
        Assert.Equal(1, Value(before, "apigateway_ready", null));
        var serverDays = (gateway.ServerCertificate.NotAfter.ToUniversalTime() - DateTime.UtcNow).TotalDays;
        Assert.InRange(Value(before, "apigateway_certificate_expiry_days", "certificate=\"gateway-server\",kind=\"certificate\""), serverDays - 0.01, serverDays + 0.01);
        Assert.True(Value(before, "apigateway_certificate_expiry_days", "certificate=\"client-ca\",kind=\"ca\"") > 300);

        using (var client = gateway.Client())
        {
            for (var i = 0; i < 3; i++)
                Assert.Equal(200, (await gateway.SendAsync("/hello", client)).Status);
        }
        using (var probe = new TcpClient())
        {
            await probe.ConnectAsync(IPAddress.Loopback, gateway.Port); // a TCP health check: connects, sends nothing, leaves
        }
        var refused = await gateway.SendAsync("/checked/");
        Assert.Equal(500, refused.Status);

        var after = await ScrapeUntilAsync(metrics, text => Series(text, "apigateway_tls_handshake_failures_total").Count > 0);
        var handshakes = Series(after, "apigateway_tls_handshakes_total").Where(s => s.Key.StartsWith($"listener=\"{listener}\"", StringComparison.Ordinal)).Sum(s => s.Value);
        Assert.Equal(4, handshakes); // three with a certificate, one without (the /checked request)
        Assert.Equal(1, Value(after, "apigateway_tls_handshake_failures_total", $"listener=\"{listener}\",reason=\"no_client_hello\""));
        Assert.Equal(1, Value(after, "apigateway_backend_tls_failures_total", $"backend=\"{backend.Url.TrimEnd('/')}\",reason=\"certificate_chain\""));

        // A change that loads, one that is refused (the last good revision serves on), and the repair.
        gateway.Service.SetPolicy("hello", Hello.Replace("hello</set-body>", "hello again</set-body>", StringComparison.Ordinal));
        await gateway.WaitForRevisionAsync(server.Snapshot.Revision + 1);
        var served = server.Snapshot.Revision;
        File.WriteAllText(gateway.ConfigurationPath, File.ReadAllText(gateway.ConfigurationPath).Replace("hello again", "@(context.Nothing)", StringComparison.Ordinal).Replace($"\"revision\": {served}", $"\"revision\": {served + 1}", StringComparison.Ordinal));
        var refusedReload = await ScrapeUntilAsync(metrics, text => Series(text, "apigateway_configuration_reloads_total").ContainsKey("result=\"refused\""));
        Assert.Equal(1, Value(refusedReload, "apigateway_configuration_reloads_total", "result=\"loaded\""));
        Assert.Equal(1, Value(refusedReload, "apigateway_configuration_reloads_total", "result=\"refused\""));
        Assert.Equal(0, Value(refusedReload, "apigateway_configuration_last_reload_success", null));
        Assert.Equal(served, Value(refusedReload, "apigateway_configuration_revision", null));

        gateway.Service.SetPolicy("hello", Hello);
        await gateway.WaitForRevisionAsync(served + 2);
        var repaired = await Http.GetStringAsync(metrics);
        Assert.Equal(2, Value(repaired, "apigateway_configuration_reloads_total", "result=\"loaded\""));
        Assert.Equal(1, Value(repaired, "apigateway_configuration_reloads_total", "result=\"refused\""));
        Assert.Equal(1, Value(repaired, "apigateway_configuration_last_reload_success", null));
        Assert.Equal(served + 2, Value(repaired, "apigateway_configuration_revision", null));
    }

    [Fact]
    public async Task Metrics_CountRequestsByApiAndStatus_AndClientCertificateRefusalsByReason()
    {
        await using var gateway = TestGateway.Create();
        using var allowed = gateway.Client("CN=allowed");
        using var other = gateway.Client("CN=other");
        gateway.AddApi("hello", "hello", policy: Hello);
        // APIM's documented thumbprint check: a 403 by a policy that read the certificate is a refusal (reason policy).
        gateway.AddApi("thumb", "thumb", policy: $"""
            <policies>
              <inbound>
                <choose>
                  <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != &quot;{allowed.Thumbprint}&quot;)">
                    <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
                  </when>
                </choose>
                <return-response><set-status code="200" reason="OK" /></return-response>
              </inbound>
            </policies>
            """);
        // A 403 that never looked at the certificate is not a certificate refusal.
        gateway.AddApi("deny", "deny", policy: Hello.Replace("code=\"200\" reason=\"OK\"", "code=\"403\" reason=\"Forbidden\"", StringComparison.Ordinal));
        gateway.AddApi("validated", "validated", policy: $"""
            <policies>
              <inbound>
                <validate-client-certificate validate-revocation="false" validate-trust="true" validate-not-before="true" validate-not-after="true" ignore-error="false">
                  <identities><identity thumbprint="{allowed.Thumbprint}" /></identities>
                </validate-client-certificate>
                <return-response><set-status code="200" reason="OK" /></return-response>
              </inbound>
            </policies>
            """);
        var server = await gateway.StartAsync(statusPort: 0);
        var metrics = new Uri(new Uri(server.StatusUrl!), "metrics");

        for (var i = 0; i < 3; i++)
            Assert.Equal(200, (await gateway.SendAsync("/hello", allowed)).Status);
        Assert.Equal(404, (await gateway.SendAsync("/nowhere", allowed)).Status);
        Assert.Equal(200, (await gateway.SendAsync("/thumb", allowed)).Status);
        Assert.Equal(403, (await gateway.SendAsync("/thumb", other)).Status);
        Assert.Equal(403, (await gateway.SendAsync("/deny", allowed)).Status);
        Assert.Equal(200, (await gateway.SendAsync("/validated", allowed)).Status);
        Assert.Equal(403, (await gateway.SendAsync("/validated", other)).Status);
        Assert.Equal(403, (await gateway.SendAsync("/validated")).Status);

        var text = await ScrapeUntilAsync(metrics, t => Series(t, "apigateway_requests_total").Values.Sum() >= 10);
        Assert.Equal(3, Value(text, "apigateway_requests_total", "api=\"hello\",status=\"200\""));
        Assert.Equal(1, Value(text, "apigateway_requests_total", "api=\"(none)\",status=\"404\""));
        Assert.Equal(1, Value(text, "apigateway_requests_total", "api=\"thumb\",status=\"403\""));
        Assert.Equal(1, Value(text, "apigateway_requests_total", "api=\"deny\",status=\"403\""));
        Assert.Equal(2, Value(text, "apigateway_requests_total", "api=\"validated\",status=\"403\""));
        Assert.Equal(3, Value(text, "apigateway_request_duration_seconds_count", "api=\"hello\""));
        Assert.True(Value(text, "apigateway_request_duration_seconds_sum", "api=\"hello\"") > 0);
        Assert.Equal(
            new Dictionary<string, double>
            {
                ["api=\"thumb\",reason=\"policy\""] = 1,
                ["api=\"validated\",reason=\"identity_mismatch\""] = 1,
                ["api=\"validated\",reason=\"missing\""] = 1,
            },
            Series(text, "apigateway_client_certificate_refusals_total"));
    }

    [Fact]
    public async Task Metrics_StrictHostnameRefusals_AreHandshakeFailuresOfTheirListener_AndARemovedCertificateLeaves()
    {
        await using var gateway = TestGateway.Create(require: true);
        gateway.AddApi("hello", "hello", policy: Hello);
        gateway.Service.AddCertificate("spare", Core.Certificates.CertificateInput.FromCertificate(gateway.Client("CN=spare")));
        var server = await gateway.StartAsync(statusPort: 0);
        var metrics = new Uri(new Uri(server.StatusUrl!), "metrics");
        Assert.True(Series(await Http.GetStringAsync(metrics), "apigateway_certificate_expiry_days").ContainsKey("certificate=\"spare\",kind=\"certificate\""));

        var withoutCertificate = await gateway.SendAsync("/hello");
        using var stranger = Core.Tests.Support.TestCertificates.Create("CN=stranger", clientAuth: true);
        var untrusted = await gateway.SendAsync("/hello", stranger);
        gateway.Service.RemoveCertificate("spare");
        await gateway.WaitForRevisionAsync(server.Snapshot.Revision + 1);

        Assert.True(withoutCertificate.Refused && untrusted.Refused, $"{withoutCertificate} / {untrusted}");
        var text = await ScrapeUntilAsync(metrics, t => Series(t, "apigateway_tls_handshake_failures_total").Values.Sum() >= 2);
        Assert.Equal(2, Value(text, "apigateway_tls_handshake_failures_total", $"listener=\"127.0.0.1:{gateway.Port}\",reason=\"client_certificate_refused\""));
        Assert.False(Series(text, "apigateway_certificate_expiry_days").ContainsKey("certificate=\"spare\",kind=\"certificate\""), "A removed certificate's series must go.");
    }

    [Fact]
    public async Task HealthAddress_ServesProbesAndMetrics_NeverStatusOrShutdown()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("hello", "hello", policy: Hello);
        var healthPort = FreePort.Next();
        var server = await gateway.StartAsync(statusPort: 0, o => o with { HealthAddress = EndpointKey.Of("127.0.0.1", healthPort) });
        var health = new Uri($"http://127.0.0.1:{healthPort}/");
        var token = GatewayStateFile.TryRead(gateway.ConfigurationPath)!.ShutdownToken;

        using var healthz = await Http.GetAsync(new Uri(health, "healthz"));
        using var readyz = await Http.GetAsync(new Uri(health, "readyz"));
        var scraped = await Http.GetStringAsync(new Uri(health, "metrics"));
        using var status = await Http.GetAsync(new Uri(health, "status"));
        using var shutdown = new HttpRequestMessage(HttpMethod.Post, new Uri(health, "shutdown"));
        shutdown.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var shutdownResponse = await Http.SendAsync(shutdown);

        Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        Assert.Equal("ok\n", await healthz.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, readyz.StatusCode);
        Assert.StartsWith($"ready: revision {server.Snapshot.Revision}", await readyz.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, Value(scraped, "apigateway_ready", null));
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, shutdownResponse.StatusCode);
        Assert.False(server.ShutdownRequested.IsCompleted, "The health address must not stop the gateway, even with the right token.");
        Assert.Equal(server.StatusUrl, GatewayStateFile.TryRead(gateway.ConfigurationPath)!.StatusUrl); // the state file names the loopback listener only
        using var loopbackReady = await Http.GetAsync(new Uri(new Uri(server.StatusUrl!), "readyz"));
        Assert.Equal(HttpStatusCode.OK, loopbackReady.StatusCode);
    }

    [Fact]
    public async Task Drain_ReadinessTurns503First_ThenNewConnectionsAreRefused_WhileTheRequestInFlightFinishes()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestBackend.StartAsync(handler: async http =>
        {
            if (http.Request.Path == "/slow")
            {
                arrived.TrySetResult();
                await release.Task.WaitAsync(TimeSpan.FromSeconds(20));
            }
            await http.Response.WriteAsync("done");
        });
        await using var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "b", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.AddApi("live", "live", backendId: "b");
        var healthPort = FreePort.Next();
        var server = await gateway.StartAsync(statusPort: 0, o => o with
        {
            HealthAddress = EndpointKey.Of("127.0.0.1", healthPort),
            ShutdownDelay = TimeSpan.FromSeconds(1),
            DrainTimeout = TimeSpan.FromSeconds(15),
        });
        var readyz = new Uri($"http://127.0.0.1:{healthPort}/readyz");
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(readyz)).StatusCode);

        var inFlight = gateway.SendAsync("/live/slow");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var watch = Stopwatch.StartNew();
        var stopping = server.StopAsync();

        // At once: not ready, while the listeners still take connections (the shutdown delay).
        using (var notReady = await Http.GetAsync(readyz))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.StartsWith("draining", await notReady.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var duringDelay = await gateway.SendAsync("/live/fast");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"The check during the delay came too late ({watch.ElapsedMilliseconds} ms).");
        Assert.Equal(200, duringDelay.Status);

        // Then: new connections are refused (nothing listens), the request in flight is still running.
        var refusedAt = TimeSpan.Zero;
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (!await AcceptsAsync(gateway.Port))
            {
                refusedAt = watch.Elapsed;
                break;
            }
            await Task.Delay(50);
        }
        Assert.NotEqual(TimeSpan.Zero, refusedAt);
        Assert.True(refusedAt >= TimeSpan.FromSeconds(0.9), $"Connections were refused after {refusedAt.TotalMilliseconds:0} ms, before the 1 s shutdown delay was over.");
        Assert.False(inFlight.IsCompleted, "The request in flight must not be cut by the drain.");
        Assert.False(stopping.IsCompleted, "The stop must wait for the request in flight.");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Http.GetAsync(readyz)).StatusCode);

        release.SetResult();
        var finished = await inFlight;
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(200, finished.Status);
        Assert.Equal("done", finished.Body);
        Assert.Null(GatewayStateFile.TryRead(gateway.ConfigurationPath));
        Assert.Contains(gateway.Logs.Messages(28), m => m.Contains("1 s", StringComparison.Ordinal));
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(2));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<string> ScrapeUntilAsync(Uri metrics, Func<string, bool> done)
    {
        var limit = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var text = await Http.GetStringAsync(metrics);
            if (done(text) || DateTime.UtcNow > limit)
                return text;
            await Task.Delay(50);
        }
    }
}
