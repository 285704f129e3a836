using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace ApiGateway.Host.Tls;

/// <summary>What the CRL files say of one certificate: good (until <see cref="ValidUntil"/>), revoked, or not known (<see cref="Problem"/> says why).</summary>
internal readonly record struct RevocationAnswer(X509ChainStatusFlags Flags, DateTimeOffset? ValidUntil, string? Problem)
{
    /// <summary>The status is not known.</summary>
    public const X509ChainStatusFlags UnknownFlags = X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation;

    public static RevocationAnswer Unknown(string problem) => new(UnknownFlags, null, problem);

    /// <summary>Good or revoked.</summary>
    public bool IsConclusive => Flags == X509ChainStatusFlags.NoError || (Flags & X509ChainStatusFlags.Revoked) != 0;
}

/// <summary>
/// The CRL files of the operator's CRL folder (<c>service.revocation.crlFolder</c>): every <c>*.crl</c> (DER or PEM)
/// and <c>*.pem</c> file at its top level, read on a background thread when the folder changes (a
/// FileSystemWatcher, 200 ms after the last event) and in any case every <see cref="PollInterval"/> (a watcher can
/// miss events or be unavailable), so a replaced CRL is in force within that bound. Files are compared by name, size
/// and modification time; a set that changed is read whole and swapped in at once, with a new
/// <see cref="Generation"/> that invalidates every revocation answer cached from the previous set.
/// <para>
/// Bounded: at most <see cref="MaxFiles"/> files, <see cref="MaxFileBytes"/> per file and <see cref="MaxTotalBytes"/>
/// in all are read; beyond, files are left out and logged. A file that cannot be read (not a CRL, an unsupported
/// critical extension, half written) is left out and logged; the CRLs of its issuer are then not known, which fails
/// closed. Write CRLs by renaming a finished file into the folder.
/// </para>
/// </summary>
internal sealed class CrlStore : IDisposable
{
    public const int MaxFiles = 1_000;
    public const long MaxFileBytes = 64L * 1024 * 1024;
    public const long MaxTotalBytes = 256L * 1024 * 1024;

    /// <summary>How often the folder is compared with what was read, whatever the watcher reports.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    /// <summary>How much a CRL's thisUpdate may lie in the future (issuer and gateway clocks differ).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200);

    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Timer _timer;
    private FileSystemWatcher? _watcher;
    private State _state = new(0, new Dictionary<string, RevocationList[]>(StringComparer.Ordinal), 0);
    private string? _stamp;
    private bool _disposed;

