using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Runspace;

/// <summary>
/// Test-GatewayClientCertificate and Invoke-GatewayRequest in a real engine: certificate binding (objects, files,
/// the pipeline), the decision and trace objects, error records, and a live request with its trace.
/// </summary>
public sealed class DryRunEngineTests : EngineTestBase
{
    private const string ExpiryPolicy = "<policies><inbound><base /><choose><when condition=\"@(context.Request.Certificate == null || context.Request.Certificate.NotAfter &lt; DateTime.Now)\"><return-response><set-status code=\"403\" reason=\"Invalid client certificate\" /></return-response></when></choose></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>";

    public DryRunEngineTests(ModuleFolderFixture module)
        : base(module)
    {
        using var server = TestCertificates.Create("CN=localhost", Ca, serverAuth: true, dnsNames: ["localhost"]);
        Session.Set("server", server);
        Session.Set("caPublic", System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(Ca.RawData));
        Session.Set("port", FreePort());
        Session.Set("policy", ExpiryPolicy);
        Session.Ok("""
            Add-GatewayCertificate -Context $context -CertificateId tls -Certificate $server | Out-Null
            Add-GatewayCaCertificate -Context $context -CertificateId root -Certificate $caPublic -WarningAction SilentlyContinue | Out-Null
            Set-GatewayHostname -Context $context -HostName localhost -Port $port -ListenAddress 127.0.0.1 -CertificateId tls -NegotiateClientCertificate $true | Out-Null
            New-GatewayApi -Context $context -ApiId expiry -Path expiry -ServiceUrl https://127.0.0.1:9/ | Out-Null
            Set-GatewayPolicy -Context $context -ApiId expiry -Policy $policy | Out-Null
            """);
        Session.Set("good", Client("CN=good"));
        Session.Set("expired", TestCertificates.Create("CN=old", Ca, clientAuth: true, notBefore: DateTimeOffset.UtcNow.AddDays(-30), notAfter: DateTimeOffset.UtcNow.AddDays(-1)));
    }

    [Fact]
    public void Test_PipedCertificatesAndFiles_GetOneDecisionEach_InOrder()
    {
        File.WriteAllText(Session.File("old.pem"), ((System.Security.Cryptography.X509Certificates.X509Certificate2)Session.Get("expired")!).ExportCertificatePem());

        var decisions = Session.Ok("$good, (Get-Item ./old.pem), './old.pem' | Test-GatewayClientCertificate -Context $context -ApiId expiry");

        Assert.Equal([true, false, false], decisions.Select(d => (bool)d.Prop("Allowed")!));
        Assert.Equal("CN=good", decisions[0].Prop("CertificateSubject"));
        Assert.Equal(403, decisions[1].Prop("StatusCode"));
        Assert.Equal("Invalid client certificate", decisions[1].Prop("Reason"));
        var decidedBy = (PSObject)PSObject.AsPSObject(decisions[1].Prop("DecidedBy"));
        Assert.Equal("return-response", decidedBy.Prop("Element"));
        Assert.Equal("forward-request", PSObject.AsPSObject(decisions[0].Prop("DecidedBy")).Prop("Element"));
    }

    [Fact]
    public void Test_NoCertificate_IsRefusedByThePolicy_AndTheTraceShowsTheCondition()
    {
        var when = Session.Ok("(Test-GatewayClientCertificate -Context $context -ApiId expiry -NoCertificate).Trace.Entries | Where-Object Element -eq when").Single();

        Assert.Equal("true", when.Prop("Value"));
        Assert.StartsWith("@(context.Request.Certificate == null", (string)when.Prop("Expression")!, StringComparison.Ordinal);
        var table = string.Join("\n", Session.Ok("Test-GatewayClientCertificate -Context $context -ApiId expiry -NoCertificate | Format-Table | Out-String -Width 200").Select(o => o.BaseObject));
        Assert.Contains("(none)", table, StringComparison.Ordinal);
        Assert.Contains("<return-response>", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Test_UnknownApi_IsAnObjectNotFoundError()
    {
        var result = Session.Run("Test-GatewayClientCertificate -Context $context -ApiId nope -Certificate $good");

        var error = result.SingleError();
        Assert.Equal("TestGatewayClientCertificateApiNotFound,ApiGateway.PowerShell.Commands.Testing.TestGatewayClientCertificateCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Contains("'expiry'", error.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Test_NeedsACertificateOrNoCertificate()
    {
        var result = Session.Run("Test-GatewayClientCertificate -Context $context -ApiId expiry -Certificate $good -NoCertificate");

        Assert.StartsWith("AmbiguousParameterSet,", result.AllErrors.Single().FullyQualifiedErrorId, StringComparison.Ordinal);
    }

    [Fact]
    public void Invoke_ByPathAlone_BindsTheWholePathSet()
    {
        var error = Session.Run("Invoke-GatewayRequest -Context $context -Path /expiry/x").SingleError();

        Assert.StartsWith("InvokeGatewayRequestGatewayNotRunning,", error.FullyQualifiedErrorId, StringComparison.Ordinal);
    }

    [Fact]
    public void Invoke_WithoutARunningGateway_SaysHowToStartOne()
    {
        var error = Session.Run("Invoke-GatewayRequest -Context $context -ApiId expiry").SingleError();

        Assert.Equal("InvokeGatewayRequestGatewayNotRunning,ApiGateway.PowerShell.Commands.Testing.InvokeGatewayRequestCommand", error.FullyQualifiedErrorId);
        Assert.Contains("Start-Gateway", error.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invoke_ThroughTheRunningGateway_ReturnsTheAnswerAndTheTraceThatTheDryRunPredicted()
    {
        Session.Ok("Start-Gateway -Context $context -TimeoutSec 120 | Out-Null");
        try
        {
            var refused = Session.Ok("Invoke-GatewayRequest -Context $context -ApiId expiry -Path /x -Certificate $expired -IncludeTrace").Single();
            var predicted = Session.Ok("Test-GatewayClientCertificate -Context $context -ApiId expiry -Path /x -Certificate $expired").Single();
            Assert.Equal(403, refused.Prop("StatusCode"));
            Assert.Equal(predicted.Prop("StatusCode"), refused.Prop("StatusCode"));
            Assert.Equal("Invalid client certificate", refused.Prop("ReasonPhrase"));
            Assert.Equal("return-response", PSObject.AsPSObject(refused.Prop("DecidedBy")).Prop("Element"));

            var plain = Session.Ok("Invoke-GatewayRequest -Context $context -ApiId expiry -Path /x -Certificate $good").Single();
            Assert.Null(plain.Prop("Trace"));
            Assert.Equal(502, plain.Prop("StatusCode")); // allowed: forwarded to a backend that is not there
            var headers = (System.Collections.IDictionary)PSObject.AsPSObject(plain.Prop("Headers")).BaseObject;
            Assert.False(headers.Contains("ApiGateway-Trace-Result"));

            var withoutKey = Session.Run("Invoke-GatewayRequest -Context $context -ApiId expiry -Certificate ([System.Security.Cryptography.X509Certificates.X509CertificateLoader]::LoadCertificate($good.RawData))").SingleError();
            Assert.Equal("InvokeGatewayRequestInvalidArgument,ApiGateway.PowerShell.Commands.Testing.InvokeGatewayRequestCommand", withoutKey.FullyQualifiedErrorId);
        }
        finally
        {
            Session.Run("Stop-Gateway -Context $context");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
