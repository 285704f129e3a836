using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Runspace;

/// <summary>
/// The module as a real engine loads it, and the contract every cmdlet keeps there: each cmdlet runs, and what it
/// writes is of the types its [OutputType] declares; each output type has a default table view that shows its key
/// columns; completion offers ids from the configuration; Get-Help is complete for every cmdlet.
/// </summary>
public sealed class ModuleEngineTests(ModuleFolderFixture module) : EngineTestBase(module)
{
    private readonly ModuleFolderFixture _module = module;

    /// <summary>
    /// One representative call of every cmdlet, in order, on one configuration. The keys must be exactly the module's
    /// cmdlets: a new cmdlet fails <see cref="EveryCmdlet_HasASampleCall"/> until it is added here.
    /// </summary>
    private static readonly (string Cmdlet, string Script)[] SampleCalls =
    [
        ("New-GatewayContext", "New-GatewayContext -Path ./other.json"),
        ("Add-GatewayCertificate", "Add-GatewayCertificate -Context $context -CertificateId server-tls -Certificate $server"),
        ("Get-GatewayCertificate", "Get-GatewayCertificate -Context $context -CertificateId server-tls"),
        ("Set-GatewayCertificate", "Set-GatewayCertificate -Context $context -CertificateId server-tls -Certificate $server -PassThru"),
        ("Add-GatewayCaCertificate", "Add-GatewayCaCertificate -Context $context -CertificateId clients-root -Certificate $caPublic"),
        ("Get-GatewayCaCertificate", "Get-GatewayCaCertificate -Context $context"),
        ("Set-GatewayHostname", "Set-GatewayHostname -Context $context -HostName localhost -Port $port -ListenAddress 127.0.0.1 -CertificateId server-tls -PassThru"),
        ("Get-GatewayHostname", "Get-GatewayHostname -Context $context"),
        ("Set-GatewayLimit", "Set-GatewayLimit -Context $context -KeepAliveTimeoutSeconds 60 -PassThru"),
        ("Get-GatewayLimit", "Get-GatewayLimit -Context $context -Name KeepAlive*"),
        ("New-GatewayBackendCredential", "New-GatewayBackendCredential -CertificateId server-tls"),
        ("New-GatewayBackend", "New-GatewayBackend -Context $context -BackendId billing -Url https://billing.internal/ -Protocol http"),
        ("Get-GatewayBackend", "Get-GatewayBackend -Context $context"),
        ("Set-GatewayBackend", "Set-GatewayBackend -Context $context -BackendId billing -SkipCertificateNameValidation $true -PassThru"),
        ("Test-GatewayBackendTls", "Test-GatewayBackendTls -Context $context -BackendId billing -TimeoutSec 2"),
        ("New-GatewayApi", "New-GatewayApi -Context $context -ApiId orders -Path orders -BackendId billing"),
        ("Get-GatewayApi", "Get-GatewayApi -Context $context"),
        ("Set-GatewayApi", "Set-GatewayApi -Context $context -ApiId orders -DisplayName Orders -PassThru"),
        ("Set-ApiGatewayCredential", "Set-ApiGatewayCredential -Context $context -ApiId orders -CertificateId server-tls -PassThru"),
        ("Get-GatewayCertificateReference", "Get-GatewayCertificateReference -Context $context -CertificateId server-tls"),
        ("Set-GatewayPolicy", "Set-GatewayPolicy -Context $context -ApiId orders -Policy '<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>' -PassThru"),
        ("Get-GatewayPolicy", "Get-GatewayPolicy -Context $context -ApiId orders"),
        ("Remove-GatewayPolicy", "Remove-GatewayPolicy -Context $context -ApiId orders -Force -PassThru"),
        ("Test-GatewayClientCertificate", "Test-GatewayClientCertificate -Context $context -ApiId orders -Certificate $server"),
        ("Start-Gateway", "Start-Gateway -Context $context -TimeoutSec 120"),
        ("Get-GatewayStatus", "Get-GatewayStatus -Context $context"),
        ("Invoke-GatewayRequest", "Invoke-GatewayRequest -Context $context -ApiId orders -Path /1 -IncludeTrace"),
        ("Stop-Gateway", "Stop-Gateway -Context $context -PassThru"),
        ("Remove-GatewayApi", "Remove-GatewayApi -Context $context -ApiId orders -Force -PassThru"),
        ("Remove-GatewayBackend", "Remove-GatewayBackend -Context $context -BackendId billing -Force -PassThru"),
        ("Remove-GatewayHostname", "Remove-GatewayHostname -Context $context -HostName localhost -Force -PassThru"),
        ("Remove-GatewayCaCertificate", "Remove-GatewayCaCertificate -Context $context -CertificateId clients-root -Force -PassThru"),
        ("Remove-GatewayCertificate", "Remove-GatewayCertificate -Context $context -CertificateId server-tls -Force -PassThru"),
        ("Set-GatewayRevocation", "Set-GatewayRevocation -Context $context -Mode Online -CrlFolder ./crls -PassThru"),
        ("Get-GatewayRevocation", "Get-GatewayRevocation -Context $context"),
        ("Test-GatewayConfiguration", "Test-GatewayConfiguration -Context $context -Quiet"),
    ];

