using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;

namespace ApiGateway.Core.Tests.Support;

/// <summary>A fresh configuration in a temporary folder with a test CA, per test.</summary>
public abstract class ServiceTestBase : IDisposable
{
    protected ServiceTestBase()
    {
        Temp = new TempFolder();
        Service = new GatewayService(Temp.File("gateway.json"));
        Service.Open("contoso");
        Ca = TestCertificates.CreateCa();
    }

    protected TempFolder Temp { get; }

    private protected GatewayService Service { get; }

    protected X509Certificate2 Ca { get; }

    protected X509Certificate2 NewClient(string subject = "CN=client", DateTimeOffset? notAfter = null, DateTimeOffset? notBefore = null) =>
        TestCertificates.Create(subject, Ca, clientAuth: true, notAfter: notAfter, notBefore: notBefore);

    /// <summary>Adds a certificate with its key under <paramref name="id"/> and returns it.</summary>
    protected X509Certificate2 Upload(string id, string subject = "CN=client", DateTimeOffset? notAfter = null)
    {
        var cert = NewClient(subject, notAfter);
        Service.AddCertificate(id, CertificateInput.FromCertificate(cert));
        return cert;
    }

    /// <summary>Adds the public part only.</summary>
    protected X509Certificate2 UploadPublic(string id, string subject = "CN=public")
    {
        using var cert = NewClient(subject);
        var publicOnly = X509CertificateLoader.LoadCertificate(cert.RawData);
        Service.AddCertificate(id, CertificateInput.FromCertificate(publicOnly));
        return publicOnly;
    }

    private protected static GatewayException Fails(Action action) => Assert.Throws<GatewayException>(action);

    protected byte[] ConfigurationBytes() => File.ReadAllBytes(Service.ConfigurationPath);

    public void Dispose()
    {
        Ca.Dispose();
        Temp.Dispose();
        GC.SuppressFinalize(this);
    }
}
