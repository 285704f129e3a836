using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Pipeline.Steps;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// How an &lt;identity&gt; is prepared for matching: issuer-certificate-id names "a certificate or CA certificate that
/// issued it" (docs/gateway.md) — an uploaded certificate first, as APIM's issuer-certificate-id names a certificate
/// entity, and a CA certificate of that id only when no certificate has it (the ids are separate: both may exist,
/// which is why Remove-GatewayCaCertificate lets such a CA go); and a value with no comparison form makes the identity
/// match nothing, however many such values it has.
/// </summary>
public sealed class IdentityMatcherResolutionTests : IDisposable
{
    private readonly X509Certificate2 _ca = TestCertificates.CreateCa("CN=Issuer CA, O=Contoso");
    private readonly X509Certificate2 _otherCa = TestCertificates.CreateCa("CN=Other CA, O=Contoso");
    private readonly X509Certificate2 _certificate;
    private readonly CertificateFacts _facts;

    public IdentityMatcherResolutionTests()
    {
        _certificate = TestCertificates.Create("CN=device-1, O=Contoso", _ca, clientAuth: true, dnsNames: ["device-1.contoso.example"]);
        _facts = new CertificateFacts(_certificate, _ca.Thumbprint);
    }

    public void Dispose()
    {
        _certificate.Dispose();
        _ca.Dispose();
        _otherCa.Dispose();
    }

    private static ServedCertificate Served(string id, X509Certificate2 certificate) =>
        new(id, new CertificateEntry { Thumbprint = certificate.Thumbprint, Subject = certificate.Subject, Issuer = certificate.Issuer, SerialNumber = certificate.SerialNumber },
            new LoadedCertificate(X509CertificateLoader.LoadCertificate(certificate.RawData), []));

    private static StepResources Resources(Dictionary<string, ServedCertificate>? certificates = null, Dictionary<string, string>? caThumbprints = null) =>
        new(certificates ?? new Dictionary<string, ServedCertificate>(), new Dictionary<string, BackendTarget>(), caThumbprints ?? new Dictionary<string, string>());

    private bool IssuedBy(string id, StepResources resources) =>
        IdentityMatcher.Resolve(new CertificateIdentity(1, 1) { IssuerCertificateId = id }, resources).Matches(_facts);

    [Fact]
    public void IssuerCertificateId_NamingAnUploadedCertificate_IsThatCertificatesThumbprint()
    {
        Assert.True(IssuedBy("issuer", Resources(certificates: new() { ["issuer"] = Served("issuer", _ca) })));
        Assert.False(IssuedBy("issuer", Resources(certificates: new() { ["issuer"] = Served("issuer", _otherCa) })));
    }

    [Fact]
    public void IssuerCertificateId_NamingOnlyACaCertificate_IsThatCaCertificatesThumbprint()
    {
        Assert.True(IssuedBy("issuer", Resources(caThumbprints: new() { ["issuer"] = _ca.Thumbprint })));
        Assert.False(IssuedBy("issuer", Resources(caThumbprints: new() { ["issuer"] = _otherCa.Thumbprint })));
        Assert.False(IssuedBy("missing", Resources(caThumbprints: new() { ["issuer"] = _ca.Thumbprint })));
    }

    [Fact]
    public void IssuerCertificateId_NamingBothACertificateAndACaCertificate_IsTheCertificate()
    {
        Assert.True(IssuedBy("issuer", Resources(
            certificates: new() { ["issuer"] = Served("issuer", _ca) },
            caThumbprints: new() { ["issuer"] = _otherCa.Thumbprint })));
        Assert.False(IssuedBy("issuer", Resources(
            certificates: new() { ["issuer"] = Served("issuer", _otherCa) },
            caThumbprints: new() { ["issuer"] = _ca.Thumbprint })));
    }

    [Fact]
    public void ValuesWithoutAComparisonForm_MakeTheIdentityMatchNothing_TwoOfThemAsOne()
    {
        var one = new CertificateIdentity(1, 1) { SerialNumber = "not hex" };
        var two = one with { DnsName = "not a name!" };
        var three = two with { SanIp = "999.1.1.1" };

        Assert.False(new IdentityMatcher(one, null, null).Matches(_facts));
        Assert.False(new IdentityMatcher(two, null, null).Matches(_facts));
        Assert.False(new IdentityMatcher(three, null, null).Matches(_facts));
        // The usable values alone would match: it is the unusable ones that refuse.
        Assert.True(new IdentityMatcher(new CertificateIdentity(1, 1) { DnsName = "device-1.contoso.example", CommonName = "device-1" }, null, null).Matches(_facts));
        Assert.False(new IdentityMatcher(new CertificateIdentity(1, 1) { DnsName = "device-1.contoso.example", CommonName = "device-1", SerialNumber = "xyz", SanEmail = "no-at-sign" }, null, null).Matches(_facts));
    }
}
