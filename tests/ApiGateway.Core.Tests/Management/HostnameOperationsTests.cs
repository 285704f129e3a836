using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Management;

public sealed class HostnameOperationsTests : ServiceTestBase
{
    [Fact]
    public void Set_New_NeedsACertificateWithKey_ThenUpdatesOnlyWhatIsGiven()
    {
        Upload("server", "CN=localhost");
        UploadPublic("public");

        Assert.Equal("HostnameCertificateRequired", Fails(() => Service.SetHostname(new HostnameDefinition { HostName = "localhost" })).ErrorId);
        Assert.Equal("CertificateNoPrivateKey", Fails(() => Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "public" })).ErrorId);
        Assert.Equal("CertificateNotFound", Fails(() => Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "nope" })).ErrorId);

        var created = Service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = 8443, CertificateId = "SERVER" });
        Assert.Equal(("localhost", 8443, "server", false, false, "*"), (created.HostName, created.Port, created.CertificateId, created.NegotiateClientCertificate, created.RequireClientCertificate, created.ListenAddress));

        var updated = Service.SetHostname(new HostnameDefinition { HostName = "LOCALHOST", NegotiateClientCertificate = true, ListenAddress = "127.0.0.1" });
        Assert.Equal(("localhost", 8443, "server", true, "127.0.0.1"), (updated.HostName, updated.Port, updated.CertificateId, updated.NegotiateClientCertificate, updated.ListenAddress));
        Assert.Single(Service.GetHostnames());
    }

    [Fact]
    public void Strict_NeedsACaCertificate_AndImpliesNegotiation()
    {
        Upload("server");
        Assert.Equal("HostnameNoCaCertificate", Fails(() => Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "server", RequireClientCertificate = true })).ErrorId);

        Service.AddCaCertificate("root", CertificateInput.FromCertificate(Ca));
        var strict = Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "server", RequireClientCertificate = true });

        Assert.True(strict.RequireClientCertificate);
        Assert.True(strict.NegotiateClientCertificate);
        Assert.Equal("HostnameInvalidClientCertificateMode", Fails(() => Service.SetHostname(new HostnameDefinition { HostName = "localhost", NegotiateClientCertificate = false })).ErrorId);
    }

    [Theory]
    [InlineData("not a host")]
    [InlineData("-bad.example.com")]
    [InlineData("")]
    public void Set_InvalidHostName_IsRefused(string name)
    {
        Assert.Equal("HostnameInvalid", Fails(() => Service.SetHostname(new HostnameDefinition { HostName = name, CertificateId = "x" })).ErrorId);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void Set_InvalidPort_IsRefused(int port)
    {
        Assert.Equal("HostnameInvalidPort", Fails(() => Service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = port })).ErrorId);
    }

    [Fact]
    public void Set_InvalidListenAddress_IsRefusedByTheValidator()
    {
        Upload("server");

        var error = Fails(() => Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "server", ListenAddress = "every-interface" }));

        Assert.Equal("HostnameInvalid", error.ErrorId);
        Assert.Contains("listen address 'every-interface'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GetAndRemove()
    {
        Upload("server");
        Service.SetHostname(new HostnameDefinition { HostName = "a.contoso.com", CertificateId = "server" });
        Service.SetHostname(new HostnameDefinition { HostName = "b.contoso.com", CertificateId = "server" });

        Assert.Equal(["a.contoso.com", "b.contoso.com"], Service.GetHostnames("*.contoso.com").Select(h => h.HostName));
        Assert.Equal("HostnameNotFound", Fails(() => Service.GetHostnames("c.contoso.com")).ErrorId);

        Service.RemoveHostname("A.contoso.com");
        Assert.Equal(["b.contoso.com"], Service.GetHostnames().Select(h => h.HostName));
        Assert.Equal("HostnameNotFound", Fails(() => Service.RemoveHostname("a.contoso.com")).ErrorId);
    }
}
