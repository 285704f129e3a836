using System.Security;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Tests.Backends;

/// <summary>Gateway → backend over real TLS: server-certificate checks, client certificates, credentials, failures.</summary>
public sealed class BackendTests
{
    private static async Task<TestGateway> GatewayFor(Action<TestGateway> configure)
    {
        var gateway = TestGateway.Create();
        configure(gateway);
        await gateway.StartAsync();
        return gateway;
    }

    [Fact]
    public async Task SelfSignedBackend_WithoutSkipChain_Is500NamingTheBackend_WithSkip_Succeeds()
    {
        await using var backend = await TestBackend.StartAsync();
        await using var gateway = await GatewayFor(g =>
        {
            g.Service.NewBackend(new BackendDefinition { BackendId = "strict-backend", Url = backend.Url });
            g.Service.NewBackend(new BackendDefinition { BackendId = "lenient-backend", Url = backend.Url, SkipCertificateChainValidation = true });
            g.AddApi("strict", "strict", backendId: "strict-backend");
            g.AddApi("lenient", "lenient", backendId: "lenient-backend");
        });

        var refused = await gateway.SendAsync("/strict");
        var accepted = await gateway.SendAsync("/lenient");

        Assert.Equal(500, refused.Status);
        Assert.Equal("BackendCertificateInvalid", refused.Json.GetProperty("error").GetString());
        Assert.Equal("strict-backend", refused.Json.GetProperty("backend").GetString());
        Assert.Contains("RemoteCertificateChainErrors", refused.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("-SkipCertificateChainValidation", refused.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        var log = Assert.Single(gateway.Logs.Messages(8));
        Assert.Contains("strict-backend", log, StringComparison.Ordinal);
        Assert.Contains("RemoteCertificateChainErrors", log, StringComparison.Ordinal);
        Assert.Equal(200, accepted.Status);
    }

    [Fact]
    public async Task ChainAndNameValidation_AreIndependent()
    {
        using var wrongName = TestCertificates.Create("CN=elsewhere", serverAuth: true, dnsNames: ["elsewhere.example"]);
        await using var backend = await TestBackend.StartAsync(wrongName);
        await using var gateway = await GatewayFor(g =>
        {
            g.Service.NewBackend(new BackendDefinition { BackendId = "skip-chain", Url = backend.Url, SkipCertificateChainValidation = true });
            g.Service.NewBackend(new BackendDefinition { BackendId = "skip-name", Url = backend.Url, SkipCertificateNameValidation = true });
            g.Service.NewBackend(new BackendDefinition { BackendId = "skip-both", Url = backend.Url, SkipCertificateChainValidation = true, SkipCertificateNameValidation = true });
            g.AddApi("chain", "chain", backendId: "skip-chain");
            g.AddApi("name", "name", backendId: "skip-name");
            g.AddApi("both", "both", backendId: "skip-both");
        });

        var nameStillChecked = await gateway.SendAsync("/chain");
        var chainStillChecked = await gateway.SendAsync("/name");
        var neither = await gateway.SendAsync("/both");

        Assert.Equal(500, nameStillChecked.Status);
        Assert.Contains("RemoteCertificateNameMismatch", nameStillChecked.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("RemoteCertificateChainErrors", nameStillChecked.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(500, chainStillChecked.Status);
        Assert.Contains("RemoteCertificateChainErrors", chainStillChecked.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("RemoteCertificateNameMismatch", chainStillChecked.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, neither.Status);
    }

    [Fact]
    public async Task DocumentedScenario_BackendRequiresTheGatewaysClientCertificate()
    {
        // The scenario: an API whose gateway credential (Set-ApiGatewayCredential) is presented to a backend
        // that has a self-signed certificate and accepts only that client certificate.
        using var credential = TestCertificates.Create("CN=gateway-to-backend", clientAuth: true);
        await using var backend = await TestBackend.StartAsync(requireClientThumbprints: [credential.Thumbprint]);
        await using var gateway = await GatewayFor(g =>
        {
            g.Service.AddCertificate("backend-2025", CertificateInput.FromCertificate(credential));
            g.Service.NewBackend(new BackendDefinition { BackendId = "orders-backend", Url = backend.Url, SkipCertificateChainValidation = true });
            g.AddApi("orders", "orders", backendId: "orders-backend");
            g.Service.SetGatewayCredential("orders", "backend-2025", null);
            g.AddApi("anonymous", "anonymous", backendId: "orders-backend");
        });
        using var client = gateway.Client();

        var ok = await gateway.SendAsync("/orders/1", client);
        var withoutCredential = await gateway.SendAsync("/anonymous/1", client);

        Assert.Equal(200, ok.Status);
        Assert.Equal(credential.Thumbprint, ok.Json.GetProperty("clientCertificate").GetString());
        Assert.Equal(502, withoutCredential.Status);
        Assert.Equal("BackendConnectionFailure", withoutCredential.Json.GetProperty("error").GetString());
        Assert.True(withoutCredential.Json.GetProperty("message").GetString()!.Contains("if it requires a client certificate", StringComparison.Ordinal), withoutCredential.Body);
    }

    [Fact]
    public async Task BackendCredentials_CertificateHeaderQueryAndAuthorization_AreApplied()
    {
        using var credential = TestCertificates.Create("CN=backend-credential", clientAuth: true);
        await using var backend = await TestBackend.StartAsync(requireClientThumbprints: [credential.Thumbprint]);
        await using var gateway = await GatewayFor(g =>
        {
            g.Service.AddCertificate("backend-credential", CertificateInput.FromCertificate(credential));
            var parameter = new SecureString();
            foreach (var c in "s3cr3t")
                parameter.AppendChar(c);
            g.Service.NewBackend(new BackendDefinition
            {
                BackendId = "credentialed",
                Url = backend.Url + "v1?tenant=contoso",
                SkipCertificateChainValidation = true,
                Credentials = new GatewayBackendCredential
                {
                    CertificateIds = ["backend-credential"],
                    Header = new Dictionary<string, IReadOnlyList<string>> { ["x-api-key"] = ["key-1"] },
                    Query = new Dictionary<string, IReadOnlyList<string>> { ["code"] = ["abc"] },
                    AuthorizationHeaderScheme = "Bearer",
                    AuthorizationHeaderParameter = parameter,
                },
            });
            g.AddApi("secured", "secured", backendId: "credentialed");
        });

        var response = await gateway.SendAsync("/secured/items?code=client-value&x=1",
            headers: new Dictionary<string, string> { ["x-api-key"] = "spoofed", ["Authorization"] = "Basic spoofed" });

        Assert.Equal(200, response.Status);
        var echo = response.Json;
        Assert.Equal(credential.Thumbprint, echo.GetProperty("clientCertificate").GetString());
        Assert.Equal("/v1/items", echo.GetProperty("path").GetString());
        Assert.Equal("?x=1&code=abc&tenant=contoso", echo.GetProperty("query").GetString());
        Assert.Equal("key-1", echo.GetProperty("headers").GetProperty("x-api-key").GetString());
        Assert.Equal("Bearer s3cr3t", echo.GetProperty("headers").GetProperty("authorization").GetString());
    }

    [Fact]
    public async Task Host_IsTheBackends_UnlessSetHeaderWritesOne()
    {
        await using var backend = await TestBackend.StartAsync(https: false);
        var backendHost = new Uri(backend.Url).Authority;
        await using var gateway = await GatewayFor(g =>
        {
            g.AddApi("plain", "plain", url: backend.Url);
            g.AddApi("named", "named", url: backend.Url, policy: """
                <policies>
                  <inbound><set-header name="host" exists-action="override"><value>orders.contoso.com</value></set-header></inbound>
                  <backend><forward-request /></backend>
                </policies>
                """);
            g.AddApi("skipped", "skipped", url: backend.Url, policy: """
                <policies>
                  <inbound><set-header name="Host" exists-action="skip"><value>ignored.contoso.com</value></set-header></inbound>
                  <backend><forward-request /></backend>
                </policies>
                """);
        });

        var plain = await gateway.SendAsync("/plain/a");
        var named = await gateway.SendAsync("/named/a");
        var skipped = await gateway.SendAsync("/skipped/a");

        Assert.Equal(backendHost, plain.Json.GetProperty("headers").GetProperty("host").GetString());
        Assert.Equal("orders.contoso.com", named.Json.GetProperty("headers").GetProperty("host").GetString());
        // skip: the request has a Host (the client's, naming the gateway), so nothing is written and the backend gets its own.
        Assert.Equal(backendHost, skipped.Json.GetProperty("headers").GetProperty("host").GetString());
    }

    [Fact]
    public async Task TraceContext_IsTheClients_TheGatewayStartsNoTraceOfItsOwn()
    {
        // The gateway keeps ASP.NET Core's per-request activity off (it costs ~6 % CPU for a trace nobody collects): no
        // traceparent appears toward the backend unless the client sent one, and the client's reaches it unchanged.
        await using var backend = await TestBackend.StartAsync(https: false);
        await using var gateway = await GatewayFor(g => g.AddApi("echo", "echo", url: backend.Url));

        var plain = await gateway.SendAsync("/echo/a");
        const string parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var traced = await gateway.SendAsync("/echo/b", headers: new Dictionary<string, string> { ["traceparent"] = parent, ["tracestate"] = "congo=t61rcWkgMzE" });

        Assert.Equal(200, plain.Status);
        Assert.False(plain.Json.GetProperty("headers").TryGetProperty("traceparent", out _));
        Assert.Equal(200, traced.Status);
        Assert.Equal(parent, traced.Json.GetProperty("headers").GetProperty("traceparent").GetString());
        Assert.Equal("congo=t61rcWkgMzE", traced.Json.GetProperty("headers").GetProperty("tracestate").GetString());
    }

    [Fact]
    public async Task UnreachableBackend_Is502_SlowBackend_Is504()
    {
        await using var slow = await TestBackend.StartAsync(handler: async http =>
        {
            await Task.Delay(TimeSpan.FromSeconds(5), http.RequestAborted);
            await http.Response.WriteAsync("late");
        });
        await using var gateway = await GatewayFor(g =>
        {
            g.Service.NewBackend(new BackendDefinition { BackendId = "nowhere", Url = $"https://127.0.0.1:{FreePort.Next()}/", SkipCertificateChainValidation = true });
            g.Service.NewBackend(new BackendDefinition { BackendId = "slow", Url = slow.Url, SkipCertificateChainValidation = true });
            g.AddApi("nowhere", "nowhere", backendId: "nowhere");
            g.AddApi("slow", "slow", backendId: "slow", policy: """
                <policies>
                  <inbound><base /></inbound>
                  <backend><forward-request timeout="1" /></backend>
                  <outbound><base /></outbound>
                  <on-error><base /></on-error>
                </policies>
                """);
        });

        var unreachable = await gateway.SendAsync("/nowhere");
        var timedOut = await gateway.SendAsync("/slow");

        Assert.Equal(502, unreachable.Status);
        Assert.Equal("BackendConnectionFailure", unreachable.Json.GetProperty("error").GetString());
        Assert.Equal("nowhere", unreachable.Json.GetProperty("backend").GetString());
        Assert.Equal(504, timedOut.Status);
        Assert.Equal("BackendTimeout", timedOut.Json.GetProperty("error").GetString());
    }
}
