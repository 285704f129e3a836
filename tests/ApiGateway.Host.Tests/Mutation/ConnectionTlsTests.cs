using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The handshake's validation callback of one connection, called as SslStream calls it (the certificate, the chain
/// SslStream built with the hostname's handshake policy, its errors): what it records about the client certificate
/// (chain status, issuer, the intermediates the client sent) and what it answers in each mode. A strict hostname
/// accepts only a certificate that chains to an uploaded CA and is for client authentication (RFC 5280 4.2.1.12).
/// </summary>
public sealed class ConnectionTlsTests : IDisposable
{
    private readonly X509Certificate2 _root = TestCertificates.CreateCa("CN=Connection Root");
    private readonly X509Certificate2 _intermediate;
    private readonly X509Certificate2 _leaf;
    private readonly ClientTrust _trust;

    public ConnectionTlsTests()
    {
        _intermediate = CreateIntermediate(_root, "CN=Connection Intermediate");
        _leaf = TestCertificates.Create("CN=client, O=Contoso", _intermediate, clientAuth: true);
        _trust = new ClientTrust([X509CertificateLoader.LoadCertificate(_root.RawData)], []);
    }

    public void Dispose()
    {
        _leaf.Dispose();
        _intermediate.Dispose();
        _root.Dispose();
    }

