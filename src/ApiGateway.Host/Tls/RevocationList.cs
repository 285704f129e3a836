using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Host.Tls;

/// <summary>
/// One CRL (RFC 5280 §5) read from a file the operator provides: its issuer, thisUpdate/nextUpdate and revoked
/// serial numbers. The signature is checked against the public key of the certificate that should have issued it
/// (the issuer of the certificate being checked, from its chain), once per issuer; a CRL whose signature does not
/// verify with that key vouches for nothing.
/// <para>
/// Refused at load time, as RFC 5280 §5.2/§5.3 asks of a CRL with a critical extension the reader does not process:
/// delta CRLs, issuing distribution points (partitioned or scoped CRLs) and indirect CRLs (certificateIssuer entries).
/// </para>
/// </summary>
internal sealed class RevocationList
{
    private const string CrlNumberOid = "2.5.29.20";
    private const string AuthorityKeyIdentifierOid = "2.5.29.35";
    private const string ReasonCodeOid = "2.5.29.21";
    private const string InvalidityDateOid = "2.5.29.24";

    private readonly byte[] _tbs;
    private readonly byte[] _signature;
    private readonly string _signatureAlgorithm;
    private readonly HashSet<string> _revoked;
    private readonly ConcurrentDictionary<string, bool> _verifiedBy = new(StringComparer.Ordinal);

    private RevocationList(string file, X500DistinguishedName issuer, DateTimeOffset thisUpdate, DateTimeOffset? nextUpdate,
        HashSet<string> revoked, byte[] tbs, string signatureAlgorithm, byte[] signature)
    {
        File = file;
        Issuer = issuer;
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
        _revoked = revoked;
        _tbs = tbs;
        _signatureAlgorithm = signatureAlgorithm;
        _signature = signature;
    }

    /// <summary>The file it was read from.</summary>
    public string File { get; }

    /// <summary>The CRL's issuer name.</summary>
    public X500DistinguishedName Issuer { get; }

    /// <summary>The issuer name's lookup key (the DER bytes as hex: equal names from one CA encode equally).</summary>
    public string IssuerKey => KeyOf(Issuer);

    public DateTimeOffset ThisUpdate { get; }

    /// <summary>When the next CRL is due; after it this one is stale (RFC 5280 §5.1.2.5). Null when absent.</summary>
    public DateTimeOffset? NextUpdate { get; }

    /// <summary>Number of revoked serial numbers.</summary>
    public int Count => _revoked.Count;

    /// <summary>The lookup key of a name.</summary>
    public static string KeyOf(X500DistinguishedName name) => Convert.ToHexString(name.RawData);

    /// <summary>Whether the certificate with <paramref name="serialNumber"/> (big-endian bytes, X509Certificate2.SerialNumberBytes) is listed.</summary>
    public bool Lists(ReadOnlySpan<byte> serialNumber) => _revoked.Contains(SerialKey(serialNumber));

    /// <summary>Whether the signature verifies with <paramref name="issuer"/>'s public key (worked out once per issuer).</summary>
    public bool IsSignedBy(X509Certificate2 issuer) => _verifiedBy.GetOrAdd(issuer.Thumbprint, _ => Verify(issuer));

