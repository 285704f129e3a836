using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Certificates;

/// <summary>Reads what the configuration records about a certificate.</summary>
internal static class CertificateMetadata
{
    /// <summary>The metadata of <paramref name="certificate"/> as a configuration entry of the given source.</summary>
    public static CertificateEntry ToEntry(X509Certificate2 certificate, CertificateSource source)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return new CertificateEntry
        {
            Thumbprint = certificate.Thumbprint,
            Subject = certificate.Subject,
            Issuer = certificate.Issuer,
            SerialNumber = certificate.SerialNumber,
            SubjectAlternativeNames = [.. SubjectAlternativeNames(certificate)],
            NotBefore = Utc(certificate.NotBefore),
            NotAfter = Utc(certificate.NotAfter),
            HasPrivateKey = certificate.HasPrivateKey,
            Source = source,
        };
    }

    /// <summary>The metadata of a CA certificate.</summary>
    public static CaCertificateEntry ToCaEntry(X509Certificate2 certificate, CaStoreName storeName)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return new CaCertificateEntry
        {
            Thumbprint = certificate.Thumbprint,
            Subject = certificate.Subject,
            Issuer = certificate.Issuer,
            SerialNumber = certificate.SerialNumber,
            NotBefore = Utc(certificate.NotBefore),
            NotAfter = Utc(certificate.NotAfter),
            StoreName = storeName,
        };
    }

    /// <summary>DNS names and IP addresses of the subject alternative name extension, as <c>DNS:name</c> and <c>IP:address</c>.</summary>
    public static IEnumerable<string> SubjectAlternativeNames(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                foreach (var dns in san.EnumerateDnsNames())
                    yield return "DNS:" + dns;
                foreach (var ip in san.EnumerateIPAddresses())
                    yield return "IP:" + ip;
            }
        }
    }

    /// <summary>Whether the certificate says it is a CA (basic constraints).</summary>
    public static bool IsCertificateAuthority(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);
    }

    /// <summary>
    /// A thumbprint as people paste it (spaces, colons, lower case, the invisible left-to-right mark Windows'
    /// certificate dialog copies along) in the canonical upper-case hex form.
    /// </summary>
    public static string NormalizeThumbprint(string thumbprint)
    {
        ArgumentNullException.ThrowIfNull(thumbprint);
        var chars = thumbprint.Where(char.IsAsciiHexDigit).Select(char.ToUpperInvariant).ToArray();
        return new string(chars);
    }

    /// <summary>Whether <paramref name="text"/> is a SHA-1 thumbprint once normalized (40 hex digits, nothing else).</summary>
    public static bool IsThumbprint(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cleaned = text.Where(c => !char.IsWhiteSpace(c) && c is not ':' and not '\u200e' and not '\u200f').ToArray();
        return cleaned.Length == 40 && cleaned.All(char.IsAsciiHexDigit);
    }

    internal static string Date(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Utc(DateTime value) => new(value.ToUniversalTime(), TimeSpan.Zero);
}
