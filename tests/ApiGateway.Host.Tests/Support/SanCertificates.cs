using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Host.Tests.Support;

/// <summary>
/// Client certificates with subject alternative names written entry by entry (GeneralName tag and bytes), so a test
/// can give a name exactly as an issuer might write it (mixed case, a wildcard, bytes that are no IA5String) where
/// SubjectAlternativeNameBuilder would normalize or refuse it.
/// </summary>
internal static class SanCertificates
{
    /// <summary>GeneralName tags of RFC 5280 §4.2.1.6.</summary>
    public const int Email = 1, Dns = 2, UriName = 6, Ip = 7;

    /// <summary>A text entry (rfc822Name, dNSName, URI) as IA5String bytes.</summary>
    public static (int Tag, byte[] Value) Text(int tag, string value) => (tag, System.Text.Encoding.ASCII.GetBytes(value));

    /// <summary>An iPAddress entry.</summary>
    public static (int Tag, byte[] Value) Address(string ip) => (Ip, System.Net.IPAddress.Parse(ip).GetAddressBytes());

    /// <summary>The SAN extension of <paramref name="entries"/>.</summary>
    public static X509Extension Extension(params (int Tag, byte[] Value)[] entries)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var (tag, value) in entries)
                writer.WriteOctetString(value, new Asn1Tag(TagClass.ContextSpecific, tag));
        }
        return new X509Extension("2.5.29.17", writer.Encode(), critical: false);
    }

    /// <summary>A client certificate issued by <paramref name="ca"/> with <paramref name="extensions"/> (e.g. one from <see cref="Extension"/>).</summary>
    public static X509Certificate2 Issue(X509Certificate2 ca, string subject, params X509Extension[] extensions) => Issue(ca, subject, null, extensions);

    /// <summary>As above, with the key given (two certificates of one key share their SPKI pin).</summary>
    public static X509Certificate2 Issue(X509Certificate2 ca, string subject, ECDsa? key, params X509Extension[] extensions)
    {
        using var own = key is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        var k = key ?? own!;
        var request = new CertificateRequest(subject, k, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        foreach (var extension in extensions)
            request.CertificateExtensions.Add(extension);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var caKey = ca.GetECDsaPrivateKey()!;
        using var signed = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        return signed.CopyWithPrivateKey(k);
    }
}
