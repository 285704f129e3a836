namespace ApiGateway.Host.Tests.Support;

/// <summary>
/// A fact that needs an external program (haproxy, systemd-analyze, kubectl) on Linux. Outside CI a missing program
/// is reported as Skipped, naming the package to install; in CI (CI=true) the test always runs, so a missing program
/// fails it instead of letting it pass unseen: .ci/run installs what the tests need.
/// </summary>
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(string program, string package)
    {
        if (!OperatingSystem.IsLinux())
            Skip = $"Needs {program} on Linux.";
        else if (Tools.Find(program) is null && !Tools.InCi)
            Skip = $"{program} is not installed (apt-get install -y {package}); CI installs it and runs this test.";
    }
}

/// <summary>Programs on PATH.</summary>
internal static class Tools
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The full path of <paramref name="program"/> on PATH (or /usr/sbin, where Debian puts haproxy), or null.</summary>
    public static string? Find(string program)
    {
        var folders = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Append("/usr/sbin").Append("/usr/bin");
        return folders.Select(f => Path.Combine(f, program)).FirstOrDefault(File.Exists);
    }

    /// <summary>The full path of <paramref name="program"/>; fails the test naming the package when it is missing.</summary>
    public static string Require(string program, string package) =>
        Find(program) ?? throw new Xunit.Sdk.XunitException($"{program} is not installed: apt-get install -y {package} (.ci/run does this in CI).");
}
