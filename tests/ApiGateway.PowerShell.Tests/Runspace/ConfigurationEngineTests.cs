using System.Management.Automation;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Runspace;

/// <summary>
/// Backends, APIs, policies, hostnames and the gateway process in a real engine: binding by property name between the
/// module's own objects, parameter sets, -WhatIf on every cmdlet that changes something (checked on disk), and the
/// error records scripts see.
/// </summary>
public sealed class ConfigurationEngineTests(ModuleFolderFixture module) : EngineTestBase(module)
{
    private void World()
    {
        Upload("server-tls");
        Upload("backend-2025");
        Session.Set("caPublic", System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(Ca.RawData));
        Session.Ok("""
            Add-GatewayCaCertificate -Context $context -CertificateId clients-root -Certificate $caPublic | Out-Null
            Set-GatewayHostname -Context $context -HostName localhost -Port 8443 -CertificateId server-tls | Out-Null
            New-GatewayBackend -Context $context -BackendId billing -Url https://billing.internal/ -Protocol http -SkipCertificateChainValidation $true | Out-Null
            New-GatewayBackend -Context $context -BackendId free -Url https://free.internal/ -Protocol http | Out-Null
            New-GatewayApi -Context $context -ApiId orders -Path orders -BackendId billing | Out-Null
            Set-ApiGatewayCredential -Context $context -ApiId orders -CertificateId backend-2025 | Out-Null
            """);
    }

    /// <summary>A call of every cmdlet that changes the configuration or starts or stops something.</summary>
    public static TheoryData<string> ChangingCalls =>
    [
        "New-GatewayContext -Path ./new.json",
        "Add-GatewayCertificate -Context $context -CertificateId added -Certificate $fresh",
        "Set-GatewayCertificate -Context $context -CertificateId backend-2025 -Certificate $fresh",
        "Remove-GatewayCertificate -Context $context -CertificateId backend-2025 -Force",
        "Add-GatewayCaCertificate -Context $context -CertificateId other-root -Certificate $fresh",
        "Remove-GatewayCaCertificate -Context $context -CertificateId clients-root -Force",
        "Set-GatewayHostname -Context $context -HostName api.contoso.com -Port 9443 -CertificateId server-tls",
        "Remove-GatewayHostname -Context $context -HostName localhost -Force",
        "New-GatewayBackend -Context $context -BackendId added -Url https://added.internal/ -Protocol http",
        "Set-GatewayBackend -Context $context -BackendId billing -Url https://billing-v2.internal/",
        "Remove-GatewayBackend -Context $context -BackendId free -Force",
        "New-GatewayApi -Context $context -ApiId added -Path added -ServiceUrl https://added.internal/",
        "Set-GatewayApi -Context $context -ApiId orders -Path orders-v2",
        "Set-ApiGatewayCredential -Context $context -ApiId orders -None",
        "Remove-GatewayApi -Context $context -ApiId orders -Force",
        "Set-GatewayPolicy -Context $context -ApiId orders -Policy '<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'",
        "Set-GatewayLimit -Context $context -KeepAliveTimeoutSeconds 60",
        "Remove-GatewayPolicy -Context $context -ApiId orders -Force",
        "Start-Gateway -Context $context",
        "Set-GatewayRevocation -Context $context -Mode Offline -CrlFolder ./crls",
        "Set-GatewayApi -Context $context -ApiId orders -ForwardClientCertificate XArrClientCert, ClientCert",
        "New-GatewayApi -Context $context -ApiId forwarded -Path forwarded -ServiceUrl https://added.internal/ -ForwardClientCertificate ClientCert",
    ];

