using System.Formats.Asn1;
using System.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ApiGateway.Core.Certificates;

/// <summary>
/// Turns a <see cref="CertificateInput"/> into a <see cref="LoadedCertificate"/>, telling apart the ways that can
/// fail: a missing file, a wrong or missing password, content that is not PFX/PEM/DER, a damaged file, a key that
/// does not belong to the certificate, a key that may not be exported, a store entry that is not there.
/// </summary>
internal static class CertificateLoader
{
    private const int WrongPasswordHResult = unchecked((int)0x80070056);

    /// <summary>What a file holds, judged by content rather than extension.</summary>
    internal enum ContentKind
    {
        Unknown,
        Pfx,
        Pem,
        Der,
    }

    /// <summary>Loads <paramref name="input"/>. Throws <see cref="GatewayException"/> with a precise id on failure.</summary>
    public static LoadedCertificate Load(CertificateInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        switch (input.Kind)
        {
            case CertificateInputKind.PfxBytes:
                return LoadBytes(input.Bytes!, input.Password, input.Describe(), expected: ContentKind.Pfx, keyPath: null);
            case CertificateInputKind.PfxFile:
                return LoadBytes(ReadFile(input.Path!), input.Password, input.Describe(), expected: ContentKind.Pfx, keyPath: null);
            case CertificateInputKind.PemFile:
                return LoadBytes(ReadFile(input.Path!), input.Password, input.Describe(), expected: ContentKind.Pem, keyPath: input.KeyPath);
            case CertificateInputKind.AnyFile:
            case CertificateInputKind.LinkedFile:
                return LoadBytes(ReadFile(input.Path!), input.Password, input.Describe(), expected: ContentKind.Unknown, keyPath: input.KeyPath);
            case CertificateInputKind.Certificate:
                return FromObject(input.Certificate!);
            case CertificateInputKind.StoreEntry:
                return FromStore(input.Thumbprint!, input.StoreLocation, input.StoreName);
            default:
                throw new ArgumentOutOfRangeException(nameof(input));
        }
    }

