using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;
using Xunit.Abstractions;

namespace ApiGateway.Host.Tests.Deploy;

/// <summary>
/// Scale-out as deploy/kubernetes runs it, on loopback: the configuration and its store laid out exactly as the
/// kubelet mounts a projected ConfigMap + Secret volume (timestamped folder, the <c>..data</c> symlink, top-level links
/// into it, read-only files), two stateless gateway processes serving it (each on its own loopback address, as two
/// pods on their own IPs), HAProxy in TCP mode in front (health-checking /readyz, as a Service's endpoints do), and a
/// certificate rotated by the kubelet's atomic swap of <c>..data</c> while clients open new TLS connections through
/// HAProxy without pause.
/// </summary>
public sealed class ScaleOutTests(ITestOutputHelper output)
{
    private const string Hello = """
        <policies>
          <inbound>
            <return-response><set-status code="200" reason="OK" /><set-body>hello</set-body></return-response>
          </inbound>
        </policies>
        """;

    private static string HostPath => Path.Combine(AppContext.BaseDirectory, "ApiGateway.Host.dll");

    [ToolFact("haproxy", "haproxy")]
    public async Task TwoInstances_BehindHAProxy_ServeTheRotatedCertificateWithin2Seconds_WithoutAFailedRequest()
    {
        var haproxy = Tools.Require("haproxy", "haproxy");
        using var folder = new TempFolder();
        var ca = TestCertificates.CreateCa("CN=Scale-out CA");
        using var first = TestCertificates.Create("CN=localhost", ca, serverAuth: true, dnsNames: ["localhost"]);
        using var second = TestCertificates.Create("CN=localhost", ca, serverAuth: true, dnsNames: ["localhost"]);
        var port = FreePort.Next();

        // The operator's copy, edited with the cmdlets' operations; what kubectl apply publishes from it.
        var source = Directory.CreateDirectory(folder.File("source")).FullName;
        var service = new GatewayService(Path.Combine(source, "gateway.json"));
        service.Open("scale-out");
        service.AddCertificate("server-tls", CertificateInput.FromCertificate(first));
        service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = port, ListenAddress = "127.0.0.1", CertificateId = "server-tls" });
        service.NewApi(new ApiDefinition { ApiId = "hello", Path = "hello", ServiceUrl = "https://127.0.0.1:1/" });
        service.SetPolicy("hello", Hello);
        var volume = Directory.CreateDirectory(folder.File("volume")).FullName;
        KubeletVolume.Project(volume, source);
        var mountedBefore = KubeletVolume.Listing(volume);

        var instances = new[] { "127.0.0.2", "127.0.0.3" }.Select(address => new Instance(address, FreePort.Next(), folder.File($"gateway-{address}.log"))).ToList();
        var processes = new List<Process>();
        Process? balancer = null;
        try
        {
            foreach (var instance in instances)
                processes.Add(StartGateway(Path.Combine(volume, "gateway.json"), instance));
            foreach (var instance in instances)
                await WaitReadyAsync(instance, processes);

            var front = FreePort.Next();
            var stats = folder.File("haproxy.sock");
            var configuration = folder.Write("haproxy.cfg", HAProxyConfiguration(front, port, instances, stats));
            balancer = Process.Start(new ProcessStartInfo(haproxy, ["-f", configuration, "-db"]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true })!;
            await WaitBothUpAsync(stats, balancer);

            using var stop = new CancellationTokenSource();
            var results = new System.Collections.Concurrent.ConcurrentQueue<(TimeSpan At, RawResponse Response)>();
            var clock = Stopwatch.StartNew();
            var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                    results.Enqueue((clock.Elapsed, await TlsClient.SendAsync(front, "/hello/", null, ca)));
            })).ToList();
            await Task.Delay(1000);

            // Rotation as an operator does it: Set-GatewayCertificate on the copy, then kubectl apply; the kubelet swaps ..data.
            service.ReplaceCertificate("server-tls", CertificateInput.FromCertificate(second));
            var swappedAt = clock.Elapsed;
            KubeletVolume.Project(volume, source);
            var switched = new Dictionary<string, TimeSpan>();
            while (switched.Count < instances.Count && clock.Elapsed - swappedAt < TimeSpan.FromSeconds(10))
            {
                foreach (var instance in instances.Where(i => !switched.ContainsKey(i.Address)))
                {
                    if (await ServerThumbprintAsync(instance.Address, port, ca) == second.Thumbprint)
                        switched[instance.Address] = clock.Elapsed - swappedAt;
                }
                await Task.Delay(25);
            }
            var switchedAt = clock.Elapsed;
            await Task.Delay(1000);
            await stop.CancelAsync();
            await Task.WhenAll(load);

            var all = results.ToList();
            var failed = all.Where(r => r.Response.Refused || r.Response.Status != 200).ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rotation: {string.Join(", ", instances.Select(i => $"{i.Address} {(switched.TryGetValue(i.Address, out var t) ? $"{t.TotalMilliseconds:0} ms" : "never")}"))} after the swap; {all.Count} requests through HAProxy ({all.Count / clock.Elapsed.TotalSeconds:0}/s, each a new TLS connection), {failed.Count} failed"));
            Assert.True(failed.Count == 0, $"{failed.Count} of {all.Count} requests failed, e.g. {failed.FirstOrDefault().Response}");
            Assert.True(all.Count >= 100, $"Only {all.Count} requests ran: the load did not load.");
            foreach (var instance in instances)
            {
                Assert.True(switched.TryGetValue(instance.Address, out var took), $"{instance.Address} never served the new certificate. Its log:{Environment.NewLine}{ReadLog(instance)}");
                Assert.True(took <= TimeSpan.FromSeconds(2), $"{instance.Address} took {took.TotalMilliseconds:0} ms to serve the new certificate.");
            }
            Assert.All(all.Where(r => r.At < swappedAt), r => Assert.Equal(first.Thumbprint, r.Response.ServerThumbprint));
            Assert.All(all.Where(r => r.At > switchedAt), r => Assert.Equal(second.Thumbprint, r.Response.ServerThumbprint));
            Assert.Contains(all, r => r.At > switchedAt);
            // Stateless: the instances wrote nothing into the mounted volume (it is read-only in a pod).
            Assert.Equal(KubeletVolume.Listing(volume).Count, mountedBefore.Count);
            Assert.DoesNotContain(KubeletVolume.Listing(volume), f => f.EndsWith(".lock", StringComparison.Ordinal) || f.EndsWith(".state.json", StringComparison.Ordinal));
        }
        finally
        {
            if (balancer is { HasExited: false })
                balancer.Kill();
            balancer?.Dispose();
            foreach (var process in processes)
            {
                if (!process.HasExited)
                    process.Kill(entireProcessTree: true);
                process.Dispose();
            }
        }
    }

    private sealed record Instance(string Address, int HealthPort, string LogPath);

    private static Process StartGateway(string configuration, Instance instance)
    {
        var start = new ProcessStartInfo(DotnetLocator.Find(HostPath, null)) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            HostPath, "run", "--config", configuration, "--no-state-file", "--status-port", "none",
            "--listen-address", instance.Address, "--health-address", $"{instance.Address}:{instance.HealthPort}", "--log-file", instance.LogPath,
        })
        {
            start.ArgumentList.Add(argument);
        }
        return Process.Start(start)!;
    }

    private static async Task WaitReadyAsync(Instance instance, List<Process> processes)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var limit = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < limit && processes.All(p => !p.HasExited))
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://{instance.Address}:{instance.HealthPort}/readyz"));
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"The gateway on {instance.Address} did not become ready. Its log:{Environment.NewLine}{ReadLog(instance)}");
    }

    private static string ReadLog(Instance instance)
    {
        try
        {
            using var stream = new FileStream(instance.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(stream).ReadToEnd();
        }
        catch (IOException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>TCP passthrough (the client's TLS reaches the gateways), round robin, /readyz checked every 200 ms.</summary>
    private static string HAProxyConfiguration(int front, int port, IReadOnlyList<Instance> instances, string stats) =>
        string.Create(CultureInfo.InvariantCulture, $"""
            global
                maxconn 2000
                stats socket {stats} mode 600 level admin
            defaults
                mode tcp
                timeout connect 2s
                timeout client 10s
                timeout server 10s
            frontend gateways
                bind 127.0.0.1:{front}
                default_backend pods
            backend pods
                balance roundrobin
                option httpchk GET /readyz
                http-check expect status 200
            {string.Join(Environment.NewLine, instances.Select((i, n) => $"    server pod{n} {i.Address}:{port} check port {i.HealthPort} inter 200ms fall 2 rise 1"))}

            """);

    /// <summary>Waits until HAProxy's health checks see both instances UP (its stats socket, <c>show stat</c>).</summary>
    private static async Task WaitBothUpAsync(string statsSocket, Process balancer)
    {
        var limit = DateTime.UtcNow.AddSeconds(20);
        var last = string.Empty;
        while (DateTime.UtcNow < limit && !balancer.HasExited)
        {
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(statsSocket));
                await socket.SendAsync("show stat\n"u8.ToArray());
                using var stream = new NetworkStream(socket, ownsSocket: false);
                last = await new StreamReader(stream, Encoding.ASCII).ReadToEndAsync();
                var servers = last.Split('\n').Where(l => l.StartsWith("pods,pod", StringComparison.Ordinal)).ToList();
                if (servers.Count == 2 && servers.All(l => l.Split(',')[17] == "UP"))
                    return;
            }
            catch (SocketException)
            {
                // Not started yet.
            }
            await Task.Delay(100);
        }
        var error = balancer.HasExited ? await balancer.StandardError.ReadToEndAsync() : string.Empty;
        throw new TimeoutException($"HAProxy did not see both gateways UP. Last stats:{Environment.NewLine}{last}{error}");
    }

    /// <summary>The certificate one instance presents in a handshake for localhost.</summary>
    private static async Task<string?> ServerThumbprintAsync(string address, int port, X509Certificate2 ca)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Parse(address), port, timeout.Token);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, _) => TlsClient.ChainsTo(certificate, ca),
        }, timeout.Token);
        return ssl.RemoteCertificate is { } remote ? X509CertificateLoader.LoadCertificate(remote.GetRawCertData()).Thumbprint : null;
    }
}

