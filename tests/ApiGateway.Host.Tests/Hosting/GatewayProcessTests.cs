using System.Diagnostics;
using ApiGateway.Core;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Hosting;

/// <summary>
/// Core/Hosting (what Start-Gateway, Stop-Gateway and Get-GatewayStatus call) and the executable's commands, with
/// the real gateway host started as a child process.
/// </summary>
public sealed class GatewayProcessTests
{
    private static string HostPath => Path.Combine(AppContext.BaseDirectory, "ApiGateway.Host.dll");

    private const string MockPolicy = """
        <policies>
          <inbound>
            <return-response>
              <set-status code="200" reason="OK" />
              <set-body>hello from the child</set-body>
            </return-response>
          </inbound>
        </policies>
        """;

    [Fact]
    public async Task StartStatusStop_WithTheRealExecutable()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("hello", "hello", policy: MockPolicy);
        var revision = gateway.Service.Read().Revision;
        int? pid = null;
        try
        {
            var started = GatewayProcess.Start(gateway.ConfigurationPath, new GatewayStartOptions { HostPath = HostPath });
            pid = started.Pid;

            Assert.Equal([$"https://localhost:{gateway.Port}/"], started.ListeningUrls);
            Assert.Equal(revision, started.Revision);
            Assert.Equal("test", started.ServiceName);
            Assert.Equal(Path.ChangeExtension(gateway.ConfigurationPath, ".log"), started.LogPath);
            var status = GatewayProcess.GetStatus(gateway.ConfigurationPath);
            Assert.True(status.IsRunning);
            Assert.Equal(GatewayState.Running, status.State);
            Assert.Equal(started.Pid, status.Pid);
            Assert.Equal(revision, status.Revision);
            Assert.Null(status.LastReloadError);
            var response = await gateway.SendAsync("/hello");
            Assert.Equal("hello from the child", response.Body);
            if (OperatingSystem.IsLinux())
                Assert.NotEqual(SessionOf("self"), SessionOf(started.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture))); // --detach: Ctrl+C in the terminal does not reach it
            var stateFile = GatewayStateFile.PathFor(gateway.ConfigurationPath);
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(stateFile));
            var again = Assert.Throws<GatewayException>(() => GatewayProcess.Start(gateway.ConfigurationPath, new GatewayStartOptions { HostPath = HostPath }));
            Assert.Equal("GatewayAlreadyRunning", again.ErrorId);

            var stopped = GatewayProcess.Stop(gateway.ConfigurationPath);

            Assert.True(stopped.WasRunning);
            Assert.True(stopped.Graceful);
            Assert.False(stopped.Killed);
            Assert.False(File.Exists(stateFile));
            Assert.False(GatewayProcess.GetStatus(gateway.ConfigurationPath).IsRunning);
            Assert.Contains("Serving revision", File.ReadAllText(started.LogPath), StringComparison.Ordinal);
            pid = null;
        }
        finally
        {
            Kill(pid);
        }
    }

    [Fact]
    public async Task Start_WithAnInvalidConfiguration_FailsListingEveryError()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("a", "a", policy: MockPolicy.Replace("hello from the child", "@(System.IO.Directory.GetFiles(\"/\").Length.ToString())", StringComparison.Ordinal));
        gateway.AddApi("b", "b", policy: MockPolicy.Replace("hello from the child", "@(context.Request.Nothing)", StringComparison.Ordinal));

        var error = Assert.Throws<GatewayException>(() => GatewayProcess.Start(gateway.ConfigurationPath, new GatewayStartOptions { HostPath = HostPath }));

        Assert.Equal("GatewayStartFailed", error.ErrorId);
        Assert.Contains("exited with code 2", error.Message, StringComparison.Ordinal);
        Assert.Contains(error.Details, d => d.Contains("API 'a'", StringComparison.Ordinal) && d.Contains("System.IO.Directory", StringComparison.Ordinal));
        Assert.Contains(error.Details, d => d.Contains("API 'b'", StringComparison.Ordinal) && d.Contains("Nothing", StringComparison.Ordinal));
        Assert.False(GatewayProcess.GetStatus(gateway.ConfigurationPath).IsRunning);
    }

    [Fact]
    public void StaleStateFile_IsNotRunning_AndStopRemovesIt()
    {
        using var folder = new TempFolder();
        var configuration = folder.Write("gateway.json", "{}");
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit();
        new GatewayStateFile
        {
            Pid = exited.Id,
            StatusUrl = "http://127.0.0.1:1/",
            ShutdownToken = GatewayStateFile.NewToken(),
            ConfigurationPath = configuration,
        }.Write();

        var status = GatewayProcess.GetStatus(configuration);
        var stopped = GatewayProcess.Stop(configuration);

        Assert.False(status.IsRunning);
        Assert.Contains("no longer running", status.Message, StringComparison.Ordinal);
        Assert.False(stopped.WasRunning);
        Assert.False(File.Exists(GatewayStateFile.PathFor(configuration)));
    }

    [Fact]
    public void MissingRuntime_IsNamedWithTheFix()
    {
        using var folder = new TempFolder();
        var fakeRoot = Directory.CreateDirectory(folder.File("dotnet-without-aspnet")).FullName;
        File.WriteAllText(Path.Combine(fakeRoot, "dotnet"), string.Empty);
        Directory.CreateDirectory(Path.Combine(fakeRoot, "shared", "Microsoft.NETCore.App", "10.0.0"));

        var error = Assert.Throws<GatewayException>(() => DotnetLocator.Find(HostPath, Path.Combine(fakeRoot, "dotnet")));

        Assert.Equal("GatewayRuntimeNotFound", error.ErrorId);
        Assert.Contains("Microsoft.AspNetCore.App 10.0", error.Message, StringComparison.Ordinal);
        Assert.Contains("DOTNET_ROOT", error.Message, StringComparison.Ordinal);
        Assert.Contains("aspnetcore-runtime-10.0", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("dotnet", DotnetLocator.Find(HostPath, null), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunCommand_WithAnInvalidConfiguration_ExitsWith2_ListingEveryError()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("a", "a", policy: MockPolicy.Replace("hello from the child", "@(System.Environment.UserName)", StringComparison.Ordinal));
        gateway.AddApi("b", "b", policy: MockPolicy.Replace("hello from the child", "@(typeof(int).ToString())", StringComparison.Ordinal));

        var (exitCode, output) = await RunHostAsync(["run", "--config", gateway.ConfigurationPath, "--no-state-file"], TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 2, output);
        Assert.True(output.Contains("has 2 problem(s)", StringComparison.Ordinal), output);
        Assert.True(output.Contains("The policy of API 'a', line 5, column 19: the expression uses System.Environment", StringComparison.Ordinal), output);
        Assert.Contains("The policy of API 'b', line 5, column 19: the expression uses System.Type", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateCommand_ReportsValidAndInvalid()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("a", "a", policy: MockPolicy);

        var (valid, validOutput) = await RunHostAsync(["validate", "--config", gateway.ConfigurationPath], TimeSpan.FromSeconds(60));
        gateway.Service.SetPolicy("a", MockPolicy.Replace("hello from the child", "@(System.Threading.Thread.CurrentThread.Name)", StringComparison.Ordinal));
        var (invalid, invalidOutput) = await RunHostAsync(["validate", "--config", gateway.ConfigurationPath], TimeSpan.FromSeconds(60));

        Assert.Equal(0, valid);
        Assert.Contains("is valid", validOutput, StringComparison.Ordinal);
        Assert.Equal(2, invalid);
        Assert.Contains("System.Threading.Thread", invalidOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quickstart_PrintsCurlCommandsThatGet200And403()
    {
        using var folder = new TempFolder();
        var quickstart = Path.Combine(folder.Path, "qs");
        var port = FreePort.Next();
        using var process = StartHost(["quickstart", "--folder", quickstart, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        try
        {
            var lines = new List<string>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                lines.Add(line);
                if (line.Contains("Press Ctrl+C", StringComparison.Ordinal))
                    break;
            }
            var commands = lines.Select(l => l.Trim()).Where(l => l.StartsWith("curl ", StringComparison.Ordinal)).ToList();
            Assert.True(commands.Count == 2, string.Join(Environment.NewLine, lines));

            Assert.Equal("200", await CurlStatusAsync(commands[0]));
            Assert.Equal("403", await CurlStatusAsync(commands[1]));

            var stopped = GatewayProcess.Stop(Path.Combine(quickstart, "gateway.json"));
            Assert.True(stopped.Graceful);
            Assert.True(process.WaitForExit(30_000));
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
    }

    [UnixFact("SIGTERM is a Unix signal.")]

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Run_StopsGracefullyOnSigterm_AndRemovesItsStateFile()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("hello", "hello", policy: MockPolicy);
        using var process = StartHost(["run", "--config", gateway.ConfigurationPath]);
        try
        {
            var limit = DateTime.UtcNow.AddSeconds(60);
            while (GatewayStateFile.TryRead(gateway.ConfigurationPath)?.Pid != process.Id && !process.HasExited && DateTime.UtcNow < limit)
                await Task.Delay(50);
            Assert.Equal("hello from the child", (await gateway.SendAsync("/hello")).Body);

            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
                await kill.WaitForExitAsync();

            Assert.True(process.WaitForExit(30_000));
            Assert.Equal(0, process.ExitCode);
            Assert.False(File.Exists(GatewayStateFile.PathFor(gateway.ConfigurationPath)));
            Assert.Contains("Shutting down (SIGTERM)", await process.StandardOutput.ReadToEndAsync(), StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>The session id of a process (field 6 of /proc/&lt;pid&gt;/stat).</summary>
    private static string SessionOf(string pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3];
    }

    /// <summary>Runs a printed curl command as it is, asking curl only to print the status code instead of the body.</summary>
    private static async Task<string> CurlStatusAsync(string command)
    {
        var start = new ProcessStartInfo("curl") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in command.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
            start.ArgumentList.Add(argument);
        foreach (var extra in new[] { "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10" })
            start.ArgumentList.Add(extra);
        using var curl = Process.Start(start)!;
        var output = await curl.StandardOutput.ReadToEndAsync();
        await curl.WaitForExitAsync();
        return output.Trim();
    }

    private static Process StartHost(string[] arguments)
    {
        var start = new ProcessStartInfo(DotnetLocator.Find(HostPath, null))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(HostPath);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }

    private static async Task<(int ExitCode, string Output)> RunHostAsync(string[] arguments, TimeSpan timeout)
    {
        using var process = StartHost(arguments);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    private static void Kill(int? pid)
    {
        if (pid is not { } id)
            return;
        try
        {
            using var process = Process.GetProcessById(id);
            process.Kill(entireProcessTree: true);
        }
        catch (ArgumentException)
        {
            // Already gone.
        }
    }
}
