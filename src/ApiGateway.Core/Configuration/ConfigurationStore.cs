using System.Diagnostics;
using System.Security.Cryptography;

namespace ApiGateway.Core.Configuration;

/// <summary>
/// The configuration file on disk. Reads take no lock (the file is only ever replaced whole, by rename); every
/// change is a read–modify–write under an inter-process lock (<c>&lt;file&gt;.lock</c>), checked against the
/// revision just before the new file is renamed over the old one. A file that cannot be parsed is never
/// overwritten, and one written by a newer schema is never written.
/// </summary>
internal sealed class ConfigurationStore
{
    private const int MaxConcurrentEditRetries = 5;

    /// <summary>Opens the store for the file at <paramref name="path"/> (made absolute; need not exist yet).</summary>
    public ConfigurationStore(string path, TimeSpan? lockTimeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        LockPath = Path + ".lock";
        LockTimeout = lockTimeout ?? TimeSpan.FromSeconds(30);
    }

    /// <summary>Absolute path of the configuration file.</summary>
    public string Path { get; }

    /// <summary>The lock file beside it, held exclusively while a change is written.</summary>
    public string LockPath { get; }

    /// <summary>How long a writer waits for another writer before it gives up with <c>ConfigurationLocked</c>.</summary>
    public TimeSpan LockTimeout { get; }

    /// <summary>Whether the configuration file exists.</summary>
    public bool Exists => File.Exists(Path);

    /// <summary>Reads and parses the file. Never blocks on writers: it sees the old or the new file, never half of one.</summary>
    public GatewayConfiguration Read() => ReadWithBytes().Configuration;

    private (GatewayConfiguration Configuration, byte[] Bytes) ReadWithBytes()
    {
        var bytes = ReadBytes(Path);
        return (ConfigurationSerializer.Deserialize(bytes, Path), bytes);
    }

