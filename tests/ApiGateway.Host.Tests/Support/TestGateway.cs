using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using Microsoft.Extensions.Logging;

namespace ApiGateway.Host.Tests.Support;

/// <summary>
/// A gateway under test: a configuration in a temporary folder written through <see cref="GatewayService"/> (the
/// operations the cmdlets use), a CA that issues the server certificate and the test clients' certificates, and the
/// real <see cref="GatewayServer"/> started in-process on 127.0.0.1.
/// </summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private readonly ILoggerFactory _loggerFactory;

    private TestGateway(bool negotiate, bool require, bool uploadCa)
    {
        Folder = new TempFolder();
        ConfigurationPath = Folder.File("gateway.json");
        Service = new GatewayService(ConfigurationPath);
        Service.Open("test");
        Ca = TestCertificates.CreateCa("CN=Test Gateway CA, O=Contoso");
        ServerCertificate = TestCertificates.Create("CN=localhost", Ca, serverAuth: true, dnsNames: ["localhost", "127.0.0.1"]);
        Service.AddCertificate("gateway-server", CertificateInput.FromCertificate(ServerCertificate));
        if (uploadCa || require)
            Service.AddCaCertificate("client-ca", CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(Ca.RawData)));
        Port = FreePort.Next();
        Service.SetHostname(new HostnameDefinition
        {
            HostName = "localhost",
            Port = Port,
            ListenAddress = "127.0.0.1",
            CertificateId = "gateway-server",
            NegotiateClientCertificate = negotiate || require,
            RequireClientCertificate = require,
        });
        _loggerFactory = Logs.CreateFactory();
    }

    public TempFolder Folder { get; }
    public string ConfigurationPath { get; }
    public GatewayService Service { get; }

    /// <summary>Issues the gateway's server certificate and the "good" client certificates.</summary>
    public X509Certificate2 Ca { get; }

    public X509Certificate2 ServerCertificate { get; }
    public int Port { get; }
    public LogCollector Logs { get; } = new();
    public GatewayServer? Server { get; private set; }

    public static TestGateway Create(bool negotiate = true, bool require = false, bool uploadCa = true) => new(negotiate, require, uploadCa);

    /// <summary>A client certificate issued by <see cref="Ca"/>.</summary>
    public X509Certificate2 Client(string subject = "CN=client, O=Contoso", DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool clientAuth = true) =>
        TestCertificates.Create(subject, Ca, clientAuth: clientAuth, notBefore: notBefore, notAfter: notAfter);

    public async Task<GatewayServer> StartAsync(int? statusPort = null, Func<GatewayServerOptions, GatewayServerOptions>? configure = null)
    {
        configure ??= o => o;
        Server = await GatewayServer.StartAsync(configure(new GatewayServerOptions
        {
            ConfigurationPath = ConfigurationPath,
            LoggerFactory = _loggerFactory,
            StatusPort = statusPort,
            WriteStateFile = statusPort is not null,
            PollInterval = TimeSpan.FromMilliseconds(200),
            DrainTimeout = TimeSpan.FromSeconds(5),
            InvokerGrace = TimeSpan.FromMilliseconds(500),
        }));
        return Server;
    }

    /// <summary>The log so far (for assertion messages).</summary>
    public string Diagnostics() => string.Join(Environment.NewLine, Logs.Entries.Where(e => e.Level >= LogLevel.Debug && !e.Category.StartsWith("Microsoft.AspNetCore.Hosting", StringComparison.Ordinal)).Select(e => $"{e.Level} {e.Category}[{e.EventId.Id}] {e.Message}"));

    public Task<RawResponse> SendAsync(string path, X509Certificate2? clientCertificate = null, string method = "GET",
        IReadOnlyDictionary<string, string>? headers = null, string? body = null, int? port = null, string host = "localhost",
        X509Certificate2Collection? clientIntermediates = null) =>
        TlsClient.SendAsync(port ?? Port, path, clientCertificate, Ca, host, method, headers, body, clientIntermediates);

    /// <summary>Waits until the gateway serves revision <paramref name="revision"/> (or later).</summary>
    public async Task WaitForRevisionAsync(long revision, TimeSpan? timeout = null)
    {
        var limit = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (Server!.Runtime.Current!.Revision < revision)
        {
            if (DateTime.UtcNow > limit)
                throw new TimeoutException($"The gateway still serves revision {Server.Runtime.Current.Revision}, not {revision}. Last reload error: {string.Join("; ", Server.Runtime.LastReloadError?.Errors ?? [])}");
            await Task.Delay(20);
        }
    }

    /// <summary>Adds an API forwarding to <paramref name="url"/> with <paramref name="policy"/> (null: the default policy).</summary>
    public void AddApi(string id, string path, string? url = null, string? backendId = null, string? policy = null)
    {
        Service.NewApi(new ApiDefinition { ApiId = id, Path = path, ServiceUrl = backendId is null ? url ?? "https://127.0.0.1:1/" : null, BackendId = backendId });
        if (policy is not null)
            Service.SetPolicy(id, policy);
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
            await Server.DisposeAsync();
        _loggerFactory.Dispose();
        Folder.Dispose();
    }
}