    /// <summary>Every CRL in <paramref name="data"/>: one DER CRL, or PEM text with one or more "X509 CRL" blocks.</summary>
    public static List<RevocationList> Read(string file, byte[] data)
    {
        var lists = new List<RevocationList>();
        if (data.Length > 0 && data[0] == 0x30)
        {
            lists.Add(Parse(file, data));
            return lists;
        }
        var text = System.Text.Encoding.ASCII.GetString(data).AsSpan();
        while (PemEncoding.TryFind(text, out var fields))
        {
            if (text[fields.Label].SequenceEqual("X509 CRL"))
            {
                var der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(text[fields.Base64Data], der, out _))
                    throw new CryptographicException("a PEM block is not valid base64");
                lists.Add(Parse(file, der));
            }
            text = text[fields.Location.End..];
        }
        if (lists.Count == 0)
            throw new CryptographicException("it holds no CRL (neither DER nor a PEM \"-----BEGIN X509 CRL-----\" block)");
        return lists;
    }

    private static RevocationList Parse(string file, byte[] der)
    {
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            var certificateList = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var tbsBytes = certificateList.ReadEncodedValue().ToArray();
            var algorithm = certificateList.ReadSequence();
            var signatureAlgorithm = algorithm.ReadObjectIdentifier();
            var signature = certificateList.ReadBitString(out var unused);
            if (unused != 0)
                throw new CryptographicException("the signature is not a whole number of bytes");
            certificateList.ThrowIfNotEmpty();

            var tbs = new AsnReader(tbsBytes, AsnEncodingRules.DER).ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                var version = tbs.ReadInteger();
                if (version != 1)
                    throw new CryptographicException($"version {version + 1} is not a CRL version this gateway reads (v2)");
            }
            var innerAlgorithm = tbs.ReadSequence().ReadObjectIdentifier();
            if (innerAlgorithm != signatureAlgorithm)
                throw new CryptographicException("the signature algorithm inside and outside the signed part differ");
            var issuer = new X500DistinguishedName(tbs.ReadEncodedValue().Span);
            var thisUpdate = ReadTime(tbs);
            DateTimeOffset? nextUpdate = null;
            if (tbs.HasData && IsTime(tbs.PeekTag()))
                nextUpdate = ReadTime(tbs);
            var revoked = new HashSet<string>(StringComparer.Ordinal);
            if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                var entries = tbs.ReadSequence();
                while (entries.HasData)
                {
                    var entry = entries.ReadSequence();
                    var serial = entry.ReadIntegerBytes().Span;
                    ReadTime(entry);
                    if (entry.HasData)
                        CheckExtensions(entry.ReadSequence(), entry: true);
                    revoked.Add(SerialKey(serial));
                }
            }
            if (tbs.HasData)
            {
                var extensions = tbs.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0));
                CheckExtensions(extensions.ReadSequence(), entry: false);
                extensions.ThrowIfNotEmpty();
            }
            tbs.ThrowIfNotEmpty();
            return new RevocationList(file, issuer, thisUpdate, nextUpdate, revoked, tbsBytes, signatureAlgorithm, signature);
        }
        catch (AsnContentException ex)
        {
            throw new CryptographicException("it is not a DER-encoded CRL (" + ex.Message + ")", ex);
        }
    }

    /// <summary>Refuses critical extensions this reader does not process (RFC 5280 §5.2, §5.3).</summary>
    private static void CheckExtensions(AsnReader extensions, bool entry)
    {
        while (extensions.HasData)
        {
            var extension = extensions.ReadSequence();
            var oid = extension.ReadObjectIdentifier();
            var critical = extension.HasData && extension.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean) && extension.ReadBoolean();
            extension.ReadOctetString();
            var known = entry ? oid is ReasonCodeOid or InvalidityDateOid : oid is CrlNumberOid or AuthorityKeyIdentifierOid;
            if (critical && !known)
            {
                throw new CryptographicException(oid switch
                {
                    "2.5.29.27" => "it is a delta CRL, which this gateway does not combine with a base CRL; provide complete CRLs",
                    "2.5.29.28" => "it has an issuing distribution point (a partitioned or scoped CRL), which this gateway does not read; provide complete CRLs",
                    "2.5.29.29" => "it is an indirect CRL (certificate issuer entries), which this gateway does not read",
                    _ => $"it has the critical extension {oid}, which this gateway does not process",
                });
            }
        }
    }

    private static bool IsTime(Asn1Tag tag) => tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();

    /// <summary>A serial number's key: its magnitude in upper-case hex without leading zero bytes.</summary>
    private static string SerialKey(ReadOnlySpan<byte> bigEndian)
    {
        var start = 0;
        while (start < bigEndian.Length - 1 && bigEndian[start] == 0)
            start++;
        return Convert.ToHexString(bigEndian[start..]);
    }

    private bool Verify(X509Certificate2 issuer)
    {
        var hash = _signatureAlgorithm switch
        {
            "1.2.840.10045.4.3.2" or "1.2.840.113549.1.1.11" => HashAlgorithmName.SHA256,
            "1.2.840.10045.4.3.3" or "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
            "1.2.840.10045.4.3.4" or "1.2.840.113549.1.1.13" => HashAlgorithmName.SHA512,
            _ => default,
        };
        if (hash == default)
            return false; // SHA-1, MD5, PSS and the rest: not accepted
        // RFC 5280 §6.3.3 (f): the CRL issuer's key usage, when present, must allow signing CRLs.
        foreach (var extension in issuer.Extensions)
        {
            if (extension is X509KeyUsageExtension usage && (usage.KeyUsages & X509KeyUsageFlags.CrlSign) == 0)
                return false;
        }
        try
        {
            if (_signatureAlgorithm.StartsWith("1.2.840.10045.", StringComparison.Ordinal))
            {
                using var ec = issuer.GetECDsaPublicKey();
                return ec is not null && ec.VerifyData(_tbs, _signature, hash, DSASignatureFormat.Rfc3279DerSequence);
            }
            using var rsa = issuer.GetRSAPublicKey();
            return rsa is not null && rsa.VerifyData(_tbs, _signature, hash, RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
