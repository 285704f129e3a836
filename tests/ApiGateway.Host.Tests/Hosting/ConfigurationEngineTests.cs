using System.Diagnostics;
using ApiGateway.Core;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Runtime;
using ApiGateway.Host.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace ApiGateway.Host.Tests.Hosting;

/// <summary>
/// The gateway's engine as the module runs it (Core's <see cref="ConfigurationEngine"/> starting the real
/// <c>ApiGateway.Host validate --format json</c>): changes refused before they are saved, with the gateway's own
/// message, line and column; Test-GatewayConfiguration's report; and the report is the host's own.
/// </summary>
public sealed class ConfigurationEngineTests(ITestOutputHelper output)
{
    private const string Forbidden = """
        <policies>
          <inbound>
            <base />
            <set-header name="x-files" exists-action="override">
              <value>@(System.IO.File.ReadAllText("/etc/passwd"))</value>
            </set-header>
          </inbound>
        </policies>
        """;

    private const string DoesNotCompile = """
        <policies>
          <inbound>
            <base />
            <set-header name="x-n" exists-action="override">
              <value>@(context.Request.Headers.GetValueOrDefault("a", "") + undefinedThing)</value>
            </set-header>
          </inbound>
        </policies>
        """;

    private const string Benign = """
        <policies>
          <inbound>
            <base />
            <set-header name="x-method" exists-action="override">
              <value>@(context.Request.Method)</value>
            </set-header>
          </inbound>
        </policies>
        """;

    private static ConfigurationEngine Engine() => new(HostProcess.HostPath);

    private static (TempFolder Folder, GatewayService Service) Configuration(bool withEngine = true)
    {
        var folder = new TempFolder();
        var service = new GatewayService(folder.File("gateway.json"), engine: withEngine ? Engine() : null);
        service.Open("engine");
        service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://127.0.0.1:1/" });
        return (folder, service);
    }

    private static string[] CandidateFiles(TempFolder folder) =>
        Directory.GetFiles(Path.GetDirectoryName(folder.File("x"))!, "*.candidate-*");

    [Fact]
    public void SetPolicy_ForbiddenType_IsRefusedWithTheGatewaysMessageLineAndColumn_AndTheFileIsUnchanged()
    {
        var (folder, service) = Configuration();
        using var _ = folder;
        var bytes = File.ReadAllBytes(service.ConfigurationPath);

        var refused = Assert.Throws<GatewayException>(() => service.SetPolicy("orders", Forbidden));

        Assert.Equal("PolicyInvalidExpression", refused.ErrorId);
        Assert.Equal(GatewayErrorCategory.InvalidData, refused.Category);
        var problem = Assert.Single(refused.Problems);
        Assert.Equal("PolicyExpressionNotAllowed", problem.ErrorId);
        Assert.Equal("API 'orders'", problem.Subject);
        Assert.Equal(5, problem.Line);
        Assert.Equal("inbound", problem.Section);
        // The column of System.IO.File inside the <value> on line 5: the '@' is at column 14, the code starts at 16.
        Assert.Equal(16, problem.Column);
        Assert.Contains("System.IO.File", problem.Message, StringComparison.Ordinal);
        Assert.StartsWith("The policy of API 'orders', line 5, column 16:", problem.Message, StringComparison.Ordinal);
        Assert.Contains(problem.Message, refused.Message, StringComparison.Ordinal);
        Assert.Equal(bytes, File.ReadAllBytes(service.ConfigurationPath));
        Assert.Empty(CandidateFiles(folder));
    }

