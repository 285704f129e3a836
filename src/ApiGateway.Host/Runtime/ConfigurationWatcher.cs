using System.Security.Cryptography;
using System.Text;
using ApiGateway.Core.Certificates;
using Microsoft.Extensions.Logging;

namespace ApiGateway.Host.Runtime;

/// <summary>
/// Notices every change the cmdlets (or other tools) make: FileSystemWatchers on the configuration's folder, the
/// certificate store and the folders of linked certificate files, plus a poll (default every 500 ms) that catches
/// what watchers miss — the atomic <c>..data</c> symlink swap of Kubernetes ConfigMap and Secret volumes, network
/// file systems. A change is whatever alters the fingerprint: the bytes of the configuration and of the linked files
/// (read through symlinks) and the names, sizes and times of the store's files. Bursts are coalesced; a reload that
/// fails is tried again on the next few ticks (a linked file caught half-written parses once its writer is done).
/// </summary>
internal sealed class ConfigurationWatcher : IAsyncDisposable
{
    private const int RetriesAfterFailure = 3;
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(50);

    private readonly string _configurationPath;
    private readonly string _storeDirectory;
    private readonly Func<CancellationToken, Task<ReloadOutcome>> _reload;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, FileSystemWatcher> _watchers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _ignoredNames;
    private IReadOnlyList<string> _files = [];
    private byte[] _applied = [];
    private int _retries;
    private int _forced;
    private Task? _loop;

    public ConfigurationWatcher(string configurationPath, Func<CancellationToken, Task<ReloadOutcome>> reload, TimeSpan pollInterval, ILogger logger)
    {
        _configurationPath = Path.GetFullPath(configurationPath);
        _storeDirectory = CertificateStore.DirectoryFor(_configurationPath);
        _reload = reload;
        _pollInterval = pollInterval;
        _logger = logger;
        // The gateway's own files beside the configuration change without being configuration.
        _ignoredNames = new HashSet<string>(StringComparer.Ordinal)
        {
            Path.GetFileName(Core.Hosting.GatewayStateFile.PathFor(_configurationPath)),
            Path.GetFileName(Core.Hosting.GatewayStateFile.LogPathFor(_configurationPath)),
            Path.GetFileName(_configurationPath) + ".lock",
        };
    }

    /// <summary>The fingerprint of the configuration, the store and <paramref name="files"/> right now.</summary>
    public byte[] Fingerprint(IReadOnlyList<string> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendFile(hash, _configurationPath);
        if (Directory.Exists(_storeDirectory))
        {
            try
            {
                foreach (var file in Directory.EnumerateFiles(_storeDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    var info = new FileInfo(file);
                    hash.AppendData(Encoding.UTF8.GetBytes($"{Path.GetRelativePath(_storeDirectory, file)}|{info.Length}|{info.LastWriteTimeUtc.Ticks}\n"));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                hash.AppendData("store-unreadable"u8);
            }
        }
        foreach (var file in files)
            AppendFile(hash, file);
        return hash.GetHashAndReset();
    }

    /// <summary>Starts watching, taking <paramref name="baseline"/> (the fingerprint the serving snapshot was built from) as applied.</summary>
    public void Start(byte[] baseline, IReadOnlyList<string> files)
    {
        _applied = baseline;
        Watch(files);
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Checks now instead of at the next tick.</summary>
    public void Poke() => _signal.Release();

    /// <summary>Reloads at once even when nothing changed (SIGHUP), through the same reload as a detected change.</summary>
    public void ReloadNow()
    {
        Volatile.Write(ref _forced, 1);
        _signal.Release();
    }

    private async Task LoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (await _signal.WaitAsync(_pollInterval, token).ConfigureAwait(false))
                {
                    await Task.Delay(Debounce, token).ConfigureAwait(false);
                    while (_signal.CurrentCount > 0)
                        await _signal.WaitAsync(token).ConfigureAwait(false);
                }
                var fingerprint = Fingerprint(_files);
                var forced = Interlocked.Exchange(ref _forced, 0) == 1;
                if (fingerprint.AsSpan().SequenceEqual(_applied) && _retries == 0 && !forced)
                    continue;
                var retrying = !forced && fingerprint.AsSpan().SequenceEqual(_applied);
                _applied = fingerprint;
                if (!retrying)
                    Log.ChangeDetected(_logger, _configurationPath);
                var outcome = await ReloadUnlessSupersededAsync(fingerprint, token).ConfigureAwait(false);
                if (outcome is null)
                    continue; // a newer change arrived: the next turn builds it at once
                _retries = outcome.Succeeded ? 0 : retrying ? _retries - 1 : RetriesAfterFailure;
                var newFiles = !outcome.WatchedFiles.SequenceEqual(_files, StringComparer.Ordinal);
                Watch(outcome.WatchedFiles);
                if (newFiles)
                    _applied = Fingerprint(_files); // what was just loaded from the new linked files is the baseline
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.WatcherFailed(_logger, _configurationPath, ex.Message, _pollInterval.TotalMilliseconds);
            }
        }
    }

