using System.Text.Json;

namespace ApiGateway.Core.Hosting;

/// <summary>
/// Finds the <c>dotnet</c> muxer that can run the gateway host. PowerShell 7 is self-contained and has no ASP.NET
/// Core runtime of its own, so the host runs as <c>dotnet ApiGateway.Host.dll</c> on an installed shared runtime:
/// the frameworks it needs are read from its <c>runtimeconfig.json</c> and looked for under each candidate root.
/// </summary>
internal static class DotnetLocator
{
    /// <summary>A shared framework the host needs, e.g. Microsoft.AspNetCore.App 10.0.0.</summary>
    internal sealed record RequiredFramework(string Name, Version Version)
    {
        public override string ToString() => $"{Name} {Version.Major}.{Version.Minor} (version {Version} or a later {Version.Major}.x)";
    }

    private static string MuxerName => OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";

    /// <summary>The frameworks named by the host's runtimeconfig.json (ASP.NET Core and .NET by default).</summary>
    internal static IReadOnlyList<RequiredFramework> ReadFrameworks(string hostDll)
    {
        var config = Path.ChangeExtension(hostDll, ".runtimeconfig.json");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(config));
            var options = document.RootElement.GetProperty("runtimeOptions");
            var result = new List<RequiredFramework>();
            if (options.TryGetProperty("frameworks", out var frameworks))
            {
                foreach (var f in frameworks.EnumerateArray())
                    result.Add(new RequiredFramework(f.GetProperty("name").GetString()!, ParseVersion(f.GetProperty("version").GetString()!)!));
            }
            else if (options.TryGetProperty("framework", out var single))
            {
                result.Add(new RequiredFramework(single.GetProperty("name").GetString()!, ParseVersion(single.GetProperty("version").GetString()!)!));
            }
            return result;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException or NullReferenceException)
        {
            throw new GatewayException("Gateway", "HostNotFound", GatewayErrorCategory.NotFound,
                $"The gateway host's runtime configuration '{config}' is missing or unreadable ({ex.Message}). The ApiGateway module ships it next to ApiGateway.Host.dll; reinstall the module.",
                config, ex);
        }
    }

    /// <summary>
    /// The muxer to start the host with: <paramref name="explicitPath"/> if given, else the first of DOTNET_HOST_PATH,
    /// DOTNET_ROOT_&lt;ARCH&gt;, DOTNET_ROOT, PATH and the usual install folders whose root has every framework the host
    /// needs. An explicit path and a set variable decide, as they do for the .NET host itself: when that dotnet lacks a
    /// framework, the error says so instead of quietly starting another installation.
    /// </summary>
    internal static string Find(string hostDll, string? explicitPath, Func<string, string?>? getEnvironment = null)
    {
        getEnvironment ??= Environment.GetEnvironmentVariable;
        var frameworks = ReadFrameworks(hostDll);
        var checkedRoots = new List<string>();
        foreach (var (candidate, source) in Candidates(explicitPath, getEnvironment))
        {
            var decisive = source is not null;
            var muxer = Resolve(candidate);
            if (muxer is null)
            {
                if (decisive)
                {
                    checkedRoots.Add($"{source} names '{candidate}', which does not exist");
                    break;
                }
                continue;
            }
            var root = Path.GetDirectoryName(muxer)!;
            var missing = frameworks.FirstOrDefault(f => !HasFramework(root, f));
            if (missing is null)
                return muxer;
            checkedRoots.Add(decisive
                ? $"{source} names '{root}', which has no {missing.Name} {missing.Version.Major}.x"
                : $"{root} (no {missing.Name} {missing.Version.Major}.x)");
            if (decisive)
                break;
        }
        var needed = string.Join(" and ", frameworks.Select(f => f.ToString()));
        var major = frameworks.Count > 0 ? frameworks[0].Version.Major : 10;
        var where = checkedRoots.Count == 0 ? "no dotnet installation was found" : "looked in " + string.Join("; ", checkedRoots.Distinct());
        throw new GatewayException("Gateway", "RuntimeNotFound", GatewayErrorCategory.NotFound,
            $"The gateway host needs {needed}, and {where}. {InstallAdvice(major)}",
            hostDll);
    }

    /// <summary>How to install the ASP.NET Core runtime on each system (pwsh ships .NET without it).</summary>
    internal static string InstallAdvice(int major) =>
        $"Install the ASP.NET Core Runtime {major}.0: on Debian or Ubuntu 'sudo apt-get install -y aspnetcore-runtime-{major}.0' " +
        $"(Fedora, RHEL: 'sudo dnf install aspnetcore-runtime-{major}.0'); on macOS (or any Linux) " +
        $"'curl -sSL https://dot.net/v1/dotnet-install.sh | bash -s -- --runtime aspnetcore --channel {major}.0' and DOTNET_ROOT=~/.dotnet; " +
        $"on Windows 'winget install Microsoft.DotNet.AspNetCore.{major}'. Or set DOTNET_ROOT to a dotnet folder that has it (unset DOTNET_ROOT to let the module search PATH and the usual folders).";

    /// <summary>Candidate muxers, each with the setting that named it (null for the searched places).</summary>
    private static IEnumerable<(string Path, string? Source)> Candidates(string? explicitPath, Func<string, string?> env)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            yield return (Directory.Exists(explicitPath) ? Path.Combine(explicitPath, MuxerName) : explicitPath, "the dotnet path given");
            yield break;
        }
        if (env("DOTNET_HOST_PATH") is { Length: > 0 } hostPath)
        {
            yield return (hostPath, "DOTNET_HOST_PATH");
            yield break;
        }
        // As the .NET host reads them: the variable of this architecture first (DOTNET_ROOT_X64, DOTNET_ROOT_ARM64), then DOTNET_ROOT.
        var architecture = "DOTNET_ROOT_" + System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString().ToUpperInvariant();
        foreach (var name in new[] { architecture, "DOTNET_ROOT" })
        {
            if (env(name) is { Length: > 0 } root)
            {
                yield return (Path.Combine(root, MuxerName), name);
                yield break;
            }
        }
        foreach (var folder in (env("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            yield return (Path.Combine(folder.Trim('"'), MuxerName), null);
        if (OperatingSystem.IsWindows())
        {
            if (env("ProgramFiles") is { Length: > 0 } programFiles)
                yield return (Path.Combine(programFiles, "dotnet", MuxerName), null);
        }
        else
        {
            foreach (var root in new[] { "/usr/share/dotnet", "/usr/lib/dotnet", "/usr/local/share/dotnet", "/opt/dotnet", "/usr/local/dotnet" })
                yield return (Path.Combine(root, MuxerName), null);
            if (env("HOME") is { Length: > 0 } home)
                yield return (Path.Combine(home, ".dotnet", MuxerName), null);
        }
    }

    /// <summary>The real muxer behind <paramref name="path"/> (following links such as /usr/bin/dotnet), or null.</summary>
    private static string? Resolve(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
                return null;
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { Exists: true } target)
                return target.FullName;
            return info.FullName;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="root"/> has a version of the framework the host can roll forward to (same major, not older).</summary>
    internal static bool HasFramework(string root, RequiredFramework framework)
    {
        var folder = Path.Combine(root, "shared", framework.Name);
        if (!Directory.Exists(folder))
            return false;
        foreach (var dir in Directory.EnumerateDirectories(folder))
        {
            if (ParseVersion(Path.GetFileName(dir)) is { } v && v.Major == framework.Version.Major && v >= framework.Version)
                return true;
        }
        return false;
    }

    private static Version? ParseVersion(string text)
    {
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return Version.TryParse(dash < 0 ? text : text[..dash], out var v) ? v : null;
    }
}
