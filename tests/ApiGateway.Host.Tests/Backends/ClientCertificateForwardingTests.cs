using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Backends;

/// <summary>
/// The client certificate forwarded to the backend (X-ARR-ClientCert and RFC 9440 Client-Cert / Client-Cert-Chain),
/// over real mTLS to the gateway and a real backend that echoes what it received; and the spoof: the same headers
/// sent by a client never get through, forwarding on or off.
/// </summary>
public sealed class ClientCertificateForwardingTests
{
    private static readonly Dictionary<string, string> Spoofed = new()
    {
        ["X-ARR-ClientCert"] = "c3Bvb2ZlZA==",
        ["Client-Cert"] = ":c3Bvb2ZlZA==:",
        ["Client-Cert-Chain"] = ":c3Bvb2ZlZA==:, :c3Bvb2ZlZA==:",
    };

    private static async Task<(TestGateway Gateway, TestBackend Backend)> StartAsync(ClientCertificateForwarding forwarding, string? policy = null)
    {
        var backend = await TestBackend.StartAsync();
        var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "echo", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.Service.NewApi(new ApiDefinition { ApiId = "api", Path = "api", BackendId = "echo", ForwardClientCertificate = forwarding });
        if (policy is not null)
            gateway.Service.SetPolicy("api", policy);
        await gateway.StartAsync();
        return (gateway, backend);
    }

    private static Dictionary<string, string> HeadersReceived(RawResponse response)
    {
        Assert.True(response.Status == 200, response.ToString());
        return response.Json.GetProperty("headers").Deserialize<Dictionary<string, string>>()!;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ForwardingOff_SpoofedHeadersFromAClient_NeverReachTheBackend(bool withCertificate)
    {
        var (gateway, backend) = await StartAsync(ClientCertificateForwarding.None);
        await using var _ = backend;
        await using var __ = gateway;
        using var client = gateway.Client();

        var headers = HeadersReceived(await gateway.SendAsync("/api/x", withCertificate ? client : null, headers: Spoofed));

        Assert.False(headers.ContainsKey("x-arr-clientcert"), "X-ARR-ClientCert reached the backend");
        Assert.False(headers.ContainsKey("client-cert"), "Client-Cert reached the backend");
        Assert.False(headers.ContainsKey("client-cert-chain"), "Client-Cert-Chain reached the backend");
    }

    [Fact]
    public async Task XArrClientCert_IsTheLeafAsPlainBase64Der_ReplacingTheClientsValue()
    {
        var (gateway, backend) = await StartAsync(ClientCertificateForwarding.XArrClientCert);
        await using var _ = backend;
        await using var __ = gateway;
        using var client = gateway.Client("CN=forwarded, O=Contoso");

        var headers = HeadersReceived(await gateway.SendAsync("/api/x", client, headers: Spoofed));

        var value = headers["x-arr-clientcert"];
        Assert.DoesNotContain(":", value, StringComparison.Ordinal);
        Assert.DoesNotContain(",", value, StringComparison.Ordinal);
        Assert.Equal(client.RawData, Convert.FromBase64String(value));
        using var decoded = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(value));
        Assert.Equal(client.Thumbprint, decoded.Thumbprint);
        Assert.False(headers.ContainsKey("client-cert"), "Client-Cert was not asked for");
        Assert.False(headers.ContainsKey("client-cert-chain"), "Client-Cert-Chain was not asked for");
    }

    [Fact]
    public async Task ClientCert_IsAStructuredFieldByteSequence_AndTheChainListsTheIntermediateWithoutLeafOrRoot()
    {
        var (gateway, backend) = await StartAsync(ClientCertificateForwarding.ClientCert);
        await using var _ = backend;
        await using var __ = gateway;
        using var intermediate = TestCertificates.CreateIntermediate("CN=Partner Issuing CA, O=Contoso", gateway.Ca);
        using var leaf = TestCertificates.Create("CN=chained-client, O=Contoso", intermediate, clientAuth: true);
        using var publicIntermediate = X509CertificateLoader.LoadCertificate(intermediate.RawData);

        var headers = HeadersReceived(await gateway.SendAsync("/api/x", leaf, headers: Spoofed, clientIntermediates: [publicIntermediate]));

        // RFC 9440 section 2.2 / RFC 8941 section 3.3.5: ":" base64 ":" of the DER.
        Assert.Equal(":" + Convert.ToBase64String(leaf.RawData) + ":", headers["client-cert"]);
        // Section 2.3: a list of byte sequences, the leaf's issuer first; the leaf is never in it, the trust anchor
        // (the uploaded CA) is left out.
        Assert.Equal(":" + Convert.ToBase64String(intermediate.RawData) + ":", headers["client-cert-chain"]);
        Assert.False(headers.ContainsKey("x-arr-clientcert"), "X-ARR-ClientCert was not asked for");
    }

