using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Tests.Hardening;

/// <summary>
/// Dependencies failing under a running gateway: each failure gives the affected requests a clear error (status, and
/// a JSON body naming the backend and the fix), every other API keeps serving, and the log says what happened once,
/// however many requests run into it.
/// </summary>
public sealed class FailureTests
{
    private const int Repeats = 12;

    [Fact]
    public async Task BackendRefusingConnections_Gives502NamingTheBackend_OthersServe_LoggedOnce()
    {
        await using var healthy = await TestBackend.StartAsync(https: false);
        await using var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "orders", Url = $"http://127.0.0.1:{FreePort.Next()}/" });
        gateway.AddApi("orders", "orders", backendId: "orders");
        gateway.AddApi("healthy", "healthy", healthy.Url);
        await gateway.StartAsync();

        var (broken, served) = await Alternate(gateway, "/orders/1", "/healthy/1");

        Assert.All(served, r => Assert.Equal(200, r.Status));
        Assert.All(broken, r =>
        {
            Assert.Equal(502, r.Status);
            Assert.Equal("BackendConnectionFailure", r.Json.GetProperty("error").GetString());
            Assert.Equal("orders", r.Json.GetProperty("backend").GetString());
            Assert.Contains("Set-GatewayBackend -BackendId orders -Url", r.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        });
        Assert.Single(gateway.Logs.Messages(9), m => m.Contains("orders", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BackendHanging_Gives504AfterTheTimeout_OthersServe_LoggedOnce()
    {
        using var release = new CancellationTokenSource();
        await using var hanging = await TestBackend.StartAsync(https: false, handler: async http =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, release.Token);
            }
            catch (OperationCanceledException)
            {
            }
        });
        await using var healthy = await TestBackend.StartAsync(https: false);
        await using var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "slow", Url = hanging.Url });
        gateway.AddApi("slow", "slow", backendId: "slow", policy: """
            <policies>
              <inbound><base /></inbound>
              <backend><forward-request timeout="1" /></backend>
              <outbound><base /></outbound>
              <on-error><base /></on-error>
            </policies>
            """);
        gateway.AddApi("healthy", "healthy", healthy.Url);
        await gateway.StartAsync();

        // Hanging requests in parallel, healthy ones while they hang.
        var stuck = Enumerable.Range(0, 6).Select(_ => gateway.SendAsync("/slow/x")).ToList();
        var served = new List<RawResponse>();
        for (var i = 0; i < 6; i++)
            served.Add(await gateway.SendAsync("/healthy/x"));
        var broken = await Task.WhenAll(stuck);
        release.Cancel();

        Assert.All(served, r => Assert.Equal(200, r.Status));
        Assert.All(broken, r =>
        {
            Assert.Equal(504, r.Status);
            Assert.Equal("BackendTimeout", r.Json.GetProperty("error").GetString());
            Assert.Equal("slow", r.Json.GetProperty("backend").GetString());
            Assert.Contains("timeout", r.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        });
        Assert.Single(gateway.Logs.Messages(10));
    }

    [Fact]
    public async Task BackendCertificateReplacedMidFlight_Gives500ForNewConnections_LoggedOnce_ThenRecovers()
    {
        using var good = TestCertificates.Create("CN=backend", serverAuth: true, dnsNames: ["127.0.0.1"]);
        using var wrongName = TestCertificates.Create("CN=impostor", serverAuth: true, dnsNames: ["impostor.example"]);
        var presented = good;
        await using var backend = await TestBackend.StartAsync(certificateSelector: () => Volatile.Read(ref presented), handler: async http =>
        {
            // Every answer ends its connection (GOAWAY under HTTP/2), so the next request makes a new handshake and
            // meets the certificate presented then.
            http.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionLifetimeNotificationFeature>()?.RequestClose();
            await http.Response.WriteAsync("ok");
        });
        await using var healthy = await TestBackend.StartAsync(https: false);
        await using var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "billing", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.AddApi("billing", "billing", backendId: "billing");
        gateway.AddApi("healthy", "healthy", healthy.Url);
        await gateway.StartAsync();
        Assert.Equal(200, (await gateway.SendAsync("/billing/")).Status);

        // A request already on its way over the old connection may still get through; every new connection fails.
        Volatile.Write(ref presented, wrongName);
        await UntilStatusAsync(gateway, "/billing/", 500);
        var (broken, served) = await Alternate(gateway, "/billing/", "/healthy/");
        Volatile.Write(ref presented, good);
        var recovered = await UntilStatusAsync(gateway, "/billing/", 200);

        Assert.All(served, r => Assert.Equal(200, r.Status));
        Assert.All(broken, r =>
        {
            Assert.Equal(500, r.Status);
            Assert.Equal("BackendCertificateInvalid", r.Json.GetProperty("error").GetString());
            Assert.Equal("billing", r.Json.GetProperty("backend").GetString());
            Assert.Contains("-SkipCertificateNameValidation", r.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        });
        Assert.Equal(200, recovered.Status);
        Assert.Single(gateway.Logs.Messages(8));
        Assert.Single(gateway.Logs.Messages(25), m => m.Contains("billing", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("deleted")]
    [InlineData("garbage")]
    public async Task LinkedCertificateFileBroken_LastGoodCertificateServes_RefusalLoggedOnce(string damage)
    {
        using var credential = TestCertificates.Create("CN=gateway-credential", clientAuth: true);
        await using var backend = await TestBackend.StartAsync(requireClientThumbprints: [credential.Thumbprint]);
        await using var gateway = TestGateway.Create();
        var pem = gateway.Folder.Write("credential.pem", credential.ExportCertificatePem() + "\n" + TestCertificates.KeyPem(credential));
        gateway.Service.AddCertificate("credential", CertificateInput.Linked(pem));
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "partner", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.AddApi("partner", "partner", backendId: "partner");
        gateway.Service.SetGatewayCredential("partner", "credential", null);
        await gateway.StartAsync();
        Assert.Equal(credential.Thumbprint, (await gateway.SendAsync("/partner/")).Json.GetProperty("clientCertificate").GetString());

        if (damage == "deleted")
            File.Delete(pem);
        else
            File.WriteAllText(pem, "this is not a certificate\n");
        await WaitForReloadErrorAsync(gateway);
        // Many poll ticks (200 ms here) and requests later, the refusal is still logged once.
        var during = new List<RawResponse>();
        for (var i = 0; i < Repeats; i++)
        {
            during.Add(await gateway.SendAsync("/partner/"));
            await Task.Delay(100);
        }

        Assert.All(during, r => Assert.Equal(credential.Thumbprint, r.Json.GetProperty("clientCertificate").GetString()));
        var refusal = Assert.Single(gateway.Logs.Messages(2));
        Assert.Contains("'credential'", refusal, StringComparison.Ordinal);
        var status = gateway.Server!.GetStatus();
        Assert.Contains(status.LastReloadError!.Errors, e => e.Contains("'credential'", StringComparison.Ordinal) && e.Contains(pem, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ConfigurationReplacedByGarbage_EveryApiKeepsServing_RefusalLoggedOnce_ThenRecovers()
    {
        await using var backend = await TestBackend.StartAsync(https: false);
        await using var gateway = TestGateway.Create();
        gateway.AddApi("a", "a", backend.Url);
        gateway.AddApi("b", "b", backend.Url);
        var server = await gateway.StartAsync();
        var good = File.ReadAllBytes(gateway.ConfigurationPath);

        File.WriteAllText(gateway.ConfigurationPath, "{ \"schemaVersion\": 1, \"service\": garbage");
        await WaitForReloadErrorAsync(gateway);
        var (a, b) = await Alternate(gateway, "/a/", "/b/");

        Assert.All(a.Concat(b), r => Assert.Equal(200, r.Status));
        var refusal = Assert.Single(gateway.Logs.Messages(2));
        Assert.Contains(gateway.ConfigurationPath, refusal, StringComparison.Ordinal);
        Assert.Contains("line 1", server.GetStatus().LastReloadError!.Errors[0], StringComparison.Ordinal);

        File.WriteAllBytes(gateway.ConfigurationPath, good);
        var limit = DateTime.UtcNow.AddSeconds(10);
        while (!gateway.Logs.Messages(22).Any() && DateTime.UtcNow < limit)
            await Task.Delay(20);
        Assert.Single(gateway.Logs.Messages(22));
        Assert.Null(server.Runtime.LastReloadError);
    }

    /// <summary>Requests to <paramref name="broken"/> and <paramref name="healthy"/> in turn, <see cref="Repeats"/> each.</summary>
    private static async Task<(List<RawResponse> Broken, List<RawResponse> Healthy)> Alternate(TestGateway gateway, string broken, string healthy)
    {
        var a = new List<RawResponse>();
        var b = new List<RawResponse>();
        for (var i = 0; i < Repeats; i++)
        {
            a.Add(await gateway.SendAsync(broken));
            b.Add(await gateway.SendAsync(healthy));
        }
        return (a, b);
    }

    private static async Task<RawResponse> UntilStatusAsync(TestGateway gateway, string path, int status)
    {
        var limit = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var response = await gateway.SendAsync(path);
            if (response.Status == status || DateTime.UtcNow > limit)
                return response;
            await Task.Delay(20);
        }
    }

    private static async Task WaitForReloadErrorAsync(TestGateway gateway)
    {
        var limit = DateTime.UtcNow.AddSeconds(10);
        while (gateway.Server!.Runtime.LastReloadError is null)
        {
            Assert.True(DateTime.UtcNow < limit, "The change was never refused." + Environment.NewLine + gateway.Diagnostics());
            await Task.Delay(20);
        }
    }
}
