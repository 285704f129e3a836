using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Policies;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Pipeline.Steps;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// One &lt;identity&gt; of validate-client-certificate, attribute by attribute, as APIM's reference describes it:
/// every attribute given must match the certificate; thumbprints and serial numbers are hexadecimal (any case; a
/// serial number's leading zeros and separators do not count, RFC 5280 4.1.2.2 makes it an integer); names compare
/// without regard to case; an id that named no certificate matches nothing. Each attribute is checked with a
/// certificate that matches it and one that differs only there, so a rule that stops checking fails a test.
/// </summary>
public sealed class IdentityMatcherRuleTests : IDisposable
{
    private readonly X509Certificate2 _ca = TestCertificates.CreateCa("CN=Identity CA, O=Contoso");
    private readonly X509Certificate2 _otherCa = TestCertificates.CreateCa("CN=Other CA, O=Contoso");
    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2 _other;
    private readonly CertificateFacts _facts;
    private readonly CertificateFacts _otherFacts;

    public IdentityMatcherRuleTests()
    {
        _certificate = TestCertificates.Create("CN=device-1, O=Contoso", _ca, clientAuth: true, dnsNames: ["device-1.contoso.example"]);
        _other = TestCertificates.Create("CN=device-2, O=Contoso", _otherCa, clientAuth: true, dnsNames: ["device-2.contoso.example"]);
        _facts = new CertificateFacts(_certificate, _ca.Thumbprint);
        _otherFacts = new CertificateFacts(_other, _otherCa.Thumbprint);
    }

    public void Dispose()
    {
        _certificate.Dispose();
        _other.Dispose();
        _ca.Dispose();
        _otherCa.Dispose();
    }

    private static CertificateIdentity Identity() => new(1, 1);

    private static bool Matches(CertificateIdentity identity, CertificateFacts facts, ResolvedThumbprint? certificate = null, ResolvedThumbprint? issuer = null) =>
        new IdentityMatcher(identity, certificate, issuer).Matches(facts);

    private void OnlyTheCertificateMatches(CertificateIdentity identity, ResolvedThumbprint? certificate = null, ResolvedThumbprint? issuer = null)
    {
        Assert.True(Matches(identity, _facts, certificate, issuer), "the certificate itself");
        Assert.False(Matches(identity, _otherFacts, certificate, issuer), "another certificate");
    }

    [Fact]
    public void AnEmptyIdentity_MatchesAnyCertificate() => Assert.True(Matches(Identity(), _otherFacts));

    [Fact]
    public void Thumbprint_InEitherCaseAndWithSeparators() =>
        OnlyTheCertificateMatches(Identity() with { Thumbprint = string.Join(':', _certificate.Thumbprint.ToLowerInvariant().Chunk(2).Select(c => new string(c))) });

    [Fact]
    public void SerialNumber_WithoutRegardToCaseSeparatorsOrLeadingZeros()
    {
        var serial = _certificate.SerialNumber;
        OnlyTheCertificateMatches(Identity() with { SerialNumber = serial });
        OnlyTheCertificateMatches(Identity() with { SerialNumber = "00" + serial.ToLowerInvariant() });
        OnlyTheCertificateMatches(Identity() with { SerialNumber = string.Join(' ', serial.Chunk(2).Select(c => new string(c))) });
        Assert.False(Matches(Identity() with { SerialNumber = serial[..^1] }, _facts), "a prefix");
        Assert.False(Matches(Identity() with { SerialNumber = serial + "0" }, _facts), "an extra digit");
        Assert.False(Matches(Identity() with { SerialNumber = serial.TrimStart('0')[1..] }, _facts), "a suffix");
        Assert.False(Matches(Identity() with { SerialNumber = serial[..^1] + (serial[^1] == 'A' ? 'B' : 'A') }, _facts), "the last digit changed");
    }

    [Fact]
    public void SerialNumber_LeadingZerosOfTheCertificatesSerialDoNotCountEither()
    {
        var facts = WithSerial("00A1B2");
        Assert.True(Matches(Identity() with { SerialNumber = "a1b2" }, facts));
        Assert.True(Matches(Identity() with { SerialNumber = "0a1:b2" }, facts));
        Assert.False(Matches(Identity() with { SerialNumber = "a1b3" }, facts));
        Assert.False(Matches(Identity() with { SerialNumber = "a1b20" }, facts));
        Assert.False(Matches(Identity() with { SerialNumber = "1b2" }, facts));
        Assert.True(Matches(Identity() with { SerialNumber = "0" }, WithSerial("00")));
        Assert.False(Matches(Identity() with { SerialNumber = "0" }, WithSerial("01")));
    }

