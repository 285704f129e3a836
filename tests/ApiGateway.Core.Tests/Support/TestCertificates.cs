using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Core.Tests.Support;

/// <summary>Certificates made at test time with CertificateRequest: no key material is ever committed.</summary>
public static class TestCertificates
{
    /// <summary>A self-signed CA certificate (with key).</summary>
    public static X509Certificate2 CreateCa(string subject = "CN=Test CA", DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(notBefore ?? DateTimeOffset.UtcNow.AddDays(-30), notAfter ?? DateTimeOffset.UtcNow.AddYears(2));
    }

    /// <summary>An end-entity certificate signed by <paramref name="issuer"/> (self-signed when null), with key.</summary>
    public static X509Certificate2 Create(
        string subject,
        X509Certificate2? issuer = null,
        bool clientAuth = false,
        bool serverAuth = false,
        string[]? dnsNames = null,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null,
        bool rsa = false)
    {
        using var ecdsa = rsa ? null : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsaKey = rsa ? RSA.Create(2048) : null;
        var request = rsa
            ? new CertificateRequest(subject, rsaKey!, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(subject, ecdsa!, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        var usages = new OidCollection();
        if (clientAuth)
            usages.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        if (serverAuth)
            usages.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        if (usages.Count > 0)
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        if (dnsNames is { Length: > 0 })
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var name in dnsNames)
            {
                if (IPAddress.TryParse(name, out var ip))
                    san.AddIpAddress(ip);
                else
                    san.AddDnsName(name);
            }
            request.CertificateExtensions.Add(san.Build());
        }
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddDays(90);
        if (issuer is null)
            return request.CreateSelfSigned(from, to);
        if (from < issuer.NotBefore)
            from = issuer.NotBefore;
        if (to > issuer.NotAfter)
            to = issuer.NotAfter;
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        // A generator for the issuer's own key type, so an RSA leaf can be signed by an ECDSA CA and the other way round.
        using var issuerEcdsa = issuer.GetECDsaPrivateKey();
        using var issuerRsa = issuerEcdsa is null ? issuer.GetRSAPrivateKey() : null;
        var generator = issuerEcdsa is not null
            ? X509SignatureGenerator.CreateForECDsa(issuerEcdsa)
            : X509SignatureGenerator.CreateForRSA(issuerRsa ?? throw new ArgumentException("The issuer has no private key.", nameof(issuer)), RSASignaturePadding.Pkcs1);
        using var signed = request.Create(issuer.SubjectName, generator, from, to, serial);
        return rsa ? signed.CopyWithPrivateKey(rsaKey!) : signed.CopyWithPrivateKey(ecdsa!);
    }

    /// <summary>An intermediate CA certificate (with key) signed by <paramref name="issuer"/>.</summary>
    public static X509Certificate2 CreateIntermediate(string subject, X509Certificate2 issuer)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var issuerKey = issuer.GetECDsaPrivateKey() ?? throw new ArgumentException("The issuer has no ECDSA private key.", nameof(issuer));
        using var signed = request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey), issuer.NotBefore, issuer.NotAfter, serial);
        return signed.CopyWithPrivateKey(key);
    }

    public static byte[] Pfx(X509Certificate2 certificate, string? password = null) => certificate.Export(X509ContentType.Pfx, password);

    public static string CertificatePem(X509Certificate2 certificate) => certificate.ExportCertificatePem();

    public static string KeyPem(X509Certificate2 certificate) =>
        (certificate.GetECDsaPrivateKey() as AsymmetricAlgorithm ?? certificate.GetRSAPrivateKey())!.ExportPkcs8PrivateKeyPem();
}