    [Fact]
    public void TheEngine_RunsTheModuleFoldersAssembly()
    {
        var loaded = (string)Session.Ok("[ApiGateway.PowerShell.GatewayContext].Assembly.Location").Single().BaseObject;
        var module = (string)Session.Ok("(Get-Module ApiGateway).ModuleBase").Single().BaseObject;

        Assert.Equal(Path.GetFullPath(_module.Directory).TrimEnd(Path.DirectorySeparatorChar), module.TrimEnd(Path.DirectorySeparatorChar));
        Assert.Equal(PowerShellSession.Hash(_module.File("ApiGateway.dll")), PowerShellSession.Hash(loaded));
        Assert.Equal(PowerShellSession.Hash(_module.File("ApiGateway.Core.dll")), PowerShellSession.Hash(Path.Combine(Path.GetDirectoryName(loaded)!, "ApiGateway.Core.dll")));
    }

    [Fact]
    public void EveryCmdlet_HasASampleCall()
    {
        var exported = Session.Ok("(Get-Module ApiGateway).ExportedCmdlets.Keys").Select(o => (string)o.BaseObject).Order();

        Assert.Equal(exported, SampleCalls.Select(c => c.Cmdlet).Order());
    }

    [Fact]
    public void EveryCmdlet_RunsAndWritesOnlyItsDeclaredOutputTypes()
    {
        using var server = TestCertificates.Create("CN=localhost", serverAuth: true, dnsNames: ["localhost"]);
        using var caPublic = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(Ca.RawData);
        Session.Set("server", server);
        Session.Set("caPublic", caPublic);
        Session.Set("port", FreePort());
        try
        {
            foreach (var (cmdlet, script) in SampleCalls)
            {
                var result = Session.Run(script);
                Assert.True(result.AllErrors.Count == 0, $"{cmdlet}: {string.Join("; ", result.AllErrors.Select(ScriptResult.Describe))}");
                var declared = Session.Ok($"(Get-Command {cmdlet}).OutputType.Type").Select(o => (Type)o.BaseObject).ToList();
                Assert.NotEmpty(declared);
                Assert.True(result.Output.Count > 0, $"{cmdlet} wrote nothing");
                foreach (var written in result.Objects)
                    Assert.True(declared.Any(t => t.IsInstanceOfType(written)), $"{cmdlet} wrote a {written.GetType()}, declares {string.Join(", ", declared)}");
                // A primitive (Test-GatewayConfiguration -Quiet, Test-GatewayBackendTls -Quiet: a bool, as Test-Path's) needs no view of its own.
                foreach (var type in declared.Where(t => !t.IsPrimitive))
                    Assert.True(Session.Ok("@(Get-FormatData -TypeName $args[0] | ForEach-Object FormatViewDefinition | Where-Object { $_.Control -is [System.Management.Automation.TableControl] }).Count", type.FullName).Single().BaseObject is > 0, $"{type} has no table view");
            }
        }
        finally
        {
            Session.Run("Stop-Gateway -Context $context -ErrorAction SilentlyContinue");
        }
    }

    public static TheoryData<string, string, string[]> TableViews => new()
    {
        { "GatewayContext", "$context", ["ServiceName", "Revision", "ConfigurationPath"] },
        { "GatewayCertificate", "Add-GatewayCertificate -Context $context -CertificateId backend-2025 -Certificate $backendCertificate", ["CertificateId", "Subject", "Thumbprint"] },
        { "GatewayCaCertificate", "Add-GatewayCaCertificate -Context $context -CertificateId clients-root -Certificate $ca -WarningAction SilentlyContinue", ["CertificateId", "StoreName", "Subject"] },
        { "GatewayBackend", "New-GatewayBackend -Context $context -BackendId billing -Url https://billing.internal/ -Protocol http", ["BackendId", "Url"] },
        { "GatewayApi", "New-GatewayApi -Context $context -ApiId orders -Path orders -ServiceUrl https://orders.internal/", ["ApiId", "Path"] },
        { "GatewayPolicy", "Set-GatewayPolicy -Context $context -Policy '<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>' -PassThru", ["Scope"] },
        { "GatewayStatus", "Get-GatewayStatus -Context $context", ["State", "Revision"] },
        { "GatewayBackendTlsResult", "New-GatewayBackend -Context $context -BackendId closed -Url https://127.0.0.1:1/ -Protocol http | Out-Null; Test-GatewayBackendTls -Context $context -BackendId closed", ["BackendId", "Succeeded", "ServerCertificate", "ChainErrors", "ClientCertificate", "Error"] },
        { "GatewayApi", "New-GatewayApi -Context $context -ApiId forwarded -Path forwarded -ServiceUrl https://orders.internal/ -ForwardClientCertificate XArrClientCert", ["ApiId", "ForwardClientCert"] },
    };

