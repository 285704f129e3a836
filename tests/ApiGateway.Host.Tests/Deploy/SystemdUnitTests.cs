using System.Diagnostics;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Deploy;

/// <summary>
/// deploy/systemd/apigateway@.service (shipped in the module's systemd folder): systemd itself checks it, and it runs
/// the host the way the host expects (Type=notify, which Run_UnderSystemd_NotifiesReadyOnceServing proves the host
/// answers; SIGHUP to reload; SIGTERM to drain).
/// </summary>
public sealed class SystemdUnitTests
{
    private static string Unit => Path.Combine(RepoRoot(), "deploy", "systemd", "apigateway@.service");

    [ToolFact("systemd-analyze", "systemd")]
    public async Task Unit_PassesSystemdAnalyzeVerify_WithoutAWarning()
    {
        var analyze = Tools.Require("systemd-analyze", "systemd");
        using var folder = new TempFolder();
        // A template is verified through an instance of it, as systemctl would load apigateway@contoso.service.
        File.Copy(Unit, folder.File("apigateway@.service"));
        File.CreateSymbolicLink(folder.File("apigateway@contoso.service"), "apigateway@.service");
        var start = new ProcessStartInfo(analyze, ["verify", "--man=no", folder.File("apigateway@contoso.service")])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(0, process.ExitCode);
        // verify exits 0 on what it ignores ("Failed to parse service type, ignoring"): any line about the unit fails.
        Assert.DoesNotContain("apigateway@", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Unit_RunsTheHostAsANotifyService_ReloadingOnSighup()
    {
        var lines = File.ReadAllLines(Unit).Where(l => !l.StartsWith('#')).ToList();

        Assert.Contains("Type=notify", lines);
        Assert.Contains("ExecReload=/bin/kill -HUP $MAINPID", lines);
        Assert.Contains("KillSignal=SIGTERM", lines);
        var exec = Assert.Single(lines, l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        Assert.Contains("run --config /etc/apigateway/%i/gateway.json", exec, StringComparison.Ordinal);
        Assert.Contains("--log-format systemd", exec, StringComparison.Ordinal);
        // Every option it passes is one the host knows.
        foreach (var option in exec.Split(' ').Where(a => a.StartsWith("--", StringComparison.Ordinal)))
            Assert.Contains(option, CommandLine.Usage, StringComparison.Ordinal);
    }

    private static string RepoRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "GatewayModule.sln")))
            folder = folder.Parent;
        return folder?.FullName ?? throw new InvalidOperationException("The repository root (GatewayModule.sln) is not above the test's folder.");
    }
}
