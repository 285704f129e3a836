using System.Management.Automation;
using System.Security.Authentication;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Runspace;

/// <summary>
/// Test-GatewayBackendTls and -ForwardClientCertificate in a real engine: binding (by property name from
/// Get-GatewayBackend, wildcards, validation), the objects written, the error records, and that the test changes
/// nothing; the backends are real TLS servers on 127.0.0.1.
/// </summary>
public sealed class BackendTlsEngineTests(ModuleFolderFixture module) : EngineTestBase(module)
{
    [Fact]
    public async Task ASelfSignedBackend_GivesAResult_NotAnError_WithTheSwitchThatWouldAcceptIt()
    {
        using var certificate = TestCertificates.Create("CN=127.0.0.1", serverAuth: true, dnsNames: ["127.0.0.1"]);
        await using var server = TlsTestServer.Start(certificate, SslProtocols.Tls13);
        Session.Ok($"New-GatewayBackend -Context $context -BackendId self -Url '{server.Url}' -Protocol http | Out-Null");
        var before = ConfigurationHash();

        var result = Session.Run("Test-GatewayBackendTls -Context $context -BackendId self");

        Assert.Empty(result.AllErrors);
        var tls = Assert.IsType<GatewayBackendTlsResult>(Assert.Single(result.Objects));
        Assert.False(tls.Succeeded);
        Assert.True(tls.Connected);
        Assert.Equal(SslProtocols.Tls13, tls.Protocol);
        Assert.True(tls.ChainErrors);
        Assert.Equal(certificate.Thumbprint, tls.ServerCertificate!.Thumbprint);
        Assert.Contains(tls.Advice, a => a.Contains("Set-GatewayBackend -BackendId self -SkipCertificateChainValidation", StringComparison.Ordinal));
        Assert.Equal(ConfigurationPath, tls.ConfigurationPath);
        Assert.Equal(before, ConfigurationHash());
    }

    [Fact]
    public async Task PipedBackends_AreEachTested_AndQuietWritesBooleans()
    {
        using var certificate = TestCertificates.Create("CN=127.0.0.1", serverAuth: true, dnsNames: ["127.0.0.1"]);
        await using var server = TlsTestServer.Start(certificate);
        Session.Ok($"""
            New-GatewayBackend -Context $context -BackendId a-lenient -Url '{server.Url}' -Protocol http -SkipCertificateChainValidation $true | Out-Null
            New-GatewayBackend -Context $context -BackendId b-strict -Url '{server.Url}' -Protocol http | Out-Null
            """);

        var quiet = Session.Ok("Get-GatewayBackend -Context $context | Test-GatewayBackendTls -Quiet");
        var wildcard = Session.Ok("Test-GatewayBackendTls -Context $context -BackendId *-strict");

        Assert.Equal([true, false], quiet.Select(o => (bool)o.BaseObject));
        Assert.Equal("b-strict", Assert.Single(wildcard).Prop("BackendId"));
    }

    [Fact]
    public async Task TryingAnotherCertificate_PresentsIt()
    {
        using var certificate = TestCertificates.Create("CN=127.0.0.1", serverAuth: true, dnsNames: ["127.0.0.1"]);
        using var trusted = Client("CN=trusted-by-backend");
        Session.Set("trusted", trusted);
        await using var server = TlsTestServer.Start(certificate, SslProtocols.Tls12, ClientCertificateDemand.Required, trusted.Thumbprint);
        Session.Ok($"""
            Add-GatewayCertificate -Context $context -CertificateId trusted -Certificate $trusted | Out-Null
            New-GatewayBackend -Context $context -BackendId mtls -Url '{server.Url}' -Protocol http -SkipCertificateChainValidation $true | Out-Null
            """);

        var without = (GatewayBackendTlsResult)Session.Ok("Test-GatewayBackendTls -Context $context -BackendId mtls").Single().BaseObject;
        var with = (GatewayBackendTlsResult)Session.Ok("Test-GatewayBackendTls -Context $context -BackendId mtls -CertificateId trusted").Single().BaseObject;

        Assert.False(without.Succeeded);
        Assert.False(without.ClientCertificateAccepted);
        Assert.Contains(without.Advice, a => a.Contains("New-GatewayBackendCredential", StringComparison.Ordinal));
        Assert.True(with.Succeeded, with.Error);
        Assert.True(with.ClientCertificateAccepted);
        Assert.Equal("trusted", with.ClientCertificateId);
    }

