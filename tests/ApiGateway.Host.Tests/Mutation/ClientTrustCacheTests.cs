using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// What one revision's <see cref="ClientTrust"/> keeps and against what it builds: the handshake facts of at most
/// <see cref="ClientTrust.FactsCapacity"/> certificates (a full cache starts over, so new certificates cannot grow
/// it), the system-trust status built once per certificate unless the client sent intermediates, the system roots
/// as the second chance of validate-trust and Verify() (RFC 5280 6.1: a path to a trust anchor), and the handshake's
/// policy (uploaded roots as the only anchors, uploaded intermediates to complete chains, no downloads).
/// </summary>
public sealed class ClientTrustCacheTests : IDisposable
{
    private readonly X509Certificate2 _root = TestCertificates.CreateCa($"CN=Cache Root {Guid.NewGuid():N}");
    private readonly X509Certificate2 _intermediate;
    private readonly X509Certificate2 _fromRoot;
    private readonly X509Certificate2 _fromIntermediate;

    public ClientTrustCacheTests()
    {
        _intermediate = TestCertificates.CreateIntermediate($"CN=Cache Intermediate {Guid.NewGuid():N}", _root);
        _fromRoot = TestCertificates.Create("CN=from-root", _root, clientAuth: true);
        _fromIntermediate = TestCertificates.Create("CN=from-intermediate", _intermediate, clientAuth: true);
    }

    public void Dispose()
    {
        foreach (var c in new[] { _root, _intermediate, _fromRoot, _fromIntermediate })
            c.Dispose();
    }

    private static X509Certificate2 Public(X509Certificate2 c) => X509CertificateLoader.LoadCertificate(c.RawData);

    [Fact]
    public void TheFactsCache_HoldsFactsCapacityCertificates_AndWhenFull_StartsOverAndStillAnswers()
    {
        var trust = new ClientTrust([Public(_root)], []);

        // Each (certificate, issuer) pair is one entry: one certificate under FactsCapacity issuers fills the cache.
        var first = trust.FactsOf(_fromRoot, "issuer-0");
        for (var i = 1; i < ClientTrust.FactsCapacity; i++)
            trust.FactsOf(_fromRoot, $"issuer-{i}");
        var last = trust.FactsOf(_fromRoot, $"issuer-{ClientTrust.FactsCapacity - 1}");
        Assert.Same(first, trust.FactsOf(_fromRoot, "issuer-0"));
        Assert.Same(last, trust.FactsOf(_fromRoot, $"issuer-{ClientTrust.FactsCapacity - 1}"));

        // One more certificate: the full cache starts over, and the newcomer gets its own facts, which are kept.
        var beyond = trust.FactsOf(_fromRoot, "issuer-beyond");
        Assert.Equal("issuer-beyond", beyond.IssuerThumbprint);
        Assert.Equal(_fromRoot.Thumbprint, beyond.Thumbprint);
        Assert.Equal("from-root", beyond.CommonName);
        Assert.Same(beyond, trust.FactsOf(_fromRoot, "issuer-beyond"));
        var again = trust.FactsOf(_fromRoot, "issuer-0");
        Assert.NotSame(first, again);
        Assert.Equal("issuer-0", again.IssuerThumbprint);
        Assert.Equal(_fromRoot.Thumbprint, again.Thumbprint);
    }

