using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace ApiGateway.Benchmarks.Tools;

/// <summary>
/// Rotation under load: the gateway host runs as a child process over real mutual TLS, in front of a backend that
/// requires a client certificate from the test CA; a few keep-alive connections send requests for a bounded time
/// while the gateway's credential is rotated through the Core operations, several times: a new certificate is added,
/// the API's gateway credential switched to it (SetGatewayCredential), the old one removed, and the new one's content
/// replaced (ReplaceCertificate). Reports requests made and failed (must be 0) and how long each change took to reach
/// the backend (the file write until the backend first sees the new client certificate).
/// </summary>
internal static class RotationRun
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var hostDll = Path.GetFullPath(args.Optional("host") ?? Path.Combine(AppContext.BaseDirectory, "ApiGateway.Host.dll"));
        var seconds = args.Int("seconds", 15);
        var connections = args.Int("connections", 4);
        var rounds = args.Int("rounds", 4);
        var output = args.Optional("out");
        if (!File.Exists(hostDll))
            throw new ArgumentException($"No gateway host at '{hostDll}'; give --host <path of ApiGateway.Host.dll>.");

        using var folder = new BenchFolder("rotation");
        using var ca = TestCertificates.CreateCa("CN=Rotation CA, O=Contoso");
        using var backendServer = TestCertificates.Create("CN=backend", serverAuth: true, dnsNames: ["localhost", "127.0.0.1"]);
        using var gatewayServer = TestCertificates.Create("CN=localhost", ca, serverAuth: true, dnsNames: ["localhost", "127.0.0.1"]);
        using var client = TestCertificates.Create("CN=load-client", ca, clientAuth: true);

        await using var backend = await RotationBackend.StartAsync(backendServer, ca).ConfigureAwait(false);
        var gatewayPort = FreePort();
        var service = new GatewayService(folder.File("gateway.json"));
        service.Open("rotation");
        service.AddCertificate("server", CertificateInput.FromPfxBytes(TestCertificates.Pfx(gatewayServer)));
        service.AddCaCertificate("ca", CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(ca.RawData)));
        service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = gatewayPort, ListenAddress = "127.0.0.1", CertificateId = "server", NegotiateClientCertificate = true, RequireClientCertificate = true });
        service.NewBackend(new BackendDefinition { BackendId = "backend", Url = backend.Url, SkipCertificateChainValidation = true });
        service.NewApi(new ApiDefinition { ApiId = "api", DisplayName = "rotation", Path = string.Empty, BackendId = "backend" });
        service.SetPolicy("api", PeerSetup.AllowListPolicy([client.Thumbprint.ToLowerInvariant()], "choose"));
        var credential = NewCredential(ca);
        service.AddCertificate("credential-0", CertificateInput.FromPfxBytes(credential));
        service.SetGatewayCredential("api", "credential-0", null);

        using var caPublic = X509CertificateLoader.LoadCertificate(ca.RawData);
        using var gateway = StartGateway(hostDll, service.ConfigurationPath);
        try
        {
            await WaitListeningAsync(gatewayPort, gateway, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            // Warm: the first requests pay JIT and the first backend connection.
            var warm = new LoadCounters();
            using (var warmStop = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
                await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => LoadClient.RunAsync(gatewayPort, client, caPublic, warm, warmStop.Token))).ConfigureAwait(false);
            if (warm.Ok == 0)
                throw new InvalidOperationException("The gateway answered no request during the warm-up: " + warm.Describe());

            var counters = new LoadCounters();
            var latencies = new List<(string Change, double Milliseconds)>();
            var clock = Stopwatch.StartNew();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            var load = Task.WhenAll(Enumerable.Range(0, connections).Select(_ => LoadClient.RunAsync(gatewayPort, client, caPublic, counters, stop.Token)));
            var unobserved = 0;
            for (var round = 1; round <= rounds; round++)
            {
                var roundEnd = TimeSpan.FromSeconds(seconds * round / (double)rounds);
                var id = "credential-" + round.ToString(CultureInfo.InvariantCulture);
                var previous = "credential-" + (round - 1).ToString(CultureInfo.InvariantCulture);

                var pfx = NewCredential(ca);
                service.AddCertificate(id, CertificateInput.FromPfxBytes(pfx));
                var expected = service.GetCertificate(id).Thumbprint;
                var started = Stopwatch.GetTimestamp();
                service.SetGatewayCredential("api", id, null);
                unobserved += await ObserveAsync(backend, expected, started, $"round {round}: SetGatewayCredential to '{id}'", latencies).ConfigureAwait(false);
                service.RemoveCertificate(previous);

                var replacement = NewCredential(ca);
                started = Stopwatch.GetTimestamp();
                var replaced = service.ReplaceCertificate(id, CertificateInput.FromPfxBytes(replacement)).Value.Thumbprint;
                unobserved += await ObserveAsync(backend, replaced, started, $"round {round}: ReplaceCertificate '{id}'", latencies).ConfigureAwait(false);

                var wait = roundEnd - clock.Elapsed;
                if (wait > TimeSpan.Zero && round < rounds)
                    await Task.Delay(wait).ConfigureAwait(false);
            }
            await load.ConfigureAwait(false);
            var elapsed = clock.Elapsed.TotalSeconds;
            var report = Report(counters, latencies, unobserved, seconds, connections, rounds, elapsed, backend.Thumbprints.Count);
            Console.WriteLine(report);
            if (output is not null)
                await File.WriteAllTextAsync(output, report).ConfigureAwait(false);
            return counters.Failed == 0 && unobserved == 0 && counters.Ok > 0 ? 0 : 1;
        }
        finally
        {
            Stop(gateway);
        }
    }

    private static string Report(LoadCounters counters, List<(string Change, double Milliseconds)> latencies, int unobserved, int seconds, int connections, int rounds, double elapsed, int backendThumbprints)
    {
        var sorted = latencies.Select(l => l.Milliseconds).Order().ToList();
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"Rotation under load: {connections} keep-alive mTLS connections for {seconds} s against the gateway host (child process), backend requiring the gateway's client certificate; {rounds} rounds of AddCertificate, SetGatewayCredential, RemoveCertificate (the previous credential), ReplaceCertificate (the credential in use).");
        sb.AppendLine();
        sb.AppendLine("| requests | failed | req/s | config changes | changes seen by the backend | reload latency min / median / max (ms) | client certificates the backend saw |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---|---:|");
        var latency = sorted.Count == 0 ? "-" : string.Create(inv, $"{sorted[0]:0} / {sorted[sorted.Count / 2]:0} / {sorted[^1]:0}");
        sb.AppendLine(inv, $"| {counters.Ok + counters.Failed} | **{counters.Failed}** | {(counters.Ok + counters.Failed) / elapsed:0} | {rounds * 4} | {latencies.Count}/{latencies.Count + unobserved} | {latency} | {backendThumbprints} |");
        sb.AppendLine();
        if (counters.Failed > 0)
            sb.AppendLine(inv, $"Failures: {counters.Describe()}");
        foreach (var (change, ms) in latencies)
            sb.AppendLine(inv, $"- {change}: seen by the backend after {ms:0} ms");
        return sb.ToString();
    }

    private static async Task<int> ObserveAsync(RotationBackend backend, string thumbprint, long started, string change, List<(string, double)> latencies)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (backend.Thumbprints.TryGetValue(thumbprint, out var firstSeen))
            {
                latencies.Add((change, Stopwatch.GetElapsedTime(started, firstSeen).TotalMilliseconds));
                return 0;
            }
            await Task.Delay(5).ConfigureAwait(false);
        }
        Console.Error.WriteLine($"{change}: the backend never saw certificate {thumbprint} within 10 s.");
        return 1;
    }

    private static byte[] NewCredential(X509Certificate2 ca)
    {
        using var certificate = TestCertificates.Create("CN=gateway-credential-" + Guid.NewGuid().ToString("N")[..8], ca, clientAuth: true);
        return TestCertificates.Pfx(certificate);
    }

    private static Process StartGateway(string hostDll, string configuration)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { hostDll, "run", "--config", configuration, "--status-port", "none", "--log-level", "Warning" })
            start.ArgumentList.Add(a);
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("gateway: " + e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("gateway: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Stop(Process process)
    {
        if (process.HasExited)
            return;
        // SIGTERM: the gateway drains and stops; killed if it does not within 10 s.
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            kill?.WaitForExit(5000);
        if (!process.WaitForExit(10_000))
            process.Kill(entireProcessTree: true);
    }

    private static async Task WaitListeningAsync(int port, Process gateway, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Stopwatch.Frequency * timeout.TotalSeconds);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (gateway.HasExited)
                throw new InvalidOperationException($"The gateway exited with code {gateway.ExitCode} before listening.");
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
        throw new InvalidOperationException($"The gateway did not listen on port {port} within {timeout.TotalSeconds} s.");
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Requests made and failed, by kind of failure.</summary>
internal sealed class LoadCounters
{
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private long _ok;
    private long _failed;

    public long Ok => Interlocked.Read(ref _ok);

    public long Failed => Interlocked.Read(ref _failed);

    public void Success() => Interlocked.Increment(ref _ok);

    public void Failure(string kind)
    {
        Interlocked.Increment(ref _failed);
        lock (_failures)
            _failures[kind] = _failures.GetValueOrDefault(kind) + 1;
    }

    public string Describe()
    {
        lock (_failures)
            return _failures.Count == 0 ? "none" : string.Join("; ", _failures.Select(p => $"{p.Key}: {p.Value}"));
    }
}

/// <summary>
/// One keep-alive connection over a raw <see cref="SslStream"/> presenting the client certificate (HttpClient could
/// retry or withhold a certificate silently), sending GET requests one after another until stopped. A 200 with the
/// backend's body counts as success; anything else (status, broken connection, TLS failure) as a failure.
/// </summary>
internal static class LoadClient
{
    private static readonly byte[] Request = "GET /rotation HTTP/1.1\r\nHost: localhost\r\nUser-Agent: apigateway-rotation\r\n\r\n"u8.ToArray();

    /// <summary>The gateway's server certificate must chain to the test CA (and name localhost).</summary>
    private static X509ChainPolicy TrustPolicy(X509Certificate2 trust)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(trust);
        return policy;
    }

    public static async Task RunAsync(int port, X509Certificate2 certificate, X509Certificate2 trust, LoadCounters counters, CancellationToken stop)
    {
        var buffer = new byte[16 * 1024];
        while (!stop.IsCancellationRequested)
        {
            using var tcp = new TcpClient { NoDelay = true };
            SslStream? tls = null;
            try
            {
                await tcp.ConnectAsync(IPAddress.Loopback, port, stop).ConfigureAwait(false);
                tls = new SslStream(tcp.GetStream());
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "localhost",
                    ClientCertificates = [certificate],
                    LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate,
                    CertificateChainPolicy = TrustPolicy(trust),
                }, stop).ConfigureAwait(false);
                while (!stop.IsCancellationRequested)
                {
                    await tls.WriteAsync(Request, CancellationToken.None).ConfigureAwait(false);
                    var (status, closed, body) = await ReadResponseAsync(tls, buffer).ConfigureAwait(false);
                    if (status == 200 && body.AsSpan().SequenceEqual("ok\n"u8))
                        counters.Success();
                    else if (status == 200)
                        counters.Failure("HTTP 200 without the backend's body");
                    else
                        counters.Failure("HTTP " + status.ToString(CultureInfo.InvariantCulture));
                    if (closed)
                        break;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or SocketException or System.Security.Authentication.AuthenticationException or InvalidDataException)
            {
                counters.Failure(ex.GetType().Name + ": " + ex.Message);
            }
            finally
            {
                if (tls is not null)
                    await tls.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads one response (Content-Length or chunked body); returns its status and whether the server closes the connection.</summary>
    private static async Task<(int Status, bool Closed, byte[] Body)> ReadResponseAsync(Stream stream, byte[] buffer)
    {
        var filled = 0;
        int headerEnd;
        while ((headerEnd = IndexOf(buffer.AsSpan(0, filled), "\r\n\r\n"u8)) < 0)
        {
            if (filled == buffer.Length)
                throw new InvalidDataException("response headers too long");
            var read = await stream.ReadAsync(buffer.AsMemory(filled)).ConfigureAwait(false);
            if (read == 0)
                throw new IOException("connection closed before the response");
            filled += read;
        }
        var head = Encoding.ASCII.GetString(buffer, 0, headerEnd);
        var lines = head.Split("\r\n");
        var status = int.Parse(lines[0].AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture);
        long length = 0;
        var chunked = false;
        var closed = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
                continue;
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                length = long.Parse(value, CultureInfo.InvariantCulture);
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && value.Contains("chunked", StringComparison.OrdinalIgnoreCase))
                chunked = true;
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.Contains("close", StringComparison.OrdinalIgnoreCase))
                closed = true;
        }
        var body = new MemoryStream();
        body.Write(buffer, headerEnd + 4, filled - headerEnd - 4);
        if (!chunked)
        {
            while (body.Length < length)
            {
                var read = await stream.ReadAsync(buffer).ConfigureAwait(false);
                if (read == 0)
                    throw new IOException("connection closed in the body");
                body.Write(buffer, 0, read);
            }
            return (status, closed, body.ToArray());
        }
        // Chunked: read until the terminating "0\r\n\r\n".
        while (IndexOf(body.GetBuffer().AsSpan(0, (int)body.Length), "0\r\n\r\n"u8) < 0)
        {
            var read = await stream.ReadAsync(buffer).ConfigureAwait(false);
            if (read == 0)
                throw new IOException("connection closed in a chunked body");
            body.Write(buffer, 0, read);
        }
        return (status, closed, body.ToArray());
    }

    private static int IndexOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle) => haystack.IndexOf(needle);
}

