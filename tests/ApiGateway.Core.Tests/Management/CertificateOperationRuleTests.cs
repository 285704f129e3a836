using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Management;

/// <summary>
/// Certificate operations where the first Stryker run found no failing test (tests/MUTATION.md): the id made when
/// the certificate has no common name, filters that never fail on "nothing found", replacement without a key while
/// nothing presents the certificate, the grammar of the refusals (one reference or several), the example fix each
/// in-use refusal gives for every kind of place, and the not-yet-valid warning.
/// </summary>
public sealed class CertificateOperationRuleTests : ServiceTestBase
{
    [Fact]
    public void Add_WithoutIdOrCommonName_UsesTheWordCertificate()
    {
        using var nameless = TestCertificates.Create("CN=---", Ca, clientAuth: true);

        var added = Service.AddCertificate(null, CertificateInput.FromCertificate(nameless)).Value;

        Assert.Equal("certificate", added.CertificateId);
    }

    [Fact]
    public void Add_NotYetValid_IsAcceptedWithAWarning()
    {
        using var future = NewClient("CN=future", notBefore: DateTimeOffset.UtcNow.AddDays(3), notAfter: DateTimeOffset.UtcNow.AddDays(30));

        var result = Service.AddCertificate("future", CertificateInput.FromCertificate(future));

        var warning = Assert.Single(result.Warnings);
        Assert.StartsWith("Certificate 'future' is not valid before ", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_WithAFilter_ReturnsNothingRatherThanNotFound()
    {
        Upload("unused");

        Assert.Empty(Service.GetCertificates(new CertificateQuery { CertificateId = "unused", InUse = true }));
        Assert.Empty(Service.GetCertificates(new CertificateQuery { CertificateId = "unused", ExpiringInDays = 1 }));
        Assert.Single(Service.GetCertificates(new CertificateQuery { CertificateId = "unused", InUse = false }));
        Assert.Equal("CertificateNotFound", Fails(() => Service.GetCertificates(new CertificateQuery { CertificateId = "missing" })).ErrorId);
    }

    [Fact]
    public void EveryOperationOnAMissingId_IsCertificateNotFound_PointingToTheList()
    {
        using var cert = NewClient();
        foreach (var error in new[]
        {
            Fails(() => Service.GetCertificate("missing")),
            Fails(() => Service.ReplaceCertificate("missing", CertificateInput.FromCertificate(cert))),
            Fails(() => Service.RemoveCertificate("missing")),
            Fails(() => Service.GetCertificateReferences("missing")),
        })
        {
            Assert.Equal("CertificateNotFound", error.ErrorId);
            Assert.Equal(GatewayErrorCategory.NotFound, error.Category);
            Assert.Equal("Certificate 'missing' does not exist. Get-GatewayCertificate lists the ones there are.", error.Message);
        }
    }

    [Fact]
    public void Replace_WithoutKey_IsAllowedWhileNothingPresentsIt()
    {
        Upload("partner");
        Service.SetPolicy(null, $"""
            <policies>
              <inbound><validate-client-certificate validate-revocation="false"><identities><identity certificate-id="partner" /></identities></validate-client-certificate></inbound>
              <backend><forward-request /></backend>
              <outbound />
              <on-error />
            </policies>
            """);
        using var next = NewClient("CN=next");

        var replaced = Service.ReplaceCertificate("partner", CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(next.RawData))).Value;

        Assert.False(replaced.HasPrivateKey);
        Assert.True(replaced.InUse);
    }

    [Fact]
    public void Replace_WithoutKey_WhileSeveralPresentIt_ListsThemInThePlural()
    {
        Upload("shared");
        Service.SetHostname(new HostnameDefinition { HostName = "api.contoso.example", CertificateId = "shared" });
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });
        Service.SetGatewayCredential("orders", "shared", null);
        using var next = NewClient("CN=next");