    [Theory]
    [MemberData(nameof(TableViews))]
    public void OutputTypes_HaveADefaultTableView_WithTheirKeyColumns(string typeName, string produce, string[] columns)
    {
        Session.Set("backendCertificate", Client("CN=backend-2025"));

        var view = Session.Ok($"Get-FormatData -TypeName '*.{typeName}' | ForEach-Object FormatViewDefinition | Where-Object {{ $_.Control -is [System.Management.Automation.TableControl] }}");
        var table = string.Join("\n", Session.Ok($"{produce} | Format-Table | Out-String -Width 250").Select(o => o.BaseObject));

        Assert.NotEmpty(view);
        var header = table.Split('\n').Select(l => l.Trim()).First(l => l.Length > 0);
        foreach (var column in columns)
            Assert.Contains(column, header, StringComparison.Ordinal);
    }

    public static TheoryData<string, string[]> Completions => new()
    {
        { "Remove-GatewayCertificate -Context ./gateway.json -CertificateId back", ["backend-2025", "backend-2026"] },
        { "Get-GatewayBackend -Context ./gateway.json -BackendId b", ["billing"] },
        { "Set-GatewayApi -Context ./gateway.json -ApiId o", ["orders"] },
        { "Remove-GatewayHostname -Context ./gateway.json -HostName l", ["localhost"] },
        { "Remove-GatewayCaCertificate -Context ./gateway.json -CertificateId cl", ["clients-root"] },
    };

    [Theory]
    [MemberData(nameof(Completions))]
    public void ArgumentCompleters_OfferIdsFromTheConfigurationNamedByContext(string input, string[] expected)
    {
        Upload("backend-2025");
        Upload("backend-2026");
        Session.Set("caPublic", System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(Ca.RawData));
        Session.Ok("""
            Add-GatewayCaCertificate -Context $context -CertificateId clients-root -Certificate $caPublic | Out-Null
            Set-GatewayHostname -Context $context -HostName localhost -Port 8443 -CertificateId backend-2025 | Out-Null
            New-GatewayBackend -Context $context -BackendId billing -Url https://billing.internal/ -Protocol http | Out-Null
            New-GatewayApi -Context $context -ApiId orders -Path orders -BackendId billing | Out-Null
            """);

        // Relative to the session's location, which is not the process's working directory.
        var matches = Session.Ok("(TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length).CompletionMatches | ForEach-Object CompletionText", input);

        Assert.NotEqual(Session.Temp.Path, Environment.CurrentDirectory);
        Assert.Equal(expected, matches.Select(m => (string)m.BaseObject));
    }

    [Fact]
    public void GetHelp_IsCompleteForEveryCmdlet()
    {
        var problems = Session.Ok("""
            foreach ($command in Get-Command -Module ApiGateway -CommandType Cmdlet) {
                $help = Get-Help $command.Name -Full
                if (-not "$($help.Synopsis)".Trim() -or $help.Synopsis -match '^\s*' + [regex]::Escape($command.Name) + '\s') { "$($command.Name): no synopsis" }
                if (-not ($help.Description.Text -join '').Trim()) { "$($command.Name): no description" }
                if (@($help.Examples.Example).Count -eq 0) { "$($command.Name): no example" }
                foreach ($example in @($help.Examples.Example)) { if (-not "$($example.Code)".Trim()) { "$($command.Name): an example without code" } }
                $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
                foreach ($name in $command.Parameters.Keys | Where-Object { $_ -notin $common }) {
                    $parameter = Get-Help $command.Name -Parameter $name -ErrorAction SilentlyContinue
                    if (-not $parameter -or -not ($parameter.Description.Text -join '').Trim()) { "$($command.Name) -$($name): no description" }
                }
                if (-not ($help.Syntax.SyntaxItem)) { "$($command.Name): no syntax" }
            }
            """);

        Assert.Empty(problems.Select(p => p.BaseObject));
    }

    [Fact]
    public void NewGatewayContext_IsQuietByDefault_AndSaysWhatItCreatedInTheInformationStream()
    {
        var quiet = Session.Run("New-GatewayContext -Path ./quiet.json | Out-Null");
        var quietText = Session.Host.Text;
        var shown = Session.Run("New-GatewayContext -Path ./shown.json -InformationAction Continue | Out-Null");
        var shownText = Session.Host.Text;
        var verbose = Session.Run("New-GatewayContext -Path ./verbose.json -Verbose | Out-Null");

        quiet.ThrowIfFailed();
        Assert.Equal("", quietText);
        Assert.Contains(quiet.Information, i => $"{i.MessageData}".Contains("Created the gateway configuration", StringComparison.Ordinal) && !i.Tags.Contains("PSHOST"));
        Assert.Contains("Created the gateway configuration", shownText, StringComparison.Ordinal);
        Assert.Contains(shown.Information, i => $"{i.MessageData}".Contains("shown.json", StringComparison.Ordinal));
        Assert.Contains(verbose.Verbose, v => v.Contains("verbose.json", StringComparison.Ordinal));
        Assert.Empty(Session.Run("New-GatewayContext -Path ./quiet.json | Out-Null").Information);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
