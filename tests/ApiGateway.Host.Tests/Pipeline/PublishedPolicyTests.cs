using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Pipeline;

/// <summary>
/// The four policies of the APIM page "How to secure APIs using client certificate authentication", exactly as
/// published (only the placeholder values "trusted-issuer", "expected-subject-name" and "desired-thumbprint" are
/// filled in), served by a real gateway and called over real TLS by clients presenting: no certificate, an expired
/// one, one from another issuer, one with another subject, one with another thumbprint that was not uploaded, and
/// the uploaded one.
/// </summary>
public sealed class PublishedPolicyTests : IClassFixture<PublishedPolicyTests.Fixture>
{
    private readonly Fixture _fixture;

    public PublishedPolicyTests(Fixture fixture)
    {
        _fixture = fixture;
    }

    public sealed class Fixture : IAsyncLifetime
    {
        internal TestGateway Gateway { get; } = TestGateway.Create();
        internal TestBackend Backend { get; private set; } = null!;
        public Dictionary<string, X509Certificate2?> Clients { get; } = [];

        public async Task InitializeAsync()
        {
            var gateway = Gateway;
            using var otherCa = TestCertificates.CreateCa("CN=Other CA, O=Fabrikam");
            const string Subject = "CN=expected-subject-name, O=Contoso";
            var uploaded = gateway.Client(Subject);
            Clients["none"] = null;
            Clients["expired"] = gateway.Client(Subject, DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(-1));
            Clients["wrong-issuer"] = TestCertificates.Create(Subject, otherCa, clientAuth: true);
            Clients["wrong-subject"] = gateway.Client("CN=someone-else, O=Contoso");
            Clients["not-uploaded"] = gateway.Client(Subject);
            Clients["uploaded"] = uploaded;

            // Uploaded as a client certificate (public part only, as a partner would send it).
            var pem = gateway.Folder.Write("partner.pem", uploaded.ExportCertificatePem());
            gateway.Service.AddCertificate("partner-1", CertificateInput.FromPemFile(pem));

            Backend = await TestBackend.StartAsync();
            gateway.Service.NewBackend(new BackendDefinition { BackendId = "echo", Url = Backend.Url, SkipCertificateChainValidation = true });

            // 1. Expiry, verbatim.
            gateway.AddApi("expiry", "expiry", backendId: "echo", policy: Inbound("""
                <choose>
                    <when condition="@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)" >
                        <return-response>
                            <set-status code="403" reason="Invalid client certificate" />
                        </return-response>
                    </when>
                </choose>
                """));
            // 2. Issuer and subject, verbatim; the DNs are written the way people type them (no space after the
            //    comma, other case), which the DN comparison treats as the same name.
            gateway.AddApi("issuer-subject", "issuer-subject", backendId: "echo", policy: Inbound("""
                <choose>
                    <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Issuer != "CN=Test Gateway CA,O=Contoso" || context.Request.Certificate.SubjectName != "cn=expected-subject-name,o=Contoso")" >
                        <return-response>
                            <set-status code="403" reason="Invalid client certificate" />
                        </return-response>
                    </when>
                </choose>
                """));
            // The later form of the same policy (SubjectName.Name).
            gateway.AddApi("issuer-subject-name", "issuer-subject-name", backendId: "echo", policy: Inbound("""
                <choose>
                    <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Issuer != "CN=Test Gateway CA, O=Contoso" || context.Request.Certificate.SubjectName.Name != "CN=expected-subject-name, O=Contoso")" >
                        <return-response>
                            <set-status code="403" reason="Invalid client certificate" />
                        </return-response>
                    </when>
                </choose>
                """));
            // 3. Thumbprint, verbatim (written in lower case, as copied from many tools).
            gateway.AddApi("thumbprint", "thumbprint", backendId: "echo", policy: Inbound($$"""
                <choose>
                    <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != "{{uploaded.Thumbprint.ToLowerInvariant()}}")" >
                        <return-response>
                            <set-status code="403" reason="Invalid client certificate" />
                        </return-response>
                    </when>
                </choose>
                """));
            // 4. Uploaded certificates, verbatim.
            gateway.AddApi("uploaded", "uploaded", backendId: "echo", policy: Inbound("""
                <choose>
                    <when condition="@(context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))" >
                        <return-response>
                            <set-status code="403" reason="Invalid client certificate" />
                        </return-response>
                    </when>
                </choose>
                """));
            // The later form with Verify().
            gateway.AddApi("uploaded-verified", "uploaded-verified", backendId: "echo", policy: Inbound("""
                <choose>
                    <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.VerifyNoRevocation()  || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))" >
                        <return-response>
                            <set-status code="403" reason="Invalid client certificate" />
                        </return-response>
                    </when>
                </choose>
                """));
            await gateway.StartAsync();
        }

        public async Task DisposeAsync()
        {
            await Gateway.DisposeAsync();
            await Backend.DisposeAsync();
        }

        private static string Inbound(string body) => PolicyTemplates.Inheriting(inbound: body);
    }

    [Theory]
    [InlineData("expiry", "none", 403)]
    [InlineData("expiry", "expired", 403)]
    [InlineData("expiry", "wrong-issuer", 200)]
    [InlineData("expiry", "wrong-subject", 200)]
    [InlineData("expiry", "not-uploaded", 200)]
    [InlineData("expiry", "uploaded", 200)]
    [InlineData("issuer-subject", "none", 403)]
    [InlineData("issuer-subject", "expired", 200)]
    [InlineData("issuer-subject", "wrong-issuer", 403)]
    [InlineData("issuer-subject", "wrong-subject", 403)]
    [InlineData("issuer-subject", "not-uploaded", 200)]
    [InlineData("issuer-subject", "uploaded", 200)]
    [InlineData("issuer-subject-name", "none", 403)]
    [InlineData("issuer-subject-name", "wrong-issuer", 403)]
    [InlineData("issuer-subject-name", "wrong-subject", 403)]
    [InlineData("issuer-subject-name", "uploaded", 200)]
    [InlineData("thumbprint", "none", 403)]
    [InlineData("thumbprint", "expired", 403)]
    [InlineData("thumbprint", "wrong-issuer", 403)]
    [InlineData("thumbprint", "wrong-subject", 403)]
    [InlineData("thumbprint", "not-uploaded", 403)]
    [InlineData("thumbprint", "uploaded", 200)]
    [InlineData("uploaded", "none", 403)]
    [InlineData("uploaded", "expired", 403)]
    [InlineData("uploaded", "wrong-issuer", 403)]
    [InlineData("uploaded", "wrong-subject", 403)]
    [InlineData("uploaded", "not-uploaded", 403)]
    [InlineData("uploaded", "uploaded", 200)]
    [InlineData("uploaded-verified", "none", 403)]
    [InlineData("uploaded-verified", "wrong-issuer", 403)]
    [InlineData("uploaded-verified", "not-uploaded", 403)]
    [InlineData("uploaded-verified", "uploaded", 200)]
    public async Task PublishedPolicy_DecidesByTheClientCertificate(string api, string client, int expected)
    {
        var before = _fixture.Backend.Requests;
        var response = await _fixture.Gateway.SendAsync($"/{api}/resource", _fixture.Clients[client]);

        Assert.False(response.Refused, response.ToString());
        Assert.Equal(expected, response.Status);
        if (expected == 403)
        {
            Assert.Equal("Invalid client certificate", response.Reason);
            Assert.Equal(before, _fixture.Backend.Requests);
        }
        else
        {
            Assert.Equal("/resource", response.Json.GetProperty("path").GetString());
        }
    }
}
