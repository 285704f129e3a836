using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Backends;

/// <summary>GatewayService.TestBackendTlsAsync: the backend's settings and credentials from the configuration and store, and its refusals.</summary>
public sealed class BackendTlsServiceTests : ServiceTestBase
{
    [Fact]
    public async Task TheBackendsCredentialCertificate_ComesFromTheStore_AndIsPresented()
    {
        var credential = Upload("to-backend", "CN=to-backend");
        using var server = TestCertificates.Create("CN=127.0.0.1", serverAuth: true, dnsNames: ["127.0.0.1"]);
        await using var backend = TlsTestServer.Start(server, demand: ClientCertificateDemand.Required, acceptedClientThumbprints: credential.Thumbprint);
        Service.NewBackend(new BackendDefinition
        {
            BackendId = "mtls", Url = backend.Url, SkipCertificateChainValidation = true,
            Credentials = new GatewayBackendCredential { CertificateIds = ["to-backend"] },
        });
        var before = ConfigurationBytes();

        var result = await Service.TestBackendTlsAsync("MTLS");

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal("mtls", result.BackendId);
        Assert.Equal("to-backend", result.ClientCertificateId);
        Assert.Equal(Service.ConfigurationPath, result.ConfigurationPath);
        Assert.Equal(before, ConfigurationBytes());
    }

    [Fact]
    public async Task AnApisGatewayCredential_IsNamedWithTheCommandThatTestsIt()
    {
        Upload("api-credential", "CN=api-credential");
        Service.NewBackend(new BackendDefinition { BackendId = "closed", Url = $"https://127.0.0.1:{TlsTestServer.ClosedPort()}/" });
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", BackendId = "closed" });
        Service.SetGatewayCredential("orders", "api-credential", null);

        var result = await Service.TestBackendTlsAsync("closed");
        var withCertificate = await Service.TestBackendTlsAsync("closed", ["api-credential"]);

        Assert.Contains(result.Advice, a => a.Contains("API 'orders'", StringComparison.Ordinal)
            && a.Contains("Test-GatewayBackendTls -BackendId closed -CertificateId api-credential", StringComparison.Ordinal));
        Assert.DoesNotContain(withCertificate.Advice, a => a.Contains("API 'orders'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refusals_HaveStableIds()
    {
        UploadPublic("public-only");
        Service.NewBackend(new BackendDefinition { BackendId = "plain", Url = "http://127.0.0.1:1/" });
        Service.NewBackend(new BackendDefinition { BackendId = "tls", Url = "https://127.0.0.1:1/" });

        Assert.Equal("BackendNotFound", (await Assert.ThrowsAsync<GatewayException>(() => Service.TestBackendTlsAsync("missing"))).ErrorId);
        var notHttps = await Assert.ThrowsAsync<GatewayException>(() => Service.TestBackendTlsAsync("plain"));
        Assert.Equal("BackendTlsNotHttps", notHttps.ErrorId);
        Assert.Contains("Set-GatewayBackend -BackendId plain -Url https://", notHttps.Message, StringComparison.Ordinal);
        Assert.Equal("CertificateNotFound", (await Assert.ThrowsAsync<GatewayException>(() => Service.TestBackendTlsAsync("tls", ["nope"]))).ErrorId);
        Assert.Equal("CertificateNoPrivateKey", (await Assert.ThrowsAsync<GatewayException>(() => Service.TestBackendTlsAsync("tls", ["public-only"]))).ErrorId);
    }
}
