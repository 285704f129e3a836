using System.Text.Json;
using ApiGateway.Core;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Runtime;

/// <summary>
/// <c>ApiGateway.Host explain</c> as a real child process: the command line (text and JSON, exit codes), and the
/// warm <c>--serve</c> host the module talks to through <see cref="GatewayDryRun"/> (answers, reload on change, the
/// errors of a configuration that would not start).
/// </summary>
public sealed class ExplainCommandTests
{
    private const string ExpiryPolicy = """
        <choose>
            <when condition="@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)">
                <return-response>
                    <set-status code="403" reason="Invalid client certificate" />
                </return-response>
            </when>
        </choose>
        """;

    [Fact]
    public async Task Explain_PrintsTheDecisionAsJsonAndText_AndExitsByTheOutcome()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("expiry", "expiry", policy: PolicyTemplates.Inheriting(inbound: ExpiryPolicy));
        var expired = gateway.Client("CN=old", DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));
        var file = gateway.Folder.Write("old.pem", expired.ExportCertificatePem());

        var (json, jsonOutput, _) = await RunAsync("explain", "--config", gateway.ConfigurationPath, "--api", "expiry", "--certificate", file, "--path", "/a", "--format", "json");
        Assert.Equal(0, json);
        var decision = JsonSerializer.Deserialize<GatewayDecision>(jsonOutput, HostingJson.Options)!;
        Assert.False(decision.Allowed);
        Assert.Equal(403, decision.StatusCode);
        Assert.Equal("/expiry/a", decision.Path);
        Assert.Equal(expired.Thumbprint, decision.CertificateThumbprint);
        Assert.Equal("return-response", decision.DecidedBy!.Element);

        var (text, textOutput, _) = await RunAsync("explain", "--config", gateway.ConfigurationPath, "--api", "expiry", "--no-certificate");
        Assert.Equal(0, text);
        Assert.Contains("answered 403 Invalid client certificate", textOutput, StringComparison.Ordinal);
        Assert.Contains("@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now) = true", textOutput, StringComparison.Ordinal);

        var (unknown, _, unknownErrors) = await RunAsync("explain", "--config", gateway.ConfigurationPath, "--api", "nope", "--no-certificate");
        Assert.Equal(1, unknown);
        Assert.Contains("No API 'nope'", unknownErrors, StringComparison.Ordinal);

        var (neither, _, neitherErrors) = await RunAsync("explain", "--config", gateway.ConfigurationPath, "--api", "expiry");
        Assert.Equal(1, neither);
        Assert.Contains("--no-certificate", neitherErrors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_OfAConfigurationThatWouldNotStart_Exits2WithEveryProblem()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("broken", "broken", policy: PolicyTemplates.Inheriting(inbound: """<set-header name="x" exists-action="override"><value>@(context.NoSuchMember)</value></set-header>"""));

        var (exit, _, errors) = await RunAsync("explain", "--config", gateway.ConfigurationPath, "--api", "broken", "--no-certificate");

        Assert.Equal(2, exit);
        Assert.Contains("NoSuchMember", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WarmHost_AnswersEveryCall_SeesAChangeAtOnce_AndReportsABrokenConfiguration()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("expiry", "expiry", policy: PolicyTemplates.Inheriting(inbound: ExpiryPolicy));
        var valid = gateway.Client("CN=valid");
        var expired = gateway.Client("CN=old", DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));

        var first = GatewayDryRun.Explain(gateway.ConfigurationPath, [new DryRunCase { ApiId = "expiry", Certificate = valid }, new DryRunCase { ApiId = "expiry", Certificate = expired }, new DryRunCase { ApiId = "expiry" }], HostProcess.HostPath);
        Assert.Equal([true, false, false], first.Select(d => d.Allowed));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var again = GatewayDryRun.Explain(gateway.ConfigurationPath, [new DryRunCase { ApiId = "expiry", Certificate = expired }], HostProcess.HostPath);
        Assert.False(again.Single().Allowed);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"a warm dry run took {clock.Elapsed}");

        gateway.Service.SetPolicy("expiry", PolicyTemplates.Inheriting());
        Assert.True(GatewayDryRun.Explain(gateway.ConfigurationPath, [new DryRunCase { ApiId = "expiry", Certificate = expired }], HostProcess.HostPath).Single().Allowed);

        // A file edited by hand that the gateway would not start with: the error lists the problem.
        var text = File.ReadAllText(gateway.ConfigurationPath);
        var broken = text.Replace("\"https://127.0.0.1:1/\"", "\"not a url\"", StringComparison.Ordinal);
        Assert.NotEqual(text, broken);
        File.WriteAllText(gateway.ConfigurationPath, broken);
        var error = Assert.Throws<GatewayException>(() => GatewayDryRun.Explain(gateway.ConfigurationPath, [new DryRunCase { ApiId = "expiry" }], HostProcess.HostPath));
        Assert.Equal("ConfigurationInvalid", error.ErrorId);
    }

    [Fact]
    public async Task DryRun_OfAnUnknownApiOrHostname_FailsBeforeStartingAnything()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("orders", "orders");

        var api = Assert.Throws<GatewayException>(() => GatewayDryRun.Explain(gateway.ConfigurationPath, [new DryRunCase { ApiId = "nope" }], "/nonexistent/host.dll"));
        Assert.Equal("ApiNotFound", api.ErrorId);
        Assert.Contains("'orders'", api.Message, StringComparison.Ordinal);
        var host = Assert.Throws<GatewayException>(() => GatewayDryRun.Explain(gateway.ConfigurationPath, [new DryRunCase { ApiId = "orders", HostName = "api.example" }], "/nonexistent/host.dll"));
        Assert.Equal("HostnameNotFound", host.ErrorId);
        var missing = Assert.Throws<GatewayException>(() => GatewayDryRun.Explain(gateway.ConfigurationPath, [new DryRunCase { ApiId = "orders" }], "/nonexistent/host.dll"));
        Assert.Equal("GatewayHostNotFound", missing.ErrorId);
    }

    private static async Task<(int Exit, string Output, string Errors)> RunAsync(params string[] arguments)
    {
        using var process = HostProcess.Start(arguments);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await errors);
    }
}
