using System.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Certificates;

/// <summary>
/// Private material beside the configuration, never inside it: a folder (by default <c>gateway.store</c> next to
/// <c>gateway.json</c>) holding
/// <list type="bullet">
/// <item><c>store.key</c>: 32 random bytes, this store's key;</item>
/// <item><c>certificates/&lt;THUMBPRINT&gt;.bin</c>: uploaded certificates (PKCS#12 with key and chain), AES-256-GCM encrypted under the store key;</item>
/// <item><c>ca/&lt;THUMBPRINT&gt;.cer</c>: CA certificates (public, DER);</item>
/// <item><c>secrets/&lt;name&gt;.bin</c>: other secrets (linked PFX passwords, backend authorization parameters), encrypted the same way.</item>
/// </list>
/// Files are owner-only (0600, folders 0700) on Unix and written by atomic rename. Blobs are named by content
/// (thumbprint) or a fresh random name, so a new blob is complete before the configuration that refers to it is
/// written, and the old one is removed only after (<see cref="DeleteUnreferenced"/>). Decrypted material lives in memory only.
/// </summary>
internal sealed class CertificateStore
{
    private static readonly byte[] Magic = "AGW1"u8.ToArray();
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Opens the store in <paramref name="directory"/> (created on first write).</summary>
    public CertificateStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = System.IO.Path.GetFullPath(directory);
    }

    /// <summary>The store folder.</summary>
    public string Directory { get; }

    /// <summary>The store that belongs to a configuration file: <c>gateway.json</c> → <c>gateway.store</c> in the same folder.</summary>
    public static string DirectoryFor(string configurationPath) =>
        System.IO.Path.ChangeExtension(System.IO.Path.GetFullPath(configurationPath), ".store");

    private string KeyFile => System.IO.Path.Combine(Directory, "store.key");

    internal static string CertificateBlob(string thumbprint) => $"certificates/{thumbprint}.bin";

    internal static string CaBlob(string thumbprint) => $"ca/{thumbprint}.cer";

    internal static string SecretBlob(string name) => $"secrets/{name}.bin";

    // ---------------------------------------------------------------- writing (under the configuration lock)

    /// <summary>Stores an uploaded certificate (with key and chain), encrypted. Idempotent for the same thumbprint.</summary>
    internal void SaveCertificate(LoadedCertificate certificate)
    {
        var name = CertificateBlob(certificate.Leaf.Thumbprint);
        var pkcs12 = certificate.ExportPkcs12();
        try
        {
            WriteFile(name, Encrypt(pkcs12, name));
        }
        finally
        // Stryker disable once Block : the finally only wipes secret bytes (memory hygiene); no behaviour observes it
        {
            // Stryker disable once Statement : memory hygiene (wiping key, password or PKCS#12 bytes after use); no behaviour observes it
            CryptographicOperations.ZeroMemory(pkcs12);
        }
    }

    /// <summary>Stores a CA certificate (public only).</summary>
    internal void SaveCaCertificate(X509Certificate2 certificate) => WriteFile(CaBlob(certificate.Thumbprint), certificate.RawData);

    /// <summary>Stores a secret under a new random name and returns the name.</summary>
    internal string SaveSecret(SecureString secret)
    {
        var name = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var blob = SecretBlob(name);
        var bytes = Secrets.Use(secret, (chars, _) =>
        {
            var buffer = new byte[Encoding.UTF8.GetByteCount(chars)];
            Encoding.UTF8.GetBytes(chars, buffer);
            return buffer;
        });
        try
        {
            WriteFile(blob, Encrypt(bytes, blob));
        }
        finally
        // Stryker disable once Block : the finally only wipes secret bytes (memory hygiene); no behaviour observes it
        {
            // Stryker disable once Statement : memory hygiene (wiping key, password or PKCS#12 bytes after use); no behaviour observes it
            CryptographicOperations.ZeroMemory(bytes);
        }
        return name;
    }

    /// <summary>Removes blobs that <paramref name="configuration"/> no longer refers to. Best effort: a failure leaves a harmless orphan.</summary>
    internal void DeleteUnreferenced(GatewayConfiguration configuration)
    {
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in configuration.Certificates.Values)
        {
            if (c.Source == CertificateSource.Uploaded)
                keep.Add(CertificateBlob(c.Thumbprint));
            if (c.PasswordSecret is { } p)
                keep.Add(SecretBlob(p));
        }
        foreach (var ca in configuration.CaCertificates.Values)
            keep.Add(CaBlob(ca.Thumbprint));
        foreach (var b in configuration.Backends.Values)
        {
            if (b.Credentials?.Authorization?.ParameterSecret is { } s)
                keep.Add(SecretBlob(s));
        }
        foreach (var folder in new[] { "certificates", "ca", "secrets" })
        {
            var path = System.IO.Path.Combine(Directory, folder);
            if (!System.IO.Directory.Exists(path))
                continue;
            foreach (var file in System.IO.Directory.EnumerateFiles(path))
            {
                var relative = folder + "/" + System.IO.Path.GetFileName(file);
                if (keep.Contains(relative) || System.IO.Path.GetFileName(file).StartsWith('.'))
                    continue;
                try
                {
                    File.Delete(file);
                }
                // Stryker disable once all : not reachable in a test: needs an orphan blob its owner cannot delete; the catch only keeps the orphan for the next change
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // An orphan blob costs nothing and is tried again after the next change.
                }
            }
        }
    }

    // ---------------------------------------------------------------- reading (the gateway, and checks)

    /// <summary>
    /// Loads the certificate a configuration entry describes, with its private key and chain: from the store for
    /// uploaded certificates, from the file for linked ones, from the OS store for store entries.
    /// </summary>
    public LoadedCertificate LoadCertificate(string id, CertificateEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        switch (entry.Source)
        {
            case CertificateSource.Uploaded:
            {
                var name = CertificateBlob(entry.Thumbprint);
                var pkcs12 = Decrypt(ReadBlob(name, id), name, id);
                try
                {
                    var loaded = CertificateLoader.Load(CertificateInput.FromPfxBytes(pkcs12));
                    if (!string.Equals(loaded.Leaf.Thumbprint, entry.Thumbprint, StringComparison.OrdinalIgnoreCase))
                    {
                        // Stryker disable once all : not reachable: the blob's name is its AES-GCM associated data, so swapped content fails decryption first (tested); defence in depth
                        loaded.Dispose();
                        // Stryker disable once all : not reachable: the blob's name is its AES-GCM associated data, so swapped content fails decryption first (tested); defence in depth
                        throw Damaged(id, name, "its content does not match the thumbprint in the configuration");
                    }
                    return loaded;
                }
                finally
                {
                    // Stryker disable once Statement : memory hygiene (wiping key, password or PKCS#12 bytes after use); no behaviour observes it
                    CryptographicOperations.ZeroMemory(pkcs12);
                }
            }
            case CertificateSource.LinkedFile:
            {
                // The validator reports the same; the snapshot build loads what it can to list every problem at once,
                // so a hand-edited entry must end in a typed error here too, never an ArgumentException.
                if (string.IsNullOrWhiteSpace(entry.Path))
                    throw Unusable(id, "it is linked to a file but has no path");
                if (!IsUsablePath(entry.Path) || (entry.KeyPath is { } keyPath && !IsUsablePath(keyPath)))
                    throw Unusable(id, "its path or key path is empty or holds a character no file path may hold (a NUL)");
                using var password = entry.PasswordSecret is { } secret ? ReadSecret(secret) : null;
                return CertificateLoader.Load(CertificateInput.Linked(entry.Path, entry.KeyPath, password));
            }
            case CertificateSource.Store:
                if (!TryStoreLocation(entry.StoreLocation, out var location))
                    throw Unusable(id, $"its store location '{entry.StoreLocation}' is neither CurrentUser nor LocalMachine");
                return CertificateLoader.FromStore(entry.Thumbprint, location, entry.StoreName ?? "My");
            default:
                throw new ArgumentOutOfRangeException(nameof(entry));
        }
    }

    /// <summary>Loads a CA certificate.</summary>
    public X509Certificate2 LoadCaCertificate(string id, CaCertificateEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var name = CaBlob(entry.Thumbprint);
        try
        {
            var certificate = X509CertificateLoader.LoadCertificate(ReadBlob(name, id));
            if (!string.Equals(certificate.Thumbprint, entry.Thumbprint, StringComparison.OrdinalIgnoreCase))
            {
                // Stryker disable once Statement : resource release; no behaviour observes it
                certificate.Dispose();
                throw Damaged(id, name, "its content does not match the thumbprint in the configuration");
            }
            return certificate;
        }
        catch (CryptographicException ex)
        {
            throw Damaged(id, name, ex.Message);
        }
    }

    /// <summary>Whether a secret of that name is stored.</summary>
    public bool HasSecret(string name) => File.Exists(System.IO.Path.Combine(Directory, SecretBlob(name)));

    /// <summary>Decrypts a secret into a read-only <see cref="SecureString"/>.</summary>
    public SecureString ReadSecret(string name)
    {
        var blob = SecretBlob(name);
        var bytes = Decrypt(ReadBlob(blob, name), blob, name);
        var chars = new char[Encoding.UTF8.GetCharCount(bytes)];
        try
        {
            Encoding.UTF8.GetChars(bytes, chars);
            return Secrets.ToSecureString(chars);
        }
        finally
        // Stryker disable once Block : the finally only wipes secret bytes (memory hygiene); no behaviour observes it
        {
            // Stryker disable once Statement : memory hygiene (wiping key, password or PKCS#12 bytes after use); no behaviour observes it
            CryptographicOperations.ZeroMemory(bytes);
            // Stryker disable once Statement : memory hygiene (wiping key, password or PKCS#12 bytes after use); no behaviour observes it
            Array.Clear(chars);
        }
    }

    // ---------------------------------------------------------------- files and encryption

    private byte[] ReadBlob(string relative, string id)
    {
        // Every name the store makes is hexadecimal (a thumbprint, a random secret name). A hand-edited thumbprint or
        // secret name ('../x', a NUL) must neither reach outside the store folder nor throw an ArgumentException out
        // of a reload (found by the fuzzer).
        if (!IsStoreEntryName(relative))
            throw Unusable(id, $"its store entry name '{relative}' is not one the store makes (its thumbprint or secret name is not hexadecimal)");
        var path = System.IO.Path.Combine(Directory, relative);
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new GatewayException("CertificateStore", "EntryMissing", GatewayErrorCategory.NotFound,
                $"The certificate store has no '{relative}' for '{id}' (expected '{path}'). The store folder was moved or cleaned apart from the configuration; add the certificate again.",
                id, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GatewayException("CertificateStore", "Unreadable", GatewayErrorCategory.ReadError,
                $"'{path}' cannot be read: {ex.Message} The gateway and the cmdlets must run as the user that owns the store.", id, ex);
        }
    }

    private byte[] Encrypt(ReadOnlySpan<byte> plain, string name)
    {
        var key = GetOrCreateKey();
        try
        {
            var output = new byte[Magic.Length + NonceSize + TagSize + plain.Length];
            Magic.CopyTo(output, 0);
            var nonce = output.AsSpan(Magic.Length, NonceSize);
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(key, TagSize);
            aes.Encrypt(nonce, plain, output.AsSpan(Magic.Length + NonceSize + TagSize), output.AsSpan(Magic.Length + NonceSize, TagSize), Encoding.UTF8.GetBytes(name));
            return output;
        }
        finally
        // Stryker disable once Block : the finally only wipes secret bytes (memory hygiene); no behaviour observes it
        {
            // Stryker disable once Statement : memory hygiene (wiping key, password or PKCS#12 bytes after use); no behaviour observes it
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private byte[] Decrypt(byte[] blob, string name, string id)
    {
        if (blob.Length < Magic.Length + NonceSize + TagSize || !blob.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw Damaged(id, name, "it is not an encrypted store entry");
        var key = ReadKey(id);
        try
        {
            var plain = new byte[blob.Length - Magic.Length - NonceSize - TagSize];
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(blob.AsSpan(Magic.Length, NonceSize), blob.AsSpan(Magic.Length + NonceSize + TagSize), blob.AsSpan(Magic.Length + NonceSize, TagSize), plain, Encoding.UTF8.GetBytes(name));
            return plain;
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new GatewayException("CertificateStore", "Damaged", GatewayErrorCategory.SecurityError,
                $"The store entry '{name}' for '{id}' cannot be decrypted with '{KeyFile}': the entry or the key was changed or copied from another store. Add the certificate again.",
                id, ex);
        }
        finally
        // Stryker disable once Block : the finally only wipes secret bytes (memory hygiene); no behaviour observes it
        {
            // Stryker disable once Statement : memory hygiene (wiping key, password or PKCS#12 bytes after use); no behaviour observes it
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The store key; <paramref name="id"/> is the entry being read, null while writing.</summary>
    private byte[] ReadKey(string? id)
    {
        try
        {
            var key = File.ReadAllBytes(KeyFile);
            if (key.Length != 32)
            {
                // Met while writing, no entry is at fault: the key of every entry is. Writing under a new key would
                // leave the existing entries undecryptable, so nothing is written.
                throw id is null
                    ? new GatewayException("CertificateStore", "Damaged", GatewayErrorCategory.InvalidData,
                        $"The store key '{KeyFile}' is damaged: it is not 32 bytes long. Nothing was written and the configuration is unchanged. Restore the store folder with its key from a backup.", KeyFile)
                    : Damaged(id, "store.key", "the store key is not 32 bytes long");
            }
            return key;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new GatewayException("CertificateStore", "KeyMissing", GatewayErrorCategory.NotFound,
                $"The store key '{KeyFile}' is missing, so no entry of the store can be decrypted. Restore the store folder with its key, or add the certificates again.",
                KeyFile, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GatewayException("CertificateStore", "Unreadable", GatewayErrorCategory.ReadError,
                $"The store key '{KeyFile}' cannot be read: {ex.Message} The gateway and the cmdlets must run as the user that owns the store.", KeyFile, ex);
        }
    }

    private byte[] GetOrCreateKey()
    {
        // Path.Exists: a folder (or anything else) named store.key must be reported as unreadable, not met by
        // CreateNew's bare IOException.
        if (Path.Exists(KeyFile))
            return ReadKey(null);
        EnsureFolder(Directory);
        var key = RandomNumberGenerator.GetBytes(32);
        try
        {
            using var stream = new FileStream(KeyFile, CreateOptions(System.IO.FileMode.CreateNew));
            stream.Write(key);
            // Stryker disable once all : durability across a power loss (fsync); not observable in a test
            stream.Flush(flushToDisk: true);
            return key;
        }
        // Stryker disable once all : a race between two processes creating the store at the same instant; not reproduced deterministically
        catch (IOException) when (File.Exists(KeyFile))
        {
            // Another writer created it first: use theirs.
            // Stryker disable once Statement : memory hygiene (wiping key, password or PKCS#12 bytes after use); no behaviour observes it
            CryptographicOperations.ZeroMemory(key);
            return ReadKey(null);
        }
    }

    private void WriteFile(string relative, byte[] content)
    {
        var path = System.IO.Path.Combine(Directory, relative);
        var folder = System.IO.Path.GetDirectoryName(path)!;
        EnsureFolder(Directory);
        EnsureFolder(folder);
        try
        {
            // Stryker disable once Conditional : platform: Windows has no Unix file mode; on Linux the mode is always 0600 (tested)
            AtomicFile.Write(path, content, OperatingSystem.IsWindows() ? null : FileMode600);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GatewayException("CertificateStore", "WriteFailed", GatewayErrorCategory.WriteError,
                $"'{path}' could not be written: {ex.Message} The configuration is unchanged.", path, ex);
        }
    }

    private static FileStreamOptions CreateOptions(System.IO.FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = FileMode600;
        return options;
    }

    /// <summary>Creates a folder owner-only, and takes away group and other access from one that exists.</summary>
    private static void EnsureFolder(string folder)
    {
        // Stryker disable once all : platform: the Windows branch (ACLs instead of modes), tested only there
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(folder);
            return;
        }
        if (!System.IO.Directory.Exists(folder))
            System.IO.Directory.CreateDirectory(folder, FolderMode);
        // Stryker disable once Bitwise : equivalent: with | the folder is set to 0700 every time, which is the same end state
        if ((File.GetUnixFileMode(folder) & ~FolderMode) != 0)
            File.SetUnixFileMode(folder, FolderMode);
    }

    /// <summary><c>folder/HEX.ext</c>, as <see cref="CertificateBlob"/>, <see cref="CaBlob"/> and <see cref="SecretBlob"/> make them.</summary>
    internal static bool IsStoreEntryName(string relative)
    {
        var slash = relative.IndexOf('/', StringComparison.Ordinal);
        var dot = relative.LastIndexOf('.');
        if (slash <= 0 || dot <= slash + 1 || dot - slash - 1 > 128)
            return false;
        return relative.AsSpan(slash + 1, dot - slash - 1).IndexOfAnyExcept(HexDigits) < 0;
    }

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789ABCDEFabcdef");

    /// <summary>A path the file system can be asked about: not empty, no character that no path may hold (NUL on every platform).</summary>
    internal static bool IsUsablePath(string path) => path.Length > 0 && path.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) < 0;

    /// <summary>CurrentUser when absent; the two names (any case), never a number or a combination.</summary>
    internal static bool TryStoreLocation(string? value, out StoreLocation location)
    {
        location = StoreLocation.CurrentUser;
        if (value is null)
            return true;
        foreach (var known in (ReadOnlySpan<StoreLocation>)[StoreLocation.CurrentUser, StoreLocation.LocalMachine])
        {
            if (string.Equals(value, known.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                location = known;
                return true;
            }
        }
        return false;
    }

    private static GatewayException Unusable(string id, string why) =>
        new GatewayException("Certificate", "Unusable", GatewayErrorCategory.InvalidData,
            $"Certificate '{id}' cannot be loaded: {why}. Fix its entry in the configuration, or add the certificate again with Add-GatewayCertificate.", id);

    private static GatewayException Damaged(string id, string name, string why) =>
        new GatewayException("CertificateStore", "Damaged", GatewayErrorCategory.InvalidData,
            $"The store entry '{name}' for '{id}' is damaged: {why}. Add the certificate again.", id);
}