    [Fact]
    public void SetPolicy_CompileError_IsRefused()
    {
        var (folder, service) = Configuration();
        using var _ = folder;
        var revision = service.Read().Revision;

        var refused = Assert.Throws<GatewayException>(() => service.SetPolicy("orders", DoesNotCompile));

        Assert.Equal("PolicyInvalidExpression", refused.ErrorId);
        var problem = Assert.Single(refused.Problems);
        Assert.Equal("PolicyExpressionInvalid", problem.ErrorId);
        Assert.Contains("undefinedThing", problem.Message, StringComparison.Ordinal);
        Assert.Contains("CS0103", problem.Message, StringComparison.Ordinal);
        Assert.Equal(5, problem.Line);
        Assert.Equal(revision, service.Read().Revision);
    }

    [Fact]
    public void SetPolicy_BenignExpression_IsSaved_AndTheCostIsMeasured()
    {
        var (folder, service) = Configuration();
        using var _ = folder;
        var revision = service.Read().Revision;

        var watch = Stopwatch.StartNew();
        service.SetPolicy("orders", Benign);
        watch.Stop();

        Assert.Equal(revision + 1, service.Read().Revision);
        Assert.Equal(revision + 1, service.LastWrittenRevision);
        Assert.Contains("context.Request.Method", service.Read().Apis["orders"].Policy, StringComparison.Ordinal);
        Assert.Empty(CandidateFiles(folder));
        output.WriteLine($"Set-GatewayPolicy with the engine: {watch.ElapsedMilliseconds} ms (engine process {service.Engine!.LastElapsed.TotalMilliseconds:0} ms)");
    }

    [Fact]
    public void Changes_WithoutExpressions_DoNotStartTheEngine()
    {
        // A host path that does not exist: any run of the engine would fail with GatewayHostNotFound.
        using var folder = new TempFolder();
        var service = new GatewayService(folder.File("gateway.json"), engine: new ConfigurationEngine(folder.File("missing/ApiGateway.Host.dll")));
        service.Open("engine");
        service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://127.0.0.1:1/" });
        service.SetPolicy("orders", "<policies><inbound><base /></inbound></policies>");

        var missing = Assert.Throws<GatewayException>(() => service.SetPolicy("orders", Benign));
        Assert.Equal("GatewayHostNotFound", missing.ErrorId);
    }

    [Fact]
    public void ExpressionsMayChange_FollowsPoliciesAndLimits()
    {
        var plain = new GatewayConfiguration { Policy = "<policies><inbound /></policies>" };
        var withExpression = plain with { Policy = "<policies><inbound><set-header name=\"a\"><value>@(\"x\")</value></set-header></inbound></policies>" };

        Assert.False(GatewayService.ExpressionsMayChange(plain, plain with { Service = plain.Service with { Name = "other" } }));
        Assert.True(GatewayService.ExpressionsMayChange(plain, withExpression));
        Assert.False(GatewayService.ExpressionsMayChange(withExpression, withExpression with { Service = withExpression.Service with { Name = "other" } }));
        Assert.True(GatewayService.ExpressionsMayChange(withExpression, withExpression with { Service = withExpression.Service with { Limits = new GatewayLimits { MaxExpressionLength = 10 } } }));
    }

    [Fact]
    public void RemovingABackendAPolicyNames_IsRefused()
    {
        var (folder, service) = Configuration(withEngine: false);
        using var _ = folder;
        service.NewBackend(new BackendDefinition { BackendId = "billing", Url = "https://127.0.0.1:2/" });
        service.SetPolicy("orders", """
            <policies>
              <inbound><base /><set-backend-service backend-id="billing" /></inbound>
            </policies>
            """);

        var refused = Assert.ThrowsAny<GatewayException>(() => service.RemoveBackend("billing"));
        Assert.Contains("billing", refused.Message, StringComparison.Ordinal);
        Assert.True(service.Read().Backends.ContainsKey("billing"));
    }

