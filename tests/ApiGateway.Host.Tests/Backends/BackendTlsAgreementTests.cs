using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Backends;

/// <summary>
/// Test-GatewayBackendTls's verdict (GatewayService.TestBackendTlsAsync) against what the running gateway does for
/// the same backend: real Kestrel backends on 127.0.0.1, real requests through the gateway.
/// </summary>
public sealed class BackendTlsAgreementTests
{
    [Fact]
    public async Task TheVerdictOnTheServerCertificate_IsTheGateways_500Versus200()
    {
        using var wrongName = TestCertificates.Create("CN=elsewhere", serverAuth: true, dnsNames: ["elsewhere.example"]);
        await using var backend = await TestBackend.StartAsync(wrongName);
        await using var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "strict", Url = backend.Url });
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "skip-chain", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "skip-both", Url = backend.Url, SkipCertificateChainValidation = true, SkipCertificateNameValidation = true });
        foreach (var id in new[] { "strict", "skip-chain", "skip-both" })
            gateway.AddApi(id, id, backendId: id);
        await gateway.StartAsync();

        foreach (var id in new[] { "strict", "skip-chain", "skip-both" })
        {
            var answer = await gateway.SendAsync("/" + id);
            var verdict = await gateway.Service.TestBackendTlsAsync(id);

            Assert.True(answer.Status is 200 or 500, answer.ToString());
            Assert.True((answer.Status == 200) == verdict.Succeeded, $"{id}: the gateway answered {answer.Status}, the test says Succeeded={verdict.Succeeded} ({verdict.Error})");
            Assert.Equal(answer.Status == 200, verdict.ServerCertificateAccepted);
            if (answer.Status == 500)
            {
                Assert.Equal("BackendCertificateInvalid", answer.Json.GetProperty("error").GetString());
                Assert.Contains("500 BackendCertificateInvalid", verdict.Error, StringComparison.Ordinal);
            }
        }
        Assert.False((await gateway.Service.TestBackendTlsAsync("strict")).Succeeded);
        Assert.True((await gateway.Service.TestBackendTlsAsync("skip-both")).Succeeded);
    }

    [Fact]
    public async Task TheVerdictOnTheClientCertificate_IsTheGateways_502Versus200()
    {
        using var accepted = TestCertificates.Create("CN=accepted-by-backend", clientAuth: true);
        using var refused = TestCertificates.Create("CN=refused-by-backend", clientAuth: true);
        await using var backend = await TestBackend.StartAsync(requireClientThumbprints: [accepted.Thumbprint]);
        await using var gateway = TestGateway.Create();
        gateway.Service.AddCertificate("accepted", CertificateInput.FromCertificate(accepted));
        gateway.Service.AddCertificate("refused", CertificateInput.FromCertificate(refused));
        gateway.Service.NewBackend(new BackendDefinition
        {
            BackendId = "good", Url = backend.Url, SkipCertificateChainValidation = true,
            Credentials = new GatewayBackendCredential { CertificateIds = ["accepted"] },
        });
        gateway.Service.NewBackend(new BackendDefinition
        {
            BackendId = "bad", Url = backend.Url, SkipCertificateChainValidation = true,
            Credentials = new GatewayBackendCredential { CertificateIds = ["refused"] },
        });
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "none", Url = backend.Url, SkipCertificateChainValidation = true });
        foreach (var id in new[] { "good", "bad", "none" })
            gateway.AddApi(id, id, backendId: id);
        await gateway.StartAsync();

        foreach (var id in new[] { "good", "bad", "none" })
        {
            var answer = await gateway.SendAsync("/" + id);
            var verdict = await gateway.Service.TestBackendTlsAsync(id);

            Assert.True((answer.Status == 200) == verdict.Succeeded, $"{id}: the gateway answered {answer.Status}, the test says Succeeded={verdict.Succeeded} ({verdict.Error})");
            Assert.True(verdict.ClientCertificateRequested, id);
            Assert.Equal(answer.Status == 200, verdict.ClientCertificateAccepted);
        }
        var good = await gateway.Service.TestBackendTlsAsync("good");
        var bad = await gateway.Service.TestBackendTlsAsync("bad");
        var tryAccepted = await gateway.Service.TestBackendTlsAsync("bad", ["accepted"]);
        Assert.Equal("accepted", good.ClientCertificateId);
        Assert.Equal(accepted.Thumbprint, good.ClientCertificate!.Thumbprint);
        Assert.Equal("refused", bad.ClientCertificateId);
        Assert.Contains(bad.Advice, a => a.Contains("'refused'", StringComparison.Ordinal));
        Assert.True(tryAccepted.Succeeded, tryAccepted.Error);
    }
}