    [Fact]
    public async Task ClientCert_WithoutIntermediates_SendsNoChainHeader()
    {
        var (gateway, backend) = await StartAsync(ClientCertificateForwarding.ClientCert);
        await using var _ = backend;
        await using var __ = gateway;
        using var client = gateway.Client();

        var headers = HeadersReceived(await gateway.SendAsync("/api/x", client, headers: Spoofed));

        Assert.Equal(":" + Convert.ToBase64String(client.RawData) + ":", headers["client-cert"]);
        Assert.False(headers.ContainsKey("client-cert-chain"), "a chain of only the trust anchor is no chain: nothing to send");
    }

    [Fact]
    public async Task BothForms_AreSent_AndWithoutAClientCertificateNeitherIs()
    {
        var (gateway, backend) = await StartAsync(ClientCertificateForwarding.XArrClientCert | ClientCertificateForwarding.ClientCert);
        await using var _ = backend;
        await using var __ = gateway;
        using var client = gateway.Client();

        var with = HeadersReceived(await gateway.SendAsync("/api/x", client, headers: Spoofed));
        var without = HeadersReceived(await gateway.SendAsync("/api/x", null, headers: Spoofed));

        Assert.Equal(Convert.ToBase64String(client.RawData), with["x-arr-clientcert"]);
        Assert.Equal(":" + Convert.ToBase64String(client.RawData) + ":", with["client-cert"]);
        Assert.False(without.ContainsKey("x-arr-clientcert"), "no certificate: the spoofed X-ARR-ClientCert must not pass");
        Assert.False(without.ContainsKey("client-cert"), "no certificate: the spoofed Client-Cert must not pass");
        Assert.False(without.ContainsKey("client-cert-chain"), "no certificate: the spoofed Client-Cert-Chain must not pass");
    }

    [Fact]
    public async Task Policies_NeverSeeTheClientsClaim_AndMayWriteTheHeaderThemselvesWhenForwardingIsOff()
    {
        // The APIM pattern: a policy that writes X-ARR-ClientCert from context.Request.Certificate. The client's own
        // header is gone before the policy runs, so a policy that only copies it on has nothing to copy.
        const string policy = """
            <policies>
              <inbound>
                <base />
                <set-header name="X-Seen-By-Policy" exists-action="override">
                  <value>@(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", "none"))</value>
                </set-header>
                <set-header name="X-ARR-ClientCert" exists-action="override">
                  <value>@(context.Request.Certificate == null ? "" : Convert.ToBase64String(context.Request.Certificate.RawData))</value>
                </set-header>
              </inbound>
              <backend><base /></backend>
              <outbound><base /></outbound>
              <on-error><base /></on-error>
            </policies>
            """;
        var (gateway, backend) = await StartAsync(ClientCertificateForwarding.None, policy);
        await using var _ = backend;
        await using var __ = gateway;
        using var client = gateway.Client();

        var headers = HeadersReceived(await gateway.SendAsync("/api/x", client, headers: Spoofed));

        Assert.Equal("none", headers["x-seen-by-policy"]);
        Assert.Equal(Convert.ToBase64String(client.RawData), headers["x-arr-clientcert"]);
    }

    [Fact]
    public async Task SetGatewayApi_TurnsForwardingOnAndOff_OnTheRunningGateway()
    {
        var (gateway, backend) = await StartAsync(ClientCertificateForwarding.None);
        await using var _ = backend;
        await using var __ = gateway;
        using var client = gateway.Client();

        var served = gateway.Server!.Runtime.Current!.Revision;
        var api = gateway.Service.SetApi("api", new ApiDefinition { ForwardClientCertificate = ClientCertificateForwarding.XArrClientCert });
        await gateway.WaitForRevisionAsync(served + 1);
        var on = HeadersReceived(await gateway.SendAsync("/api/x", client));
        gateway.Service.SetApi("api", new ApiDefinition { ForwardClientCertificate = ClientCertificateForwarding.None });
        await gateway.WaitForRevisionAsync(served + 2);
        var off = HeadersReceived(await gateway.SendAsync("/api/x", client));

        Assert.Equal(ClientCertificateForwarding.XArrClientCert, api.ForwardClientCertificate);
        Assert.Equal(Convert.ToBase64String(client.RawData), on["x-arr-clientcert"]);
        Assert.False(off.ContainsKey("x-arr-clientcert"), "forwarding was turned off");
    }
}
