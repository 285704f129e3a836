using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace ApiGateway.Core.Hosting;

/// <summary>How <see cref="GatewayProcess.Start"/> starts the gateway. Every property is optional.</summary>
internal sealed record GatewayStartOptions
{
    /// <summary>The gateway host, <c>ApiGateway.Host.dll</c>. Default: <see cref="GatewayProcess.DefaultHostPath"/>.</summary>
    public string? HostPath { get; init; }

    /// <summary>The <c>dotnet</c> executable (or its folder). Default: found through DOTNET_HOST_PATH, DOTNET_ROOT, PATH and the usual install folders.</summary>
    public string? DotnetPath { get; init; }

    /// <summary>Port of the status endpoint on 127.0.0.1. Default: an ephemeral port.</summary>
    public int? StatusPort { get; init; }

    /// <summary>Where the gateway writes its output. Default: <see cref="GatewayStateFile.LogPathFor"/> (<c>gateway.log</c>).</summary>
    public string? LogPath { get; init; }

    /// <summary>How long to wait for the gateway to report ready. Default: 60 seconds (the first start compiles the policies).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary><c>--access-log</c>: the file the gateway appends one JSON line per request to. Default: none (off).</summary>
    public string? AccessLogPath { get; init; }

    /// <summary><c>--health-address</c>: where /healthz, /readyz and /metrics are also served (e.g. <c>*:9100</c>).</summary>
    public string? HealthAddress { get; init; }

    /// <summary><c>--drain-timeout</c>: how long a stop lets requests in flight finish. Default: the host's (30 s).</summary>
    public TimeSpan? DrainTimeout { get; init; }

    /// <summary><c>--shutdown-delay</c>: how long a stop keeps accepting connections with /readyz at 503 first. Default: 0.</summary>
    public TimeSpan? ShutdownDelay { get; init; }

    /// <summary>The host's command-line options these settings stand for, in the order the host documents them.</summary>
    internal IEnumerable<string> HostArguments()
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        if (StatusPort is { } port)
        {
            yield return "--status-port";
            yield return port.ToString(invariant);
        }
        if (HealthAddress is { } health)
        {
            yield return "--health-address";
            yield return health;
        }
        if (AccessLogPath is { } accessLog)
        {
            yield return "--access-log";
            yield return accessLog;
        }
        if (DrainTimeout is { } drain)
        {
            yield return "--drain-timeout";
            yield return ((long)drain.TotalSeconds).ToString(invariant);
        }
        if (ShutdownDelay is { } delay)
        {
            yield return "--shutdown-delay";
            yield return ((long)delay.TotalSeconds).ToString(invariant);
        }
    }
}

/// <summary>A gateway started by <see cref="GatewayProcess.Start"/>.</summary>
public sealed record GatewayStartResult
{
    public required int Pid { get; init; }
    public required string ConfigurationPath { get; init; }
    public required string StatusUrl { get; init; }
    public required IReadOnlyList<string> ListeningUrls { get; init; }
    public required string LogPath { get; init; }
    public string ServiceName { get; init; } = string.Empty;
    public long Revision { get; init; }
}

/// <summary>The outcome of <see cref="GatewayProcess.Stop"/>.</summary>
public sealed record GatewayStopResult
{
    public required string ConfigurationPath { get; init; }

    /// <summary>Whether a gateway was running.</summary>
    public bool WasRunning { get; init; }

    public int? Pid { get; init; }

    /// <summary>True when it stopped after draining its requests; false when it had to be killed.</summary>
    public bool Graceful { get; init; }

    /// <summary>True when it did not stop within the timeout and was killed.</summary>
    public bool Killed { get; init; }

    /// <summary>What happened, when there is something to say (nothing was running, a stale state file was removed).</summary>
    public string? Message { get; init; }
}

