using System.Runtime.InteropServices;
using System.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Core.Certificates;

/// <summary>
/// A client certificate given as a file to Test-GatewayClientCertificate and Invoke-GatewayRequest: PFX (with
/// <c>-CertificatePassword</c> when it has one), PEM (the certificate, and its key when the file holds it) or DER.
/// The dry run needs only the public part; a live request needs the private key too.
/// </summary>
internal static class ClientCertificateFile
{
    public static X509Certificate2 Load(string path, SecureString? password, bool needPrivateKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var data = CertificateLoader.ReadFile(path);
        X509Certificate2 certificate;
        try
        {
            certificate = CertificateLoader.Sniff(data) switch
            {
                CertificateLoader.ContentKind.Pfx => X509CertificateLoader.LoadPkcs12(data, Plain(password), CertificateLoader.KeyStorageFlags),
                CertificateLoader.ContentKind.Pem => FromPem(path),
                CertificateLoader.ContentKind.Der => X509CertificateLoader.LoadCertificate(data),
                _ => throw new GatewayException("Certificate", "Unreadable", GatewayErrorCategory.InvalidData,
                    $"'{path}' is not a certificate file: give a .pfx, .pem, .crt or .cer file (or an X509Certificate2, or a Cert: drive item).", path),
            };
        }
        catch (CryptographicException ex)
        {
            throw new GatewayException("Certificate", "Unreadable", GatewayErrorCategory.InvalidData,
                $"The certificate file '{path}' cannot be read: {ex.Message.TrimEnd('.')}. A PFX with a password needs -CertificatePassword.", path, ex);
        }
        if (needPrivateKey && !certificate.HasPrivateKey)
        {
            throw new GatewayException("Certificate", "NoPrivateKey", GatewayErrorCategory.InvalidArgument,
                $"'{path}' holds the certificate '{certificate.Subject}' without its private key: a client presents a certificate only with its key. Give a PFX, or a PEM file that also holds the key.", path);
        }
        return certificate;
    }

    private static X509Certificate2 FromPem(string path)
    {
        var text = File.ReadAllText(path);
        if (text.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            var withKey = X509Certificate2.CreateFromPem(text, text);
            if (!OperatingSystem.IsWindows())
                return withKey;
            // SChannel cannot sign with an ephemeral key: give it a persisted copy.
            using (withKey)
                return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }
        return X509Certificate2.CreateFromPem(text);
    }

    private static string? Plain(SecureString? password)
    {
        if (password is null)
            return null;
        var pointer = Marshal.SecureStringToGlobalAllocUnicode(password);
        try
        {
            return Marshal.PtrToStringUni(pointer);
        }
        finally
        {
            Marshal.ZeroFreeGlobalAllocUnicode(pointer);
        }
    }
}