    public CrlStore(string folder, ILogger logger)
    {
        Folder = folder;
        _logger = logger;
        // The timer exists before the first read starts the watcher, whose events reschedule it.
        _timer = new Timer(_ => Refresh(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Refresh();
        _timer.Change(PollInterval, PollInterval);
    }

    /// <summary>The folder watched.</summary>
    public string Folder { get; }

    /// <summary>Grows by one whenever a changed set of files is read.</summary>
    public int Generation => Volatile.Read(ref _state).Generation;

    /// <summary>CRLs read now.</summary>
    public int Count => Volatile.Read(ref _state).Count;

    /// <summary>
    /// What the CRL files say of <paramref name="certificate"/>, issued by <paramref name="issuer"/> (the next
    /// certificate of its chain), at <paramref name="now"/>: the newest CRL of that issuer that verifies with its key
    /// decides. None, or one past its nextUpdate (RFC 5280 §5.1.2.5: it no longer vouches), means not known.
    /// </summary>
    public RevocationAnswer Check(X509Certificate2 certificate, X509Certificate2 issuer, DateTimeOffset now)
    {
        var state = Volatile.Read(ref _state);
        var issuerName = certificate.IssuerName.Name;
        if (!state.ByIssuer.TryGetValue(RevocationList.KeyOf(certificate.IssuerName), out var lists))
            return RevocationAnswer.Unknown($"no CRL of its issuer '{issuerName}' is in the CRL folder '{Folder}'");
        RevocationList? newest = null;
        foreach (var list in lists)
        {
            if (list.ThisUpdate <= now + ClockSkew && list.IsSignedBy(issuer) && (newest is null || list.ThisUpdate > newest.ThisUpdate))
                newest = list;
        }
        if (newest is null)
        {
            return RevocationAnswer.Unknown($"the CRL of its issuer '{issuerName}' in '{string.Join("', '", lists.Select(l => Path.GetFileName(l.File)).Distinct())}' "
                + "is not signed by that issuer's key (or not yet valid)");
        }
        if (newest.NextUpdate is { } next && next < now)
        {
            return RevocationAnswer.Unknown($"the CRL of its issuer '{issuerName}' ('{Path.GetFileName(newest.File)}') was due to be replaced on "
                + next.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) + "; a stale CRL vouches for nothing, put a current one in the CRL folder");
        }
        return newest.Lists(certificate.SerialNumberBytes.Span)
            ? new RevocationAnswer(X509ChainStatusFlags.Revoked, null, $"it is listed in the CRL of '{issuerName}' ('{Path.GetFileName(newest.File)}')")
            : new RevocationAnswer(X509ChainStatusFlags.NoError, newest.NextUpdate, null);
    }

    /// <summary>Reads the folder again when its files changed (name, size or time). Never throws.</summary>
    public void Refresh()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            try
            {
                EnsureWatcher();
                var files = List(out var stamp);
                if (stamp == _stamp)
                    return;
                var loaded = Load(files);
                _stamp = stamp;
                Volatile.Write(ref _state, loaded with { Generation = _state.Generation + 1 });
                Log.CrlFolderRead(_logger, Folder, loaded.Count, files.Count);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.CrlFileRefused(_logger, Folder, ex.Message);
            }
        }
    }

    private List<FileInfo> List(out string stamp)
    {
        var directory = new DirectoryInfo(Folder);
        if (!directory.Exists)
        {
            stamp = "missing";
            return [];
        }
        // Enumeration stops past the bound, so a folder of millions of files costs no more than one of MaxFiles + 1.
        var files = Core.Management.GatewayService.CrlFilePatterns
            .SelectMany(p => directory.EnumerateFiles(p, new EnumerationOptions { RecurseSubdirectories = false, MatchCasing = MatchCasing.CaseInsensitive }).Take(MaxFiles + 1))
            .DistinctBy(f => f.FullName, StringComparer.Ordinal)
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        stamp = string.Join('\n', files.Select(f => $"{f.Name}|{f.Length}|{f.LastWriteTimeUtc.Ticks}"));
        return files;
    }

    private State Load(List<FileInfo> files)
    {
        var byIssuer = new Dictionary<string, List<RevocationList>>(StringComparer.Ordinal);
        long total = 0;
        var count = 0;
        for (var i = 0; i < files.Count; i++)
        {
            var file = files[i];
            if (i >= MaxFiles)
            {
                Log.CrlFileRefused(_logger, file.FullName, $"the CRL folder has more than {MaxFiles} files; the rest are not read");
                break;
            }
            if (file.Length > MaxFileBytes || total + file.Length > MaxTotalBytes)
            {
                Log.CrlFileRefused(_logger, file.FullName, $"it is larger than {MaxFileBytes / (1024 * 1024)} MB, or the folder's files than {MaxTotalBytes / (1024 * 1024)} MB");
                continue;
            }
            try
            {
                var data = ReadBounded(file.FullName);
                total += data.Length;
                foreach (var list in RevocationList.Read(file.FullName, data))
                {
                    if (!byIssuer.TryGetValue(list.IssuerKey, out var of))
                        byIssuer[list.IssuerKey] = of = [];
                    of.Add(list);
                    count++;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
            {
                Log.CrlFileRefused(_logger, file.FullName, ex.Message);
            }
        }
        return new State(0, byIssuer.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal), count);
    }

    /// <summary>The file's bytes, at most <see cref="MaxFileBytes"/> whatever its reported length (a link to a device reports 0).</summary>
    private static byte[] ReadBounded(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > MaxFileBytes)
                throw new IOException($"it is larger than {MaxFileBytes / (1024 * 1024)} MB");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private void EnsureWatcher()
    {
        if (_watcher is not null || !Directory.Exists(Folder))
            return;
        try
        {
            var watcher = new FileSystemWatcher(Folder) { IncludeSubdirectories = false, NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
            FileSystemEventHandler changed = (_, _) => Soon();
            watcher.Changed += changed;
            watcher.Created += changed;
            watcher.Deleted += changed;
            watcher.Renamed += (_, _) => Soon();
            watcher.Error += (_, _) => Soon();
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            // inotify watches exhausted, or no watcher on this platform: the poll still finds every change.
            Log.CrlFileRefused(_logger, Folder, "watching the folder failed (" + ex.Message + "); changes are found by polling every " + PollInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s");
        }
    }

    private void Soon()
    {
        try
        {
            _timer.Change(Debounce, PollInterval);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _watcher?.Dispose();
            _watcher = null;
        }
        _timer.Dispose();
    }

    private sealed record State(int Generation, Dictionary<string, RevocationList[]> ByIssuer, int Count);
}

/// <summary>The CRL stores of the gateway, one per folder in use (a reload that keeps the folder keeps its store).</summary>
internal sealed class CrlStores : IDisposable
{
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private CrlStore? _current;

    public CrlStores(ILogger logger)
    {
        _logger = logger;
    }

    /// <summary>The store of <paramref name="folder"/>; a store of another folder stops watching (snapshots that still hold it keep its CRLs).</summary>
    public CrlStore For(string folder)
    {
        lock (_gate)
        {
            if (_current is { } current && string.Equals(current.Folder, folder, StringComparison.Ordinal))
                return current;
            _current?.Dispose();
            return _current = new CrlStore(folder, _logger);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _current?.Dispose();
            _current = null;
        }
    }
}
