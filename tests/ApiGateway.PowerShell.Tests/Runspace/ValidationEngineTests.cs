using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Runspace;

/// <summary>
/// The gateway's own engine as a script sees it: Set-GatewayPolicy refusing what the gateway would refuse (the error
/// record a script catches), Test-GatewayConfiguration's objects and -Quiet, and the warning a cmdlet writes when a
/// running gateway refuses the change it just wrote. Every call here runs the real host (ApiGateway.Host validate).
/// </summary>
public sealed class ValidationEngineTests(ModuleFolderFixture module) : EngineTestBase(module)
{
    private const string SetPolicyId = "ApiGateway.PowerShell.Commands.Policies.SetGatewayPolicyCommand";

    /// <summary>A policy whose only expression sits on line 5 inside a set-header value.</summary>
    private static string HeaderPolicy(string expression) =>
        "<policies>\n  <inbound>\n    <base />\n    <set-header name=\"x-test\" exists-action=\"override\">\n      <value>" + expression + "</value>\n    </set-header>\n  </inbound>\n</policies>";

    private void Orders() =>
        Session.Ok("New-GatewayApi -Context $context -ApiId orders -Path orders -ServiceUrl https://orders.internal/ | Out-Null");

    private string[] CandidateFiles() => Directory.GetFiles(Session.Temp.Path, "*.candidate-*");

