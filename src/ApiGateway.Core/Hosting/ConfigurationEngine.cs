using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Hosting;

/// <summary>
/// The gateway's own engine, run on a configuration before anything is saved and by Test-GatewayConfiguration:
/// <c>dotnet ApiGateway.Host.dll validate --config &lt;file&gt; --format json</c> as a child process. It builds the
/// snapshot exactly as a starting or reloading gateway does (XML, references, certificates, listeners, and every C#
/// expression compiled by Roslyn against the allow-list) and reports every problem with the gateway's own sentence.
/// </summary>
/// <remarks>
/// Why a child process and not in process: the host is an ASP.NET Core application (pwsh has no ASP.NET Core
/// runtime, so the snapshot builder cannot be loaded into it), and its Roslyn is pinned to the version the gateway
/// compiles with, which need not be the Microsoft.CodeAnalysis pwsh loads for Add-Type: one process, one copy, the
/// same answer as the gateway. The cost is a process start plus the compilation (docs/gateway.md "validate").
/// </remarks>
internal sealed class ConfigurationEngine
{
    /// <summary>Margin on top of the candidate's ExpressionCompileTimeoutSeconds for the process start and the rest of the build.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(60);

    private readonly string? _dotnetPath;
    private string? _muxer;

    private readonly string? _hostPath;

    /// <summary>
    /// The engine of the gateway host at <paramref name="hostPath"/> (default: the one the module ships,
    /// <see cref="GatewayProcess.DefaultHostPath"/>, or else <see cref="ModuleHostPath"/>).
    /// </summary>
    public ConfigurationEngine(string? hostPath = null, string? dotnetPath = null)
    {
        _hostPath = hostPath is null ? null : Path.GetFullPath(hostPath);
        _dotnetPath = dotnetPath;
    }

    /// <summary>
    /// The host in the folder of the module the cmdlets were imported from (set by the cmdlets from their ModuleBase).
    /// It differs from <see cref="GatewayProcess.DefaultHostPath"/> only when the engine had ApiGateway.Core.dll loaded
    /// from somewhere else before the module was imported (a host application, a test process); Start-Gateway makes
    /// the same choice, so the engine that checks a change is the gateway that runs it.
    /// </summary>
    public static string? ModuleHostPath { get; set; }

    /// <summary>The gateway host, <c>ApiGateway.Host.dll</c>: resolved at each call (see <see cref="ModuleHostPath"/>).</summary>
    public string HostPath => _hostPath
        ?? (!File.Exists(GatewayProcess.DefaultHostPath) && ModuleHostPath is { } module && File.Exists(module)
            ? Path.GetFullPath(module)
            : Path.GetFullPath(GatewayProcess.DefaultHostPath));

    /// <summary>Wall-clock time of the last validation, process start included (what a cmdlet pays per write).</summary>
    public TimeSpan LastElapsed { get; private set; }