        var error = Fails(() => Service.ReplaceCertificate("shared", CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(next.RawData))));

        Assert.Contains("but hostname 'api.contoso.example' (server certificate) and API 'orders' (gateway credential) present it.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replace_ThatWouldBreakThumbprintReferences_NamesTheFixForEachKindOfPlace()
    {
        using var old = Upload("legacy");
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });
        Service.SetGatewayCredential("orders", null, old.Thumbprint);
        using var next = NewClient("CN=next");

        var api = Fails(() => Service.ReplaceCertificate("legacy", CertificateInput.FromCertificate(next)));
        Assert.Contains("API 'orders' (gateway credential, by thumbprint) refers to it by its thumbprint", api.Message, StringComparison.Ordinal);
        Assert.Contains("(Set-ApiGatewayCredential -ApiId orders -CertificateId legacy)", api.Message, StringComparison.Ordinal);
        Assert.Equal(["API 'orders' (gateway credential, by thumbprint)"], api.Details);

        Service.SetPolicy(null, $"""
            <policies>
              <inbound><authentication-certificate thumbprint="{old.Thumbprint}" /></inbound>
              <backend><forward-request /></backend>
              <outbound />
              <on-error />
            </policies>
            """);
        var both = Fails(() => Service.ReplaceCertificate("legacy", CertificateInput.FromCertificate(next)));
        Assert.Contains("and API 'orders' (gateway credential, by thumbprint) refer to it by its thumbprint", both.Message, StringComparison.Ordinal);
        Assert.Equal(2, both.Details.Count);
        Assert.Contains("Refer to it by id first (Set-GatewayPolicy), then replace it.", both.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replace_WithATwin_WarnsInThePluralForSeveralReferences()
    {
        using var old = Upload("legacy");
        Service.AddCertificate("legacy-copy", CertificateInput.FromCertificate(old));
        Service.NewBackend(new BackendDefinition { BackendId = "billing", Url = "https://billing.example.com/", Credentials = new GatewayBackendCredential { CertificateThumbprints = [old.Thumbprint] } });
        Service.NewBackend(new BackendDefinition { BackendId = "payments", Url = "https://payments.example.com/", Credentials = new GatewayBackendCredential { CertificateThumbprints = [old.Thumbprint] } });
        using var next = NewClient("CN=next");

        var result = Service.ReplaceCertificate("legacy", CertificateInput.FromCertificate(next));

        var warning = Assert.Single(result.Warnings, w => w.Contains("thumbprint", StringComparison.Ordinal));
        Assert.Equal($"Backend 'billing' (credential certificate, by thumbprint) and backend 'payments' (credential certificate, by thumbprint) refer to thumbprint {old.Thumbprint} and keep using the other certificate with that thumbprint, not the new content of 'legacy'.", warning);
    }

    [Fact]
    public void InUse_GivesTheExampleFixOfTheFirstReference_ForEveryKindOfPlace()
    {
        CertificateReference Reference(ReferrerType type, CertificateUsage usage, string who = "x") =>
            new() { CertificateId = "c", ReferrerType = type, ReferrerId = who, Usage = usage };
        string Example(CertificateReference first) => GatewayService.InUse("c", [first]).Message;

        Assert.Contains("e.g. Set-GatewayHostname -HostName x -CertificateId <new>.", Example(Reference(ReferrerType.Hostname, CertificateUsage.ServerCertificate)), StringComparison.Ordinal);
        Assert.Contains("e.g. Set-ApiGatewayCredential -ApiId x -CertificateId <new>.", Example(Reference(ReferrerType.Api, CertificateUsage.GatewayCredential)), StringComparison.Ordinal);
        Assert.Contains("e.g. Set-GatewayPolicy -Policy <xml>.", Example(Reference(ReferrerType.GlobalPolicy, CertificateUsage.GatewayCredential, string.Empty)), StringComparison.Ordinal);
        Assert.Contains("e.g. Set-GatewayBackend -BackendId x -Credential (New-GatewayBackendCredential -CertificateId <new>).", Example(Reference(ReferrerType.Backend, CertificateUsage.BackendCredential)), StringComparison.Ordinal);
        Assert.Contains("e.g. Set-GatewayPolicy -ApiId x -Policy <xml>.", Example(Reference(ReferrerType.Api, CertificateUsage.ClientCertificateIdentity)), StringComparison.Ordinal);
        Assert.Contains("e.g. Set-GatewayPolicy -Policy <xml>.", Example(Reference(ReferrerType.GlobalPolicy, CertificateUsage.IssuerIdentity, string.Empty)), StringComparison.Ordinal);

        var one = GatewayService.InUse("c", [Reference(ReferrerType.Hostname, CertificateUsage.ServerCertificate)]);
        Assert.Contains("Remove it from there first", one.Message, StringComparison.Ordinal);
        Assert.Equal(["hostname 'x' (server certificate)"], one.Details);
        Assert.Equal("CertificateInUse", one.ErrorId);
        Assert.Equal("c", one.Target);
    }

    [Fact]
    public void ALinkedPemWithASeparateKey_RecordsBothFullPaths()
    {
        using var linked = NewClient("CN=linked");
        var certificate = Temp.Write("linked.pem", TestCertificates.CertificatePem(linked));
        var key = Temp.Write("linked.key", TestCertificates.KeyPem(linked));
        var relativeKey = Path.GetRelativePath(Environment.CurrentDirectory, key);

        var added = Service.AddCertificate("linked", CertificateInput.Linked(certificate, relativeKey)).Value;

        Assert.Equal(Path.GetFullPath(certificate), added.LinkedPath);
        Assert.Equal(key, added.KeyPath);
        Assert.True(added.HasPrivateKey);
    }

    [Fact]
    public void ALinkedFileThatLostItsKey_IsRecordedAsKeylessByTheNextChange()
    {
        using var linked = NewClient("CN=linked");
        var path = Temp.Write("linked.pem", TestCertificates.CertificatePem(linked) + "\n" + TestCertificates.KeyPem(linked) + "\n");
        Service.AddCertificate("linked", CertificateInput.Linked(path));

        File.WriteAllText(path, TestCertificates.CertificatePem(linked) + "\n");
        Upload("other", "CN=other");

        Assert.False(Service.Read().Certificates["linked"].HasPrivateKey);
        Assert.Equal(linked.Thumbprint, Service.Read().Certificates["linked"].Thumbprint);
    }

    // RFC 5280 4.1.2.5: the validity period is the interval from notBefore through notAfter, both instants included.
    // A clock on either bound is therefore still valid: no warning. One second past it is not.
    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    public void Add_AtTheNotAfterInstant_IsStillValid_OneSecondLaterExpired(int secondsAfter, bool warned)
    {
        var notAfter = WholeSecond(DateTimeOffset.UtcNow.AddDays(10));
        using var cert = NewClient("CN=bound", notBefore: notAfter.AddDays(-5), notAfter: notAfter);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(notAfter.AddSeconds(secondsAfter));
        var service = new GatewayService(Temp.File("clock.json"), timeProvider: clock);
        service.Open("clock");

        var result = service.AddCertificate("bound", CertificateInput.FromCertificate(cert));

        Assert.Equal(warned, result.Warnings.Any(w => w.StartsWith("Certificate 'bound' expired on ", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(-1, true)]
    public void Add_AtTheNotBeforeInstant_IsAlreadyValid_OneSecondEarlierNotYet(int secondsAfter, bool warned)
    {
        var notBefore = WholeSecond(DateTimeOffset.UtcNow.AddDays(10));
        using var cert = NewClient("CN=bound", notBefore: notBefore, notAfter: notBefore.AddDays(5));
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(notBefore.AddSeconds(secondsAfter));
        var service = new GatewayService(Temp.File("clock.json"), timeProvider: clock);
        service.Open("clock");

        var result = service.AddCertificate("bound", CertificateInput.FromCertificate(cert));

        Assert.Equal(warned, result.Warnings.Any(w => w.StartsWith("Certificate 'bound' is not valid before ", StringComparison.Ordinal)));
    }

    // Inside the test CA's validity (a certificate cannot outlive its issuer), on a whole second as X.509 times are.
    private static DateTimeOffset WholeSecond(DateTimeOffset value) => DateTimeOffset.FromUnixTimeSeconds(value.ToUnixTimeSeconds());

    [Fact]
    public void Add_ExpiredWithoutId_TheWarningNamesTheCertificate_NotItsIssuer()
    {
        using var expired = NewClient("CN=own-name", notBefore: DateTimeOffset.UtcNow.AddDays(-60), notAfter: DateTimeOffset.UtcNow.AddDays(-1));

        var result = Service.AddCertificate(null, CertificateInput.FromCertificate(expired));

        Assert.Equal("own-name", result.Value.CertificateId);
        var warning = Assert.Single(result.Warnings);
        Assert.StartsWith("Certificate 'own-name' expired on ", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_InvalidId_TheMessageNamesTheParameterAndTheRule()
    {
        using var cert = NewClient();

        var error = Fails(() => Service.AddCertificate("has space", CertificateInput.FromCertificate(cert)));

        Assert.Equal("CertificateInvalidId", error.ErrorId);
        Assert.StartsWith("'has space' is not a valid certificate id: it must be ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replace_WithATwin_WarnsInTheSingularForOneReference()
    {
        using var old = Upload("legacy");
        Service.AddCertificate("legacy-copy", CertificateInput.FromCertificate(old));
        Service.NewBackend(new BackendDefinition { BackendId = "billing", Url = "https://billing.example.com/", Credentials = new GatewayBackendCredential { CertificateThumbprints = [old.Thumbprint] } });
        using var next = NewClient("CN=next");

        var result = Service.ReplaceCertificate("legacy", CertificateInput.FromCertificate(next));

        var warning = Assert.Single(result.Warnings, w => w.Contains("thumbprint", StringComparison.Ordinal));
        Assert.Equal($"Backend 'billing' (credential certificate, by thumbprint) refers to thumbprint {old.Thumbprint} and keeps using the other certificate with that thumbprint, not the new content of 'legacy'.", warning);
    }

    [Fact]
    public void ReferenceIndex_OfNoConfiguration_IsAnArgumentError() =>
        Assert.Throws<ArgumentNullException>(() => new ReferenceIndex(null!));

    [Fact]
    public void Add_ExpiredWithAnId_TheWarningNamesTheId_NotTheCommonName()
    {
        using var expired = NewClient("CN=client", notBefore: DateTimeOffset.UtcNow.AddDays(-60), notAfter: DateTimeOffset.UtcNow.AddDays(-1));

        var result = Service.AddCertificate("partner-2025", CertificateInput.FromCertificate(expired));

        Assert.StartsWith("Certificate 'partner-2025' expired on ", Assert.Single(result.Warnings), StringComparison.Ordinal);
    }
}