    [Fact]
    public void Report_OfTheEngine_IsTheHostsOwnReport()
    {
        using var gateway = ExpiringGateway(out var expiring);
        gateway.Service.NewApi(new ApiDefinition { ApiId = "twin", Path = "twin", ServiceUrl = "https://127.0.0.1:1/" });
        File.WriteAllText(gateway.Service.ConfigurationPath, File.ReadAllText(gateway.Service.ConfigurationPath)
            .Replace("\"path\": \"twin\"", "\"path\": \"orders\"", StringComparison.Ordinal));

        var engine = Engine().ValidateFile(gateway.Service.ConfigurationPath, 30);
        var inProcess = SnapshotValidation.Report(gateway.Service.ConfigurationPath, NullLoggerFactory.Instance, null, 30);

        Assert.False(engine.Valid);
        Assert.Equal(inProcess.Problems, engine.Problems);
        Assert.Contains(engine.Problems, p => p is { ErrorId: "ApiPathDuplicate", Severity: GatewayProblemSeverity.Error });
        var warning = Assert.Single(engine.Problems, p => p.ErrorId == "CertificateExpiring");
        Assert.Equal(GatewayProblemSeverity.Warning, warning.Severity);
        Assert.Equal("Certificate 'soon'", warning.Subject);
        Assert.Contains("hostname 'localhost'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("Set-GatewayCertificate -CertificateId soon", warning.Fix, StringComparison.Ordinal);

        // A narrower window leaves the 10-day certificate out.
        Assert.DoesNotContain(Engine().ValidateFile(gateway.Service.ConfigurationPath, 5).Problems, p => p.ErrorId == "CertificateExpiring");
    }

    [Fact]
    public void HostValidate_Json_ExitCodes()
    {
        var (folder, service) = Configuration(withEngine: false);
        using var _ = folder;
        var ok = Run(service.ConfigurationPath);
        Assert.Equal(0, ok.ExitCode);
        Assert.Contains("\"valid\": true", ok.Output, StringComparison.Ordinal);

        // Saved without the engine (as by hand, or by an older module): the host's validate is what finds it.
        service.SetPolicy("orders", Forbidden);
        var bad = Run(service.ConfigurationPath);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("\"errorId\": \"PolicyExpressionNotAllowed\"", bad.Output, StringComparison.Ordinal);
        Assert.Contains("\"severity\": \"error\"", bad.Output, StringComparison.Ordinal);
    }

    private static (int ExitCode, string Output) Run(string configurationPath)
    {
        using var process = HostProcess.Start(["validate", "--config", configurationPath, "--format", "json"]);
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, text);
    }

    [Fact]
    public async Task RunningGateway_PicksUpAChange_AsTheObserverReports()
    {
        var (folder, service) = Configuration(withEngine: false);
        using var _ = folder;
        var server = TestCertificates.Create("CN=localhost", serverAuth: true, dnsNames: ["localhost"]);
        service.AddCertificate("tls", CertificateInput.FromCertificate(server));
        service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = FreePort.Next(), ListenAddress = "127.0.0.1", CertificateId = "tls" });
        int? pid = null;
        try
        {
            pid = GatewayProcess.Start(service.ConfigurationPath, new GatewayStartOptions { HostPath = HostProcess.HostPath }).Pid;
            service.SetPolicy("orders", Benign);

            var seen = ReloadObserver.Observe(service.ConfigurationPath, service.LastWrittenRevision);

            Assert.NotNull(seen);
            Assert.Equal(ReloadOutcomeKind.PickedUp, seen.Kind);
            Assert.Equal(service.LastWrittenRevision, seen.ServingRevision);
            Assert.Equal(pid, seen.Pid);
        }
        finally
        {
            GatewayProcess.Stop(service.ConfigurationPath);
            if (pid is { } p)
            {
                try
                {
                    using var process = Process.GetProcessById(p);
                    process.Kill();
                }
                catch (ArgumentException)
                {
                    // stopped
                }
            }
        }
        await Task.CompletedTask;
        Assert.Null(ReloadObserver.Observe(service.ConfigurationPath, 1));
    }

    /// <summary>A configuration whose hostname presents a certificate that expires in 10 days.</summary>
    private static DisposableService ExpiringGateway(out System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        var folder = new TempFolder();
        var service = new GatewayService(folder.File("gateway.json"));
        service.Open("expiring");
        service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://127.0.0.1:1/" });
        certificate = TestCertificates.Create("CN=localhost", serverAuth: true, dnsNames: ["localhost"], notBefore: DateTimeOffset.UtcNow.AddDays(-1), notAfter: DateTimeOffset.UtcNow.AddDays(10));
        service.AddCertificate("soon", CertificateInput.FromCertificate(certificate));
        service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = FreePort.Next(), ListenAddress = "127.0.0.1", CertificateId = "soon" });
        return new DisposableService(folder, service);
    }

    private sealed record DisposableService(TempFolder Folder, GatewayService Service) : IDisposable
    {
        public void Dispose() => Folder.Dispose();
    }
}