    private static X509Certificate2 CreateIntermediate(X509Certificate2 issuer, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var signed = request.Create(issuer, issuer.NotBefore.AddMinutes(1), issuer.NotAfter.AddMinutes(-1), [1, 2, 3, 4]);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>The chain SslStream builds: the trust's handshake policy, plus the intermediate the client sent.</summary>
    private X509Chain HandshakeChain(X509Certificate2 certificate, bool clientSendsIntermediate = true)
    {
        var chain = new X509Chain { ChainPolicy = _trust.CreateHandshakePolicy() };
        if (clientSendsIntermediate)
            chain.ChainPolicy.ExtraStore.Add(X509CertificateLoader.LoadCertificate(_intermediate.RawData));
        chain.Build(certificate);
        return chain;
    }

    [Fact]
    public void HandshakePolicy_TrustsOnlyTheUploadedRoots_WithoutNetworkOrRevocation()
    {
        var policy = _trust.CreateHandshakePolicy();

        Assert.Equal(X509ChainTrustMode.CustomRootTrust, policy.TrustMode);
        Assert.Equal(X509RevocationMode.NoCheck, policy.RevocationMode);
        Assert.True(policy.DisableCertificateDownloads);
        Assert.True(policy.VerificationTimeIgnored);
        Assert.Equal([_root.Thumbprint], policy.CustomTrustStore.Select(c => c.Thumbprint));
        Assert.NotSame(policy, _trust.CreateHandshakePolicy());
    }

    [Fact]
    public void Strict_ATrustedClientCertificate_IsAccepted_AndItsChainIsRemembered()
    {
        var tls = new ConnectionTls(ClientCertificateNegotiation.Require, _trust, "api.contoso.example");
        using var chain = HandshakeChain(_leaf);

        Assert.True(tls.Validate(this, _leaf, chain, SslPolicyErrors.None));

        Assert.Same(_leaf, tls.Certificate);
        Assert.Equal(X509ChainStatusFlags.NoError, tls.HandshakeStatus);
        Assert.Equal(_intermediate.Thumbprint, tls.IssuerThumbprint);
        Assert.Null(tls.RejectReason);
        Assert.Equal("api.contoso.example", tls.HostName);
        Assert.Equal(ClientCertificateNegotiation.Require, tls.Mode);
        Assert.Same(_trust, tls.Trust);
        Assert.Equal(_intermediate.Thumbprint, tls.Facts.IssuerThumbprint);
        Assert.Same(tls.Facts, tls.Facts);

        var verification = tls.Verification!;
        Assert.Same(verification, tls.Verification);
        Assert.Equal(X509ChainStatusFlags.NoError, verification.CustomStatus);
        Assert.True(verification.IsTrusted(ignoreTime: false, out var system, out _));
        Assert.False(system);
        // The intermediate the client sent is kept for later builds: against the system roots the chain then reaches
        // the (there untrusted) root instead of stopping short at the leaf (the trust has no intermediates of its own).
        Assert.True(verification.SystemStatus.HasFlag(X509ChainStatusFlags.UntrustedRoot), verification.SystemStatus.ToString());
        Assert.False(verification.SystemStatus.HasFlag(X509ChainStatusFlags.PartialChain), verification.SystemStatus.ToString());
    }

    [Fact]
    public void Strict_WithoutTheClientsIntermediate_TheChainIsPartialAndTheHandshakeFails()
    {
        var tls = new ConnectionTls(ClientCertificateNegotiation.Require, _trust, "api.contoso.example");
        using var chain = HandshakeChain(_leaf, clientSendsIntermediate: false);

        Assert.False(tls.Validate(this, _leaf, chain, SslPolicyErrors.RemoteCertificateChainErrors));

        Assert.NotEqual(X509ChainStatusFlags.NoError, tls.HandshakeStatus);
        Assert.Null(tls.IssuerThumbprint);
        Assert.StartsWith("the client certificate does not chain to an uploaded CA certificate", tls.RejectReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Strict_NoCertificate_FailsTheHandshake()
    {
        var tls = new ConnectionTls(ClientCertificateNegotiation.Require, _trust, "api.contoso.example");

        Assert.False(tls.Validate(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));

        Assert.Null(tls.Certificate);
        Assert.Null(tls.Verification);
        Assert.Equal("the client presented no certificate", tls.RejectReason);
    }

    [Fact]
    public void Strict_ChainErrorsWithoutAChain_CountAsAPartialChain()
    {
        var tls = new ConnectionTls(ClientCertificateNegotiation.Require, _trust, "api.contoso.example");

        Assert.False(tls.Validate(this, _leaf, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.Equal(X509ChainStatusFlags.PartialChain, tls.HandshakeStatus);

        var noErrors = new ConnectionTls(ClientCertificateNegotiation.Require, _trust, "api.contoso.example");
        Assert.True(noErrors.Validate(this, _leaf, null, SslPolicyErrors.None));
        Assert.Equal(X509ChainStatusFlags.NoError, noErrors.HandshakeStatus);
    }

    [Fact]
    public void Strict_ATrustedServerCertificate_IsNotForClientAuthentication()
    {
        using var server = TestCertificates.Create("CN=server", _intermediate, serverAuth: true);
        var tls = new ConnectionTls(ClientCertificateNegotiation.Require, _trust, "api.contoso.example");
        using var chain = HandshakeChain(server);

        Assert.False(tls.Validate(this, server, chain, SslPolicyErrors.None));
        Assert.Contains("clientAuth", tls.RejectReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Negotiate_AcceptsAnUntrustedCertificate_AndRecordsWhyItIsNotTrusted()
    {
        using var otherCa = TestCertificates.CreateCa("CN=Other");
        using var stranger = TestCertificates.Create("CN=stranger", otherCa, serverAuth: true);
        var tls = new ConnectionTls(ClientCertificateNegotiation.Negotiate, _trust, "api.contoso.example");
        using var chain = HandshakeChain(stranger, clientSendsIntermediate: false);

        Assert.True(tls.Validate(this, stranger, chain, SslPolicyErrors.RemoteCertificateChainErrors));

        Assert.Null(tls.RejectReason);
        Assert.NotEqual(X509ChainStatusFlags.NoError, tls.HandshakeStatus);
        Assert.False(tls.Verification!.IsTrusted(ignoreTime: true, out _, out var failure));
        Assert.NotEqual(X509ChainStatusFlags.NoError, failure);
        Assert.True(new ConnectionTls(ClientCertificateNegotiation.Off, _trust, "x").Validate(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
    }

    [Fact]
    public void APlainX509Certificate_IsTakenAsTheSameCertificate()
    {
        var tls = new ConnectionTls(ClientCertificateNegotiation.Negotiate, _trust, "api.contoso.example");
#pragma warning disable SYSLIB0026, SYSLIB0057 // the base type SslStream may hand over
        using var plain = new X509Certificate(_leaf.RawData);
#pragma warning restore SYSLIB0026, SYSLIB0057

        Assert.True(tls.Validate(this, plain, null, SslPolicyErrors.None));
        Assert.Equal(_leaf.Thumbprint, tls.Certificate!.Thumbprint);
    }

    [Fact]
    public void IdentityAnswer_IsRememberedPerStep()
    {
        var tls = new ConnectionTls(ClientCertificateNegotiation.Negotiate, _trust, "api.contoso.example");
        object first = new(), second = new();

        Assert.Null(tls.IdentityMatchOf(first));
        tls.RememberIdentityMatch(first, true);
        Assert.True(tls.IdentityMatchOf(first));
        Assert.Null(tls.IdentityMatchOf(second));
        tls.RememberIdentityMatch(second, false);
        Assert.False(tls.IdentityMatchOf(second));
        Assert.Null(tls.IdentityMatchOf(first));
    }

    [Fact]
    public void Facts_AreWhatIdentitiesCompare()
    {
        using var named = TestCertificates.Create("CN=device-7, O=Contoso", _intermediate, clientAuth: true, dnsNames: ["device-7.contoso.example", "alt.contoso.example"]);

        var facts = new CertificateFacts(named, _intermediate.Thumbprint);

        Assert.Equal(named.Thumbprint, facts.Thumbprint);
        Assert.Equal(named.SerialNumber, facts.SerialNumber);
        Assert.Equal("device-7", facts.CommonName);
        Assert.Equal(named.Subject, facts.Subject);
        Assert.Equal(_intermediate.Subject, facts.Issuer);
        Assert.Equal(_intermediate.Thumbprint, facts.IssuerThumbprint);
        Assert.Equal(["device-7.contoso.example", "alt.contoso.example"], facts.Names.DnsNames);
        Assert.True(facts.ClientAuthentication);
        Assert.Same(_trust.FactsOf(named, null), _trust.FactsOf(named, null));
        Assert.NotSame(_trust.FactsOf(named, null), _trust.FactsOf(named, _intermediate.Thumbprint));
    }
}
