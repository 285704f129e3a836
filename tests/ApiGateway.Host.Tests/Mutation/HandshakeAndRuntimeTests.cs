using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Context;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The strict handshake's decision (RFC 5280 4.2.1.12: no extendedKeyUsage extension means any use; with one,
/// id-kp-clientAuth or anyExtendedKeyUsage must be listed) and the conversions the expression compiler substitutes,
/// pinned where the first Stryker run found nothing that failed (tests/MUTATION.md).
/// </summary>
public sealed class HandshakeAndRuntimeTests
{
    [Fact]
    public void Strict_AnExpiredCertificateThatAlsoDoesNotChain_IsReportedAsNotChaining()
    {
        // Only a time problem alone is told as "expired": with an unknown root as well, the trust failure is the one to fix.
        var evidence = new ClientCertificateEvidence(true, X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.UntrustedRoot, true);

        Assert.False(HandshakeDecision.Accept(ClientCertificateNegotiation.Require, evidence, out var reason));
        Assert.Contains("does not chain to an uploaded CA certificate", reason, StringComparison.Ordinal);
        Assert.Contains("UntrustedRoot", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(X509ChainStatusFlags.NotTimeValid)]
    [InlineData(X509ChainStatusFlags.NotTimeNested)]
    [InlineData(X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested)]
    public void Strict_OnlyATimeProblem_IsReportedAsExpired(X509ChainStatusFlags status)
    {
        Assert.False(HandshakeDecision.Accept(ClientCertificateNegotiation.Require, new ClientCertificateEvidence(true, status, true), out var reason));
        Assert.Equal("the client certificate (or its issuer) is expired or not yet valid", reason);
    }

    [Theory]
    [InlineData(X509ChainStatusFlags.Revoked)]
    [InlineData(X509ChainStatusFlags.NotSignatureValid)]
    [InlineData(X509ChainStatusFlags.PartialChain)]
    public void Strict_AnyOtherChainProblem_FailsTheHandshake(X509ChainStatusFlags status)
    {
        Assert.False(HandshakeDecision.Accept(ClientCertificateNegotiation.Require, new ClientCertificateEvidence(true, status, true), out var reason));
        Assert.StartsWith("the client certificate does not chain to an uploaded CA certificate", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NotStrict_GivesNoReason()
    {
        Assert.True(HandshakeDecision.Accept(ClientCertificateNegotiation.Negotiate, new ClientCertificateEvidence(false, X509ChainStatusFlags.NoError, false), out var reason));
        Assert.Null(reason);
    }

    [Fact]
    public void Evaluate_OfACertificate_RecordsItsStatusAndWhetherItIsForClients()
    {
        using var client = TestCertificates.Create("CN=c", clientAuth: true);
        using var server = TestCertificates.Create("CN=s", serverAuth: true);

        var evidence = HandshakeDecision.Evaluate(client, X509ChainStatusFlags.UntrustedRoot);
        Assert.True(evidence.Presented);
        Assert.True(evidence.ClientAuthentication);
        Assert.Equal(X509ChainStatusFlags.UntrustedRoot, evidence.ChainStatus);
        Assert.False(HandshakeDecision.Evaluate(server, X509ChainStatusFlags.NoError).ClientAuthentication);
        var none = HandshakeDecision.Evaluate(null, X509ChainStatusFlags.PartialChain);
        Assert.False(none.ClientAuthentication);
        Assert.Equal(X509ChainStatusFlags.PartialChain, none.ChainStatus);
    }

    [Fact]
    public void ExtendedKeyUsage_AnyExtendedKeyUsage_AllowsClientAuthentication_AndAnEmptyListAllowsNothing()
    {
        Assert.True(HandshakeDecision.AllowsClientAuthentication(WithUsages("2.5.29.37.0")));
        Assert.True(HandshakeDecision.AllowsClientAuthentication(WithUsages("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2")));
        Assert.False(HandshakeDecision.AllowsClientAuthentication(WithUsages("1.3.6.1.5.5.7.3.4")));
        Assert.False(HandshakeDecision.AllowsClientAuthentication(WithUsages()));
        Assert.Throws<ArgumentNullException>(() => HandshakeDecision.AllowsClientAuthentication(null!));
    }

    private static X509Certificate2 WithUsages(params string[] oids)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=eku", key, HashAlgorithmName.SHA256);
        var usages = new OidCollection();
        foreach (var oid in oids)
            usages.Add(new Oid(oid));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    [Fact]
    public void DnEquals_NullIsEqualOnlyToNull()
    {
        Assert.True(ExpressionRuntime.DnEquals((string?)null, (string?)null));
        Assert.False(ExpressionRuntime.DnEquals((string?)null, "CN=a"));
        Assert.False(ExpressionRuntime.DnEquals("CN=a", (string?)null));
        Assert.True(ExpressionRuntime.DnEquals("CN=a, O=b", "cn=a,o=b"));
        Assert.False(ExpressionRuntime.DnEquals("CN=a, O=b", "CN=a, O=c"));
        Assert.True(ExpressionRuntime.DnEquals(new X500DistinguishedName("CN=a, O=b"), "CN=a,O=b"));
        Assert.True(ExpressionRuntime.DnEquals("CN=a,O=b", new X500DistinguishedName("CN=a, O=b")));
        Assert.False(ExpressionRuntime.DnEquals((X500DistinguishedName?)null, "CN=a"));
        Assert.False(ExpressionRuntime.DnEquals("CN=a", (X500DistinguishedName?)null));
    }

    [Fact]
    public void Thumbprint_IsTheCertificatesOwn_ForEachCertificate()
    {
        using var a = TestCertificates.Create("CN=a");
        using var b = TestCertificates.Create("CN=b");
        using var deployment = new DeploymentCertificate(a);

        Assert.Equal(a.Thumbprint, ExpressionRuntime.Thumbprint(a));
        Assert.Equal(b.Thumbprint, ExpressionRuntime.Thumbprint(b));
        Assert.Equal(a.Thumbprint, ExpressionRuntime.Thumbprint(a));
        Assert.Equal(a.Thumbprint, ExpressionRuntime.Thumbprint(deployment));
        Assert.Equal(a.Thumbprint, deployment.KnownThumbprint);
        Assert.Throws<NullReferenceException>(() => ExpressionRuntime.Thumbprint(null!));
    }

    [Fact]
    public void ThumbprintIn_IsFalseForAnEmptySetAndForNull_AndIgnoresCase()
    {
        using var a = TestCertificates.Create("CN=a");
        var certificates = new CertificateDictionary([new("a", a)]);
        var asked = 0;

        Assert.True(ExpressionRuntime.ThumbprintIn(certificates, a.Thumbprint.ToLowerInvariant(), s => s));
        Assert.False(ExpressionRuntime.ThumbprintIn(certificates, (string?)null, s => s));
        Assert.False(ExpressionRuntime.ThumbprintIn(CertificateDictionary.Empty, a.Thumbprint, s => { asked++; return s; }));
        Assert.Equal(0, asked); // without certificates the request's thumbprint is not even looked up
        Assert.Throws<ArgumentNullException>(() => ExpressionRuntime.ThumbprintIn(null!, "x", s => s));
        Assert.Throws<ArgumentNullException>(() => ExpressionRuntime.ThumbprintIn<string>(certificates, "x", null!));
    }

    [Fact]
    public void Conversions_AreInvariant_AndStatusCodesAreDigitsOnly()
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal("1.5", ExpressionRuntime.ToText(1.5));
            Assert.Equal("x", ExpressionRuntime.ToText<object>(new Marker()));
            Assert.Null(ExpressionRuntime.ToText<object?>(null));
            Assert.Null(ExpressionRuntime.ToText((string?)null));
            Assert.Equal("a", ExpressionRuntime.ToText("a"));
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
        Assert.Equal(403, ExpressionRuntime.ToStatusCode(403));
        Assert.Equal(403, ExpressionRuntime.ToStatusCode("403"));
        Assert.Equal(403, ExpressionRuntime.ToStatusCode(403L));
        Assert.Throws<FormatException>(() => ExpressionRuntime.ToStatusCode(" 403"));
        Assert.Throws<FormatException>(() => ExpressionRuntime.ToStatusCode("-1"));
        Assert.Throws<FormatException>(() => ExpressionRuntime.ToStatusCode((string?)null));
    }

    [Fact]
    public void VerifyHelpers_RequireAContext_AndAnswerNullForNoCertificate()
    {
        var context = new PolicyContext();
        Assert.Null(ExpressionRuntime.VerifyOrNull(context, null));
        Assert.Null(ExpressionRuntime.VerifyNoRevocationOrNull(context, null));
        using var a = TestCertificates.Create("CN=a");
        Assert.Throws<ArgumentNullException>(() => ExpressionRuntime.Verify(null!, a));
        Assert.Throws<ArgumentNullException>(() => ExpressionRuntime.VerifyNoRevocation(null!, a));
        Assert.Throws<ArgumentNullException>(() => context.VerifyCertificate(null!, checkRevocation: false));
        Assert.Throws<InvalidOperationException>(() => a.VerifyNoRevocation());
    }

    private sealed class Marker
    {
        public override string ToString() => "x";
    }
}
