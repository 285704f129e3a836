using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Forwarder;

namespace ApiGateway.Fuzz;

/// <summary>
/// What every case of a worker runs against: a temporary folder with a configuration made by the Core operations (a
/// server certificate linked as PEM files, so loading it costs no key derivation, and an uploaded CA certificate),
/// the gateway's process services, and one expression cache, as a running gateway keeps one across reloads.
/// </summary>
internal sealed class FuzzWorld : IDisposable
{
    /// <summary>The ids every generated configuration may refer to and find.</summary>
    public const string ServerCertificateId = "server";

    public const string CaCertificateId = "root";

    /// <summary>The limits the expression target runs under: tighter than the defaults so a hostile case costs milliseconds.</summary>
    public static GatewayLimits ExpressionLimits { get; } = new()
    {
        ExpressionMaxSteps = 200_000,
        ExpressionTimeoutMilliseconds = 50,
    };

    private FuzzWorld()
    {
        Folder = Path.Combine(Path.GetTempPath(), "apigateway-fuzz-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Folder);
        ConfigurationPath = Path.Combine(Folder, "gateway.json");
        var service = new GatewayService(ConfigurationPath);
        service.Open("fuzz");
        Ca = TestCertificates.CreateCa("CN=Fuzz CA, O=Contoso");
        Server = TestCertificates.Create("CN=localhost", Ca, serverAuth: true, dnsNames: ["localhost"]);
        Client = TestCertificates.Create("CN=client, O=Contoso", Ca, clientAuth: true);
        var pem = Path.Combine(Folder, "server.pem");
        var key = Path.Combine(Folder, "server.key");
        File.WriteAllText(pem, TestCertificates.CertificatePem(Server));
        File.WriteAllText(key, TestCertificates.KeyPem(Server));
        service.AddCertificate(ServerCertificateId, CertificateInput.Linked(pem, key));
        service.AddCaCertificate(CaCertificateId, CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(Ca.RawData)));
        Base = service.Read();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHttpForwarder();
        _provider = services.BuildServiceProvider();
        Services = new GatewayServices(NullLoggerFactory.Instance, _provider.GetRequiredService<IHttpForwarder>(), TimeSpan.Zero);
    }

    private readonly ServiceProvider _provider;

    public static FuzzWorld Create() => new();

    public string Folder { get; }

    /// <summary>Where cases are written for the loaders that read a file (its store is the folder's gateway.store).</summary>
    public string ConfigurationPath { get; }

    /// <summary>The configuration the Core operations made: the certificates a generated configuration can use.</summary>
    public GatewayConfiguration Base { get; }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Server { get; }

    /// <summary>A client certificate issued by <see cref="Ca"/>, presented by some of the requests.</summary>
    public X509Certificate2 Client { get; }

    internal GatewayServices Services { get; }

    internal ExpressionCache Expressions { get; } = new();

    public void Dispose()
    {
        Services.Dispose();
        _provider.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is not worth failing a run for.
        }
    }
}
