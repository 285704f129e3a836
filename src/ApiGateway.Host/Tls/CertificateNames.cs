using System.Formats.Asn1;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;

namespace ApiGateway.Host.Tls;

/// <summary>
/// The names and pins a certificate is identified by, decoded once: the subject alternative names (RFC 5280
/// §4.2.1.6 GeneralNames: [1] rfc822Name, [2] dNSName, [6] uniformResourceIdentifier, [7] iPAddress) as the
/// certificate writes them and in their comparison forms (<see cref="IdentityValues"/>), the SHA-256 of the
/// SubjectPublicKeyInfo and of the certificate.
/// <para>
/// A malformed extension (not DER/BER GeneralNames, an entry of the wrong string type, or the extension twice,
/// which RFC 5280 §4.2 forbids) yields no names at all: a name the gateway cannot read for certain never matches.
/// A single entry that is well encoded but not a valid name of its kind (an IP address of 5 octets) is left out.
/// </para>
/// </summary>
internal sealed class CertificateNames
{
    private const string SanOid = "2.5.29.17";

    private static readonly ConditionalWeakTable<X509Certificate2, CertificateNames> Known = new();

    private CertificateNames(X509Certificate2 certificate)
    {
        var dns = new List<string>();
        var uris = new List<string>();
        var emails = new List<string>();
        var ips = new List<byte[]>();
        var extensions = 0;
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SanOid)
                continue;
            extensions++;
            if (extensions > 1 || !TryRead(extension.RawData, dns, uris, emails, ips))
            {
                dns.Clear();
                uris.Clear();
                emails.Clear();
                ips.Clear();
                break;
            }
        }
        DnsNames = dns.AsReadOnly();
        Uris = uris.AsReadOnly();
        Emails = emails.AsReadOnly();
        IpAddresses = ips.Select(IdentityValues.IpAddressText).ToList().AsReadOnly();
        DnsForms = [.. dns.Select(IdentityValues.DnsName).OfType<string>()];
        UriForms = [.. uris.Select(IdentityValues.Uri).OfType<string>()];
        EmailForms = [.. emails.Select(IdentityValues.Email).OfType<string>()];
        IpOctets = [.. ips];
        SpkiSha256 = SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo());
        Sha256 = SHA256.HashData(certificate.RawDataMemory.Span);
    }

    /// <summary>The names of <paramref name="certificate"/>, decoded once per certificate object.</summary>
    public static CertificateNames Of(X509Certificate2 certificate) => Known.GetValue(certificate, static c => new CertificateNames(c));

    /// <summary>The names of <paramref name="certificate"/>, decoded now (for facts cached elsewhere).</summary>
    public static CertificateNames Decode(X509Certificate2 certificate) => new(certificate);

    /// <summary>dNSName entries as written.</summary>
    public IReadOnlyList<string> DnsNames { get; }

    /// <summary>uniformResourceIdentifier entries as written.</summary>
    public IReadOnlyList<string> Uris { get; }

    /// <summary>rfc822Name entries as written.</summary>
    public IReadOnlyList<string> Emails { get; }

    /// <summary>iPAddress entries in their usual text form (IPv6 compressed).</summary>
    public IReadOnlyList<string> IpAddresses { get; }

    /// <summary>SHA-256 of the DER SubjectPublicKeyInfo (what an RFC 7469 pin-sha256 is the base64 of).</summary>
    public byte[] SpkiSha256 { get; }

    /// <summary>SHA-256 of the whole certificate.</summary>
    public byte[] Sha256 { get; }

    /// <summary>Comparison forms of the DNS names (entries that are no DNS name left out).</summary>
    public string[] DnsForms { get; }

    /// <summary>Comparison forms of the URIs.</summary>
    public string[] UriForms { get; }

    /// <summary>Comparison forms of the e-mail addresses.</summary>
    public string[] EmailForms { get; }

    /// <summary>The IP addresses' octets (4 or 16 each).</summary>
    public byte[][] IpOctets { get; }

    /// <summary>Whether <paramref name="name"/> (as an identity or policy writes it) is one of the DNS names.</summary>
    public bool HasDnsName(string? name) => IdentityValues.DnsName(name) is { } form && Array.IndexOf(DnsForms, form) >= 0;

    /// <summary>Whether <paramref name="uri"/> is one of the URIs.</summary>
    public bool HasUri(string? uri) => IdentityValues.Uri(uri) is { } form && Array.IndexOf(UriForms, form) >= 0;

    /// <summary>Whether <paramref name="address"/> is one of the e-mail addresses.</summary>
    public bool HasEmail(string? address) => IdentityValues.Email(address) is { } form && Array.IndexOf(EmailForms, form) >= 0;

    /// <summary>Whether <paramref name="address"/> is one of the IP addresses.</summary>
    public bool HasIpAddress(string? address) => IdentityValues.IpAddress(address) is { } octets && HasIpOctets(octets);

    /// <summary>Whether one of the IP addresses has exactly these octets (an IPv4 address never equals an IPv6 one).</summary>
    public bool HasIpOctets(byte[] octets)
    {
        foreach (var ip in IpOctets)
        {
            if (ip.AsSpan().SequenceEqual(octets))
                return true;
        }
        return false;
    }

    private static bool TryRead(byte[] der, List<string> dns, List<string> uris, List<string> emails, List<byte[]> ips)
    {
        try
        {
            return Read(der, AsnEncodingRules.DER, dns, uris, emails, ips);
        }
        catch (AsnContentException)
        {
        }
        dns.Clear();
        uris.Clear();
        emails.Clear();
        ips.Clear();
        try
        {
            // Some issuers encode BER (indefinite lengths); the certificate's signature already vouches for the bytes.
            return Read(der, AsnEncodingRules.BER, dns, uris, emails, ips);
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    private static bool Read(byte[] der, AsnEncodingRules rules, List<string> dns, List<string> uris, List<string> emails, List<byte[]> ips)
    {
        var outer = new AsnReader(der, rules);
        var names = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        while (names.HasData)
        {
            var peeked = names.PeekTag();
            if (peeked.TagClass != TagClass.ContextSpecific)
                return false;
            var tag = new Asn1Tag(TagClass.ContextSpecific, peeked.TagValue);
            switch (peeked.TagValue)
            {
                case 1:
                    emails.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, tag));
                    break;
                case 2:
                    dns.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, tag));
                    break;
                case 6:
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, tag));
                    break;
                case 7:
                    var octets = names.ReadOctetString(tag);
                    if (octets.Length is 4 or 16)
                        ips.Add(octets);
                    break;
                default:
                    // otherName, x400Address, directoryName, ediPartyName, registeredID: no identity compares them.
                    names.ReadEncodedValue();
                    break;
            }
        }
        return true;
    }
}