    [Theory]
    [InlineData("Test-GatewayBackendTls -Context $context -BackendId missing", "TestGatewayBackendTlsNotFound", ErrorCategory.ObjectNotFound)]
    [InlineData("Test-GatewayBackendTls -Context $context -BackendId plain", "TestGatewayBackendTlsNotHttps", ErrorCategory.InvalidOperation)]
    [InlineData("Test-GatewayBackendTls -Context $context -BackendId closed -CertificateId nope", "TestGatewayBackendTlsCertificateNotFound", ErrorCategory.ObjectNotFound)]
    [InlineData("Test-GatewayBackendTls -Context $context -BackendId closed -CertificateId public-only", "TestGatewayBackendTlsCertificateNoPrivateKey", ErrorCategory.InvalidArgument)]
    public void Failures_AreErrorRecordsWithStableIds(string call, string errorId, ErrorCategory category)
    {
        Session.Set("publicOnly", System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(Client("CN=public").RawData));
        Session.Ok("""
            New-GatewayBackend -Context $context -BackendId plain -Url http://127.0.0.1:1/ -Protocol http | Out-Null
            New-GatewayBackend -Context $context -BackendId closed -Url https://127.0.0.1:1/ -Protocol http | Out-Null
            Add-GatewayCertificate -Context $context -CertificateId public-only -Certificate $publicOnly | Out-Null
            """);

        var error = Session.Run(call).SingleError();

        Assert.Equal(errorId, error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(category, error.CategoryInfo.Category);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("301")]
    public void TimeoutSec_OutsideItsRange_IsABindingError(string seconds)
    {
        Session.Ok("New-GatewayBackend -Context $context -BackendId closed -Url https://127.0.0.1:1/ -Protocol http | Out-Null");

        var result = Session.Run($"Test-GatewayBackendTls -Context $context -BackendId closed -TimeoutSec {seconds}");

        Assert.Contains("ParameterArgumentValidationError", ScriptResult.Describe(result.AllErrors.Single()), StringComparison.Ordinal);
    }

    [Fact]
    public void ForwardClientCertificate_BindsNamesAndLists_AndGetShowsIt()
    {
        Session.Ok("New-GatewayApi -Context $context -ApiId orders -Path orders -ServiceUrl https://orders.internal/ -ForwardClientCertificate XArrClientCert, ClientCert | Out-Null");

        var both = Session.Ok("(Get-GatewayApi -Context $context -ApiId orders).ForwardClientCertificate").Single().BaseObject;
        var table = string.Join("\n", Session.Ok("Get-GatewayApi -Context $context -ApiId orders | Format-Table | Out-String -Width 250").Select(o => o.BaseObject));
        Session.Ok("Set-GatewayApi -Context $context -ApiId orders -ForwardClientCertificate None");
        var none = Session.Ok("(Get-GatewayApi -Context $context -ApiId orders).ForwardClientCertificate").Single().BaseObject;
        var wrong = Session.Run("Set-GatewayApi -Context $context -ApiId orders -ForwardClientCertificate Everything");

        Assert.Equal(ClientCertificateForwarding.XArrClientCert | ClientCertificateForwarding.ClientCert, both);
        Assert.Contains("XArrClientCert, ClientCert", table, StringComparison.Ordinal);
        Assert.Equal(ClientCertificateForwarding.None, none);
        Assert.IsAssignableFrom<ParameterBindingException>(wrong.AllErrors.Single().Exception);
        Assert.Equal(ClientCertificateForwarding.None, Session.Ok("(Get-GatewayApi -Context $context -ApiId orders).ForwardClientCertificate").Single().BaseObject);
    }
}
