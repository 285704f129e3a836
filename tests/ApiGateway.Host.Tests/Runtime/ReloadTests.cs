using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Tests.Runtime;

/// <summary>Live reload: every change the cmdlets make (and linked-file rotation) reaches a running gateway.</summary>
public sealed class ReloadTests
{
    private static string Outbound(string version) =>
        PolicyTemplates.Inheriting(outbound: $"""<set-header name="x-version" exists-action="override"><value>{version}</value></set-header>""");

    [Fact]
    public async Task PolicyChange_TakesEffectWithinOneSecond_AndInFlightRequestsFinish()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestBackend.StartAsync(handler: async http =>
        {
            if (http.Request.Path == "/slow")
            {
                arrived.TrySetResult();
                await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
            await http.Response.WriteAsync("done");
        });
        await using var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "b", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.AddApi("live", "live", backendId: "b", policy: Outbound("1"));
        await gateway.StartAsync();

        var inFlight = gateway.SendAsync("/live/slow");
        // The slow request is at the backend, so it began on the old revision.
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var watch = Stopwatch.StartNew();
        gateway.Service.SetPolicy("live", Outbound("2"));
        string? version = null;
        while (version != "2" && watch.Elapsed < TimeSpan.FromSeconds(5))
            version = (await gateway.SendAsync("/live/fast")).Header("x-version");
        watch.Stop();
        release.SetResult();
        var slow = await inFlight;

        Assert.Equal("2", version);
        // The promise is "within a second" (bench measures the figure); bounded loosely here so a busy CI machine
        // does not fail a correct gateway, and still far below the 5 s the loop would wait.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"The change took {watch.ElapsedMilliseconds} ms to take effect.");
        Assert.Equal(200, slow.Status);
        Assert.Equal("done", slow.Body);
        Assert.Equal("1", slow.Header("x-version")); // it started on the old revision and finished on it
    }

    [Fact]
    public async Task InvalidChange_IsRefusedAndReported_WhileTheLastGoodOneServes()
    {
        await using var backend = await TestBackend.StartAsync();
        await using var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "b", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.AddApi("api", "api", backendId: "b", policy: Outbound("good"));
        var server = await gateway.StartAsync();
        var good = server.Snapshot.Revision;

        // The management operations check the XML, not the C# inside: the gateway is the one that refuses this.
        gateway.Service.SetPolicy("api", Outbound("@(System.IO.File.ReadAllText(\"/etc/hostname\"))"));
        var limit = DateTime.UtcNow.AddSeconds(10);
        while (server.Runtime.LastReloadError is null && DateTime.UtcNow < limit)
            await Task.Delay(20);

        var error = server.Runtime.LastReloadError;
        Assert.NotNull(error);
        Assert.Equal(good + 1, error.Revision);
        Assert.Contains(error.Errors, e => e.Contains("System.IO.File", StringComparison.Ordinal) && e.Contains("API 'api'", StringComparison.Ordinal));
        var status = server.GetStatus();
        Assert.Equal(good, status.Revision);
        Assert.Same(error, status.LastReloadError);
        Assert.Equal("good", (await gateway.SendAsync("/api")).Header("x-version"));
        Assert.Single(gateway.Logs.Messages(2)); // refused once, logged once (the retries do not repeat it)

        gateway.Service.SetPolicy("api", Outbound("fixed"));
        await gateway.WaitForRevisionAsync(good + 2);
        Assert.Null(server.Runtime.LastReloadError);
        Assert.Equal("fixed", (await gateway.SendAsync("/api")).Header("x-version"));
    }