/// <summary>
/// What the kubelet does with a projected ConfigMap + Secret volume (its AtomicWriter): each version of the files in a
/// new timestamped folder <c>..&lt;timestamp&gt;</c>, the <c>..data</c> symlink pointing at the current one, swapped by
/// renaming a new link over it, one top-level symlink per first path element (<c>gateway.json -&gt; ..data/gateway.json</c>,
/// <c>gateway.store -&gt; ..data/gateway.store</c>), files with the volume's defaultMode (0440), the old folder removed
/// after the swap. The projection is deploy/kubernetes's: the ConfigMap's gateway.json and the Secret's store files
/// under gateway.store/.
/// </summary>
internal static class KubeletVolume
{
    private const UnixFileMode DefaultMode = UnixFileMode.UserRead | UnixFileMode.GroupRead;

    public static void Project(string volume, string source)
    {
        var version = ".." + DateTime.UtcNow.ToString("yyyy_MM_dd_HH_mm_ss.fffffff", CultureInfo.InvariantCulture);
        var target = Path.Combine(volume, version);
        Directory.CreateDirectory(target);
        File.Copy(Path.Combine(source, "gateway.json"), Path.Combine(target, "gateway.json"));
        var store = Path.Combine(source, "gateway.store");
        foreach (var file in Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(target, "gateway.store", Path.GetRelativePath(store, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
        if (!OperatingSystem.IsWindows())
        {
            foreach (var file in Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories))
                File.SetUnixFileMode(file, DefaultMode);
        }

        var data = Path.Combine(volume, "..data");
        var old = Directory.Exists(data) ? new DirectoryInfo(data).LinkTarget : null;
        var temporary = Path.Combine(volume, "..data_tmp");
        File.CreateSymbolicLink(temporary, version);
        Rename(temporary, data);
        foreach (var name in new[] { "gateway.json", "gateway.store" })
        {
            var link = Path.Combine(volume, name);
            if (!File.Exists(link) && !Directory.Exists(link))
                File.CreateSymbolicLink(link, Path.Combine("..data", name));
        }
        if (old is not null)
            Directory.Delete(Path.Combine(volume, old), recursive: true);
    }

    /// <summary>Every path under the volume (links not followed), relative.</summary>
    public static List<string> Listing(string volume) =>
        Directory.EnumerateFileSystemEntries(volume, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(p => Path.GetRelativePath(volume, p)).Order(StringComparer.Ordinal).ToList();

    /// <summary>rename(2), as the kubelet's atomic writer does: replaces the destination link atomically (File.Move does not move a link to a folder over another).</summary>
    internal static void Rename(string from, string to)
    {
        if (rename(from, to) != 0)
            throw new IOException($"rename('{from}', '{to}') failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}.");
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true, CharSet = System.Runtime.InteropServices.CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int rename(string oldpath, string newpath);
}
