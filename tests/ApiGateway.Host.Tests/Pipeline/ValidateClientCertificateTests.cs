using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Pipeline;

/// <summary>validate-client-certificate over real TLS: its rules, identities, ignore-error and on-error.</summary>
public sealed class ValidateClientCertificateTests : IClassFixture<ValidateClientCertificateTests.Fixture>
{
    private readonly Fixture _f;

    public ValidateClientCertificateTests(Fixture fixture)
    {
        _f = fixture;
    }

    public sealed class Fixture : IAsyncLifetime
    {
        internal TestGateway Gateway { get; } = TestGateway.Create();
        internal TestBackend Backend { get; private set; } = null!;
        public X509Certificate2 Valid { get; private set; } = null!;
        public X509Certificate2 Uploaded { get; private set; } = null!;
        public X509Certificate2 Expired { get; private set; } = null!;
        public X509Certificate2 Foreign { get; private set; } = null!;
        public X509Certificate2 NotYet { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var g = Gateway;
            Valid = TestCertificates.Create("CN=partner.contoso.com, O=Contoso", g.Ca, clientAuth: true, dnsNames: ["partner.contoso.com"]);
            Uploaded = g.Client("CN=uploaded, O=Contoso");
            Expired = g.Client("CN=partner.contoso.com, O=Contoso", DateTimeOffset.UtcNow.AddDays(-20), DateTimeOffset.UtcNow.AddDays(-2));
            NotYet = g.Client("CN=partner.contoso.com, O=Contoso", DateTimeOffset.UtcNow.AddDays(2), DateTimeOffset.UtcNow.AddDays(20));
            using var otherCa = TestCertificates.CreateCa("CN=Other CA");
            Foreign = TestCertificates.Create("CN=partner.contoso.com, O=Contoso", otherCa, clientAuth: true);
            g.Service.AddCertificate("partner-uploaded", CertificateInput.FromPemFile(g.Folder.Write("uploaded.pem", Uploaded.ExportCertificatePem())));

            Backend = await TestBackend.StartAsync();
            g.Service.NewBackend(new BackendDefinition { BackendId = "echo", Url = Backend.Url, SkipCertificateChainValidation = true });
            const string Rules = "validate-revocation=\"false\" validate-trust=\"true\" validate-not-before=\"true\" validate-not-after=\"true\"";
            g.AddApi("basic", "basic", backendId: "echo", policy: Policy($"<validate-client-certificate {Rules} ignore-error=\"false\" />"));
            var others = string.Concat(Enumerable.Range(1, 7).Select(i => $"<identity thumbprint=\"{new string((char)('0' + i), 40)}\" />"));
            g.AddApi("identities", "identities", backendId: "echo", policy: Policy($"""
                <validate-client-certificate {Rules}>
                  <identities>
                    {others}
                    <identity subject="cn=partner.contoso.com,o=contoso" issuer-subject="CN=Test Gateway CA,O=Contoso" dns-name="partner.contoso.com" common-name="partner.contoso.com" />
                    <identity certificate-id="partner-uploaded" />
                    <identity issuer-certificate-id="client-ca" serial-number="00" />
                  </identities>
                </validate-client-certificate>
                """));
            g.AddApi("revocation", "revocation", backendId: "echo", policy: Policy("<validate-client-certificate />"));
            g.AddApi("lenient", "lenient", backendId: "echo", policy: Policy($"""
                <validate-client-certificate {Rules} ignore-error="true" />
                <set-header name="x-validation" exists-action="override"><value>@(context.LastError == null ? "ok" : context.LastError.Reason)</value></set-header>
                """));
            g.AddApi("handled", "handled", backendId: "echo", policy: Policy($"<validate-client-certificate {Rules} />") .Replace("<on-error>\n    <base />\n  </on-error>", """
                <on-error>
                    <return-response>
                      <set-status code="401" reason="Unauthorized" />
                      <set-body>@(context.LastError.Source + ": " + context.LastError.Reason)</set-body>
                    </return-response>
                  </on-error>
                """, StringComparison.Ordinal));
            await g.StartAsync();
        }

        public async Task DisposeAsync()
        {
            await Gateway.DisposeAsync();
            await Backend.DisposeAsync();
        }

        private static string Policy(string inbound) => PolicyTemplates.Inheriting(inbound: inbound);
    }

    private async Task<RawResponse> Send(string api, X509Certificate2? certificate) => await _f.Gateway.SendAsync($"/{api}/x", certificate);

    private static void AssertRefused(RawResponse response, string because)
    {
        Assert.Equal(403, response.Status);
        Assert.Equal("Invalid client certificate", response.Reason);
        Assert.Equal("ClientCertificateNotValid", response.Json.GetProperty("error").GetString());
        Assert.Contains(because, response.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rules_EachFailureIs403_NamingWhatFailed()
    {
        Assert.Equal(200, (await Send("basic", _f.Valid)).Status);
        AssertRefused(await Send("basic", null), "none was presented");
        AssertRefused(await Send("basic", _f.Expired), "expired on");
        AssertRefused(await Send("basic", _f.NotYet), "not valid before");
        AssertRefused(await Send("basic", _f.Foreign), "does not chain to an uploaded CA certificate");
    }

    [Fact]
    public async Task Identities_OneMustMatchEntirely()
    {
        Assert.Equal(200, (await Send("identities", _f.Valid)).Status);
        Assert.Equal(200, (await Send("identities", _f.Uploaded)).Status);
        using var stranger = _f.Gateway.Client("CN=stranger, O=Contoso");
        AssertRefused(await Send("identities", stranger), "matches none of the 10 identities");
    }

    [Fact]
    public async Task Revocation_IsCheckedByDefault_AndUnknownStatusRefuses()
    {
        AssertRefused(await Send("revocation", _f.Valid), "revocation status could not be checked");
    }

    [Fact]
    public async Task IgnoreError_GoesOn_WithTheReasonInLastError()
    {
        var good = await Send("lenient", _f.Valid);
        var bad = await Send("lenient", _f.Foreign);

        Assert.Equal(200, good.Status);
        Assert.Equal("ok", good.Json.GetProperty("headers").GetProperty("x-validation").GetString());
        Assert.Equal(200, bad.Status);
        Assert.Equal("ClientCertificateNotValid", bad.Json.GetProperty("headers").GetProperty("x-validation").GetString());
    }

    [Fact]
    public async Task OnError_CanAnswerInstead()
    {
        var response = await Send("handled", _f.Foreign);

        Assert.Equal(401, response.Status);
        Assert.Equal("validate-client-certificate: ClientCertificateNotValid", response.Body);
    }
}