    [Fact]
    public async Task RotatingTheGatewayCredential_UnderLoad_FailsNoRequest()
    {
        using var before = TestCertificates.Create("CN=credential-2025", clientAuth: true);
        using var after = TestCertificates.Create("CN=credential-2026", clientAuth: true);
        await using var backend = await TestBackend.StartAsync(requireClientThumbprints: [before.Thumbprint, after.Thumbprint]);
        await using var gateway = TestGateway.Create();
        gateway.Service.AddCertificate("backend-credential", CertificateInput.FromCertificate(before));
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "b", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.AddApi("orders", "orders", backendId: "b");
        gateway.Service.SetGatewayCredential("orders", "backend-credential", null);
        var server = await gateway.StartAsync();

        // Four clients on keep-alive connections, each until it has seen the rotated credential 200 times after the
        // rotation, or at most 20,000 requests or 10 s. (A fixed small count let fast clients finish before the reload
        // reached the backend on a busy machine.)
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var rotated = false;
        var afterRotation = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        async Task Client()
        {
            using var handler = new SocketsHttpHandler
            {
                SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, c, _, _) => TlsClient.ChainsTo(c, gateway.Ca) },
            };
            using var http = new HttpClient(handler) { BaseAddress = new Uri($"https://localhost:{gateway.Port}/"), Timeout = TimeSpan.FromSeconds(5) };
            for (var i = 0; i < 20_000 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    using var response = await http.GetAsync("orders/item", stop.Token);
                    var body = await response.Content.ReadAsStringAsync(stop.Token);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Enqueue($"{(int)response.StatusCode} {body}");
                        continue;
                    }
                    var thumbprint = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("clientCertificate").GetString()!;
                    seen.AddOrUpdate(thumbprint, 1, (_, n) => n + 1);
                    if (Volatile.Read(ref rotated) && thumbprint == after.Thumbprint && Interlocked.Increment(ref afterRotation) > 200)
                        return;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue(ex.Message);
                }
            }
        }

        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(Client)).ToArray();
        // Rotate once the old credential has served a good number of requests on every kind of connection state.
        while (seen.GetValueOrDefault(before.Thumbprint) < 100 && !stop.IsCancellationRequested)
            await Task.Delay(10);
        gateway.Service.ReplaceCertificate("backend-credential", CertificateInput.FromCertificate(after));
        Volatile.Write(ref rotated, true);
        await Task.WhenAll(clients);

        Assert.Empty(failures);
        Assert.True(seen.ContainsKey(before.Thumbprint));
        Assert.True(seen.ContainsKey(after.Thumbprint), "The rotated credential never reached the backend.");
        Assert.True(server.Snapshot.Revision > 0);
    }

    [Fact]
    public async Task LinkedServerCertificate_KubernetesSymlinkSwap_ReachesTheNextHandshake()
    {
        await using var gateway = TestGateway.Create();
        var volume = Directory.CreateDirectory(gateway.Folder.File("tls")).FullName;
        using var first = TestCertificates.Create("CN=localhost", gateway.Ca, serverAuth: true, dnsNames: ["localhost"]);
        using var second = TestCertificates.Create("CN=localhost", gateway.Ca, serverAuth: true, dnsNames: ["localhost"]);
        WriteVersion(volume, "..2026_01", first);
        File.CreateSymbolicLink(Path.Combine(volume, "..data"), "..2026_01");
        File.CreateSymbolicLink(Path.Combine(volume, "tls.crt"), "..data/tls.crt");
        File.CreateSymbolicLink(Path.Combine(volume, "tls.key"), "..data/tls.key");
        gateway.Service.AddCertificate("linked-server", CertificateInput.Linked(Path.Combine(volume, "tls.crt"), Path.Combine(volume, "tls.key")));
        gateway.Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "linked-server" });
        var server = await gateway.StartAsync();
        var revision = server.Snapshot.Revision;
        Assert.Equal(first.Thumbprint, (await gateway.SendAsync("/none")).ServerThumbprint);

        // What the kubelet does: a new timestamped folder, a new ..data link beside the old, renamed over it.
        WriteVersion(volume, "..2026_02", second);
        File.CreateSymbolicLink(Path.Combine(volume, "..data_tmp"), "..2026_02");
        var watch = Stopwatch.StartNew();
        Rename(Path.Combine(volume, "..data_tmp"), Path.Combine(volume, "..data"));
        string? presented = null;
        while (presented != second.Thumbprint && watch.Elapsed < TimeSpan.FromSeconds(5))
            presented = (await gateway.SendAsync("/none")).ServerThumbprint;

        Assert.Equal(second.Thumbprint, presented);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"The rotation took {watch.ElapsedMilliseconds} ms to take effect.");
        Assert.Equal(revision, server.Snapshot.Revision); // the configuration did not change; its linked file did
    }

    [Fact]
    public async Task HalfWrittenLinkedFile_IsRetried_WhileTheOldCertificateServes()
    {
        await using var gateway = TestGateway.Create();
        using var first = TestCertificates.Create("CN=localhost", gateway.Ca, serverAuth: true, dnsNames: ["localhost"]);
        using var second = TestCertificates.Create("CN=localhost", gateway.Ca, serverAuth: true, dnsNames: ["localhost"]);
        var pem = gateway.Folder.Write("server.pem", first.ExportCertificatePem() + "\n" + TestCertificates.KeyPem(first));
        gateway.Service.AddCertificate("linked-server", CertificateInput.Linked(pem));
        gateway.Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "linked-server" });
        var server = await gateway.StartAsync();

        var full = second.ExportCertificatePem() + "\n" + TestCertificates.KeyPem(second);
        File.WriteAllText(pem, full[..(full.Length / 3)]);
        var limit = DateTime.UtcNow.AddSeconds(5);
        while (server.Runtime.LastReloadError is null && DateTime.UtcNow < limit)
            await Task.Delay(20);
        Assert.NotNull(server.Runtime.LastReloadError);
        Assert.Equal(first.Thumbprint, (await gateway.SendAsync("/none")).ServerThumbprint);

        File.WriteAllText(pem, full);
        string? presented = null;
        limit = DateTime.UtcNow.AddSeconds(5);
        while (presented != second.Thumbprint && DateTime.UtcNow < limit)
            presented = (await gateway.SendAsync("/none")).ServerThumbprint;
        Assert.Equal(second.Thumbprint, presented);
        Assert.Null(server.Runtime.LastReloadError);
    }

    [Fact]
    public async Task AddingAndRemovingAPort_RebindsLive_OtherPortsKeepServing()
    {
        await using var gateway = TestGateway.Create();
        var server = await gateway.StartAsync();
        var secondPort = FreePort.Next();

        gateway.Service.SetHostname(new HostnameDefinition { HostName = "second.test", Port = secondPort, ListenAddress = "127.0.0.1", CertificateId = "gateway-server" });
        await gateway.WaitForRevisionAsync(server.Snapshot.Revision + 1);
        var added = await gateway.SendAsync("/x", port: secondPort, host: "second.test");
        Assert.True(added.Status == 404, added + Environment.NewLine + gateway.Diagnostics());
        Assert.Contains(server.BoundAddresses, a => a.EndsWith(":" + secondPort, StringComparison.Ordinal));

        gateway.Service.RemoveHostname("second.test");
        await gateway.WaitForRevisionAsync(server.Snapshot.Revision + 1);
        // The new revision serves at once; the removed port's listener then drains and closes.
        var removed = await gateway.SendAsync("/x", port: secondPort, host: "second.test");
        var limit = DateTime.UtcNow.AddSeconds(10);
        while (!removed.ConnectionRefused && DateTime.UtcNow < limit)
        {
            Assert.True(removed.Refused, "A removed hostname must not answer: " + removed);
            await Task.Delay(20);
            removed = await gateway.SendAsync("/x", port: secondPort, host: "second.test");
        }
        Assert.True(removed.ConnectionRefused, removed.ToString());
        Assert.Equal(404, (await gateway.SendAsync("/x")).Status);
    }

    [Fact]
    public async Task UnchangedBackends_KeepTheirConnectionPools_AcrossReloads()
    {
        await using var backend = await TestBackend.StartAsync();
        await using var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "b", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.AddApi("one", "one", backendId: "b");
        var server = await gateway.StartAsync();
        var invokers = server.Runtime.Services.Invokers;
        Assert.Equal(200, (await gateway.SendAsync("/one")).Status);
        var created = invokers.Created;

        gateway.AddApi("two", "two", backendId: "b");
        await gateway.WaitForRevisionAsync(server.Snapshot.Revision + 1);
        Assert.Equal(200, (await gateway.SendAsync("/two")).Status);
        Assert.Equal(created, invokers.Created);

        gateway.Service.SetBackend("b", new BackendDefinition { SkipCertificateNameValidation = true });
        await gateway.WaitForRevisionAsync(server.Snapshot.Revision + 1);
        Assert.Equal(200, (await gateway.SendAsync("/two")).Status);
        Assert.Equal(created + 1, invokers.Created);
    }

    [Fact]
    public async Task StartingWithAnInvalidConfiguration_ListsEveryProblem()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("a", "a", "https://a.example/", policy: Outbound("@(System.Environment.MachineName)"));
        gateway.AddApi("b", "b", "https://b.example/", policy: Outbound("@(context.Nope)"));

        var error = await Assert.ThrowsAsync<GatewayStartException>(() => gateway.StartAsync());

        Assert.Equal(2, error.ExitCode);
        Assert.Contains(error.Errors, e => e.Contains("API 'a'", StringComparison.Ordinal) && e.Contains("System.Environment", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("API 'b'", StringComparison.Ordinal) && e.Contains("Nope", StringComparison.Ordinal));
    }

    private static void WriteVersion(string volume, string name, X509Certificate2 certificate)
    {
        var folder = Directory.CreateDirectory(Path.Combine(volume, name)).FullName;
        File.WriteAllText(Path.Combine(folder, "tls.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "tls.key"), TestCertificates.KeyPem(certificate));
    }

    private static void Rename(string from, string to) => Deploy.KubeletVolume.Rename(from, to);
}
