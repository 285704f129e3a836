using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Management;

/// <summary>The documented scenario end to end through the Core operations.</summary>
public sealed class ScenarioTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void DocumentedScenario_UploadCredentialBackendPolicyRotate()
    {
        var service = new GatewayService(_temp.File("gateway.json"));
        var opened = service.Open("contoso");
        Assert.True(opened.Value.Created);

        using var ca = TestCertificates.CreateCa();
        using var server = TestCertificates.Create("CN=localhost", ca, serverAuth: true, dnsNames: ["localhost"]);
        using var credential = TestCertificates.Create("CN=gateway-client", ca, clientAuth: true);
        var pfx = _temp.Write("client.pfx", TestCertificates.Pfx(credential, "Example-Pass-1"));

        service.AddCertificate("server", CertificateInput.FromPfxBytes(TestCertificates.Pfx(server)));
        var added = service.AddCertificate("backend-2025", CertificateInput.FromPfxFile(pfx, "Example-Pass-1".AsSpan()));
        Assert.Equal(credential.Thumbprint, added.Value.Thumbprint);
        Assert.True(added.Value.HasPrivateKey);

        service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = 8443, CertificateId = "server", NegotiateClientCertificate = true });
        var backend = service.NewBackend(new BackendDefinition { Url = "https://contoso.com/myapi", SkipCertificateChainValidation = true });
        Assert.Equal("contoso-com", backend.BackendId);
        Assert.True(backend.SkipCertificateChainValidation);
        Assert.False(backend.SkipCertificateNameValidation);

        service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", BackendId = backend.BackendId });
        var api = service.SetGatewayCredential("orders", "backend-2025", null);
        Assert.Equal("backend-2025", api.GatewayCredentialCertificateId);
        Assert.Contains("<authentication-certificate certificate-id=\"backend-2025\" />", service.GetPolicy("orders")!.Policy, StringComparison.Ordinal);

        var error = Assert.Throws<GatewayException>(() => service.RemoveCertificate("backend-2025"));
        Assert.Equal("CertificateInUse", error.ErrorId);

        using var next = TestCertificates.Create("CN=gateway-client-2026", ca, clientAuth: true);
        service.AddCertificate("backend-2026", CertificateInput.FromCertificate(next));
        service.SetGatewayCredential("orders", "backend-2026", null);
        service.RemoveCertificate("backend-2025");

        Assert.Equal(["backend-2026", "server"], service.GetCertificates().Select(c => c.CertificateId));
        Assert.Equal(10, service.Read().Revision);
    }
}
