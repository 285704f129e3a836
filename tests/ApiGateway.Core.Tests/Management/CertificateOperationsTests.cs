using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Management;

public sealed class CertificateOperationsTests : ServiceTestBase
{
    [Fact]
    public void Add_WithoutId_MakesOneFromTheCommonName_AndAvoidsTakenOnes()
    {
        using var a = NewClient("CN=api.contoso.com, O=Contoso");
        using var b = NewClient("CN=api.contoso.com, O=Other");

        var first = Service.AddCertificate(null, CertificateInput.FromCertificate(a)).Value;
        var second = Service.AddCertificate(null, CertificateInput.FromCertificate(b)).Value;

        Assert.Equal("api-contoso-com", first.CertificateId);
        Assert.Equal("api-contoso-com-2", second.CertificateId);
    }

    [Fact]
    public void Add_ReturnsTheCertificateObject()
    {
        using var cert = NewClient("CN=orders-client");

        var added = Service.AddCertificate("orders-client", CertificateInput.FromCertificate(cert)).Value;

        Assert.Equal("orders-client", added.CertificateId);
        Assert.Equal("CN=orders-client", added.Subject);
        Assert.Equal("CN=Test CA", added.Issuer);
        Assert.Equal(cert.Thumbprint, added.Thumbprint);
        Assert.Equal(cert.NotAfter, added.ExpirationDate, TimeSpan.FromSeconds(1));
        Assert.Equal(cert.NotBefore, added.NotBefore, TimeSpan.FromSeconds(1));
        Assert.True(added.HasPrivateKey);
        Assert.Equal(CertificateSource.Uploaded, added.Source);
        Assert.False(added.InUse);
        Assert.Equal(Service.ConfigurationPath, added.ConfigurationPath);
    }

    [Fact]
    public void Add_ExistingId_IsRefused_AndTheFileIsUnchanged()
    {
        Upload("client");
        var before = ConfigurationBytes();
        using var other = NewClient("CN=other");

        var error = Fails(() => Service.AddCertificate("CLIENT", CertificateInput.FromCertificate(other)));

        Assert.Equal("CertificateExists", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.AlreadyExists, error.Category);
        Assert.Contains("Set-GatewayCertificate -CertificateId CLIENT", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationBytes());
    }

    [Theory]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    [InlineData("slash/in/it")]
    [InlineData("")]
    public void Add_InvalidId_IsRefused(string id)
    {
        using var cert = NewClient();

        var error = Fails(() => Service.AddCertificate(id, CertificateInput.FromCertificate(cert)));

        Assert.Equal("CertificateInvalidId", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.InvalidArgument, error.Category);
    }

    [Fact]
    public void Add_Expired_IsAcceptedWithAWarning()
    {
        using var expired = NewClient("CN=old", notBefore: DateTimeOffset.UtcNow.AddDays(-60), notAfter: DateTimeOffset.UtcNow.AddDays(-1));

        var result = Service.AddCertificate("old", CertificateInput.FromCertificate(expired));

        Assert.True(result.Value.IsExpired);
        Assert.Contains(result.Warnings, w => w.Contains("'old' expired on", StringComparison.Ordinal));
    }

    [Fact]
    public void Add_SameCertificateTwice_WarnsAboutTheTwin()
    {
        using var cert = Upload("first");

        var result = Service.AddCertificate("second", CertificateInput.FromCertificate(cert));

        Assert.Contains(result.Warnings, w => w.Contains("also certificate 'first'", StringComparison.Ordinal));
    }