/// <summary>
/// Process control behind Start-Gateway, Stop-Gateway and Get-GatewayStatus: runs the gateway host in the
/// background with the <c>dotnet</c> muxer, waits until its status endpoint reports the configuration loaded,
/// stops it gracefully through that endpoint (killing it only after a timeout), and reports its state from the
/// state file beside the configuration plus the endpoint.
/// </summary>
internal static class GatewayProcess
{
    private const int EarlyOutputLines = 200;

    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2) })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>Where the module ships the host: <c>host/ApiGateway.Host.dll</c> beside ApiGateway.Core.dll.</summary>
    public static string DefaultHostPath =>
        Path.Combine(Path.GetDirectoryName(typeof(GatewayProcess).Assembly.Location) ?? AppContext.BaseDirectory, "host", "ApiGateway.Host.dll");

    /// <summary>
    /// Starts the gateway for <paramref name="configurationPath"/> in the background and returns once it serves the
    /// configuration. Fails with <c>GatewayAlreadyRunning</c>, <c>GatewayHostNotFound</c>, <c>GatewayRuntimeNotFound</c>,
    /// <c>GatewayStartFailed</c> (listing what the gateway printed, e.g. every configuration error) or <c>GatewayStartTimeout</c>.
    /// </summary>
    public static GatewayStartResult Start(string configurationPath, GatewayStartOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configurationPath);
        options ??= new GatewayStartOptions();
        var config = Path.GetFullPath(configurationPath);
        EnsureStartable(config);
        var host = Path.GetFullPath(options.HostPath ?? DefaultHostPath);
        if (!File.Exists(host))
        {
            throw new GatewayException("Gateway", "HostNotFound", GatewayErrorCategory.NotFound,
                $"The gateway host '{host}' does not exist. The ApiGateway module ships it in its 'host' folder; reinstall the module, or give the path of ApiGateway.Host.dll with -HostPath.",
                host);
        }
        var muxer = DotnetLocator.Find(host, options.DotnetPath);
        var logPath = Path.GetFullPath(options.LogPath ?? GatewayStateFile.LogPathFor(config));
        var logStart = File.Exists(logPath) ? new FileInfo(logPath).Length : 0L;

        // Until the host moves its output into the log file, whatever the muxer or runtime prints (a missing
        // framework, a crash at start) arrives here; it is quoted if the start fails.
        var early = new EarlyOutput();
        using var process = new Process { StartInfo = StartInfo(muxer, host, config, logPath, options) };
        process.OutputDataReceived += early.Collect;
        process.ErrorDataReceived += early.Collect;
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new GatewayException("Gateway", "StartFailed", GatewayErrorCategory.InvalidOperation,
                $"'{muxer}' could not be started: {ex.Message}", muxer, ex);
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return WaitUntilReady(process, config, logPath, logStart, early, options.Timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>Fails when the configuration does not exist or a gateway already serves it; removes a stale state file.</summary>
    private static void EnsureStartable(string config)
    {
        if (!File.Exists(config))
        {
            throw new GatewayException("Configuration", "NotFound", GatewayErrorCategory.NotFound,
                $"The configuration file '{config}' does not exist. Create it with New-GatewayContext -Path '{config}'.", config);
        }
        var status = GetStatus(config);
        if (status.IsRunning)
        {
            throw new GatewayException("Gateway", "AlreadyRunning", GatewayErrorCategory.InvalidOperation,
                $"A gateway (process {status.Pid}) already serves '{config}'{(status.ListeningUrls.Count > 0 ? " at " + string.Join(", ", status.ListeningUrls) : string.Empty)}. It picks up configuration changes by itself; to restart it, run Stop-Gateway first.",
                status.Pid);
        }
        if (status.Message is not null)
            GatewayStateFile.DeleteStale(config);
    }

    /// <summary><c>dotnet ApiGateway.Host.dll run --config ... --log-file ... --detach [options]</c>, its output redirected.</summary>
    private static ProcessStartInfo StartInfo(string muxer, string host, string config, string logPath, GatewayStartOptions options)
    {
        var start = new ProcessStartInfo(muxer)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(config)!,
        };
        foreach (var argument in (string[])[host, "run", "--config", config, "--log-file", logPath, "--detach", .. options.HostArguments()])
            start.ArgumentList.Add(argument);
        return start;
    }

    /// <summary>
    /// Waits until the started gateway's status endpoint reports a loaded revision; fails with what it printed when it
    /// exits first, and stops it when <paramref name="timeout"/> runs out.
    /// </summary>
    private static GatewayStartResult WaitUntilReady(Process process, string config, string logPath, long logStart, EarlyOutput early, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.WaitForExit(100))
            {
                process.WaitForExit();
                var lines = early.Lines();
                lines.AddRange(ReadLogTail(logPath, logStart));
                lines = lines.Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
                var shown = lines.Count == 0 ? $" It printed nothing; see '{logPath}'." : ":" + Environment.NewLine + string.Join(Environment.NewLine, lines.Select(l => "  " + l));
                throw new GatewayException("Gateway", "StartFailed", GatewayErrorCategory.InvalidOperation,
                    $"The gateway for '{config}' exited with code {process.ExitCode} before it was ready{shown}", config)
                { Details = lines };
            }
            var state = GatewayStateFile.TryRead(config);
            if (state is not null && state.Pid == process.Id && QueryStatus(state.StatusUrl, TimeSpan.FromSeconds(2)) is { Revision: > 0 } document)
            {
                return new GatewayStartResult
                {
                    Pid = process.Id,
                    ConfigurationPath = config,
                    StatusUrl = state.StatusUrl,
                    ListeningUrls = document.ListeningUrls,
                    LogPath = logPath,
                    ServiceName = document.ServiceName,
                    Revision = document.Revision,
                };
            }
            if (deadline.Elapsed > timeout)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // It exited just now.
                }
                throw new GatewayException("Gateway", "StartTimeout", GatewayErrorCategory.Unavailable,
                    $"The gateway for '{config}' did not report ready within {timeout.TotalSeconds:0} s and was stopped. See its log '{logPath}'.", config);
            }
        }
    }

    /// <summary>The first lines a starting gateway writes to its redirected output, collected from the reader threads.</summary>
    private sealed class EarlyOutput
    {
        private readonly List<string> _lines = [];

        public void Collect(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
                return;
            lock (_lines)
            {
                if (_lines.Count < EarlyOutputLines)
                    _lines.Add(e.Data);
            }
        }

        public List<string> Lines()
        {
            lock (_lines)
                return [.. _lines];
        }
    }

    /// <summary>
    /// Stops the gateway serving <paramref name="configurationPath"/>: asks it to drain and exit, and kills it when it
    /// has not exited after <paramref name="timeout"/> (default 30 s). Not running is not an error.
    /// </summary>
    public static GatewayStopResult Stop(string configurationPath, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configurationPath);
        var config = Path.GetFullPath(configurationPath);
        var state = GatewayStateFile.TryRead(config);
        if (state is null)
            return new GatewayStopResult { ConfigurationPath = config, Message = $"No gateway is running for '{config}'." };
        if (!IsAlive(state))
        {
            GatewayStateFile.DeleteStale(config);
            return new GatewayStopResult
            {
                ConfigurationPath = config,
                Pid = state.Pid,
                Message = $"No gateway is running for '{config}'; the state file left by process {state.Pid} was removed.",
            };
        }

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(state.StatusUrl), "shutdown"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", state.ShutdownToken);
            using var response = Http.Send(request);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            // The endpoint does not answer: the process is killed below once the wait runs out.
        }

        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var graceful = WaitForExit(state, limit);
        var killed = false;
        if (!graceful)
        {
            try
            {
                using var process = Process.GetProcessById(state.Pid);
                process.Kill(entireProcessTree: true);
                killed = true;
                WaitForExit(state, TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                graceful = true; // it exited between the wait and the kill
            }
        }
        GatewayStateFile.Delete(config, state.Pid);
        return new GatewayStopResult
        {
            ConfigurationPath = config,
            WasRunning = true,
            Pid = state.Pid,
            Graceful = graceful,
            Killed = killed,
            Message = killed ? $"The gateway (process {state.Pid}) did not stop within {limit.TotalSeconds:0} s and was killed." : null,
        };
    }

    /// <summary>Whether a gateway serves <paramref name="configurationPath"/>, and what it serves.</summary>
    public static GatewayStatus GetStatus(string configurationPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configurationPath);
        var config = Path.GetFullPath(configurationPath);
        var state = GatewayStateFile.TryRead(config);
        if (state is null)
            return new GatewayStatus { ConfigurationPath = config };
        if (!IsAlive(state))
        {
            return new GatewayStatus
            {
                ConfigurationPath = config,
                Pid = state.Pid,
                LogPath = state.LogPath,
                Message = $"The state file '{GatewayStateFile.PathFor(config)}' was left by process {state.Pid}, which is no longer running (it did not stop gracefully; see its log{(state.LogPath is null ? string.Empty : " '" + state.LogPath + "'")}). Start-Gateway replaces it.",
            };
        }
        var document = QueryStatus(state.StatusUrl, TimeSpan.FromSeconds(3));
        if (document is null)
        {
            return new GatewayStatus
            {
                ConfigurationPath = config,
                IsRunning = true,
                State = GatewayState.NotResponding,
                Pid = state.Pid,
                StartedAt = state.StartedAt,
                ListeningUrls = state.ListeningUrls,
                StatusUrl = state.StatusUrl,
                LogPath = state.LogPath,
                Message = $"Process {state.Pid} runs but its status endpoint {state.StatusUrl} does not answer.",
            };
        }
        return new GatewayStatus
        {
            ConfigurationPath = config,
            IsRunning = true,
            State = document.State == GatewayState.Stopping ? GatewayState.Stopping : GatewayState.Running,
            Pid = document.Pid,
            ServiceName = document.ServiceName,
            Revision = document.Revision,
            LoadedAt = document.LoadedAt,
            StartedAt = document.StartedAt,
            LastReloadError = document.LastReloadError,
            ListeningUrls = document.ListeningUrls,
            StatusUrl = state.StatusUrl,
            LogPath = state.LogPath,
            ExpiringCertificates = document.ExpiringCertificates,
        };
    }

    /// <summary>The status document at <paramref name="statusUrl"/>, or null when it does not answer in time.</summary>
    internal static GatewayStatusDocument? QueryStatus(string statusUrl, TimeSpan timeout)
    {
        try
        {
            using var cancel = new CancellationTokenSource(timeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(statusUrl), "status"));
            using var response = Http.Send(request, cancel.Token);
            if (!response.IsSuccessStatusCode)
                return null;
            using var stream = response.Content.ReadAsStream(cancel.Token);
            return System.Text.Json.JsonSerializer.Deserialize<GatewayStatusDocument>(stream, HostingJson.Options);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or OperationCanceledException or System.Text.Json.JsonException or UriFormatException or IOException)
        {
            return null;
        }
    }

    /// <summary>Whether the process of <paramref name="state"/> still runs (and is the same process, not a reused id).</summary>
    internal static bool IsAlive(GatewayStateFile state)
    {
        try
        {
            using var process = Process.GetProcessById(state.Pid);
            if (process.HasExited)
                return false;
            try
            {
                var started = new DateTimeOffset(process.StartTime.ToUniversalTime(), TimeSpan.Zero);
                return state.ProcessStartedAt == default || (started - state.ProcessStartedAt).Duration() < TimeSpan.FromSeconds(5);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
            {
                return true;
            }
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool WaitForExit(GatewayStateFile state, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (IsAlive(state))
        {
            if (watch.Elapsed > limit)
                return false;
            Thread.Sleep(50);
        }
        return true;
    }

    private static List<string> ReadLogTail(string logPath, long from)
    {
        try
        {
            using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (from > 0 && from <= stream.Length)
                stream.Seek(from, SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var lines = new List<string>();
            while (reader.ReadLine() is { } line)
                lines.Add(line);
            return lines.Count > 100 ? lines.GetRange(lines.Count - 100, 100) : lines;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
