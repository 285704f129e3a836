using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ApiGateway.Host.Quickstart;

/// <summary>
/// <c>quickstart</c>: a working gateway on a fresh machine with nothing but the .NET SDK. It makes a throwaway CA, a
/// server certificate for localhost, a client certificate and a gateway→backend certificate; runs a local HTTPS
/// backend with a self-signed certificate that requires the gateway's client certificate; writes the configuration
/// through the same operations the cmdlets use; serves it; and prints the curl commands that get 200 with the
/// client certificate and 403 without.
/// </summary>
internal static class Quickstart
{
    private static readonly string Policy = PolicyTemplates.Inheriting(inbound: """
        <choose>
          <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.VerifyNoRevocation())">
            <return-response>
              <set-status code="403" reason="Invalid client certificate" />
            </return-response>
          </when>
        </choose>
        """);

    public static async Task<int> RunAsync(Options options)
    {
        var folder = Path.GetFullPath(options.Folder ?? Directory.CreateTempSubdirectory("apigateway-quickstart-").FullName);
        Directory.CreateDirectory(folder);
        var configurationPath = Path.Combine(folder, "gateway.json");
        if (File.Exists(configurationPath))
        {
            Console.Error.WriteLine($"'{folder}' already holds a configuration (gateway.json). Give another --folder, or run the gateway on it with: ApiGateway.Host run --config {configurationPath}");
            return 1;
        }
        var port = options.Port ?? (IsFree(8443) ? 8443 : FreePort());
        if (options.Port is { } wanted && !IsFree(wanted))
        {
            Console.Error.WriteLine($"Port {wanted} is in use. Give another --port, or leave it out to use a free one.");
            return 3;
        }

        using var ca = Certificates.Ca("CN=ApiGateway Quickstart CA, O=ApiGateway Quickstart");
        using var server = Certificates.Leaf("CN=localhost", ca, serverAuth: true, ["localhost", "127.0.0.1", "::1"]);
        using var client = Certificates.Leaf("CN=quickstart-client, O=ApiGateway Quickstart", ca, serverAuth: false, []);
        using var gatewayToBackend = Certificates.Leaf("CN=apigateway-to-backend, O=ApiGateway Quickstart", ca, serverAuth: false, []);
        using var backendCertificate = Certificates.SelfSigned("CN=quickstart-backend", ["127.0.0.1", "localhost"]);

        var caFile = Path.Combine(folder, "ca.crt");
        var clientCertificateFile = Path.Combine(folder, "client.crt");
        var clientKeyFile = Path.Combine(folder, "client.key");
        await File.WriteAllTextAsync(caFile, ca.ExportCertificatePem() + "\n").ConfigureAwait(false);
        await File.WriteAllTextAsync(clientCertificateFile, client.ExportCertificatePem() + "\n").ConfigureAwait(false);
        WriteOwnerOnly(clientKeyFile, client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n");

        await using var backend = await Backend.StartAsync(backendCertificate, gatewayToBackend.Thumbprint).ConfigureAwait(false);

        WriteConfiguration(configurationPath, port, server, gatewayToBackend, ca, backend.Url);

        using var loggerFactory = Logging.Create(LogLevel.Warning, "simple");
        GatewayServer gateway;
        try
        {
            gateway = await GatewayServer.StartAsync(new GatewayServerOptions { ConfigurationPath = configurationPath, LoggerFactory = loggerFactory }).ConfigureAwait(false);
        }
        catch (GatewayStartException ex)
        {
            CommandLine.PrintProblems(ex.Message, ex.Errors);
            return ex.ExitCode;
        }
        await using (gateway.ConfigureAwait(false))
        {
            PrintRunning(folder, $"https://localhost:{port.ToString(CultureInfo.InvariantCulture)}/hello/", backend.Url, caFile, clientCertificateFile, clientKeyFile);
            Console.Out.Flush();
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; gateway.RequestShutdown("SIGTERM"); });
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; gateway.RequestShutdown("SIGINT"); });
            await gateway.ShutdownRequested.ConfigureAwait(false);
            Console.Out.WriteLine("Stopping.");
        }
        return 0;
    }

    /// <summary>The quickstart's configuration, written through the operations the cmdlets use.</summary>
    private static void WriteConfiguration(string configurationPath, int port, X509Certificate2 server, X509Certificate2 gatewayToBackend, X509Certificate2 ca, string backendUrl)
    {
        var service = new GatewayService(configurationPath);
        service.Open("quickstart");
        service.AddCertificate("gateway-server", CertificateInput.FromCertificate(server));
        service.AddCertificate("backend-client", CertificateInput.FromCertificate(gatewayToBackend));
        using (var caPublic = X509CertificateLoader.LoadCertificate(ca.RawData))
            service.AddCaCertificate("quickstart-ca", CertificateInput.FromCertificate(caPublic));
        service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = port, ListenAddress = "localhost", CertificateId = "gateway-server", NegotiateClientCertificate = true });
        service.NewBackend(new BackendDefinition
        {
            BackendId = "quickstart-backend",
            Url = backendUrl,
            Title = "Quickstart backend (self-signed, requires the gateway's client certificate)",
            SkipCertificateChainValidation = true,
        });
        service.NewApi(new ApiDefinition { ApiId = "hello", DisplayName = "Hello", Path = "hello", BackendId = "quickstart-backend" });
        service.SetPolicy("hello", Policy);
        service.SetGatewayCredential("hello", "backend-client", null);
    }

    /// <summary>Where everything is and the two curl commands that show the gateway at work.</summary>
    private static void PrintRunning(string folder, string url, string backendUrl, string caFile, string clientCertificateFile, string clientKeyFile)
    {
        Console.Out.WriteLine($"""
            ApiGateway quickstart is running.

              Folder:   {folder}
                        gateway.json (the configuration), gateway.store/ (its certificates, encrypted), ca.crt, client.crt, client.key
              Gateway:  {url}
                        negotiates client certificates; the API's policy answers 403 unless one chains to the quickstart CA
              Backend:  {backendUrl}
                        self-signed (the backend has -SkipCertificateChainValidation); it requires the gateway's client
                        certificate 'backend-client' (Set-ApiGatewayCredential -ApiId hello -CertificateId backend-client)

            With the client certificate (200, the backend answers):
              curl --cacert {Quote(caFile)} --cert {Quote(clientCertificateFile)} --key {Quote(clientKeyFile)} {url}

            Without it (403 Invalid client certificate):
              curl --cacert {Quote(caFile)} -i {url}

            The gateway reloads gateway.json on every change. Press Ctrl+C to stop.
            """);
    }

    private static string Quote(string path) => path.Contains(' ', StringComparison.Ordinal) ? "\"" + path + "\"" : path;

    private static void WriteOwnerOnly(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(content);
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Throwaway certificates (ECDSA P-256), made in memory.</summary>
    private static class Certificates
    {
        public static X509Certificate2 Ca(string subject)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        }

        public static X509Certificate2 Leaf(string subject, X509Certificate2 issuer, bool serverAuth, string[] names)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            AddNames(request, names);
            var serial = RandomNumberGenerator.GetBytes(12);
            serial[0] &= 0x7f;
            using var signed = request.Create(issuer, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
            return signed.CopyWithPrivateKey(key);
        }

        public static X509Certificate2 SelfSigned(string subject, string[] names)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            AddNames(request, names);
            return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        }

        private static void AddNames(CertificateRequest request, string[] names)
        {
            if (names.Length == 0)
                return;
            var san = new SubjectAlternativeNameBuilder();
            foreach (var name in names)
            {
                if (IPAddress.TryParse(name, out var ip))
                    san.AddIpAddress(ip);
                else
                    san.AddDnsName(name);
            }
            request.CertificateExtensions.Add(san.Build());
        }
    }

    /// <summary>The quickstart's backend: HTTPS on 127.0.0.1 with a self-signed certificate, answering only the gateway's client certificate.</summary>
    private sealed class Backend : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Backend(WebApplication app, string url)
        {
            _app = app;
            Url = url;
        }

        public string Url { get; }

        public static async Task<Backend> StartAsync(X509Certificate2 certificate, string gatewayThumbprint)
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "ApiGateway.Quickstart.Backend" });
            builder.Services.AddSingleton<IHostLifetime, Runtime.ProcessLifetime>();
            builder.WebHost.UseKestrelCore();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
            {
                https.ServerCertificate = certificate;
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                // Only the gateway's own client certificate gets through (by thumbprint: it need not chain anywhere).
                https.ClientCertificateValidation = (presented, _, _) => string.Equals(presented.Thumbprint, gatewayThumbprint, StringComparison.OrdinalIgnoreCase);
            })));
            var app = builder.Build();
            app.Run(async http =>
            {
                http.Response.ContentType = "application/json; charset=utf-8";
                await http.Response.WriteAsync(JsonSerializer.Serialize(new
                {
                    message = "Hello from the quickstart backend",
                    path = http.Request.Path.Value,
                    gatewayCertificate = http.Connection.ClientCertificate?.Subject,
                    forwardedFor = http.Request.Headers["X-Forwarded-For"].ToString(),
                })).ConfigureAwait(false);
            });
            await app.StartAsync().ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new Backend(app, address.TrimEnd('/') + "/");
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