/// <summary>
/// The backend: Kestrel over HTTPS on 127.0.0.1, requiring a client certificate that chains to the test CA, answering
/// 200 with a short body, and recording when it first saw each client certificate.
/// </summary>
internal sealed class RotationBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RotationBackend(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    /// <summary>Thumbprint → the Stopwatch timestamp of the first request that presented it.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, long> Thumbprints { get; } = new(StringComparer.OrdinalIgnoreCase);

    public static async Task<RotationBackend> StartAsync(X509Certificate2 serverCertificate, X509Certificate2 ca)
    {
        var port = RotationRun.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var trust = X509CertificateLoader.LoadCertificate(ca.RawData);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(https =>
        {
            https.ServerCertificate = serverCertificate;
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.CheckCertificateRevocation = false;
            https.OnAuthenticate = (_, ssl) =>
            {
                var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
                policy.CustomTrustStore.Add(trust);
                ssl.CertificateChainPolicy = policy;
            };
        })));
        var app = builder.Build();
        RotationBackend? self = null;
        app.Run(async http =>
        {
            var certificate = http.Connection.ClientCertificate;
            if (certificate is null)
            {
                http.Response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }
            self!.Thumbprints.TryAdd(certificate.Thumbprint, Stopwatch.GetTimestamp());
            http.Response.ContentType = "text/plain";
            http.Response.ContentLength = 3;
            await http.Response.Body.WriteAsync("ok\n"u8.ToArray()).ConfigureAwait(false);
        });
        self = new RotationBackend(app, $"https://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        await app.StartAsync().ConfigureAwait(false);
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