    private byte[] ReadBytes(string file)
    {
        try
        {
            return File.ReadAllBytes(file);
        }
        catch (FileNotFoundException ex)
        {
            throw NotFound(ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw NotFound(ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GatewayException("Configuration", "ReadFailed", GatewayErrorCategory.ReadError,
                $"The configuration file '{Path}' cannot be read: {ex.Message}", Path, ex);
        }
    }

    /// <summary>
    /// Creates the file with <paramref name="initial"/> (revision 1) unless it exists. Returns the configuration in
    /// the file and whether this call created it.
    /// </summary>
    public (GatewayConfiguration Configuration, bool Created) CreateIfMissing(GatewayConfiguration initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        if (Exists)
            return (Read(), false);
        var folder = System.IO.Path.GetDirectoryName(Path)!;
        if (!Directory.Exists(folder))
        {
            throw new GatewayException("Configuration", "FolderNotFound", GatewayErrorCategory.NotFound,
                $"The folder '{folder}' for the configuration file does not exist. Create it first, or give a path in an existing folder.", folder);
        }
        using var _ = AcquireLock();
        if (Exists)
            return (Read(), false);
        var created = initial with { Revision = 1, SchemaVersion = GatewayConfiguration.CurrentSchemaVersion };
        WriteAtomically(ConfigurationSerializer.Serialize(created), expected: null);
        return (created, true);
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the current configuration under the lock and writes the result with the
    /// revision one higher. When the change leaves the configuration as it was, nothing is written. An exception
    /// thrown by <paramref name="change"/> leaves the file untouched. <paramref name="afterWrite"/> runs after a
    /// successful write while the lock is still held (clean-up that must not race another writer).
    /// </summary>
    public ConfigurationChange Update(Func<GatewayConfiguration, GatewayConfiguration> change, Action<GatewayConfiguration>? afterWrite = null)
    {
        ArgumentNullException.ThrowIfNull(change);
        using var _ = AcquireLock();
        for (var attempt = 1; ; attempt++)
        {
            var (before, bytes) = ReadWithBytes();
            if (before.SchemaVersion > GatewayConfiguration.CurrentSchemaVersion)
            {
                throw new GatewayException("Configuration", "SchemaTooNew", GatewayErrorCategory.NotSupported,
                    $"The configuration file '{Path}' has schema version {before.SchemaVersion}, written by a newer ApiGateway; this version writes schema {GatewayConfiguration.CurrentSchemaVersion} and refuses to change the file so nothing is lost. Update the ApiGateway module.",
                    Path);
            }
            var after = change(before);
            // Nothing to write when the change changed nothing: the same record, or the same bytes as the file.
            if (after == before)
                return new ConfigurationChange(before, before, Written: false);
            var candidate = ConfigurationSerializer.Serialize(after with { Revision = before.Revision, SchemaVersion = before.SchemaVersion });
            if (candidate.AsSpan().SequenceEqual(bytes))
                return new ConfigurationChange(before, before, Written: false);
            after = after with { Revision = before.Revision + 1, SchemaVersion = GatewayConfiguration.CurrentSchemaVersion };
            var output = ConfigurationSerializer.WithRevision(candidate, before, after) ?? ConfigurationSerializer.Serialize(after);
            if (WriteAtomically(output, bytes))
            {
                afterWrite?.Invoke(after);
                return new ConfigurationChange(before, after, Written: true);
            }
            if (attempt == MaxConcurrentEditRetries)
            {
                throw new GatewayException("Configuration", "ChangedConcurrently", GatewayErrorCategory.Unavailable,
                    $"The configuration file '{Path}' kept changing while this change was being written (something edits it without taking '{LockPath}'). Try again.", Path);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> to a temporary file in the same folder, flushes it to disk and renames it over
    /// the configuration file. Returns false, writing nothing, when the file on disk is no longer
    /// <paramref name="expected"/> (someone wrote it without the lock).
    /// </summary>
    private bool WriteAtomically(byte[] bytes, byte[]? expected)
    {
        var target = ResolveWriteTarget();
        var folder = System.IO.Path.GetDirectoryName(target)!;
        // Keep the permissions the operator gave the file (a new temporary file would get the umask's).
        UnixFileMode? mode = !OperatingSystem.IsWindows() && File.Exists(target) ? File.GetUnixFileMode(target) : null;
        try
        {
            if (!AtomicFile.Write(target, bytes, mode, () => expected is null || !File.Exists(target) || File.ReadAllBytes(target).AsSpan().SequenceEqual(expected)))
                return false;
            DeleteStaleTemporaryFiles(folder, target);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GatewayException("Configuration", "WriteFailed", GatewayErrorCategory.WriteError,
                $"The configuration file '{Path}' could not be written: {ex.Message} The previous configuration is unchanged.", Path, ex);
        }
    }

    /// <summary>
    /// Removes temporary files left behind by a writer that was killed between writing and renaming. Every writer of
    /// such files holds the lock while its file exists, and we hold it now, so any that remain are orphans.
    /// </summary>
    private static void DeleteStaleTemporaryFiles(string folder, string target)
    {
        try
        {
            foreach (var stale in Directory.EnumerateFiles(folder, AtomicFile.TemporaryFilePattern(target)))
                File.Delete(stale);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temporary file is harmless.
        }
    }

    /// <summary>
    /// Where the bytes go: the file itself, or, when the path is a symbolic link (a ConfigMap-style volume, a
    /// dotfiles link), its final target, so the link stays a link.
    /// </summary>
    private string ResolveWriteTarget()
    {
        var info = new FileInfo(Path);
        if (info.Exists && info.LinkTarget is not null)
            return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path;
        return Path;
    }

    /// <summary>Takes the inter-process lock: an exclusive open of <see cref="LockPath"/> (flock on Unix, a share lock on Windows).</summary>
    internal IDisposable AcquireLock()
    {
        var stopwatch = Stopwatch.StartNew();
        var delay = 2;
        while (true)
        {
            try
            {
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            }
            catch (IOException) when (stopwatch.Elapsed < LockTimeout)
            {
                Thread.Sleep(Random.Shared.Next(delay / 2 + 1, delay + 1));
                delay = Math.Min(delay * 2, 50);
            }
            catch (IOException ex)
            {
                throw new GatewayException("Configuration", "Locked", GatewayErrorCategory.Unavailable,
                    $"Another process has been changing '{Path}' for more than {LockTimeout.TotalSeconds:0} s (it holds '{LockPath}'). Wait for it to finish and try again.", Path, ex);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new GatewayException("Configuration", "WriteFailed", GatewayErrorCategory.WriteError,
                    $"The lock file '{LockPath}' cannot be created: {ex.Message} Changing '{Path}' needs write access to its folder.", Path, ex);
            }
        }
    }

    private GatewayException NotFound(Exception inner) =>
        new GatewayException("Configuration", "NotFound", GatewayErrorCategory.NotFound,
            $"The configuration file '{Path}' does not exist. Create it with New-GatewayContext -Path '{Path}'.", Path, inner);
}

/// <summary>The outcome of <see cref="ConfigurationStore.Update"/>.</summary>
/// <param name="Before">The configuration the change was applied to.</param>
/// <param name="After">The configuration now in the file.</param>
/// <param name="Written">False when the change changed nothing and the file was left alone.</param>
internal sealed record ConfigurationChange(GatewayConfiguration Before, GatewayConfiguration After, bool Written);