    [Fact]
    public void TheSystemStatus_IsBuiltOnceAgainstTheSystemRoots_AndAgainWhenTheClientSentIntermediates()
    {
        // The gateway never changes a trust set's collections; changing one here tells whether a status is built again.
        var intermediates = new X509Certificate2Collection();
        var trust = new ClientTrust([Public(_root)], intermediates);

        // Without the intermediate the chain stops at the certificate.
        Assert.Equal(X509ChainStatusFlags.PartialChain, trust.SystemStatusOf(_fromIntermediate, null));
        intermediates.Add(Public(_intermediate));
        Assert.Equal(X509ChainStatusFlags.PartialChain, trust.SystemStatusOf(_fromIntermediate, null));
        // An empty list is no intermediates sent: the status built before is the answer.
        Assert.Equal(X509ChainStatusFlags.PartialChain, trust.SystemStatusOf(_fromIntermediate, []));
        // Intermediates the client sent change the chain: built again, and against the system roots, where the
        // uploaded root is no anchor (the chain reaches it, untrusted).
        Assert.Equal(X509ChainStatusFlags.UntrustedRoot, trust.SystemStatusOf(_fromIntermediate, [Public(_intermediate)]));
        Assert.Equal(X509ChainStatusFlags.UntrustedRoot, trust.SystemStatusOf(_fromRoot, null));
        Assert.Equal(X509ChainStatusFlags.UntrustedRoot, trust.SystemStatusOf(_fromRoot, [Public(_intermediate)]));
    }

    [Fact]
    public void TheSystemStatusCache_HoldsItsCapacity_AndWhenFull_StartsOverAndKeepsWhatItBuildsNext()
    {
        // As above, a status built again shows in the intermediates added or removed after it was first built.
        var intermediates = new X509Certificate2Collection();
        var trust = new ClientTrust([Public(_root)], intermediates, cacheCapacity: 2);
        using var second = TestCertificates.Create("CN=second-from-intermediate", _intermediate, clientAuth: true);

        Assert.Equal(X509ChainStatusFlags.PartialChain, trust.SystemStatusOf(_fromIntermediate, null));
        Assert.Equal(X509ChainStatusFlags.PartialChain, trust.SystemStatusOf(second, null));
        intermediates.Add(Public(_intermediate));
        // Full (two of two), and both statuses are still the cached ones.
        Assert.Equal(X509ChainStatusFlags.PartialChain, trust.SystemStatusOf(_fromIntermediate, null));
        Assert.Equal(X509ChainStatusFlags.PartialChain, trust.SystemStatusOf(second, null));

        // A third certificate: the cache starts over, so the first one's status is built again, now with the intermediate.
        Assert.Equal(X509ChainStatusFlags.UntrustedRoot, trust.SystemStatusOf(_fromRoot, null));
        Assert.Equal(X509ChainStatusFlags.UntrustedRoot, trust.SystemStatusOf(_fromIntermediate, null));
        // And what was built after the fresh start is kept: without the intermediate it would now be a partial chain.
        intermediates.Clear();
        Assert.Equal(X509ChainStatusFlags.UntrustedRoot, trust.SystemStatusOf(_fromIntermediate, null));
    }

    [Fact]
    public void ACertificateAnchoredInTheSystemRoots_IsTrusted_AndToldAsSystemTrust()
    {
        using var systemRoot = SystemRoot();
        var trust = new ClientTrust([Public(_root)], [Public(_intermediate)]);

        // Not under the uploaded CA certificates: the system roots are its anchor.
        Assert.Equal(X509ChainStatusFlags.UntrustedRoot, trust.Build(systemRoot, null, systemTrust: false, checkRevocation: false));
        Assert.Equal(X509ChainStatusFlags.NoError, trust.Build(systemRoot, null, systemTrust: true, checkRevocation: false));
        Assert.Equal(X509ChainStatusFlags.NoError, trust.SystemStatusOf(systemRoot, null));

        var verification = trust.VerificationOf(systemRoot);
        Assert.True(verification.IsTrusted(ignoreTime: false, out var system, out _));
        Assert.True(system);
        Assert.True(verification.IsTrusted(ignoreTime: true, out system, out _));
        Assert.True(system);
        Assert.True(verification.Verify(checkRevocation: false));
        // An uploaded root's certificate stays trusted by the uploaded CA certificates, not by the system.
        Assert.True(trust.VerificationOf(_fromRoot).IsTrusted(ignoreTime: false, out system, out _));
        Assert.False(system);
    }