    internal static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new GatewayException("Certificate", "FileNotFound", GatewayErrorCategory.NotFound,
                $"The certificate file '{path}' does not exist. Check the path.", path, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GatewayException("Certificate", "FileUnreadable", GatewayErrorCategory.ReadError,
                $"The certificate file '{path}' cannot be read: {ex.Message}", path, ex);
        }
    }

    /// <summary>
    /// Tells PFX, PEM and DER apart from the first bytes, so that a truncated file is still recognised (and reported as
    /// damaged rather than as something else): a PFX is SEQUENCE { INTEGER 3, ... }, a certificate SEQUENCE { SEQUENCE ... }.
    /// </summary>
    internal static ContentKind Sniff(ReadOnlySpan<byte> data)
    {
        var head = data[..Math.Min(data.Length, 8192)];
        if (head.IndexOf("-----BEGIN "u8) >= 0)
            return ContentKind.Pem;
        // Stryker disable once Equality : equivalent: a 4-byte input has its content at index >= 2, so the bound below makes it Unknown either way
        if (data.Length < 4)
            return ContentKind.Unknown;
        if (data[0] != 0x30)
            return ContentKind.Unknown;
        var i = 1;
        int lengthByte = data[i++];
        // Stryker disable once Equality : equivalent: for 0x80 (indefinite length) >= adds 0 length octets, as > skips none
        if (lengthByte > 0x80)
            i += lengthByte - 0x80; // long form: skip the length octets; 0x80 (BER's indefinite length) has none
        if (i + 2 >= data.Length)
            return ContentKind.Unknown;
        if (data[i] == 0x02 && data[i + 1] == 0x01)
            return data[i + 2] == 0x03 ? ContentKind.Pfx : ContentKind.Unknown;
        return data[i] == 0x30 ? ContentKind.Der : ContentKind.Unknown;
    }

    private static LoadedCertificate LoadBytes(byte[] data, SecureString? password, string source, ContentKind expected, string? keyPath)
    {
        var kind = Sniff(data);
        if (kind == ContentKind.Unknown)
        {
            throw new GatewayException("Certificate", "UnrecognizedFormat", GatewayErrorCategory.InvalidData,
                $"{Capital(source)} is neither a PFX (PKCS#12) file nor a PEM or DER certificate. Export the certificate as .pfx (with its private key) or .pem and try again.",
                source);
        }
        if (expected == ContentKind.Pfx && kind != ContentKind.Pfx)
        {
            throw new GatewayException("Certificate", "NotPfx", GatewayErrorCategory.InvalidData,
                kind == ContentKind.Pem
                    ? $"{Capital(source)} is a PEM file, not a PFX. Give it with -PemFilePath (and the key with -KeyFilePath)."
                    : $"{Capital(source)} is a DER certificate without private key (.cer), not a PFX. Give a PFX that holds the private key, or add it as a public certificate with -PemFilePath.",
                source);
        }
        if (expected == ContentKind.Pem && kind == ContentKind.Pfx)
        {
            throw new GatewayException("Certificate", "NotPem", GatewayErrorCategory.InvalidData,
                $"{Capital(source)} is a PFX (PKCS#12) file, not PEM. Give it with -PfxFilePath.", source);
        }
        return kind switch
        {
            ContentKind.Pfx => LoadPfx(data, password, source),
            ContentKind.Pem => LoadPem(Encoding.UTF8.GetString(data), keyPath, password, source),
            _ => LoadDer(data, source),
        };
    }

    private static LoadedCertificate LoadPfx(byte[] data, SecureString? password, string source)
    {
        X509Certificate2Collection collection;
        try
        {
            collection = Secrets.Use(password, (chars, isNull) =>
                // Stryker disable once Conditional : equivalent in .NET: a PKCS#12 without password opens with the empty password as with null
                X509CertificateLoader.LoadPkcs12Collection(data, isNull ? null : chars, KeyStorageFlags, Pkcs12LoaderLimits.Defaults));
        }
        catch (CryptographicException ex) when (ex.HResult == WrongPasswordHResult)
        {
            throw password is null || password.Length == 0
                ? new GatewayException("Certificate", "PasswordRequired", GatewayErrorCategory.SecurityError,
                    $"{Capital(source)} is protected by a password. Give it with -PfxPassword (a SecureString, e.g. from Read-Host -AsSecureString).", source, ex)
                : new GatewayException("Certificate", "WrongPassword", GatewayErrorCategory.SecurityError,
                    $"The password for {source} is wrong (or the file is damaged: its integrity check failed). Check the password and try again.", source, ex);
        }
        catch (CryptographicException ex)
        {
            throw Malformed(source, "PFX", ex);
        }
        if (collection.Count == 0)
            throw Malformed(source, "PFX", null);
        return Split(collection);
    }

    private static LoadedCertificate LoadPem(string text, string? keyPath, SecureString? password, string source)
    {
        var all = new X509Certificate2Collection();
        try
        {
            all.ImportFromPem(text);
        }
        catch (CryptographicException ex)
        {
            throw Malformed(source, "PEM", ex);
        }
        if (all.Count == 0)
        {
            throw new GatewayException("Certificate", "NoCertificateInPem", GatewayErrorCategory.InvalidData,
                $"{Capital(source)} holds no '-----BEGIN CERTIFICATE-----' block. Give the certificate's PEM file (the key goes in -KeyFilePath).", source);
        }
        var keyText = keyPath is null ? text : Encoding.UTF8.GetString(ReadFile(keyPath));
        var keySource = keyPath is null ? source : $"'{keyPath}'";
        var hasKey = keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal);
        if (!hasKey)
        {
            if (keyPath is not null)
            {
                throw new GatewayException("Certificate", "KeyMalformed", GatewayErrorCategory.InvalidData,
                    $"The key file {keySource} holds no '-----BEGIN PRIVATE KEY-----' block. Give the PEM private key of the certificate.", keyPath);
            }
            return Split(all);
        }
        var encrypted = keyText.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal);
        if (encrypted && (password is null || password.Length == 0))
        {
            throw new GatewayException("Certificate", "PasswordRequired", GatewayErrorCategory.SecurityError,
                $"The private key in {keySource} is encrypted. Give its password with -PfxPassword.", keySource);
        }
        // The leaf is the first certificate of the file (certbot's fullchain.pem order). Import the key on its own
        // first, so a wrong password, a damaged key and a key of another certificate each get their own error.
        var first = all[0];
        using var key = ImportKey(first, keyText, encrypted, password, keySource);
        X509Certificate2 leaf;
        try
        {
            leaf = key switch
            {
                ECDsa ec => first.CopyWithPrivateKey(ec),
                RSA rsa => first.CopyWithPrivateKey(rsa),
                DSA dsa => first.CopyWithPrivateKey(dsa),
                // Stryker disable once all : unreachable: ImportKey returns only ECDsa, RSA or DSA (any other algorithm is refused there as UnsupportedKey)
                _ => throw new CryptographicException("unsupported key type"),
            };
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new GatewayException("Certificate", "KeyMismatch", GatewayErrorCategory.InvalidData,
                $"The private key in {keySource} does not belong to the certificate '{first.Subject}' in {source}. Give the key that was issued with this certificate.",
                keySource, ex);
        }
        leaf = MakeUsable(leaf);
        var extra = new X509Certificate2Collection();
        foreach (var c in all)
        {
            if (c.Thumbprint != leaf.Thumbprint)
                extra.Add(c);
            else
                // Stryker disable once Statement : resource release of a duplicate; no behaviour observes it
                c.Dispose();
        }
        return new LoadedCertificate(leaf, extra);
    }

    /// <summary>Imports the PEM private key for <paramref name="certificate"/>'s key algorithm.</summary>
    private static AsymmetricAlgorithm ImportKey(X509Certificate2 certificate, string keyText, bool encrypted, SecureString? password, string keySource)
    {
        AsymmetricAlgorithm key = certificate.PublicKey.Oid.Value switch
        {
            "1.2.840.10045.2.1" => ECDsa.Create(),
            "1.2.840.113549.1.1.1" => RSA.Create(),
            "1.2.840.10040.4.1" => DSA.Create(),
            var other => throw new GatewayException("Certificate", "UnsupportedKey", GatewayErrorCategory.NotSupported,
                $"The certificate in {keySource} uses a key algorithm ({other}) the gateway does not support. Use an ECDSA or RSA certificate.", keySource),
        };
        try
        {
            if (encrypted)
                // Stryker disable once Boolean : equivalent: the lambda's value is discarded (Secrets.Use needs a result type)
                Secrets.Use(password, (chars, _) => { key.ImportFromEncryptedPem(keyText, chars); return true; });
            else
                key.ImportFromPem(keyText);
            return key;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            // Stryker disable once Statement : resource release of a key that failed to import; no behaviour observes it
            key.Dispose();
            if (encrypted)
            {
                throw new GatewayException("Certificate", "WrongPassword", GatewayErrorCategory.SecurityError,
                    $"The password for the encrypted private key in {keySource} is wrong (or the key is damaged). Check it and try again.", keySource, ex);
            }
            throw new GatewayException("Certificate", "KeyMismatch", GatewayErrorCategory.InvalidData,
                $"The private key in {keySource} cannot be used with the certificate '{certificate.Subject}': {ex.Message.TrimEnd('.')}. Give the key that was issued with this certificate.",
                keySource, ex);
        }
    }

    private static LoadedCertificate LoadDer(byte[] data, string source)
    {
        try
        {
            return new LoadedCertificate(X509CertificateLoader.LoadCertificate(data), []);
        }
        catch (CryptographicException ex)
        {
            throw Malformed(source, "DER certificate", ex);
        }
    }

    private static LoadedCertificate FromObject(X509Certificate2 certificate)
    {
        if (!certificate.HasPrivateKey)
            return new LoadedCertificate(X509CertificateLoader.LoadCertificate(certificate.RawData), []);
        try
        {
            var pfx = certificate.Export(X509ContentType.Pkcs12);
            var collection = X509CertificateLoader.LoadPkcs12Collection(pfx, null, KeyStorageFlags);
            return Split(collection);
        }
        catch (CryptographicException ex)
        // Stryker disable once Block : platform: Windows' non-exportable key (see the throw below)
        {
            // Stryker disable once all : platform: keys loaded on Linux are always exportable; this is Windows' non-exportable key (tested only there)
            throw new GatewayException("Certificate", "KeyNotExportable", GatewayErrorCategory.SecurityError,
                $"The private key of '{certificate.Subject}' ({certificate.Thumbprint}) cannot be exported, so it cannot be copied into the gateway's store. Link the store entry instead: -StoreThumbprint {certificate.Thumbprint}.",
                certificate.Thumbprint, ex);
        }
    }

    /// <summary>Finds a certificate in the OS store. The returned key stays in the OS store (not copied).</summary>
    internal static LoadedCertificate FromStore(string thumbprint, StoreLocation location, string storeName)
    {
        var normalized = CertificateMetadata.NormalizeThumbprint(thumbprint);
        var where = $"Cert:\\{location}\\{storeName}";
        try
        {
            using var store = new X509Store(storeName, location);
            store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
            var found = store.Certificates.Find(X509FindType.FindByThumbprint, normalized, validOnly: false);
            try
            {
                if (found.Count == 0)
                {
                    throw new GatewayException("Certificate", "StoreEntryNotFound", GatewayErrorCategory.NotFound,
                        $"No certificate with thumbprint {normalized} is in {where}. Check the thumbprint and store (Get-ChildItem {where}).", normalized);
                }
                var leaf = found[0];
                found.RemoveAt(0);
                return new LoadedCertificate(leaf, []);
            }
            finally
            // Stryker disable once Block : resource release of store duplicates; no behaviour observes it
            {
                foreach (var extra in found)
                    // Stryker disable once Statement : resource release of store duplicates; no behaviour observes it
                    extra.Dispose();
            }
        }
        catch (CryptographicException ex)
        {
            throw new GatewayException("Certificate", "StoreUnavailable", GatewayErrorCategory.NotFound,
                $"The certificate store {where} cannot be opened on this machine: {ex.Message}", where, ex);
        }
        catch (PlatformNotSupportedException ex)
        // Stryker disable once Block : platform: other platforms' answer (see the throw below)
        {
            // Stryker disable once all : platform: on Linux an unusable store throws CryptographicException (tested); this is other platforms' answer
            throw new GatewayException("Certificate", "StoreUnavailable", GatewayErrorCategory.NotSupported,
                $"The certificate store {where} is not available on this platform: {ex.Message} Use CurrentUser, or link a PEM/PFX file with -LinkedPath.", where, ex);
        }
    }

    /// <summary>
    /// The key storage a loaded key needs: in memory only on Linux; on Windows SslStream needs a key it can hand to
    /// SChannel, and macOS has no ephemeral key sets, so there the platform default is used (removed on Dispose).
    /// </summary>
    internal static X509KeyStorageFlags KeyStorageFlags =>
        // Stryker disable once Conditional : platform: on Linux both key sets keep the key in memory; the macOS/Windows branch is tested only there
        OperatingSystem.IsLinux() ? X509KeyStorageFlags.EphemeralKeySet : X509KeyStorageFlags.DefaultKeySet;

    /// <summary>PEM-created keys are ephemeral; on Windows re-import through PKCS#12 so TLS can use them.</summary>
    private static X509Certificate2 MakeUsable(X509Certificate2 certificate)
    {
        // Stryker disable once all : platform: the PKCS#12 round trip is for Windows' SChannel; on Linux it yields the same certificate and key
        if (!OperatingSystem.IsWindows())
            return certificate;
        using (certificate)
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, KeyStorageFlags);
    }

    /// <summary>Picks the end-entity certificate of a collection: the first with a private key, else the one that issued no other.</summary>
    private static LoadedCertificate Split(X509Certificate2Collection collection)
    {
        var leaf = collection.FirstOrDefault(c => c.HasPrivateKey)
            ?? collection.FirstOrDefault(c => !collection.Any(o => o != c && o.Issuer == c.Subject && o.Subject != c.Subject))
            ?? collection[0];
        var extra = new X509Certificate2Collection();
        foreach (var c in collection)
        {
            if (!ReferenceEquals(c, leaf))
                extra.Add(c);
        }
        return new LoadedCertificate(leaf, extra);
    }

    private static GatewayException Malformed(string source, string format, Exception? inner) =>
        new GatewayException("Certificate", "Malformed", GatewayErrorCategory.InvalidData,
            $"{Capital(source)} looks like a {format} but cannot be read{(inner is null ? string.Empty : ": " + inner.Message.TrimEnd('.'))}. The file may be truncated or damaged; export it again.",
            source, inner);

    // Stryker disable once Conditional : equivalent: a source description is never empty
    private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