    [Fact]
    public void SetGatewayPolicy_ForbiddenType_IsAnInvalidExpressionError_WithLineAndColumn_AndTheFileIsUnchanged()
    {
        Orders();
        var before = ConfigurationHash();
        Session.Set("policy", HeaderPolicy("@(System.IO.File.ReadAllText(\"/etc/passwd\"))"));

        var result = Session.Run("Set-GatewayPolicy -Context $context -ApiId orders -Policy $policy");

        var error = result.SingleError();
        Assert.Equal("SetGatewayPolicyInvalidExpression," + SetPolicyId, error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Null(result.Terminating); // non-terminating: a pipeline of policies goes on with the next one
        // The gateway's own sentence, with the position in the policy the author wrote.
        Assert.Contains("API 'orders', line 5, column 16:", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("System.IO.File", error.Exception.Message, StringComparison.Ordinal);
        // The target is the problem: a script finds what and where without parsing the message.
        var target = Assert.IsType<GatewayConfigurationProblem>(error.TargetObject);
        Assert.Equal("API 'orders'", target.Subject);
        Assert.Equal("PolicyExpressionNotAllowed", target.ErrorId);
        Assert.Equal(5, target.Line);
        Assert.Equal(16, target.Column);
        Assert.Contains(target.Subject, error.CategoryInfo.TargetName, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationHash());
        Assert.Empty(CandidateFiles());
        Assert.Empty(Session.Ok("Get-GatewayPolicy -Context $context -ApiId orders")); // the API still has no policy of its own
    }

    [Fact]
    public void SetGatewayPolicy_ExpressionThatDoesNotCompile_IsRefused_AndABenignOneIsSaved()
    {
        Orders();
        var before = ConfigurationHash();
        Session.Set("broken", HeaderPolicy("@(undefinedThing.Length.ToString())"));
        Session.Set("benign", HeaderPolicy("@(context.Request.Method)"));

        var error = Session.Run("Set-GatewayPolicy -Context $context -ApiId orders -Policy $broken").SingleError();

        Assert.Equal("SetGatewayPolicyInvalidExpression," + SetPolicyId, error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Contains("CS0103", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("undefinedThing", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal("PolicyExpressionInvalid", Assert.IsType<GatewayConfigurationProblem>(error.TargetObject).ErrorId);
        Assert.Equal(before, ConfigurationHash());

        Session.Ok("Set-GatewayPolicy -Context $context -ApiId orders -Policy $benign");
        var saved = (string)Session.Ok("(Get-GatewayPolicy -Context $context -ApiId orders).Policy").Single().BaseObject;
        Assert.Contains("context.Request.Method", saved, StringComparison.Ordinal);
        Assert.NotEqual(before, ConfigurationHash());
    }

    /// <summary>A configuration with an error (an API on a missing backend) and a warning (a server certificate expiring in 10 days).</summary>
    private void ErrorAndWarning()
    {
        Session.Set("soon", TestCertificates.Create("CN=localhost", serverAuth: true, dnsNames: ["localhost"], notAfter: DateTimeOffset.UtcNow.AddDays(10)));
        Session.Set("port", FreePort());
        Session.Ok("""
            Add-GatewayCertificate -Context $context -CertificateId soon -Certificate $soon -WarningAction SilentlyContinue | Out-Null
            Set-GatewayHostname -Context $context -HostName localhost -Port $port -CertificateId soon | Out-Null
            New-GatewayApi -Context $context -ApiId orders -Path orders -ServiceUrl https://orders.internal/ | Out-Null
            """);
        // Broken by hand, as a file edited outside the module can be: the cmdlets would refuse to write this.
        Session.Ok("""
            $json = Get-Content -LiteralPath $context.ConfigurationPath -Raw | ConvertFrom-Json -AsHashtable
            $json.apis.orders.backendId = 'gone'; $json.apis.orders.Remove('serviceUrl')
            $json | ConvertTo-Json -Depth 20 | Set-Content -LiteralPath $context.ConfigurationPath
            """);
    }

    [Fact]
    public void TestGatewayConfiguration_WritesProblemObjects_FilterableBySeverity_AndQuietIsFalseOnAnError()
    {
        ErrorAndWarning();

        var problems = Session.Ok("Test-GatewayConfiguration -Context $context");
        var errors = Session.Ok("Test-GatewayConfiguration -Context $context | Where-Object Severity -eq Error");
        var warnings = Session.Ok("Test-GatewayConfiguration -Context $context | Where-Object Severity -eq 'Warning' | Select-Object -ExpandProperty ErrorId");
        var quiet = Session.Ok("Test-GatewayConfiguration -Context $context -Quiet");

        Assert.All(problems, p => Assert.IsType<GatewayConfigurationProblem>(p.BaseObject));
        var missing = Assert.Single(errors);
        Assert.Equal("ApiBackendNotFound", missing.Prop("ErrorId"));
        Assert.Equal(GatewayProblemSeverity.Error, missing.Prop("Severity"));
        Assert.Contains("gone", (string)missing.Prop("Message")!, StringComparison.Ordinal);
        Assert.Equal(ConfigurationPath, missing.Prop("ConfigurationPath"));
        Assert.Equal(["CertificateExpiring"], warnings.Select(w => (string)w.BaseObject));
        Assert.Equal(problems.Count, errors.Count + warnings.Count);
        Assert.Equal(false, Assert.Single(quiet).BaseObject);
    }

    [Fact]
    public void TestGatewayConfiguration_Quiet_IsTrueOnWarningsOnly_UnlessTreatWarningsAsErrors()
    {
        Session.Set("soon", TestCertificates.Create("CN=localhost", serverAuth: true, dnsNames: ["localhost"], notAfter: DateTimeOffset.UtcNow.AddDays(10)));
        Session.Set("port", FreePort());
        Session.Ok("""
            Add-GatewayCertificate -Context $context -CertificateId soon -Certificate $soon -WarningAction SilentlyContinue | Out-Null
            Set-GatewayHostname -Context $context -HostName localhost -Port $port -CertificateId soon | Out-Null
            New-GatewayApi -Context $context -ApiId orders -Path orders -ServiceUrl https://orders.internal/ | Out-Null
            """);

        var quiet = Session.Run("Test-GatewayConfiguration -Context $context -Quiet");
        var strict = Session.Ok("Test-GatewayConfiguration -Context $context -Quiet -TreatWarningsAsErrors");
        var shorterWindow = Session.Ok("Test-GatewayConfiguration -Context $context -ExpiringInDays 5 -Quiet -TreatWarningsAsErrors");
        var problems = Session.Ok("Test-GatewayConfiguration -Context $context");

        quiet.ThrowIfFailed();
        Assert.Equal(true, Assert.Single(quiet.Output).BaseObject);
        Assert.Empty(quiet.Warnings); // -Quiet answers with one Boolean and nothing else
        Assert.Equal(false, Assert.Single(strict).BaseObject);
        Assert.Equal(true, Assert.Single(shorterWindow).BaseObject);
        var expiring = Assert.Single(problems);
        Assert.Equal(GatewayProblemSeverity.Warning, expiring.Prop("Severity"));
        Assert.Equal("CertificateExpiring", expiring.Prop("ErrorId"));
        Assert.Contains("soon", (string)expiring.Prop("Subject")!, StringComparison.Ordinal);
    }

    [Fact]
    public void ARunningGatewayThatRefusesTheChange_MakesTheCmdletWriteAWarningNamingTheReloadError()
    {
        // A server certificate linked by path: another tool owns the file. The write-time check cannot see that the
        // file turns to garbage after it was linked (the change written is a display name: nothing the engine checks),
        // but the gateway loads the file on the reload and refuses.
        using var server = TestCertificates.Create("CN=localhost", Ca, serverAuth: true, dnsNames: ["localhost"]);
        File.WriteAllText(Session.File("tls.crt"), TestCertificates.CertificatePem(server));
        File.WriteAllText(Session.File("tls.key"), TestCertificates.KeyPem(server));
        Session.Set("port", FreePort());
        Session.Ok("""
            Add-GatewayCertificate -Context $context -CertificateId tls -LinkedPath ./tls.crt -KeyFilePath ./tls.key | Out-Null
            Set-GatewayHostname -Context $context -HostName localhost -Port $port -ListenAddress 127.0.0.1 -CertificateId tls | Out-Null
            New-GatewayApi -Context $context -ApiId orders -Path orders -ServiceUrl https://orders.internal/ | Out-Null
            Start-Gateway -Context $context -TimeoutSec 120 | Out-Null
            """);
        try
        {
            var served = (long)Session.Ok("(Get-GatewayStatus -Context $context).Revision").Single().BaseObject;
            File.WriteAllText(Session.File("tls.crt"), "this is not a certificate any more\n");

            var result = Session.Run("Set-GatewayApi -Context $context -ApiId orders -DisplayName 'Orders'");

            result.ThrowIfFailed(); // the change is written: the file is the user's intent, the gateway keeps serving the old revision
            var written = (long)Session.Ok("(Get-Content -LiteralPath $context.ConfigurationPath -Raw | ConvertFrom-Json).revision").Single().BaseObject;
            Assert.True(written > served);
            var warning = Assert.Single(result.Warnings);
            Assert.Contains($"refused revision {written}", warning, StringComparison.Ordinal);
            Assert.Contains($"keeps serving revision {served}", warning, StringComparison.Ordinal);
            Assert.Contains("Certificate 'tls' cannot be loaded", warning, StringComparison.Ordinal);
            var status = Session.Ok("Get-GatewayStatus -Context $context").Single();
            Assert.Equal(served, status.Prop("Revision"));
            var refusal = Assert.IsType<ApiGateway.Core.Hosting.GatewayReloadError>(status.Prop("LastReloadError"));
            Assert.Equal(written, refusal.Revision);
            Assert.Contains(refusal.Errors, e => e.Contains("Certificate 'tls' cannot be loaded", StringComparison.Ordinal));
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
