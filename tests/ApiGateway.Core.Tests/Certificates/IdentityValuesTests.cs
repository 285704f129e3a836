using ApiGateway.Core.Certificates;
using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Tests.Certificates;

/// <summary>
/// The comparison rules of certificate identities, each against its specification: two values are the same identity
/// exactly when their comparison forms are equal, and a value with no form can never match (the parser refuses it).
/// </summary>
public sealed class IdentityValuesTests
{
    [Theory]
    // RFC 6125 §6.4.1: DNS names compare ASCII case-insensitively; a trailing dot is the same name (RFC 1034 §3.1).
    [InlineData("Partner.Contoso.COM", "partner.contoso.com", true)]
    [InlineData("partner.contoso.com.", "partner.contoso.com", true)]
    [InlineData("partner.contoso.com", "partner.contoso.org", false)]
    [InlineData("partner.contoso.com", "partner-contoso.com", false)]
    // A wildcard is compared as written: "*.contoso.com" matches only an identity that says "*.contoso.com".
    [InlineData("*.contoso.com", "*.CONTOSO.com", true)]
    [InlineData("*.contoso.com", "api.contoso.com", false)]
    // Internationalized names compare as their A-labels (RFC 5890): the U-label an operator writes is the punycode of the SAN.
    [InlineData("bücher.example", "xn--bcher-kva.example", true)]
    public void DnsNames_CompareAsRfc6125Says(string a, string b, bool same)
    {
        var x = IdentityValues.DnsName(a);
        var y = IdentityValues.DnsName(b);
        Assert.NotNull(x);
        Assert.NotNull(y);
        Assert.Equal(same, x == y);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a..b")]
    [InlineData("api.*.contoso.com")]
    [InlineData("a*.contoso.com")]
    [InlineData("*")]
    [InlineData("has space.contoso.com")]
    [InlineData("x@contoso.com")]
    public void DnsNames_ThatAreNone_HaveNoForm(string name) => Assert.Null(IdentityValues.DnsName(name));

    [Theory]
    // The Kelvin sign folds to 'k' under Unicode case rules; a DNS comparison is ASCII-only and IDNA maps it to 'k'
    // before comparing, so both sides end up as the same A-label and never by a Unicode case fold of the SAN.
    [InlineData("\u212Aelvin.example", "kelvin.example")]
    public void DnsNames_NonAsciiIsMappedByIdna_NotFoldedByUnicodeCase(string unicode, string ascii) =>
        Assert.Equal(IdentityValues.DnsName(ascii), IdentityValues.DnsName(unicode));

    [Theory]
    // RFC 5321 §2.4: the local part is case-sensitive, the domain is not.
    [InlineData("Alice@Contoso.com", "Alice@contoso.COM", true)]
    [InlineData("Alice@contoso.com", "alice@contoso.com", false)]
    [InlineData("alice@contoso.com", "alice@contoso.org", false)]
    [InlineData("first.last@sub.contoso.com", "first.last@SUB.contoso.com", true)]
    public void EmailAddresses_LocalPartExact_DomainCaseInsensitive(string a, string b, bool same) =>
        Assert.Equal(same, IdentityValues.Email(a) == IdentityValues.Email(b));

    [Theory]
    [InlineData("alice")]
    [InlineData("@contoso.com")]
    [InlineData("alice@")]
    [InlineData("al ice@contoso.com")]
    public void EmailAddresses_ThatAreNone_HaveNoForm(string address) => Assert.Null(IdentityValues.Email(address));

    [Theory]
    // RFC 3986 §6.2.2.1: scheme and host are case-insensitive; the path, query and user information are not.
    [InlineData("spiffe://Contoso.com/ns/Orders", "SPIFFE://contoso.COM/ns/Orders", true)]
    [InlineData("spiffe://contoso.com/ns/Orders", "spiffe://contoso.com/ns/orders", false)]
    [InlineData("https://Api.Contoso.com:8443/a?B=1", "HTTPS://api.contoso.com:8443/a?B=1", true)]
    [InlineData("https://api.contoso.com/a?B=1", "https://api.contoso.com/a?b=1", false)]
    [InlineData("https://User@api.contoso.com/", "https://user@api.contoso.com/", false)]
    [InlineData("https://[2001:DB8::1]:443/", "https://[2001:db8::1]:443/", true)]
    [InlineData("urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6", "URN:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6", true)]
    // No normalization beyond case: a percent-encoded character or a dot segment is a different string, as Envoy compares.
    [InlineData("spiffe://contoso.com/a/../b", "spiffe://contoso.com/b", false)]
    [InlineData("spiffe://contoso.com/%7Ea", "spiffe://contoso.com/~a", false)]
    public void Uris_SchemeAndHostCaseInsensitive_RestExact(string a, string b, bool same)
    {
        Assert.NotNull(IdentityValues.Uri(a));
        Assert.Equal(same, IdentityValues.Uri(a) == IdentityValues.Uri(b));
    }

    [Theory]
    [InlineData("contoso.com/orders")]
    [InlineData("/orders")]
    [InlineData("spiffe://contoso.com/with space")]
    public void Uris_ThatAreNotAbsolute_HaveNoForm(string uri) => Assert.Null(IdentityValues.Uri(uri));

    [Theory]
    // IP addresses compare as addresses: every RFC 4291 §2.2 text form of an IPv6 address is the same 16 octets.
    [InlineData("::1", "0:0:0:0:0:0:0:1", true)]
    [InlineData("2001:db8::a", "2001:0DB8:0000:0000:0000:0000:0000:000A", true)]
    [InlineData("192.0.2.10", "192.0.2.10", true)]
    [InlineData("192.0.2.10", "192.0.2.11", false)]
    // An IPv4 SAN is 4 octets, an IPv4-mapped IPv6 one 16: different entries of a certificate.
    [InlineData("192.0.2.10", "::ffff:192.0.2.10", false)]
    public void IpAddresses_CompareAsAddresses(string a, string b, bool same)
    {
        var x = IdentityValues.IpAddress(a);
        var y = IdentityValues.IpAddress(b);
        Assert.NotNull(x);
        Assert.NotNull(y);
        Assert.Equal(same, x.AsSpan().SequenceEqual(y));
    }

    [Theory]
    [InlineData("1")] // IPAddress.Parse takes it as 0.0.0.1
    [InlineData("010.0.0.1")] // octal to inet_aton, decimal to others
    [InlineData("0x7f.0.0.1")]
    [InlineData("256.0.0.1")]
    [InlineData("fe80::1%eth0")]
    [InlineData("example.com")]
    [InlineData("1.2.3")]
    public void IpAddresses_InAmbiguousOrInvalidForms_HaveNoForm(string text) => Assert.Null(IdentityValues.IpAddress(text));

    [Theory]
    // Serial numbers are numbers written in hex: case, leading zeros and the separators tools print do not matter.
    [InlineData("00A1B2", "a1b2", true)]
    [InlineData("0A:1B:2C", "0a1b2c", true)]
    [InlineData("0a 1b 2c", "A1B2C", true)]
    [InlineData("0x1A", "1a", true)]
    [InlineData("1A", "1A00", false)]
    [InlineData("00", "0", true)]
    public void SerialNumbers_CompareAsHexNumbers(string a, string b, bool same) =>
        Assert.Equal(same, IdentityValues.SerialNumber(a) == IdentityValues.SerialNumber(b));

    [Theory]
    [InlineData("12-zz")]
    [InlineData("serial")]
    [InlineData(":")]
    public void SerialNumbers_WithOtherCharacters_HaveNoForm(string serial) => Assert.Null(IdentityValues.SerialNumber(serial));

    [Fact]
    public void Pins_AreTheExact32Bytes_OfStandardBase64()
    {
        var hash = System.Security.Cryptography.SHA256.HashData("spki"u8);
        var pin = Convert.ToBase64String(hash);

        Assert.Equal(hash, IdentityValues.Sha256Pin(pin));
        Assert.Null(IdentityValues.Sha256Pin(pin.TrimEnd('='))); // RFC 7469 pins are padded base64
        Assert.Null(IdentityValues.Sha256Pin(Convert.ToBase64String(hash[..20]))); // a SHA-1 is no SHA-256 pin
        Assert.Null(IdentityValues.Sha256Pin(Convert.ToHexString(hash)));
        Assert.Equal(hash, IdentityValues.Sha256Hex(Convert.ToHexString(hash).ToLowerInvariant()));
        Assert.Equal(hash, IdentityValues.Sha256Hex(string.Join(':', hash.Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)))));
        Assert.Null(IdentityValues.Sha256Hex(Convert.ToHexString(hash[..20])));
    }

    [Theory]
    [InlineData("san-ip", "1", "is not an IP address")]
    [InlineData("san-ip", "localhost", "is not an IP address")]
    [InlineData("san-uri", "orders", "is not an absolute URI")]
    [InlineData("san-email", "alice", "is not an e-mail address")]
    [InlineData("dns-name", "api.*.contoso.com", "is not a DNS name")]
    [InlineData("spki-sha256", "AAAA", "is not a SHA-256 pin")]
    [InlineData("thumbprint-sha256", "ABCD", "is not a SHA-256 fingerprint")]
    [InlineData("serial-number", "xyz", "is not a serial number")]
    public void Parser_RefusesIdentityValuesThatCanNeverMatch_NamingTheAttribute(string attribute, string value, string message)
    {
        var result = PolicyDocument.Parse(Policy($"<identity {attribute}=\"{value}\" />"), PolicyScope.Api);

        var error = Assert.Single(result.Errors);
        Assert.Contains($"{attribute}=\"{value}\" {message}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parser_TakesThePeerIdentities_AsLiterals()
    {
        var pin = Convert.ToBase64String(new byte[32]);
        var result = PolicyDocument.Parse(Policy($"""<identity san-uri="spiffe://contoso.com/orders" san-email="a@contoso.com" san-ip="::1" spki-sha256="{pin}" thumbprint-sha256="{new string('a', 64)}" />"""), PolicyScope.Api);

        Assert.Empty(result.Errors);
        var policy = Assert.IsType<ValidateClientCertificatePolicy>(result.Document!.Sections[PolicySectionKind.Inbound].Policies[0]);
        var identity = Assert.Single(policy.Identities);
        Assert.Equal("spiffe://contoso.com/orders", identity.SanUri);
        Assert.Equal("a@contoso.com", identity.SanEmail);
        Assert.Equal("::1", identity.SanIp);
        Assert.Equal(pin, identity.SpkiSha256);
        Assert.Equal(new string('a', 64), identity.ThumbprintSha256);

        var expression = PolicyDocument.Parse(Policy("""<identity san-uri="@(context.Variables["x"])" />"""), PolicyScope.Api);
        Assert.Contains("must be a literal value", Assert.Single(expression.Errors).Message, StringComparison.Ordinal);
    }

    private static string Policy(string identity) =>
        $"<policies><inbound><validate-client-certificate><identities>{identity}</identities></validate-client-certificate></inbound><backend /><outbound /><on-error /></policies>";
}