    [Fact]
    public void Get_FiltersByWildcardExpiryAndUse()
    {
        Upload("backend-2025", notAfter: DateTimeOffset.UtcNow.AddDays(10));
        Upload("backend-2026", notAfter: DateTimeOffset.UtcNow.AddDays(200));
        Upload("server", notAfter: DateTimeOffset.UtcNow.AddDays(20));
        Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "server" });

        Assert.Equal(["backend-2025", "backend-2026"], Service.GetCertificates(new CertificateQuery { CertificateId = "backend-*" }).Select(c => c.CertificateId));
        Assert.Equal(["backend-2025", "server"], Service.GetCertificates(new CertificateQuery { ExpiringInDays = 30 }).Select(c => c.CertificateId));
        Assert.Equal(["server"], Service.GetCertificates(new CertificateQuery { InUse = true }).Select(c => c.CertificateId));
        Assert.Equal(["backend-2025"], Service.GetCertificates(new CertificateQuery { InUse = false, ExpiringInDays = 30 }).Select(c => c.CertificateId));
        Assert.Empty(Service.GetCertificates(new CertificateQuery { CertificateId = "nothing-*" }));
    }

    [Fact]
    public void Get_ExactIdThatDoesNotExist_IsNotFound()
    {
        var error = Fails(() => Service.GetCertificates(new CertificateQuery { CertificateId = "missing" }));

        Assert.Equal("CertificateNotFound", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.NotFound, error.Category);
        Assert.Equal("Certificate 'missing' does not exist. Get-GatewayCertificate lists the ones there are.", error.Message);
    }

    [Fact]
    public void Replace_KeepsTheId_AndEverythingThatRefersToItFollows()
    {
        Upload("server", "CN=localhost");
        Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "server" });
        using var renewed = NewClient("CN=localhost-renewed");

        var replaced = Service.ReplaceCertificate("server", CertificateInput.FromCertificate(renewed)).Value;

        Assert.Equal(renewed.Thumbprint, replaced.Thumbprint);
        Assert.True(replaced.InUse);
        var configuration = Service.Read();
        Assert.Equal(renewed.Thumbprint, configuration.Certificates["server"].Thumbprint);
        Assert.Equal("server", configuration.Service.Hostnames[0].CertificateId);
        using var loaded = Service.CertificateStore.LoadCertificate("server", configuration.Certificates["server"]);
        Assert.Equal(renewed.Thumbprint, loaded.Leaf.Thumbprint);
    }

    [Fact]
    public void Replace_WithoutKey_WhileSomethingPresentsIt_IsRefused()
    {
        Upload("backend-cert");
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });
        Service.SetGatewayCredential("orders", "backend-cert", null);
        using var next = NewClient("CN=next");
        var publicOnly = X509CertificateLoader.LoadCertificate(next.RawData);

        var error = Fails(() => Service.ReplaceCertificate("backend-cert", CertificateInput.FromCertificate(publicOnly)));

        Assert.Equal("CertificateNoPrivateKey", error.ErrorId);
        Assert.Contains("API 'orders' (gateway credential) presents it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replace_ThatWouldBreakAReferenceByThumbprint_IsRefusedWithTheFix()
    {
        using var old = Upload("legacy");
        Service.NewBackend(new BackendDefinition { BackendId = "billing", Url = "https://billing.example.com/", Credentials = new GatewayBackendCredential { CertificateThumbprints = [old.Thumbprint] } });
        using var next = NewClient("CN=next");
        var before = ConfigurationBytes();

        var error = Fails(() => Service.ReplaceCertificate("legacy", CertificateInput.FromCertificate(next)));

        Assert.Equal("CertificateReferencedByThumbprint", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.InUse, error.Category);
        Assert.Contains("backend 'billing' (credential certificate, by thumbprint) refers to it by its thumbprint", error.Message, StringComparison.Ordinal);
        Assert.Contains("Set-GatewayBackend -BackendId billing -Credential (New-GatewayBackendCredential -CertificateId legacy)", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationBytes());
    }

    [Fact]
    public void Replace_WhileATwinKeepsTheOldThumbprint_WarnsThatThumbprintReferencesStay()
    {
        using var old = Upload("legacy");
        Service.AddCertificate("legacy-copy", CertificateInput.FromCertificate(old));
        Service.NewBackend(new BackendDefinition { BackendId = "billing", Url = "https://billing.example.com/", Credentials = new GatewayBackendCredential { CertificateThumbprints = [old.Thumbprint] } });
        using var next = NewClient("CN=next");

        var result = Service.ReplaceCertificate("legacy", CertificateInput.FromCertificate(next));

        Assert.Contains(result.Warnings, w => w.Contains("Backend 'billing' (credential certificate, by thumbprint) refers to thumbprint", StringComparison.Ordinal));
    }

    [Fact]
    public void Replace_Missing_IsNotFound()
    {
        using var cert = NewClient();

        Assert.Equal("CertificateNotFound", Fails(() => Service.ReplaceCertificate("nope", CertificateInput.FromCertificate(cert))).ErrorId);
    }

    [Fact]
    public void Remove_InUse_IsRefused_NamesEveryReference_AndTheFix()
    {
        Upload("backend-2025");
        Upload("server");
        Service.SetHostname(new HostnameDefinition { HostName = "api.contoso.com", CertificateId = "server" });
        Service.NewBackend(new BackendDefinition { BackendId = "billing", Url = "https://billing.example.com/", Credentials = new GatewayBackendCredential { CertificateIds = ["backend-2025"] } });
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", BackendId = "billing" });
        Service.SetGatewayCredential("orders", "backend-2025", null);
        var before = ConfigurationBytes();

        var error = Fails(() => Service.RemoveCertificate("backend-2025"));

        Assert.Equal("CertificateInUse", error.ErrorId);
        Assert.Equal("InUse", error.Condition);
        Assert.Equal(GatewayErrorCategory.InUse, error.Category);
        Assert.Equal(
            "Certificate 'backend-2025' is used by backend 'billing' (credential certificate) and API 'orders' (gateway credential). "
            + "Remove it from them first, e.g. Set-GatewayBackend -BackendId billing -Credential (New-GatewayBackendCredential -CertificateId <new>). "
            + "To rotate it instead, replace its content: Set-GatewayCertificate -CertificateId backend-2025.",
            error.Message);
        Assert.Equal(before, ConfigurationBytes());
    }

    [Fact]
    public void Remove_InUseByOneApiOnly_UsesTheApiExample()
    {
        Upload("backend-2025");
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });
        Service.SetGatewayCredential("orders", "backend-2025", null);

        var error = Fails(() => Service.RemoveCertificate("backend-2025"));

        Assert.Equal(
            "Certificate 'backend-2025' is used by API 'orders' (gateway credential). Remove it from there first, e.g. Set-ApiGatewayCredential -ApiId orders -CertificateId <new>. "
            + "To rotate it instead, replace its content: Set-GatewayCertificate -CertificateId backend-2025.",
            error.Message);
    }

    [Fact]
    public void Remove_InUseByHostnameIdentityAndThumbprint_ListsAll()
    {
        using var cert = Upload("shared");
        Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "shared" });
        Service.SetPolicy(null, $"""
            <policies>
              <inbound>
                <validate-client-certificate validate-trust="false" validate-revocation="false">
                  <identities>
                    <identity certificate-id="shared" />
                  </identities>
                </validate-client-certificate>
                <authentication-certificate thumbprint="{cert.Thumbprint}" />
              </inbound>
              <backend><forward-request /></backend>
            </policies>
            """);

        var error = Fails(() => Service.RemoveCertificate("shared"));

        Assert.Contains("hostname 'localhost' (server certificate)", error.Message, StringComparison.Ordinal);
        Assert.Contains("the global policy (validate-client-certificate identity)", error.Message, StringComparison.Ordinal);
        Assert.Contains("the global policy (gateway credential, by thumbprint)", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, error.Details.Count);
        Assert.Contains("e.g. Set-GatewayHostname -HostName localhost -CertificateId <new>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Remove_Unused_RemovesItAndItsMaterial()
    {
        using var cert = Upload("old");

        var removed = Service.RemoveCertificate("OLD");

        Assert.Equal("old", removed.CertificateId);
        Assert.Empty(Service.GetCertificates());
        Assert.False(File.Exists(Path.Combine(Service.CertificateStore.Directory, "certificates", cert.Thumbprint + ".bin")));
    }

    [Fact]
    public void Remove_Missing_IsNotFound()
    {
        Assert.Equal("CertificateNotFound", Fails(() => Service.RemoveCertificate("nope")).ErrorId);
    }

    [Fact]
    public void References_ListEveryPlace()
    {
        Upload("c");
        Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "c" });
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });
        Service.SetGatewayCredential("orders", "c", null);

        var references = Service.GetCertificateReferences("c");

        Assert.Collection(references,
            r => Assert.Equal((ReferrerType.Hostname, "localhost", CertificateUsage.ServerCertificate), (r.ReferrerType, r.ReferrerId, r.Usage)),
            r => Assert.Equal((ReferrerType.Api, "orders", CertificateUsage.GatewayCredential), (r.ReferrerType, r.ReferrerId, r.Usage)));
        Assert.All(references, r => Assert.Equal("c", r.CertificateId));
    }

    [Fact]
    public void CaCertificates_AddGetRemove()
    {
        var added = Service.AddCaCertificate(null, CertificateInput.FromCertificate(Ca));
        Assert.Equal("test-ca", added.Value.CertificateId);
        Assert.Contains(added.Warnings, w => w.Contains("private key", StringComparison.Ordinal));
        Assert.Equal(CaStoreName.Root, added.Value.StoreName);

        var twin = Fails(() => Service.AddCaCertificate("again", CertificateInput.FromCertificate(Ca)));
        Assert.Equal("CaCertificateExists", twin.ErrorId);
        Assert.Contains("already trusted as 'test-ca'", twin.Message, StringComparison.Ordinal);

        Assert.Equal(["test-ca"], Service.GetCaCertificates("test-*").Select(c => c.CertificateId));
        Assert.Equal("CaCertificateNotFound", Fails(() => Service.GetCaCertificates("none")).ErrorId);
        using var loaded = Service.CertificateStore.LoadCaCertificate("test-ca", Service.Read().CaCertificates["test-ca"]);
        Assert.False(loaded.HasPrivateKey);

        Service.RemoveCaCertificate("test-ca");
        Assert.Empty(Service.GetCaCertificates());
    }

    [Fact]
    public void CaCertificate_NotACa_IsAcceptedWithAWarning()
    {
        using var leaf = NewClient("CN=not-a-ca");

        var result = Service.AddCaCertificate("odd", CertificateInput.FromCertificate(leaf), CaStoreName.CertificateAuthority);

        Assert.Contains(result.Warnings, w => w.Contains("not marked as a certificate authority", StringComparison.Ordinal));
        Assert.Equal(CaStoreName.CertificateAuthority, result.Value.StoreName);
    }

    [Fact]
    public void CaCertificate_LastOneWhileAHostnameIsStrict_CannotBeRemoved()
    {
        Service.AddCaCertificate("root", CertificateInput.FromCertificate(Ca));
        Upload("server");
        Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "server", RequireClientCertificate = true });

        var error = Fails(() => Service.RemoveCaCertificate("root"));

        Assert.Equal("CaCertificateInUse", error.ErrorId);
        Assert.Contains("hostname 'localhost' (requires client certificates", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CaCertificate_NamedAsIssuerInAnIdentity_CannotBeRemoved()
    {
        Service.AddCaCertificate("root", CertificateInput.FromCertificate(Ca));
        Service.SetPolicy(null, "<policies><inbound><validate-client-certificate><identities><identity issuer-certificate-id=\"root\" /></identities></validate-client-certificate></inbound><backend><forward-request /></backend></policies>");

        var error = Fails(() => Service.RemoveCaCertificate("root"));

        Assert.Equal("CaCertificateInUse", error.ErrorId);
        Assert.Contains("the global policy (validate-client-certificate issuer)", error.Message, StringComparison.Ordinal);
    }
}
