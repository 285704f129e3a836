using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Tls;

/// <summary>Client-certificate negotiation per hostname, observed with a raw SslStream client over real TLS.</summary>
public sealed class NegotiationTests
{
    /// <summary>Answers 200 with what the policies see: the certificate's thumbprint (or "none") and Verify without revocation.</summary>
    private const string ReportPolicy = """
        <policies>
          <inbound>
            <return-response>
              <set-status code="200" reason="OK" />
              <set-header name="x-certificate" exists-action="override">
                <value>@(context.Request.Certificate == null ? "none" : context.Request.Certificate.Thumbprint)</value>
              </set-header>
              <set-header name="x-verified" exists-action="override">
                <value>@(context.Request.Certificate != null &amp;&amp; context.Request.Certificate.VerifyNoRevocation())</value>
              </set-header>
            </return-response>
          </inbound>
        </policies>
        """;

    private static async Task<TestGateway> StartAsync(bool negotiate, bool require = false, Action<TestGateway>? configure = null)
    {
        var gateway = TestGateway.Create(negotiate, require);
        gateway.AddApi("report", "report", policy: ReportPolicy);
        configure?.Invoke(gateway);
        await gateway.StartAsync();
        return gateway;
    }

    [Fact]
    public async Task NegotiateOff_RequestsNoCertificate_AndPoliciesSeeNull()
    {
        await using var gateway = await StartAsync(negotiate: false);
        using var client = gateway.Client();

        var response = await gateway.SendAsync("/report", client);

        Assert.Equal(200, response.Status);
        Assert.Equal("none", response.Header("x-certificate"));
    }

    [Fact]
    public async Task NegotiateOn_AcceptsAnyCertificate_AndHandsItToThePolicies()
    {
        await using var gateway = await StartAsync(negotiate: true);
        using var trusted = gateway.Client();
        using var selfSigned = TestCertificates.Create("CN=stranger", clientAuth: true);
        using var expired = gateway.Client(notBefore: DateTimeOffset.UtcNow.AddDays(-10), notAfter: DateTimeOffset.UtcNow.AddDays(-1));

        var fromCa = await gateway.SendAsync("/report", trusted);
        var stranger = await gateway.SendAsync("/report", selfSigned);
        var old = await gateway.SendAsync("/report", expired);
        var none = await gateway.SendAsync("/report");

        Assert.Equal((200, trusted.Thumbprint, "True"), (fromCa.Status, fromCa.Header("x-certificate"), fromCa.Header("x-verified")));
        Assert.Equal((200, selfSigned.Thumbprint, "False"), (stranger.Status, stranger.Header("x-certificate"), stranger.Header("x-verified")));
        Assert.Equal((200, expired.Thumbprint, "False"), (old.Status, old.Header("x-certificate"), old.Header("x-verified")));
        Assert.Equal((200, "none"), (none.Status, none.Header("x-certificate")));
    }

    [Fact]
    public async Task Strict_RefusesTheHandshake_UnlessTheCertificateChainsToAnUploadedCa()
    {
        await using var gateway = await StartAsync(negotiate: true, require: true);
        using var trusted = gateway.Client();
        using var otherCa = TestCertificates.CreateCa("CN=Other CA");
        using var foreign = TestCertificates.Create("CN=client", otherCa, clientAuth: true);
        using var expired = gateway.Client(notBefore: DateTimeOffset.UtcNow.AddDays(-10), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        using var serverOnly = TestCertificates.Create("CN=server-only", gateway.Ca, serverAuth: true);

        var ok = await gateway.SendAsync("/report", trusted);
        Assert.Equal((200, trusted.Thumbprint, "True"), (ok.Status, ok.Header("x-certificate"), ok.Header("x-verified")));
        Assert.True((await gateway.SendAsync("/report")).Refused);
        Assert.True((await gateway.SendAsync("/report", foreign)).Refused);
        Assert.True((await gateway.SendAsync("/report", expired)).Refused);
        Assert.True((await gateway.SendAsync("/report", serverOnly)).Refused);
        Assert.Contains(gateway.Logs.Messages(12), m => m.Contains("does not chain to an uploaded CA", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sni_SelectsTheHostnameAndItsMode_OnOnePort()
    {
        await using var gateway = await StartAsync(negotiate: false, configure: g =>
        {
            using var apiCertificate = TestCertificates.Create("CN=api.test", g.Ca, serverAuth: true, dnsNames: ["api.test"]);
            g.Service.AddCertificate("api-server", CertificateInput.FromCertificate(apiCertificate));
            g.Service.SetHostname(new HostnameDefinition
            {
                HostName = "api.test",
                Port = g.Port,
                ListenAddress = "127.0.0.1",
                CertificateId = "api-server",
                RequireClientCertificate = true,
            });
        });
        using var client = gateway.Client();

        var relaxed = await gateway.SendAsync("/report", client, host: "localhost");
        var strictWithout = await gateway.SendAsync("/report", host: "api.test");
        var strictWith = await gateway.SendAsync("/report", client, host: "api.test");
        var unknownName = await gateway.SendAsync("/report", client, host: "other.test");

        Assert.Equal("none", relaxed.Header("x-certificate"));
        Assert.True(strictWithout.Refused);
        Assert.Equal(client.Thumbprint, strictWith.Header("x-certificate"));
        Assert.Equal("none", unknownName.Header("x-certificate")); // falls back to the first hostname on the port
    }
}