    [Theory]
    [MemberData(nameof(ChangingCalls))]
    public void WhatIf_ChangesNothingOnDisk_AndSaysWhatItWouldDo(string call)
    {
        World();
        Session.Set("fresh", Client("CN=fresh"));
        var before = Snapshot();

        var result = Session.Run(call + " -WhatIf");

        result.ThrowIfFailed();
        Assert.Empty(result.Output);
        Assert.Contains("What if:", Session.Host.Text, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
        Assert.False(File.Exists(Session.File("gateway.state.json")), "a gateway was started");
    }

    /// <summary>Every file under the session folder with its hash: what a -WhatIf must leave exactly as it was.</summary>
    private string Snapshot() =>
        string.Join("\n", Directory.GetFiles(Session.Temp.Path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => Path.GetRelativePath(Session.Temp.Path, f) + " " + PowerShellSession.Hash(f)));

    [Fact]
    public void SetGatewayBackend_FromThePipeline_ChangesOnlyWhatIsGiven()
    {
        World();

        var changed = Session.Ok("Get-GatewayBackend -Context $context | Set-GatewayBackend -SkipCertificateNameValidation $true -PassThru");

        Assert.Equal(2, changed.Count);
        var billing = changed.Single(b => (string)b.Prop("BackendId")! == "billing");
        var free = changed.Single(b => (string)b.Prop("BackendId")! == "free");
        Assert.Equal(true, billing.Prop("SkipCertificateNameValidation"));
        Assert.Equal(true, billing.Prop("SkipCertificateChainValidation"));
        Assert.Equal(false, free.Prop("SkipCertificateChainValidation"));
        Assert.Equal("https://billing.internal/", billing.Prop("Url"));
    }

    [Fact]
    public void NewGatewayBackend_CopiesBackendsFromAnotherConfiguration_ByPropertyName()
    {
        World();

        var copied = Session.Ok("""
            $other = New-GatewayContext -Path ./other.json
            Get-GatewayBackend -Context $context -BackendId billing | New-GatewayBackend -Context $other
            """).Single();

        Assert.Equal("billing", copied.Prop("BackendId"));
        Assert.Equal(Session.File("other.json"), copied.Prop("ConfigurationPath"));
        Assert.Equal(true, copied.Prop("SkipCertificateChainValidation"));
    }

    [Fact]
    public void RemoveGatewayBackend_InUse_IsANonTerminatingError_AndTheOthersAreRemoved()
    {
        World();

        var result = Session.Run("Get-GatewayBackend -Context $context | Remove-GatewayBackend -Force -PassThru");

        var error = result.SingleError();
        Assert.Equal("RemoveGatewayBackendInUse,ApiGateway.PowerShell.Commands.Backends.RemoveGatewayBackendCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceBusy, error.CategoryInfo.Category);
        Assert.Equal("billing", error.TargetObject);
        Assert.Contains("orders", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(["free"], result.Property("BackendId"));
    }

    [Fact]
    public void NewGatewayApi_ServiceUrlAndBackendId_IsAnAmbiguousParameterSet()
    {
        World();
        var before = ConfigurationHash();

        var error = Session.Run("New-GatewayApi -Context $context -ApiId both -Path both -ServiceUrl https://b.internal/ -BackendId billing").SingleError();

        Assert.StartsWith("AmbiguousParameterSet,", error.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationHash());
    }

    [Fact]
    public void GetGatewayApi_PipedIntoSetApiGatewayCredential_BindsApiIdAndConfiguration()
    {
        World();
        Upload("backend-2026");
        Session.Ok("New-GatewayApi -Context $context -ApiId billing -Path billing -ServiceUrl https://billing.internal/ | Out-Null");

        var changed = Session.Ok("Get-GatewayApi -Context $context | Set-ApiGatewayCredential -CertificateId backend-2026 -PassThru");

        Assert.Equal(["billing", "orders"], changed.Select(a => (string)a.Prop("ApiId")!).Order());
        Assert.All(changed, a => Assert.Equal("backend-2026", a.Prop("GatewayCredentialCertificateId")));
    }

    [Fact]
    public void SetGatewayPolicy_Invalid_IsAnInvalidDataError_AndLeavesThePolicy()
    {
        World();
        var before = ConfigurationHash();

        var error = Session.Run("Set-GatewayPolicy -Context $context -ApiId orders -Policy '<policies><inbound><no-such-element /></inbound></policies>'").SingleError();

        Assert.Equal("SetGatewayPolicyInvalid,ApiGateway.PowerShell.Commands.Policies.SetGatewayPolicyCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Contains("no-such-element", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationHash());
    }

    [Fact]
    public void SetGatewayPolicy_ReadsAFileRelativeToTheSessionLocation()
    {
        World();
        Directory.CreateDirectory(Session.File("policies"));
        File.WriteAllText(Session.File("policies/orders.xml"), "<policies><inbound><base /><set-header name=\"x-from-file\" exists-action=\"override\"><value>1</value></set-header></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>");

        Session.Ok("Set-GatewayPolicy -Context $context -ApiId orders -PolicyFilePath ./policies/orders.xml");
        var policy = (string)Session.Ok("(Get-GatewayPolicy -Context $context -ApiId orders).Policy").Single().BaseObject;

        Assert.Contains("x-from-file", policy, StringComparison.Ordinal);
    }

    [Fact]
    public void GetGatewayHostname_PipedIntoGetGatewayCertificate_ShowsItsServerCertificate()
    {
        World();

        var certificate = Session.Ok("Get-GatewayHostname -Context $context | Get-GatewayCertificate").Single();

        Assert.Equal("server-tls", certificate.Prop("CertificateId"));
    }

    [Fact]
    public void Context_TakesAContextObjectFromThePipeline_OrAPathString()
    {
        World();

        var piped = Session.Ok("$context | Get-GatewayBackend -BackendId billing");
        var byPath = Session.Ok("Get-GatewayBackend -Context ./gateway.json -BackendId billing");

        Assert.Equal("billing", piped.Single().Prop("BackendId"));
        Assert.Equal("billing", byPath.Single().Prop("BackendId"));
    }

    [Fact]
    public void Context_AMissingConfigurationFile_IsAStatementTerminatingObjectNotFound_NamingNewGatewayContext()
    {
        // Statement-terminating (ThrowTerminatingError): the command stops, the script goes on to its next statement.
        var result = Session.Run("Get-GatewayBackend -Context ./no-such.json; 'next statement'");

        var error = result.SingleError();
        Assert.Equal(["next statement"], result.Objects);
        Assert.Equal("GetGatewayBackendConfigurationNotFound,ApiGateway.PowerShell.Commands.Backends.GetGatewayBackendCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Contains(Session.File("no-such.json"), error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("New-GatewayContext", error.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GetGatewayApi_UnknownId_IsAnObjectNotFoundError_AndWildcardsThatMatchNothingAreQuiet()
    {
        World();

        var missing = Session.Run("Get-GatewayApi -Context $context -ApiId nope").SingleError();
        var wildcard = Session.Run("Get-GatewayApi -Context $context -ApiId nope*");

        Assert.Equal("GetGatewayApiNotFound,ApiGateway.PowerShell.Commands.Apis.GetGatewayApiCommand", missing.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, missing.CategoryInfo.Category);
        Assert.Equal("nope", missing.TargetObject);
        wildcard.ThrowIfFailed();
        Assert.Empty(wildcard.Output);
    }

    [Fact]
    public void StopGateway_WithoutAGateway_SaysSoInItsResult()
    {
        var stopped = Session.Ok("Stop-Gateway -Context $context -PassThru").Single();
        var status = Session.Ok("Get-GatewayStatus -Context $context").Single();

        Assert.Equal(false, stopped.Prop("WasRunning"));
        Assert.Equal(false, status.Prop("IsRunning"));
    }
}
