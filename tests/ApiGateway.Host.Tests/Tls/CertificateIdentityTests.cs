using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Policies;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Context;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Pipeline.Steps;
using ApiGateway.Host.Tests.Support;
using ApiGateway.Host.Tls;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;
using static ApiGateway.Host.Tests.Support.SanCertificates;

namespace ApiGateway.Host.Tests.Tls;

/// <summary>
/// Identities as peers match them: each attribute of &lt;identity&gt; against certificates whose subject alternative
/// names are written entry by entry, so every rule (case, wildcard, address forms, pins) has a case that breaks it.
/// </summary>
public sealed class CertificateIdentityTests : IDisposable
{
    private readonly X509Certificate2 _ca = TestCertificates.CreateCa("CN=Identity CA, O=Contoso");

    public void Dispose() => _ca.Dispose();

    private static bool Matches(X509Certificate2 certificate, Func<CertificateIdentity, CertificateIdentity> with)
    {
        var identity = with(new CertificateIdentity(1, 1));
        return new IdentityMatcher(identity, null, null).Matches(new CertificateFacts(certificate, null));
    }

    [Fact]
    public void DnsName_IsAsciiCaseInsensitive_AndAWildcardSanMatchesOnlyTheWildcard()
    {
        using var cert = Issue(_ca, "CN=partner", Extension(Text(Dns, "Partner.Contoso.COM"), Text(Dns, "*.apps.contoso.com")));

        Assert.True(Matches(cert, i => i with { DnsName = "partner.contoso.com" }));
        Assert.True(Matches(cert, i => i with { DnsName = "PARTNER.contoso.com." }));
        Assert.True(Matches(cert, i => i with { DnsName = "*.apps.contoso.com" }));
        Assert.False(Matches(cert, i => i with { DnsName = "orders.apps.contoso.com" }));
        Assert.False(Matches(cert, i => i with { DnsName = "contoso.com" }));
        Assert.False(Matches(cert, i => i with { DnsName = "partner" })); // the common name is not a SAN
    }

    [Fact]
    public void IpSan_NeverMatchesADnsIdentity_AndIpIdentitiesCompareAsAddresses()
    {
        using var cert = Issue(_ca, "CN=node", Extension(Address("127.0.0.1"), Address("::1"), Address("2001:db8::a")));

        Assert.False(Matches(cert, i => i with { DnsName = "127.0.0.1" }));
        Assert.True(Matches(cert, i => i with { SanIp = "127.0.0.1" }));
        Assert.True(Matches(cert, i => i with { SanIp = "0:0:0:0:0:0:0:1" }));
        Assert.True(Matches(cert, i => i with { SanIp = "2001:0DB8:0:0:0:0:0:000a" }));
        Assert.False(Matches(cert, i => i with { SanIp = "::ffff:127.0.0.1" }));
        Assert.False(Matches(cert, i => i with { SanIp = "127.0.0.2" }));
    }

    [Fact]
    public void DnsSan_NeverMatchesAnIpIdentity()
    {
        using var cert = Issue(_ca, "CN=node", Extension(Text(Dns, "node.contoso.com"), Text(Dns, "10.0.0.1")));

        Assert.False(Matches(cert, i => i with { SanIp = "10.0.0.1" }));
    }

    [Fact]
    public void SanUri_SchemeAndHostCaseInsensitive_PathExact()
    {
        using var cert = Issue(_ca, "CN=workload", Extension(Text(UriName, "spiffe://Contoso.com/ns/prod/sa/Orders")));

        Assert.True(Matches(cert, i => i with { SanUri = "spiffe://contoso.com/ns/prod/sa/Orders" }));
        Assert.True(Matches(cert, i => i with { SanUri = "SPIFFE://CONTOSO.COM/ns/prod/sa/Orders" }));
        Assert.False(Matches(cert, i => i with { SanUri = "spiffe://contoso.com/ns/prod/sa/orders" }));
        Assert.False(Matches(cert, i => i with { SanUri = "spiffe://contoso.com/ns/prod/sa" }));
    }

    [Fact]
    public void SanEmail_LocalPartCaseSensitive_DomainNot()
    {
        using var cert = Issue(_ca, "CN=alice", Extension(Text(Email, "Alice.Smith@Contoso.com")));

        Assert.True(Matches(cert, i => i with { SanEmail = "Alice.Smith@contoso.COM" }));
        Assert.False(Matches(cert, i => i with { SanEmail = "alice.smith@contoso.com" }));
        Assert.False(Matches(cert, i => i with { DnsName = "contoso.com" }));
    }

