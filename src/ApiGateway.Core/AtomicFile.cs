using System.Security.Cryptography;

namespace ApiGateway.Core;

/// <summary>
/// Writes a file completely or not at all: the content goes to a temporary file in the same folder (so the rename
/// stays on one file system), is flushed to disk, and is renamed over the target. A reader sees the old file or the
/// new one, never half of one; a writer killed halfway leaves only a temporary file named after
/// <see cref="TemporaryFilePattern"/>. The configuration store, the certificate store and the state file use it.
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> with what <paramref name="write"/> puts in the stream. On Unix the new file gets
    /// <paramref name="unixMode"/> (null: the umask's), set when it is created, so it is never readable more widely
    /// first. When <paramref name="beforeReplace"/> returns false the target is left alone and the result is false.
    /// I/O failures are thrown as they are (the caller words them); the temporary file is removed in every case.
    /// </summary>
    public static bool Write(string path, Action<Stream> write, UnixFileMode? unixMode = null, Func<bool>? beforeReplace = null)
    {
        ArgumentNullException.ThrowIfNull(write);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temp = Path.Combine(folder, $".{Path.GetFileName(path)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows() && unixMode is { } mode)
            options.UnixCreateMode = mode;
        try
        {
            using (var stream = new FileStream(temp, options))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            if (beforeReplace is not null && !beforeReplace())
                return false;
            File.Move(temp, path, overwrite: true);
            return true;
        }
        finally
        {
            try
            {
                if (File.Exists(temp))
                    File.Delete(temp);
            }
            catch (IOException)
            {
                // A leftover temporary file is harmless; never let cleanup hide the real outcome.
            }
        }
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> as <see cref="Write(string, Action{Stream}, UnixFileMode?, Func{bool}?)"/> does.</summary>
    public static bool Write(string path, byte[] content, UnixFileMode? unixMode = null, Func<bool>? beforeReplace = null) =>
        Write(path, stream => stream.Write(content), unixMode, beforeReplace);

    /// <summary>The search pattern of the temporary files a write of <paramref name="path"/> leaves when it is killed.</summary>
    public static string TemporaryFilePattern(string path) => $".{Path.GetFileName(path)}.*.tmp";
}