    [Theory]
    [InlineData(X509ChainStatusFlags.UntrustedRoot)]
    [InlineData(X509ChainStatusFlags.PartialChain)]
    [InlineData(X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)]
    public void AnUnknownRootOrPartialChain_GetsTheSecondTryAgainstTheSystemRoots(X509ChainStatusFlags handshake)
    {
        using var systemRoot = SystemRoot();
        var trust = new ClientTrust([Public(_root)], []);
        var verification = new CertificateVerification(trust, systemRoot, handshake, null);

        Assert.True(verification.IsTrusted(ignoreTime: true, out var system, out _));
        Assert.True(system);
    }

    [Theory]
    [InlineData(X509ChainStatusFlags.NotSignatureValid)]
    [InlineData(X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.NotSignatureValid)]
    [InlineData(X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.InvalidBasicConstraints)]
    public void AnyOtherFailure_GetsNoSecondTry_EvenForASystemRoot(X509ChainStatusFlags handshake)
    {
        using var systemRoot = SystemRoot();
        var trust = new ClientTrust([Public(_root)], []);
        var verification = new CertificateVerification(trust, systemRoot, handshake, null);

        Assert.False(verification.IsTrusted(ignoreTime: true, out var system, out var failure));
        Assert.False(system);
        Assert.Equal(handshake, failure);
    }

    [Fact]
    public void TheHandshakePolicy_AnchorsInTheUploadedRoots_AndCompletesChainsWithTheUploadedIntermediates()
    {
        var trust = new ClientTrust([Public(_root)], [Public(_intermediate)]);

        var policy = trust.CreateHandshakePolicy();
        Assert.Equal(X509ChainTrustMode.CustomRootTrust, policy.TrustMode);
        Assert.Equal(X509RevocationMode.NoCheck, policy.RevocationMode);
        Assert.True(policy.DisableCertificateDownloads);
        using var chain = new X509Chain { ChainPolicy = policy };
        try
        {
            Assert.True(chain.Build(_fromIntermediate), string.Join(", ", chain.ChainStatus.Select(s => s.Status)));
            Assert.Equal(3, chain.ChainElements.Count);
        }
        finally
        {
            foreach (var element in chain.ChainElements)
                element.Certificate.Dispose();
        }
        // A new policy each time: SslStream adds the client's certificates to its ExtraStore.
        Assert.NotSame(policy, trust.CreateHandshakePolicy());
    }

    [Fact]
    public void VerificationOf_Null_IsRefusedNamingTheArgument()
    {
        var trust = new ClientTrust([Public(_root)], []);

        var ex = Assert.Throws<ArgumentNullException>(() => trust.VerificationOf(null!));
        Assert.Equal("certificate", ex.ParamName);
    }

    /// <summary>
    /// A root of the machine's store (ca-certificates), valid now and the only one with its name (two roots of one name
    /// leave it to the chain engine which it takes).
    /// </summary>
    private static X509Certificate2 SystemRoot()
    {
        using var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine);
        store.Open(OpenFlags.ReadOnly);
        var roots = store.Certificates;
        try
        {
            var now = DateTime.Now;
            var chosen = roots
                .GroupBy(c => c.Subject, StringComparer.Ordinal)
                .Where(g => g.Count() == 1)
                .Select(g => g.Single())
                .Where(c => c.NotBefore < now.AddDays(-1) && c.NotAfter > now.AddDays(30))
                .Where(c => c.SubjectName.RawData.AsSpan().SequenceEqual(c.IssuerName.RawData))
                .OrderBy(c => c.Thumbprint, StringComparer.Ordinal)
                .FirstOrDefault()
                ?? throw new Xunit.Sdk.XunitException("The machine's root store has no current root: apt-get install -y ca-certificates.");
            return X509CertificateLoader.LoadCertificate(chosen.RawData);
        }
        finally
        {
            foreach (var c in roots)
                c.Dispose();
        }
    }
}