    [Fact]
    public void SerialNumber_IsHex_CaseAndLeadingZerosAndSeparatorsIgnored()
    {
        using var cert = Issue(_ca, "CN=serial");
        var serial = cert.SerialNumber; // upper-case hex, as .NET shows it
        var spaced = string.Join(' ', Enumerable.Range(0, serial.Length / 2).Select(i => serial.Substring(i * 2, 2)));

        Assert.True(Matches(cert, i => i with { SerialNumber = "000" + serial.ToLowerInvariant() }));
        Assert.True(Matches(cert, i => i with { SerialNumber = spaced }));
        Assert.True(Matches(cert, i => i with { SerialNumber = spaced.Replace(' ', ':') }));
        Assert.False(Matches(cert, i => i with { SerialNumber = serial + "00" }));
        Assert.False(Matches(cert, i => i with { SerialNumber = serial[..^1] }));
    }

    [Fact]
    public void SpkiPin_IsTheKeysSha256_SameForEveryCertificateOfTheKey_AndExact()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var first = Issue(_ca, "CN=pinned", key);
        using var renewed = Issue(_ca, "CN=pinned renewed", key);
        using var other = Issue(_ca, "CN=pinned");
        // RFC 7469 §2.4: base64(SHA-256(SubjectPublicKeyInfo)), computed here independently of the gateway.
        var pin = Convert.ToBase64String(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
        var flipped = Convert.FromBase64String(pin);
        flipped[^1] ^= 1;

        Assert.True(Matches(first, i => i with { SpkiSha256 = pin }));
        Assert.True(Matches(renewed, i => i with { SpkiSha256 = pin }));
        Assert.False(Matches(other, i => i with { SpkiSha256 = pin }));
        Assert.False(Matches(first, i => i with { SpkiSha256 = Convert.ToBase64String(flipped) }));
        Assert.Equal(pin, first.GetSpkiSha256());
    }

    [Fact]
    public void Sha256Thumbprint_IsTheCertificatesSha256()
    {
        using var cert = Issue(_ca, "CN=hashed");
        using var other = Issue(_ca, "CN=hashed");
        var hash = Convert.ToHexString(SHA256.HashData(cert.RawData));

        Assert.True(Matches(cert, i => i with { ThumbprintSha256 = hash.ToLowerInvariant() }));
        Assert.False(Matches(other, i => i with { ThumbprintSha256 = hash }));
    }

    [Fact]
    public void AMalformedSan_YieldsNoNames_SoNothingMatches()
    {
        // A dNSName whose bytes are no IA5String: the whole extension is unreadable, its good entry included.
        using var bad = Issue(_ca, "CN=bad", Extension(Text(Dns, "good.contoso.com"), (Dns, "b\u00fccher.contoso.com"u8.ToArray())));
        using var garbage = Issue(_ca, "CN=garbage", new X509Extension("2.5.29.17", [0x30, 0x05, 0x82, 0x09, 0x61], false));

        Assert.False(Matches(bad, i => i with { DnsName = "good.contoso.com" }));
        Assert.Empty(bad.GetDnsNames());
        Assert.Empty(garbage.GetDnsNames());
    }

    [Fact]
    public void EveryAttributeMustMatch_AndAValueWithoutFormMatchesNothing()
    {
        using var cert = Issue(_ca, "CN=both", Extension(Text(Dns, "both.contoso.com"), Text(UriName, "spiffe://contoso.com/both")));

        Assert.True(Matches(cert, i => i with { DnsName = "both.contoso.com", SanUri = "spiffe://contoso.com/both" }));
        Assert.False(Matches(cert, i => i with { DnsName = "both.contoso.com", SanUri = "spiffe://contoso.com/other" }));
        // The parser refuses it; a matcher built around the parser still fails closed.
        Assert.False(Matches(cert, i => i with { DnsName = "both.contoso.com", SanIp = "not-an-ip" }));
    }