    private CertificateFacts WithSerial(string serial)
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new CertificateRequest("CN=serial", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var created = request.Create(_ca, _ca.NotBefore.AddMinutes(1), _ca.NotAfter.AddMinutes(-1), Convert.FromHexString(serial.Length % 2 == 0 ? serial : "0" + serial));
        return new CertificateFacts(created, _ca.Thumbprint);
    }

    [Fact]
    public void CommonName_WithoutRegardToCase()
    {
        OnlyTheCertificateMatches(Identity() with { CommonName = "DEVICE-1" });
        Assert.False(Matches(Identity() with { CommonName = "device-1, O=Contoso" }, _facts));
    }

    [Fact]
    public void Subject_AsADistinguishedName()
    {
        OnlyTheCertificateMatches(Identity() with { Subject = "cn=device-1,o=contoso" });
        Assert.False(Matches(Identity() with { Subject = "CN=device-1" }, _facts));
    }

    [Fact]
    public void IssuerSubject_AsADistinguishedName() =>
        OnlyTheCertificateMatches(Identity() with { IssuerSubject = "CN=Identity CA,O=Contoso" });

    [Fact]
    public void IssuerThumbprint_IsTheIssuersWhenTheChainFoundIt()
    {
        OnlyTheCertificateMatches(Identity() with { IssuerThumbprint = _ca.Thumbprint.ToLowerInvariant() });
        Assert.False(Matches(Identity() with { IssuerThumbprint = _ca.Thumbprint }, new CertificateFacts(_certificate, null)));
    }

    [Fact]
    public void DnsName_IsOneOfTheSubjectAlternativeNames()
    {
        OnlyTheCertificateMatches(Identity() with { DnsName = "DEVICE-1.contoso.example" });
        Assert.False(Matches(Identity() with { DnsName = "device-1" }, _facts));
        Assert.False(Matches(Identity() with { DnsName = "device-1.contoso.example" }, new CertificateFacts(_ca, null)));
    }

    [Fact]
    public void CertificateId_IsTheThumbprintOfThatCertificate_AndAnUnknownIdMatchesNothing()
    {
        OnlyTheCertificateMatches(Identity() with { CertificateId = "device" }, certificate: ResolvedThumbprint.Of(_certificate.Thumbprint.ToLowerInvariant()));
        Assert.False(Matches(Identity() with { CertificateId = "missing" }, _facts, certificate: ResolvedThumbprint.Unresolved));
        Assert.False(ResolvedThumbprint.Unresolved.Matches(_certificate.Thumbprint));
        Assert.Null(ResolvedThumbprint.Unresolved.Thumbprint);
    }

    [Fact]
    public void IssuerCertificateId_IsTheThumbprintOfTheIssuer_AndNeedsTheIssuerKnown()
    {
        OnlyTheCertificateMatches(Identity() with { IssuerCertificateId = "ca" }, issuer: ResolvedThumbprint.Of(_ca.Thumbprint));
        Assert.False(Matches(Identity() with { IssuerCertificateId = "ca" }, new CertificateFacts(_certificate, null), issuer: ResolvedThumbprint.Of(_ca.Thumbprint)));
        Assert.False(Matches(Identity() with { IssuerCertificateId = "missing" }, _facts, issuer: ResolvedThumbprint.Unresolved));
    }

    [Fact]
    public void EveryAttribute_MustMatch_NotJustOne()
    {
        var all = Identity() with
        {
            Thumbprint = _certificate.Thumbprint,
            SerialNumber = _certificate.SerialNumber,
            CommonName = "device-1",
            Subject = _certificate.Subject,
            IssuerSubject = _ca.Subject,
            IssuerThumbprint = _ca.Thumbprint,
            DnsName = "device-1.contoso.example",
        };
        Assert.True(Matches(all, _facts));
        Assert.False(Matches(all with { Thumbprint = _other.Thumbprint }, _facts));
        Assert.False(Matches(all with { SerialNumber = _other.SerialNumber }, _facts));
        Assert.False(Matches(all with { CommonName = "device-2" }, _facts));
        Assert.False(Matches(all with { Subject = _other.Subject }, _facts));
        Assert.False(Matches(all with { IssuerSubject = _otherCa.Subject }, _facts));
        Assert.False(Matches(all with { IssuerThumbprint = _otherCa.Thumbprint }, _facts));
        Assert.False(Matches(all with { DnsName = "device-2.contoso.example" }, _facts));
        Assert.False(Matches(all, _facts, certificate: ResolvedThumbprint.Of(_other.Thumbprint)));
        Assert.False(Matches(all, _facts, issuer: ResolvedThumbprint.Of(_otherCa.Thumbprint)));
        Assert.True(Matches(all, _facts, certificate: ResolvedThumbprint.Of(_certificate.Thumbprint), issuer: ResolvedThumbprint.Of(_ca.Thumbprint)));
    }
}
