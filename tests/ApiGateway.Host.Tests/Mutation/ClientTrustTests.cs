using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The trust of one revision for client certificates, as Verify() and validate-trust use it (RFC 5280 6: a path to
/// a trust anchor; validity periods judged separately when asked to ignore time): a certificate issued by an
/// uploaded root is trusted, one issued by an uploaded intermediate needs that intermediate's root, a stranger is not,
/// an expired one is trusted only when time is ignored, and the chain is never looked for in the network.
/// </summary>
public sealed class ClientTrustTests : IDisposable
{
    private readonly X509Certificate2 _root = TestCertificates.CreateCa("CN=Trust Root");
    private readonly X509Certificate2 _intermediate;
    private readonly X509Certificate2 _fromRoot;
    private readonly X509Certificate2 _fromIntermediate;
    private readonly X509Certificate2 _expired;

    public ClientTrustTests()
    {
        _intermediate = Intermediate(_root, "CN=Trust Intermediate");
        _fromRoot = TestCertificates.Create("CN=from-root", _root, clientAuth: true);
        _fromIntermediate = TestCertificates.Create("CN=from-intermediate", _intermediate, clientAuth: true);
        _expired = TestCertificates.Create("CN=expired", _root, clientAuth: true, notBefore: DateTimeOffset.UtcNow.AddDays(-10), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
    }

    public void Dispose()
    {
        foreach (var c in new[] { _root, _intermediate, _fromRoot, _fromIntermediate, _expired })
            c.Dispose();
    }

    private static X509Certificate2 Intermediate(X509Certificate2 issuer, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var signed = request.Create(issuer, issuer.NotBefore.AddMinutes(1), issuer.NotAfter.AddMinutes(-1), [5, 6, 7, 8]);
        return signed.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 Public(X509Certificate2 c) => X509CertificateLoader.LoadCertificate(c.RawData);

    private ClientTrust Trust(bool withIntermediate = true) =>
        new([Public(_root)], withIntermediate ? [Public(_intermediate)] : []);

    [Fact]
    public void ACertificateOfAnUploadedRoot_IsTrustedByTheUploadedCas()
    {
        var trust = Trust();

        Assert.Equal(X509ChainStatusFlags.NoError, trust.Build(_fromRoot, null, systemTrust: false, checkRevocation: false));
        var verification = trust.VerificationOf(_fromRoot);
        Assert.Same(verification, trust.VerificationOf(_fromRoot));
        Assert.True(verification.IsTrusted(ignoreTime: false, out var system, out var failure));
        Assert.False(system);
        Assert.Equal(X509ChainStatusFlags.NoError, failure);
        Assert.True(verification.Verify(checkRevocation: false));
        Assert.Throws<ArgumentNullException>(() => trust.VerificationOf(null!));
    }

    [Fact]
    public void AnUploadedIntermediate_CompletesTheChain_AndWithoutItTheChainIsPartial()
    {
        Assert.Equal(X509ChainStatusFlags.NoError, Trust().Build(_fromIntermediate, null, systemTrust: false, checkRevocation: false));

        var without = Trust(withIntermediate: false);
        var status = without.Build(_fromIntermediate, null, systemTrust: false, checkRevocation: false);
        Assert.NotEqual(X509ChainStatusFlags.NoError, status);
        // The intermediate the client sent (the handshake's extra certificates) completes it as well.
        Assert.Equal(X509ChainStatusFlags.NoError, without.Build(_fromIntermediate, [Public(_intermediate)], systemTrust: false, checkRevocation: false));
        Assert.False(without.VerificationOf(_fromIntermediate).IsTrusted(ignoreTime: true, out _, out var failure));
        Assert.NotEqual(X509ChainStatusFlags.NoError, failure);
    }

    [Fact]
    public void AStranger_IsTrustedNeitherByTheUploadedCasNorByTheSystemRoots()
    {
        using var otherRoot = TestCertificates.CreateCa("CN=Other Root");
        using var stranger = TestCertificates.Create("CN=stranger", otherRoot, clientAuth: true);
        var trust = Trust();

        var verification = trust.VerificationOf(stranger);
        Assert.False(verification.IsTrusted(ignoreTime: true, out var system, out var failure));
        Assert.False(system);
        Assert.NotEqual(X509ChainStatusFlags.NoError, failure);
        Assert.NotEqual(X509ChainStatusFlags.NoError, verification.SystemStatus);
        Assert.False(verification.Verify(checkRevocation: false));
        // Against the system roots the uploaded roots are not anchors.
        Assert.NotEqual(X509ChainStatusFlags.NoError, trust.Build(_fromRoot, null, systemTrust: true, checkRevocation: false));
    }

    [Fact]
    public void AnExpiredCertificate_IsTrustedOnlyWhenTimeIsIgnored()
    {
        var verification = Trust().VerificationOf(_expired);

        // The chain reports the validity period (NotTimeValid): validate-trust ignores it, Verify() does not.
        Assert.True(verification.IsTrusted(ignoreTime: true, out _, out var ignored));
        Assert.Equal(X509ChainStatusFlags.NoError, ignored);
        Assert.False(verification.Verify(checkRevocation: false));
    }

    [Fact]
    public void AHandshakeStatus_IsTakenAsTheChainAgainstTheUploadedCas()
    {
        var trust = Trust();

        var seeded = new CertificateVerification(trust, _fromRoot, X509ChainStatusFlags.NotSignatureValid, null);
        Assert.Equal(X509ChainStatusFlags.NotSignatureValid, seeded.CustomStatus);
        // A broken signature is no unknown root: there is no second try against the system roots.
        Assert.False(seeded.IsTrusted(ignoreTime: true, out var system, out var failure));
        Assert.False(system);
        Assert.Equal(X509ChainStatusFlags.NotSignatureValid, failure);

        var timeOnly = new CertificateVerification(trust, _fromRoot, X509ChainStatusFlags.NotTimeValid, null);
        Assert.True(timeOnly.IsTrusted(ignoreTime: true, out _, out _));
        Assert.False(timeOnly.IsTrusted(ignoreTime: false, out _, out var timeFailure));
        Assert.Equal(X509ChainStatusFlags.NotTimeValid, timeFailure);

        var unknown = new CertificateVerification(trust, _fromRoot, null, null);
        Assert.Equal(X509ChainStatusFlags.NoError, unknown.CustomStatus);
    }

    [Fact]
    public void TheSystemStatus_IsBuiltOncePerCertificate_UnlessTheClientSentIntermediates()
    {
        var trust = Trust();

        var first = trust.SystemStatusOf(_fromRoot, null);
        Assert.Equal(first, trust.SystemStatusOf(_fromRoot, null));
        Assert.Equal(first, trust.SystemStatusOf(_fromRoot, []));
        Assert.NotEqual(X509ChainStatusFlags.NoError, first);
    }

    [Fact]
    public void Revocation_WithoutAReachableCrl_IsUnknown_AndVerifyWithRevocationFails()
    {
        var verification = Trust().VerificationOf(_fromRoot);

        var flags = verification.RevocationStatus(system: false);
        Assert.NotEqual(X509ChainStatusFlags.NoError, flags);
        Assert.Equal(X509ChainStatusFlags.NoError, flags & ~CertificateVerification.RevocationFlags);
        Assert.False(verification.Verify(checkRevocation: true));
        Assert.True(verification.Verify(checkRevocation: false));
    }
}