    /// <summary>
    /// Runs the reload of <paramref name="loading"/>, watching for changes meanwhile: when the configuration changes
    /// again before the build is done, the build is abandoned (its cancellation stops the compiler) and null is
    /// returned, so the newest configuration is always the one built next. A slow or pathological change can delay a
    /// later one by one poll interval, never block it.
    /// </summary>
    private async Task<ReloadOutcome?> ReloadUnlessSupersededAsync(byte[] loading, CancellationToken token)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(token);
        var reload = _reload(attempt.Token);
        while (true)
        {
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(token);
            var signal = _signal.WaitAsync(_pollInterval, waiting.Token);
            var done = await Task.WhenAny(reload, signal).ConfigureAwait(false);
            if (done == reload)
            {
                await waiting.CancelAsync().ConfigureAwait(false);
                try
                {
                    if (await signal.ConfigureAwait(false))
                        _signal.Release(); // the change it saw belongs to the next turn
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    // The wait was only for this build.
                }
                return await reload.ConfigureAwait(false);
            }
            token.ThrowIfCancellationRequested();
            if (!Fingerprint(_files).AsSpan().SequenceEqual(loading))
            {
                await attempt.CancelAsync().ConfigureAwait(false);
                try
                {
                    await reload.ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    // Abandoned, as asked.
                }
                Log.ReloadSuperseded(_logger, _configurationPath);
                _signal.Release(); // build the newer one now, not at the next tick
                return null;
            }
        }
    }

    private void Watch(IReadOnlyList<string> files)
    {
        _files = files;
        var folders = new HashSet<string>(StringComparer.Ordinal) { Path.GetDirectoryName(_configurationPath)! };
        if (Directory.Exists(_storeDirectory))
            folders.Add(_storeDirectory);
        foreach (var file in files)
        {
            if (Path.GetDirectoryName(file) is { } folder && Directory.Exists(folder))
                folders.Add(folder);
        }
        foreach (var stale in _watchers.Keys.Where(k => !folders.Contains(k)).ToList())
        {
            _watchers[stale].Dispose();
            _watchers.Remove(stale);
        }
        foreach (var folder in folders)
        {
            if (_watchers.ContainsKey(folder))
                continue;
            try
            {
                var watcher = new FileSystemWatcher(folder)
                {
                    IncludeSubdirectories = folder == _storeDirectory,
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                };
                watcher.Changed += OnEvent;
                watcher.Created += OnEvent;
                watcher.Deleted += OnEvent;
                watcher.Renamed += OnEvent;
                watcher.Error += (_, e) => Log.WatcherFailed(_logger, folder, e.GetException().Message, _pollInterval.TotalMilliseconds);
                watcher.EnableRaisingEvents = true;
                _watchers[folder] = watcher;
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                Log.WatcherFailed(_logger, folder, ex.Message, _pollInterval.TotalMilliseconds);
            }
        }
    }

    private void OnEvent(object sender, FileSystemEventArgs e)
    {
        if (e.Name is { } name && _ignoredNames.Contains(Path.GetFileName(name)))
            return;
        _signal.Release();
    }

    private static void AppendFile(IncrementalHash hash, string path)
    {
        try
        {
            hash.AppendData(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            hash.AppendData(Encoding.UTF8.GetBytes("missing:" + path));
        }
        hash.AppendData("\0"u8);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }
        foreach (var watcher in _watchers.Values)
            watcher.Dispose();
        _watchers.Clear();
        _stop.Dispose();
        _signal.Dispose();
    }
}

/// <summary>What a reload attempt tells the watcher.</summary>
internal sealed record ReloadOutcome(bool Succeeded, IReadOnlyList<string> WatchedFiles);