    /// <summary>Every problem of the configuration file at <paramref name="configurationPath"/>, as the gateway reports them.</summary>
    public ValidationReport ValidateFile(string configurationPath, int expiringInDays = CertificateExpiry.DefaultDays, string? storeDirectory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configurationPath);
        var path = Path.GetFullPath(configurationPath);
        if (!File.Exists(path))
        {
            throw new GatewayException("Configuration", "NotFound", GatewayErrorCategory.NotFound,
                $"The configuration file '{path}' does not exist. Create it with New-GatewayContext -Path '{path}'.", path);
        }
        var limits = TryReadLimits(path);
        return Run(path, storeDirectory, expiringInDays, Timeout(limits));
    }

    /// <summary>
    /// Every problem of <paramref name="candidate"/>, a configuration not yet saved to <paramref name="configurationPath"/>:
    /// written to a temporary file beside it (so that relative paths resolve as they will), validated with the real
    /// file's certificate store, and removed again whatever happens. The real file is never touched.
    /// </summary>
    public ValidationReport ValidateCandidate(GatewayConfiguration candidate, string configurationPath, string storeDirectory)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentException.ThrowIfNullOrWhiteSpace(configurationPath);
        var path = Path.GetFullPath(configurationPath);
        var folder = Path.GetDirectoryName(path)!;
        var temporary = Path.Combine(folder, "." + Path.GetFileName(path) + ".candidate-" + Guid.NewGuid().ToString("N")[..12] + ".json");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temporary, options))
                stream.Write(ConfigurationSerializer.Serialize(candidate));
            var report = Run(temporary, storeDirectory, CertificateExpiry.DefaultDays, Timeout(candidate.Service.Limits));
            // The problems are about the real file: the temporary name must not leak into what the user reads.
            return report with
            {
                ConfigurationPath = path,
                Problems = report.Problems.Select(p => p with { ConfigurationPath = path, Message = p.Message.Replace(temporary, path, StringComparison.Ordinal) }).ToList(),
            };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GatewayException("Gateway", "ValidationFailed", GatewayErrorCategory.WriteError,
                $"The change could not be checked by the gateway engine: the temporary file '{temporary}' could not be written ({ex.Message}). Nothing was changed.", path, ex);
        }
        finally
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left behind only when the folder turned read-only meanwhile; it holds no secret (the store does).
            }
        }
    }

    private static TimeSpan Timeout(GatewayLimits? limits) =>
        TimeSpan.FromSeconds((limits ?? new GatewayLimits()).ResolveWithinRanges().ExpressionCompileTimeoutSeconds ?? GatewayLimits.Defaults.ExpressionCompileTimeoutSeconds!.Value) + Margin;

    private static GatewayLimits? TryReadLimits(string path)
    {
        try
        {
            return new ConfigurationStore(path).Read().Service.Limits;
        }
        catch (GatewayException)
        {
            return null; // the engine reports why the file cannot be read
        }
    }

    private ValidationReport Run(string file, string? storeDirectory, int expiringInDays, TimeSpan timeout)
    {
        var hostPath = HostPath;
        if (!File.Exists(hostPath))
        {
            throw new GatewayException("Gateway", "HostNotFound", GatewayErrorCategory.NotFound,
                $"The gateway host '{hostPath}', which checks configurations as the gateway does, does not exist. The ApiGateway module ships it in its 'host' folder; reinstall the module.",
                hostPath);
        }
        _muxer ??= DotnetLocator.Find(hostPath, _dotnetPath);
        var watch = Stopwatch.StartNew();
        var start = new ProcessStartInfo(_muxer)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(file)!,
        };
        foreach (var argument in new[] { hostPath, "validate", "--config", file, "--format", "json", "--expiring-in-days", expiringInDays.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(argument);
        if (storeDirectory is not null)
        {
            start.ArgumentList.Add("--store");
            start.ArgumentList.Add(Path.GetFullPath(storeDirectory));
        }
        // The child's own first-run chatter would otherwise precede the JSON.
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new GatewayException("Gateway", "ValidationFailed", GatewayErrorCategory.InvalidOperation,
                $"The gateway engine '{_muxer}' could not be started to check the configuration: {ex.Message} Nothing was changed.", _muxer, ex);
        }
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited just now.
            }
            throw new GatewayException("Gateway", "ValidationTimeout", GatewayErrorCategory.Unavailable,
                $"The gateway engine did not finish checking the configuration within {timeout.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s and was stopped. Nothing was changed; try again, or raise ExpressionCompileTimeoutSeconds if the policies' expressions are large.", file);
        }
        process.WaitForExit();
        LastElapsed = watch.Elapsed;
        var stdout = output.GetAwaiter().GetResult();
        var stderr = error.GetAwaiter().GetResult().Trim();
        if (process.ExitCode is 0 or 2)
        {
            try
            {
                if (JsonSerializer.Deserialize<ValidationReport>(stdout, HostingJson.Options) is { } report)
                    return report;
            }
            catch (JsonException)
            {
                // reported below with what it printed
            }
        }
        var printed = string.IsNullOrWhiteSpace(stderr) ? stdout.Trim() : stderr;
        throw new GatewayException("Gateway", "ValidationFailed", GatewayErrorCategory.InvalidOperation,
            $"The gateway engine could not check the configuration (exit code {process.ExitCode.ToString(CultureInfo.InvariantCulture)}){(printed.Length == 0 ? "." : ": " + Truncate(printed))} Nothing was changed.", file);
    }

    private static string Truncate(string text) => text.Length <= 2000 ? text : text[..2000] + " ...";
}