/// <summary>Issue 14 point 7: a certificate in use that expires within 30 days is logged at start and at each reload, and listed by /status.</summary>
public sealed class CertificateExpiryTests
{
    [Fact]
    public async Task ExpiringCertificateInUse_IsLoggedAtStartAndOnReload_AndListedInTheStatus()
    {
        await using var gateway = TestGateway.Create();
        var soon = TestCertificates.Create("CN=backend-client, O=Contoso", clientAuth: true, notBefore: DateTimeOffset.UtcNow.AddDays(-1), notAfter: DateTimeOffset.UtcNow.AddDays(10));
        gateway.Service.AddCertificate("backend-soon", CertificateInput.FromCertificate(soon));
        var unused = TestCertificates.Create("CN=unused", notAfter: DateTimeOffset.UtcNow.AddDays(5));
        gateway.Service.AddCertificate("unused-soon", CertificateInput.FromCertificate(unused));
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "billing", Url = "https://127.0.0.1:1/", Credentials = new GatewayBackendCredential { CertificateIds = ["backend-soon"] } });
        gateway.AddApi("orders", "orders", backendId: "billing");

        var server = await gateway.StartAsync();

        var atStart = gateway.Logs.Entries.Where(e => e.EventId.Id == 40).ToList();
        var logged = Assert.Single(atStart);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, logged.Level);
        Assert.Equal("CertificateExpiring", logged.EventId.Name);
        Assert.Contains("backend-soon", logged.Message, StringComparison.Ordinal);
        Assert.Contains("backend 'billing'", logged.Message, StringComparison.Ordinal);
        var listed = Assert.Single(server.GetStatus().ExpiringCertificates);
        Assert.Equal("backend-soon", listed.CertificateId);
        Assert.Equal("Certificate", listed.Kind);
        Assert.InRange(listed.DaysLeft, 9, 10);
        Assert.Equal(soon.Thumbprint, listed.Thumbprint);

        gateway.Service.SetApi("orders", new ApiDefinition { DisplayName = "Orders" });
        await gateway.WaitForRevisionAsync(gateway.Service.Read().Revision);
        Assert.Equal(2, gateway.Logs.Entries.Count(e => e.EventId.Id == 40));
    }

    [Fact]
    public void Expiring_TakesOnlyThoseWithinTheWindow_SoonestFirst()
    {
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        CertificateInUse At(string id, double days) => new(id, "Certificate", "CN=" + id, "00", now.AddDays(days), []);

        var expiring = CertificateExpiry.Expiring([At("later", 40), At("soon", 10), At("gone", -2), At("edge", 30)], now, 30);

        Assert.Equal(["gone", "soon", "edge"], expiring.Select(e => e.CertificateId));
        Assert.Equal([-2, 10, 30], expiring.Select(e => e.DaysLeft));
        Assert.Equal("CertificateExpired", CertificateExpiry.Problem(expiring[0]).ErrorId);
        Assert.Equal("CertificateExpiring", CertificateExpiry.Problem(expiring[1]).ErrorId);
        Assert.Empty(CertificateExpiry.Expiring([At("soon", 10)], now, 5));
    }
}