    [Fact]
    public void ExpressionHelpers_ListTheNames_AndCompareByTheSameRules()
    {
        using var cert = Issue(_ca, "CN=helpers", Extension(Text(Dns, "Api.Contoso.com"), Text(UriName, "spiffe://contoso.com/orders"),
            Text(Email, "ops@contoso.com"), Address("::1"), Address("192.0.2.7")));
        var context = NewContext(cert);
        bool Run(string code) => Compiled(code).Condition!(context);

        Assert.True(Run("context.Request.Certificate.GetDnsNames().Single() == \"Api.Contoso.com\""));
        Assert.True(Run("context.Request.Certificate.HasDnsName(\"api.contoso.COM\")"));
        Assert.True(Run("context.Request.Certificate.GetUris().Any(u => u.StartsWith(\"spiffe://contoso.com/\"))"));
        Assert.True(Run("context.Request.Certificate.HasUri(\"SPIFFE://contoso.com/orders\") && !context.Request.Certificate.HasUri(\"spiffe://contoso.com/Orders\")"));
        Assert.True(Run("context.Request.Certificate.GetEmailAddresses().Contains(\"ops@contoso.com\") && context.Request.Certificate.HasEmailAddress(\"ops@CONTOSO.com\")"));
        Assert.True(Run("string.Join(\",\", context.Request.Certificate.GetIpAddresses()) == \"::1,192.0.2.7\""));
        Assert.True(Run("context.Request.Certificate.HasIpAddress(\"0:0:0:0:0:0:0:1\") && !context.Request.Certificate.HasIpAddress(\"192.0.2.8\")"));
        Assert.True(Run($"context.Request.Certificate.GetSpkiSha256() == \"{Convert.ToBase64String(SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo()))}\""));
        Assert.True(Run($"context.Request.Certificate.GetSha256Thumbprint() == \"{Convert.ToHexString(SHA256.HashData(cert.RawData))}\""));
        Assert.True(Run("context.Request.Certificate?.HasDnsName(\"x.contoso.com\") != true"));
    }

    [Fact]
    public void ExpressionHelpers_HandOutListsNoExpressionCanChange()
    {
        using var cert = Issue(_ca, "CN=helpers", Extension(Text(Dns, "api.contoso.com")));
        var set = Compiled("""
            ((IList<string>)context.Request.Certificate.GetDnsNames())[0] = "evil.contoso.com"
            """, ExpressionKind.Value);

        Assert.ThrowsAny<NotSupportedException>(() => set.Value!(NewContext(cert)));
        Assert.Equal("api.contoso.com", Assert.Single(cert.GetDnsNames()));
    }
}

/// <summary>The peer identities over real mTLS: the policy as an operator writes it, the certificate as a client presents it.</summary>
public sealed class CertificateIdentityOverTlsTests
{
    [Fact]
    public async Task PeerIdentities_AdmitTheNamedWorkloads_AndRefuseOthersWith403()
    {
        await using var gateway = TestGateway.Create();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var orders = Issue(gateway.Ca, "CN=orders", Extension(Text(UriName, "spiffe://contoso.com/ns/prod/sa/orders")));
        using var billing = Issue(gateway.Ca, "CN=billing", Extension(Text(UriName, "spiffe://contoso.com/ns/prod/sa/billing")));
        using var node = Issue(gateway.Ca, "CN=node", Extension(Address("::1")));
        using var pinned = Issue(gateway.Ca, "CN=pinned", key);
        using var stranger = Issue(gateway.Ca, "CN=stranger", Extension(Text(Dns, "stranger.contoso.com")));
        var pin = Convert.ToBase64String(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
        gateway.AddApi("peers", "peers", policy: $"""
            <policies>
              <inbound>
                <validate-client-certificate validate-revocation="false">
                  <identities>
                    <identity san-uri="spiffe://contoso.com/ns/prod/sa/orders" />
                    <identity san-ip="0:0:0:0:0:0:0:1" issuer-subject="CN=Test Gateway CA, O=Contoso" />
                    <identity spki-sha256="{pin}" />
                  </identities>
                </validate-client-certificate>
                <return-response>
                  <set-status code="200" reason="OK" />
                  <set-body>@(string.Join(",", context.Request.Certificate.GetUris()) + "|" + string.Join(",", context.Request.Certificate.GetIpAddresses()))</set-body>
                </return-response>
              </inbound>
            </policies>
            """);
        await gateway.StartAsync();

        var admitted = await gateway.SendAsync("/peers", orders);
        Assert.Equal(200, admitted.Status);
        Assert.Equal("spiffe://contoso.com/ns/prod/sa/orders|", admitted.Body);
        Assert.Equal("|::1", (await gateway.SendAsync("/peers", node)).Body);
        Assert.Equal(200, (await gateway.SendAsync("/peers", pinned)).Status);
        foreach (var refused in new[] { billing, stranger })
        {
            var response = await gateway.SendAsync("/peers", refused);
            Assert.Equal(403, response.Status);
            Assert.Contains("matches none of the 3 identities", response.Body, StringComparison.Ordinal);
        }
    }
}
