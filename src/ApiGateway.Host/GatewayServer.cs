using System.Reflection;
using ApiGateway.Core;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Hosting;
using ApiGateway.Host.Metrics;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Runtime;
using ApiGateway.Host.Status;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace ApiGateway.Host;

/// <summary>How to run a gateway.</summary>
internal sealed record GatewayServerOptions
{
    public required string ConfigurationPath { get; init; }

    public required ILoggerFactory LoggerFactory { get; init; }

    /// <summary>Port of the status endpoint on 127.0.0.1: 0 for an ephemeral one, null for none (and no state file).</summary>
    public int? StatusPort { get; init; } = 0;

    /// <summary>Whether to write the state file beside the configuration (needs the status endpoint).</summary>
    public bool WriteStateFile { get; init; } = true;

    /// <summary>Recorded in the state file: where this process writes its output.</summary>
    public string? LogPath { get; init; }

    /// <summary>How often the files are checked when no watcher event arrives.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long requests may run on after a shutdown or a removed listener.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a shutdown keeps serving with <c>/readyz</c> answering 503 before it stops accepting connections, so
    /// load balancers and the Kubernetes endpoints controller stop sending traffic first (Traefik's
    /// requestAcceptGraceTimeout, a preStop sleep).
    /// </summary>
    public TimeSpan ShutdownDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Binds every hostname's listener on this address (an IP or <c>*</c>) instead of the configured one, or null.</summary>
    public string? ListenAddress { get; init; }

    /// <summary>Where the health listener binds (<c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c> only), or null for none.</summary>
    public EndpointKey? HealthAddress { get; init; }

    /// <summary>Where the access log goes (a file, appended; <c>-</c>: standard output), or null for none (the default).</summary>
    public string? AccessLogPath { get; init; }

    /// <summary>How long an unused backend connection pool lives on after the last revision that used it drained.</summary>
    public TimeSpan? InvokerGrace { get; init; }
}

/// <summary>The gateway refused to start; <see cref="Errors"/> lists every reason.</summary>
internal sealed class GatewayStartException : Exception
{
    public GatewayStartException(string message, IReadOnlyList<string> errors, int exitCode)
        : base(message)
    {
        Errors = errors;
        ExitCode = exitCode;
    }

    public GatewayStartException()
    {
    }

    public GatewayStartException(string message)
        : base(message)
    {
    }

    public GatewayStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public IReadOnlyList<string> Errors { get; } = [];

    /// <summary>2: the configuration is invalid; 3: a socket cannot be bound.</summary>
    public int ExitCode { get; } = 1;
}

/// <summary>
/// A running gateway: the first snapshot (refusing to start, with every error, when it cannot be built), its
/// listeners, the status endpoint and state file, and the watcher that reloads on every change. Used by
/// <c>run</c>, by <c>quickstart</c>, and in-process by the tests.
/// </summary>
internal sealed class GatewayServer : IAsyncDisposable
{
    private readonly GatewayServerOptions _options;
    private readonly ServiceProvider _provider;
    private readonly ListenerManager _listeners;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _reloadLock = new(1, 1);
    private readonly TaskCompletionSource<string> _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    private readonly PrometheusExport _export;
    private ConfigurationWatcher? _watcher;
    private StatusServer? _status;
    private StatusServer? _health;
    private string? _token;
    private volatile bool _stopping;
    private bool _serving;
    private int _stopped;

    private GatewayServer(GatewayServerOptions options, ServiceProvider provider, GatewayRuntime runtime)
    {
        _options = options;
        _provider = provider;
        Runtime = runtime;
        _logger = options.LoggerFactory.CreateLogger("ApiGateway");
        _listeners = new ListenerManager(runtime, new GatewayRequestHandler(runtime), options.LoggerFactory, options.ListenAddress);
        runtime.Services.Metrics.Observe(new MetricsSource(() => Runtime.Current, () => Runtime.LastReloadError is not null, () => GetReadiness().Ready));
        _export = new PrometheusExport(runtime.Services.Metrics);
    }

    public GatewayRuntime Runtime { get; }

    /// <summary>The snapshot serving now.</summary>
    public GatewaySnapshot Snapshot => Runtime.Current!;

    public IReadOnlyList<string> ListeningUrls => Snapshot.ListeningUrls;

    public IReadOnlyList<string> BoundAddresses => _listeners.BoundAddresses;

    /// <summary>How long a stop lets running requests finish.</summary>
    public TimeSpan DrainTimeout => _options.DrainTimeout;

    /// <summary>Base URL of the status endpoint, or null without one.</summary>
    public string? StatusUrl => _status?.Url;

