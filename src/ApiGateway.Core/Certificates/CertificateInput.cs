using System.Security;
using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Core.Certificates;

/// <summary>The forms a certificate can be given in.</summary>
internal enum CertificateInputKind
{
    /// <summary>A PFX (PKCS#12) file.</summary>
    PfxFile,
    /// <summary>PFX bytes.</summary>
    PfxBytes,
    /// <summary>A PEM certificate (or chain) with its key in the same file or a second one.</summary>
    PemFile,
    /// <summary>Any certificate file: PFX, PEM or DER (.cer), told apart by content.</summary>
    AnyFile,
    /// <summary>An <see cref="X509Certificate2"/> object, e.g. from PowerShell's Cert: drive.</summary>
    Certificate,
    /// <summary>A file another tool rotates; the configuration keeps its path, not a copy.</summary>
    LinkedFile,
    /// <summary>An entry of the operating system's certificate store, by thumbprint.</summary>
    StoreEntry,
}

/// <summary>
/// Where to take a certificate from, for adding or replacing one. Passwords are <see cref="SecureString"/>s; the
/// span overloads copy the characters into one at once so no <see cref="string"/> ever holds them.
/// </summary>
internal sealed class CertificateInput
{
    private CertificateInput(CertificateInputKind kind)
    {
        Kind = kind;
    }

    public CertificateInputKind Kind { get; }

    /// <summary>Certificate file (PFX, PEM, DER, or the linked file).</summary>
    public string? Path { get; private init; }

    /// <summary>PEM private key file when the key is not in <see cref="Path"/>.</summary>
    public string? KeyPath { get; private init; }

    public byte[]? Bytes { get; private init; }

    /// <summary>PFX password, or the password of an encrypted PEM key.</summary>
    public SecureString? Password { get; private init; }

    public X509Certificate2? Certificate { get; private init; }

    public string? Thumbprint { get; private init; }

    public StoreLocation StoreLocation { get; private init; } = StoreLocation.CurrentUser;

    public string StoreName { get; private init; } = "My";

    public static CertificateInput FromPfxFile(string path, SecureString? password = null) =>
        new(CertificateInputKind.PfxFile) { Path = Require(path), Password = password };

    public static CertificateInput FromPfxBytes(byte[] bytes, SecureString? password = null) =>
        new(CertificateInputKind.PfxBytes) { Bytes = bytes ?? throw new ArgumentNullException(nameof(bytes)), Password = password };

    public static CertificateInput FromPfxBytes(byte[] bytes, ReadOnlySpan<char> password) => FromPfxBytes(bytes, Secrets.ToSecureString(password));

    public static CertificateInput FromPfxFile(string path, ReadOnlySpan<char> password) => FromPfxFile(path, Secrets.ToSecureString(password));

    public static CertificateInput FromPemFile(string certificatePath, string? keyPath = null, SecureString? keyPassword = null) =>
        new(CertificateInputKind.PemFile) { Path = Require(certificatePath), KeyPath = keyPath, Password = keyPassword };

    /// <summary>A PFX, PEM or DER file, told apart by its content (for CA certificates and public-only uploads).</summary>
    public static CertificateInput FromFile(string path, SecureString? password = null) =>
        new(CertificateInputKind.AnyFile) { Path = Require(path), Password = password };

    public static CertificateInput FromCertificate(X509Certificate2 certificate) =>
        new(CertificateInputKind.Certificate) { Certificate = certificate ?? throw new ArgumentNullException(nameof(certificate)) };

    /// <summary>A linked PEM or PFX file that another tool rotates; the key may be in a second PEM file.</summary>
    public static CertificateInput Linked(string path, string? keyPath = null, SecureString? password = null) =>
        new(CertificateInputKind.LinkedFile) { Path = Require(path), KeyPath = keyPath, Password = password };

    /// <summary>An entry of the OS certificate store (<c>Cert:\CurrentUser\My</c> and the like) by thumbprint.</summary>
    public static CertificateInput FromStore(string thumbprint, StoreLocation location = StoreLocation.CurrentUser, string storeName = "My") =>
        new(CertificateInputKind.StoreEntry) { Thumbprint = Require(thumbprint), StoreLocation = location, StoreName = Require(storeName) };

    /// <summary>What to quote in messages about this input.</summary>
    public string Describe() => Kind switch
    {
        CertificateInputKind.PfxBytes => "the PFX bytes",
        CertificateInputKind.Certificate => $"the certificate '{Certificate!.Subject}'",
        CertificateInputKind.StoreEntry => $"Cert:\\{StoreLocation}\\{StoreName}\\{Thumbprint}",
        _ => $"'{Path}'",
    };

    private static string Require(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        return value;
    }
}
