using System.Diagnostics;
using System.Text;

namespace ApiGateway.PowerShell.Tests.Infrastructure;

/// <summary>
/// Publishes the module once per test run, exactly as CI and build.ps1 do (<c>dotnet publish
/// src/ApiGateway.PowerShell</c>, a real child process), with this build's configuration and artifacts path, so the
/// tests check the folder the current sources produce rather than a stale one. Bounded: it gives up after 10 minutes.
/// </summary>
public sealed class ModuleFolderFixture
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public ModuleFolderFixture()
    {
        var arguments = new List<string> { "publish", BuildInfo.ModuleProject, "-c", BuildInfo.Configuration, "--nologo", "-v:minimal", "-nodeReuse:false" };
        if (BuildInfo.ArtifactsPath is { } artifacts)
            arguments.AddRange(["--artifacts-path", artifacts.TrimEnd('/', '\\')]);
        var start = new ProcessStartInfo(DotnetPath())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = BuildInfo.RepoRoot,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        // The test host inherits MSBuild settings of the `dotnet test` that started it; the child starts clean.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} did not finish within {Timeout}:\n{output}");
        }
        process.WaitForExit();
        PublishOutput = output.ToString();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"dotnet {string.Join(' ', arguments)} failed with exit code {process.ExitCode}:\n{PublishOutput}");
        Directory = BuildInfo.ModuleDirectory;
    }

    /// <summary>out/ApiGateway/&lt;version&gt;/ (or under the artifacts path).</summary>
    public string Directory { get; }

    public string PublishOutput { get; }

    public string File(params string[] parts) => Path.Combine([Directory, .. parts]);

    private static string DotnetPath()
    {
        // The test host runs under the dotnet muxer; use the same one (and so the same SDK).
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            return self;
        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
    }
}

[CollectionDefinition(Name)]
public sealed class ModuleFolderGroup : ICollectionFixture<ModuleFolderFixture>
{
    public const string Name = "Module folder";
}