    /// <summary>Base URL of the health listener, or null without one.</summary>
    public string? HealthUrl => _health?.Url;

    /// <summary>The Prometheus export of this gateway's metrics.</summary>
    public PrometheusExport Metrics => _export;

    /// <summary>Completes with the reason when a shutdown is requested (status endpoint, signal).</summary>
    public Task<string> ShutdownRequested => _shutdown.Task;

    public static string Version { get; } =
        typeof(GatewayServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>Loads the configuration, binds the listeners and starts watching. Throws <see cref="GatewayStartException"/> listing every problem.</summary>
    public static async Task<GatewayServer> StartAsync(GatewayServerOptions options, CancellationToken cancellationToken = default)
    {
        var services = new ServiceCollection();
        services.AddSingleton(options.LoggerFactory);
        services.AddLogging();
        services.AddHttpForwarder();
        var provider = services.BuildServiceProvider();
        var metrics = new GatewayMetrics();
        AccessLog? accessLog;
        try
        {
            accessLog = options.AccessLogPath is { } accessLogPath ? AccessLog.Open(accessLogPath, metrics.RecordAccessLogDropped) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            metrics.Dispose();
            await provider.DisposeAsync().ConfigureAwait(false);
            throw new GatewayStartException("The gateway cannot start: it cannot open its access log.",
                [$"The access log '{options.AccessLogPath}' cannot be opened for appending: {ex.Message} Choose another --access-log path (or - for standard output), or fix the folder's permissions."], 2);
        }
        var gatewayServices = new GatewayServices(options.LoggerFactory, provider.GetRequiredService<IHttpForwarder>(), options.InvokerGrace, metrics, accessLog);
        var runtime = new GatewayRuntime(options.ConfigurationPath, gatewayServices);
        var server = new GatewayServer(options, provider, runtime);
        try
        {
            await server.StartCoreAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        var path = Runtime.ConfigurationPath;
        _watcher = new ConfigurationWatcher(path, ReloadFromWatcherAsync, _options.PollInterval, _logger);
        var files = LinkedFiles(path);
        var baseline = _watcher.Fingerprint(files);

        var result = Runtime.Build(cancellationToken);
        foreach (var warning in result.Warnings)
            Log.ConfigurationWarning(_logger, warning);
        if (result.Snapshot is not { } snapshot)
        {
            throw new GatewayStartException($"The gateway cannot start: '{path}' has {result.Errors.Count} problem(s).", result.Errors, 2);
        }
        if (_options.StatusPort is not null)
        {
            // The status token also keys the per-request trace proofs: set before any listener accepts a request.
            _token = GatewayStateFile.NewToken();
            Runtime.TraceAuthority = new TraceAuthority(_token);
        }
        Runtime.Pending = snapshot;
        var listenErrors = await _listeners.AddMissingAsync(snapshot, cancellationToken).ConfigureAwait(false);
        if (listenErrors.Count > 0)
        {
            Runtime.Pending = null;
            snapshot.Retire();
            throw new GatewayStartException("The gateway cannot start: it cannot listen where the configuration says.", listenErrors, 3);
        }
        Runtime.Activate(snapshot);
        LogLoaded(snapshot, result.CompiledNow);

        if (_options.HealthAddress is { } healthAddress)
        {
            try
            {
                _health = await StatusServer.StartAsync(healthAddress, new ManagementEndpoints { Ready = GetReadiness, Metrics = _export }, _options.LoggerFactory, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
            {
                throw new GatewayStartException("The gateway cannot start: it cannot listen on its health address.",
                    [$"The health listener cannot listen on {healthAddress}: {ex.Message} Choose another --health-address, or stop what uses it."], 3);
            }
            Log.HealthEndpoint(_logger, _health.Url);
        }
        if (_options.StatusPort is { } statusPort)
        {
            var endpoints = new ManagementEndpoints { Ready = GetReadiness, Metrics = _export, Status = GetStatus, Shutdown = (_token!, RequestShutdown) };
            _status = await StatusServer.StartAsync(statusPort, endpoints, _options.LoggerFactory, cancellationToken).ConfigureAwait(false);
            if (_options.WriteStateFile)
                WriteStateFile();
            Log.StatusEndpoint(_logger, _status.Url, _options.WriteStateFile ? GatewayStateFile.PathFor(path) : "none");
        }
        _watcher.Start(files.SequenceEqual(result.WatchedFiles) ? baseline : [], result.WatchedFiles);
        _serving = true;
    }

    /// <summary>Builds and activates the configuration as it is now; refused changes are recorded and logged once.</summary>
    public async Task<ReloadOutcome> ReloadAsync(CancellationToken cancellationToken = default)
    {
        await _reloadLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stopping)
                return new ReloadOutcome(true, Runtime.Current?.WatchedFiles ?? []);
            // Abandoned (OperationCanceledException) when a newer change supersedes this one: the watcher builds that next.
            var result = await Task.Run(() => Runtime.Build(cancellationToken), cancellationToken).ConfigureAwait(false);
            if (result.Snapshot is not { } snapshot)
            {
                Refuse(result.Revision, result.Errors);
                return new ReloadOutcome(false, result.WatchedFiles);
            }
            foreach (var warning in result.Warnings)
                Log.ConfigurationWarning(_logger, warning);
            Runtime.Pending = snapshot;
            var listenErrors = await _listeners.AddMissingAsync(snapshot, cancellationToken).ConfigureAwait(false);
            if (listenErrors.Count > 0)
            {
                Runtime.Pending = null;
                snapshot.Retire();
                Refuse(result.Revision, listenErrors);
                return new ReloadOutcome(false, result.WatchedFiles);
            }
            var recovered = Runtime.LastReloadError is not null;
            // Limits first: a request that sees the new revision also gets its limits.
            _listeners.ApplyLimits(snapshot);
            Runtime.Activate(snapshot);
            Runtime.LastReloadError = null;
            Runtime.Services.Metrics.RecordReload(loaded: true);
            if (recovered)
                Log.ReloadRecovered(_logger, Runtime.ConfigurationPath, snapshot.Revision);
            LogLoaded(snapshot, result.CompiledNow);
            await _listeners.RemoveObsoleteAsync(snapshot, _options.DrainTimeout).ConfigureAwait(false);
            if (_status is not null && _options.WriteStateFile)
                WriteStateFile();
            return new ReloadOutcome(true, result.WatchedFiles);
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    private Task<ReloadOutcome> ReloadFromWatcherAsync(CancellationToken cancellationToken) => ReloadAsync(cancellationToken);

    private void Refuse(long? revision, IReadOnlyList<string> errors)
    {
        var previous = Runtime.LastReloadError;
        Runtime.LastReloadError = new GatewayReloadError { At = DateTimeOffset.UtcNow, Revision = revision, Errors = errors };
        if (previous is not null && previous.Revision == revision && previous.Errors.SequenceEqual(errors))
            return; // the same change tried again: refused (and counted) once
        Runtime.Services.Metrics.RecordReload(loaded: false);
        Log.ReloadRefused(_logger, Runtime.ConfigurationPath, revision?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unreadable",
            Runtime.Current?.Revision ?? 0, errors.Count, Bullets(errors));
    }

    /// <summary>Checks the files now (tests; the watcher does this by itself).</summary>
    public void PokeWatcher() => _watcher?.Poke();

    /// <summary>
    /// Reloads the configuration now, changed or not (SIGHUP, nginx's convention), through the watcher's own reload:
    /// a refused change keeps the last good revision serving and is logged and shown by /status, as any other.
    /// </summary>
    public void RequestReload(string source)
    {
        if (_stopping || _watcher is null)
            return;
        Log.ReloadRequested(_logger, source, Runtime.ConfigurationPath);
        _watcher.ReloadNow();
    }

    /// <summary>
    /// What /readyz answers: ready once a revision serves and every one of its listeners is bound; not ready while
    /// a shutdown drains (so load balancers stop sending before the sockets close).
    /// </summary>
    public Readiness GetReadiness()
    {
        if (_stopping)
            return new Readiness(false, "draining: the gateway is shutting down");
        if (Runtime.Current is not { } snapshot)
            return new Readiness(false, "not ready: no configuration is loaded yet");
        foreach (var group in snapshot.Listeners)
        {
            if (!_listeners.IsBound(group.Key))
                return new Readiness(false, $"not ready: the listener {group.Key} of revision {snapshot.Revision} is not bound");
        }
        return new Readiness(true, $"ready: revision {snapshot.Revision}, {snapshot.Listeners.Count} listener(s) bound");
    }

    /// <summary>What the status endpoint answers.</summary>
    public GatewayStatusDocument GetStatus()
    {
        var snapshot = Runtime.Current;
        return new GatewayStatusDocument
        {
            Pid = Environment.ProcessId,
            State = _stopping ? GatewayState.Stopping : GatewayState.Running,
            ServiceName = snapshot?.ServiceName ?? string.Empty,
            ConfigurationPath = Runtime.ConfigurationPath,
            Revision = snapshot?.Revision ?? 0,
            LoadedAt = snapshot?.LoadedAt ?? default,
            LastReloadError = Runtime.LastReloadError,
            ListeningUrls = snapshot?.ListeningUrls ?? [],
            BoundAddresses = _listeners.BoundAddresses,
            StartedAt = _startedAt,
            Version = Version,
            ExpiringCertificates = snapshot is null ? [] : CertificateExpiry.Expiring(snapshot.CertificatesInUse, DateTimeOffset.UtcNow, CertificateExpiry.DefaultDays),
        };
    }

    /// <summary>Asks the gateway to stop (idempotent); <see cref="ShutdownRequested"/> completes.</summary>
    public void RequestShutdown(string source) => _shutdown.TrySetResult(source);

    /// <summary>
    /// Stops gracefully: /readyz answers 503 at once, the listeners keep serving for <see cref="GatewayServerOptions.ShutdownDelay"/>,
    /// then stop accepting connections (new ones are refused) while requests in flight finish, for up to
    /// <see cref="DrainTimeout"/>; then the state file is removed and the management listeners close.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
            return;
        _stopping = true;
        if (_options.ShutdownDelay > TimeSpan.Zero && _serving)
        {
            Log.ShutdownDelayStarted(_logger, _options.ShutdownDelay.TotalSeconds);
            await Task.Delay(_options.ShutdownDelay).ConfigureAwait(false);
        }
        if (_watcher is not null)
            await _watcher.DisposeAsync().ConfigureAwait(false);
        await _reloadLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _listeners.StopAllAsync(_options.DrainTimeout).ConfigureAwait(false);
        }
        finally
        {
            _reloadLock.Release();
        }
        if (_status is not null && _options.WriteStateFile)
            GatewayStateFile.Delete(Runtime.ConfigurationPath, Environment.ProcessId);
        if (_status is not null)
            await _status.DisposeAsync().ConfigureAwait(false);
        if (_health is not null)
            await _health.DisposeAsync().ConfigureAwait(false);
        _export.Dispose();
        if (Runtime.Services.AccessLog is { } accessLog)
            await accessLog.DisposeAsync().ConfigureAwait(false);
        Runtime.Services.Dispose();
        await _provider.DisposeAsync().ConfigureAwait(false);
        if (Runtime.Current is not null)
            Log.Stopped(_logger);
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private void WriteStateFile()
    {
        var path = Runtime.ConfigurationPath;
        try
        {
            using var process = System.Diagnostics.Process.GetCurrentProcess();
            new GatewayStateFile
            {
                Pid = Environment.ProcessId,
                ProcessStartedAt = new DateTimeOffset(process.StartTime.ToUniversalTime(), TimeSpan.Zero),
                StartedAt = _startedAt,
                StatusUrl = _status!.Url,
                ShutdownToken = _token!,
                ConfigurationPath = path,
                ListeningUrls = Runtime.Current?.ListeningUrls ?? [],
                LogPath = _options.LogPath,
                Version = Version,
            }.Write();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.StateFileFailed(_logger, GatewayStateFile.PathFor(path), ex.Message);
        }
    }

    private void LogLoaded(GatewaySnapshot snapshot, int compiledNow)
    {
        Log.ConfigurationLoaded(_logger, snapshot.Revision, snapshot.ConfigurationPath, snapshot.ServiceName, snapshot.Routes.Routes.Count,
            snapshot.Configuration.Service.Hostnames.Length, snapshot.ExpressionKeys.Count, compiledNow);
        // At the start and at every reload, so that an expiry is in the log long before clients see it.
        foreach (var certificate in CertificateExpiry.Expiring(snapshot.CertificatesInUse, DateTimeOffset.UtcNow, CertificateExpiry.DefaultDays))
            Log.CertificateExpiring(_logger, certificate.CertificateId, certificate.DaysLeft, CertificateExpiry.Describe(certificate));
    }

    internal static string Bullets(IEnumerable<string> lines) =>
        string.Concat(lines.Select(l => Environment.NewLine + "  - " + l));

    /// <summary>The linked certificate files of the configuration as it is now (best effort: for the first fingerprint).</summary>
    private static List<string> LinkedFiles(string configurationPath)
    {
        try
        {
            var configuration = new ConfigurationStore(configurationPath).Read();
            var files = new List<string>();
            foreach (var entry in configuration.Certificates.Values.Where(e => e.Source == CertificateSource.LinkedFile))
            {
                if (entry.Path is { } p)
                    files.Add(Path.GetFullPath(p));
                if (entry.KeyPath is { } k)
                    files.Add(Path.GetFullPath(k));
            }
            return files;
        }
        catch (GatewayException)
        {
            return [];
        }
    }
}
