using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;
using ApiGateway.Host.Tls;
using Microsoft.Extensions.Logging.Abstractions;
using RevocationMode = ApiGateway.Core.Configuration.RevocationMode;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// Revocation as one revision's <see cref="ClientTrust"/> checks it (docs/gateway.md, "Revocation: CRL files and
/// modes"; RFC 5280 6.3): from the CRL folder every certificate of the path but the root is checked against its
/// issuer's CRL and a good answer lasts until the earliest nextUpdate; a path that does not reach a self-signed root is
/// not known; the CRL files are asked on every request, so a changed folder counts for kept connections too; Online
/// asks the CRL the certificate names, in the background, "unknown" until the fetch is done; Offline and NoCheck
/// download nothing. CRLs are made at test time (CertificateRevocationListBuilder); CRL servers are on loopback.
/// </summary>
public sealed class ClientTrustRevocationTests : IDisposable
{
    private const X509ChainStatusFlags Unknown = X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation;

    private readonly X509Certificate2 _root = TestCertificates.CreateCa($"CN=Revocation Root {Guid.NewGuid():N}");
    private readonly X509Certificate2 _intermediate;
    private readonly X509Certificate2 _fromRoot;
    private readonly X509Certificate2 _fromIntermediate;
    private readonly TempFolder _folder = new();

    public ClientTrustRevocationTests()
    {
        _intermediate = TestCertificates.CreateIntermediate($"CN=Revocation Intermediate {Guid.NewGuid():N}", _root);
        _fromRoot = TestCertificates.Create("CN=from-root", _root, clientAuth: true);
        _fromIntermediate = TestCertificates.Create("CN=from-intermediate", _intermediate, clientAuth: true);
    }

    public void Dispose()
    {
        foreach (var c in new[] { _root, _intermediate, _fromRoot, _fromIntermediate })
            c.Dispose();
        _folder.Dispose();
    }

    private static X509Certificate2 Public(X509Certificate2 c) => X509CertificateLoader.LoadCertificate(c.RawData);

    /// <summary>Now, to the second (a CRL's times are encoded to the second).</summary>
    private static DateTimeOffset Now => DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    private static byte[] Crl(X509Certificate2 ca, DateTimeOffset nextUpdate, int number = 1, params X509Certificate2[] revoked)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var certificate in revoked)
            builder.AddEntry(certificate, DateTimeOffset.UtcNow.AddMinutes(-10), X509RevocationReason.KeyCompromise);
        return builder.Build(ca, number, nextUpdate, HashAlgorithmName.SHA256, thisUpdate: DateTimeOffset.UtcNow.AddMinutes(-5 + number));
    }

    /// <summary>Writes a CRL as an operator's tool should: a finished file renamed into place.</summary>
    private void Publish(string name, byte[] crl)
    {
        var temporary = _folder.File("." + name + ".tmp");
        File.WriteAllBytes(temporary, crl);
        File.Move(temporary, _folder.File(name), overwrite: true);
    }

    private CrlStore Store() => new(_folder.Path, NullLogger.Instance);

    [Fact]
    public void FromFiles_WithoutACrlFolder_IsRefused()
    {
        var trust = new ClientTrust([Public(_root)], []);

        var ex = Assert.Throws<InvalidOperationException>(() => trust.FromFiles(_fromRoot, null, systemTrust: false));
        Assert.Equal("No CRL folder is configured.", ex.Message);
    }

    [Theory]
    [InlineData(2, 5)]
    [InlineData(5, 2)]
    [InlineData(3, 3)]
    public void FromFiles_AGoodPath_LastsUntilTheEarliestNextUpdateOfItsCrls(int leafCrlDays, int intermediateCrlDays)
    {
        var now = Now;
        Publish("intermediate.crl", Crl(_intermediate, now.AddDays(leafCrlDays)));
        Publish("root.crl", Crl(_root, now.AddDays(intermediateCrlDays)));
        using var store = Store();
        var trust = new ClientTrust([Public(_root)], [Public(_intermediate)], RevocationMode.Offline, store);

        var answer = trust.FromFiles(_fromIntermediate, null, systemTrust: false);

        Assert.Equal(X509ChainStatusFlags.NoError, answer.Flags);
        Assert.Null(answer.Problem);
        Assert.Equal(now.AddDays(Math.Min(leafCrlDays, intermediateCrlDays)), answer.ValidUntil);
    }

    [Fact]
    public void FromFiles_APathThatStopsShortOfASelfSignedRoot_IsNotKnown_NamingWhereItEnds()
    {
        // The leaf's CRL is there and good, but the intermediate's issuer is not known: its CRL cannot be checked.
        Publish("intermediate.crl", Crl(_intermediate, Now.AddDays(7)));
        using var store = Store();
        var trust = new ClientTrust([], [Public(_intermediate)], RevocationMode.Offline, store);

        var answer = trust.FromFiles(_fromIntermediate, null, systemTrust: false);

        Assert.Equal(Unknown, answer.Flags);
        Assert.Null(answer.ValidUntil);
        Assert.Equal($"its chain ends at '{_intermediate.Subject}', whose issuer is not known, so its CRL cannot be checked", answer.Problem);
    }

    [Fact]
    public void Offline_TheCrlFilesAreAskedOnEveryCall_SoAReplacedCrlCountsForAKeptVerification()
    {
        Publish("root.crl", Crl(_root, Now.AddDays(7)));
        using var store = Store();
        var trust = new ClientTrust([Public(_root)], [], RevocationMode.Offline, store);
        var verification = trust.VerificationOf(_fromRoot);

        Assert.Equal(X509ChainStatusFlags.NoError, verification.RevocationStatus(system: false));
        Assert.Null(verification.RevocationProblem);

        // The CA revokes it: the new CRL replaces the file, the same verification (a kept connection's) sees it.
        Publish("root.crl", Crl(_root, Now.AddDays(7), 2, _fromRoot));
        store.Refresh();
        Assert.Equal(X509ChainStatusFlags.Revoked, verification.RevocationStatus(system: false));
        Assert.Equal($"it is listed in the CRL of '{_root.Subject}' ('root.crl')", verification.RevocationProblem);
        Assert.Equal(0, trust.Revocation.OnlineFetches);
    }

    [Fact]
    public async Task Online_AGoodAnswerOfTheCrlFiles_IsNotKeptForTheConnection_OnceTheFilesStopVouching()
    {
        // The requests of an API that checks revocation prefetch first; the files say good.
        Publish("root.crl", Crl(_root, Now.AddDays(7)));
        using var store = Store();
        var trust = new ClientTrust([Public(_root)], [], RevocationMode.Online, store);
        var verification = trust.VerificationOf(_fromRoot);
        await verification.PrefetchRevocationAsync();
        Assert.Equal(X509ChainStatusFlags.NoError, verification.RevocationStatus(system: false));

        // The CRL leaves the folder (as when it goes stale): "each new set of files drops the revocation answers
        // cached from the previous one, for kept-alive connections too". No CRL server knows this certificate either.
        File.Delete(_folder.File("root.crl"));
        store.Refresh();
        Assert.Equal(Unknown, verification.RevocationStatus(system: false));
        Assert.Equal($"no CRL of its issuer '{_root.Subject}' is in the CRL folder '{_folder.Path}'", verification.RevocationProblem);
        await verification.PrefetchRevocationAsync();
        Assert.Equal(Unknown, verification.RevocationStatus(system: false));
    }

    [Fact]
    public async Task Build_ChecksRevocationOnlineOnlyWhenAsked_AndOfflineDownloadsNothing()
    {
        await using var server = LoopbackCrlServer.Start();
        using var revoked = server.Issue(_root, "CN=revoked");
        server.Publish(_root, revoked);
        var trust = new ClientTrust([Public(_root)], []);

        // Offline reads only the CRLs cached locally: none yet, and nothing is fetched.
        Assert.Equal(Unknown, trust.Build(revoked, null, systemTrust: false, X509RevocationMode.Offline));
        Assert.Equal(X509ChainStatusFlags.NoError, trust.Build(revoked, null, systemTrust: false, checkRevocation: false));
        Assert.Equal(0, server.Requests);

        // Online downloads the CRL the certificate names, which lists it.
        Assert.Equal(X509ChainStatusFlags.Revoked, trust.Build(revoked, null, systemTrust: false, checkRevocation: true) & CertificateVerification.RevocationFlags);
        Assert.Equal(1, server.Requests);
    }

    [Theory]
    [InlineData(X509RevocationMode.NoCheck)]
    [InlineData(X509RevocationMode.Offline)]
    public async Task Build_WithoutOnlineRevocation_DownloadsNoMissingIssuer(X509RevocationMode mode)
    {
        // The certificate names where its issuer (not uploaded) can be downloaded: only an online check may go there.
        await using var server = LoopbackCrlServer.Start();
        using var client = server.IssueWithCaIssuers(_intermediate, "CN=aia");
        server.PublishIssuer(_intermediate);
        var trust = new ClientTrust([Public(_root)], []);

        Assert.Equal(X509ChainStatusFlags.PartialChain, trust.Build(client, null, systemTrust: false, mode) & ~CertificateVerification.RevocationFlags);
        Assert.Equal(0, server.Requests);
    }

    [Fact]
    public async Task Online_WhenTheFilesDoNotKnowButALocallyCachedCrlSaysGood_ItIsGood_WithNoProblemToTell()
    {
        await using var server = LoopbackCrlServer.Start();
        using var good = server.Issue(_root, "CN=good");
        server.Publish(_root);
        using var store = Store(); // no CRL of the root in the folder
        var trust = new ClientTrust([Public(_root)], [], RevocationMode.Online, store);
        // An earlier online check left the CRL in .NET's local cache.
        Assert.Equal(X509ChainStatusFlags.NoError, trust.Build(good, null, systemTrust: false, X509RevocationMode.Online));
        Assert.Equal(1, server.Requests);

        var verification = trust.VerificationOf(good);

        Assert.Equal(X509ChainStatusFlags.NoError, verification.RevocationStatus(system: false));
        Assert.Null(verification.RevocationProblem);
        Assert.Equal(0, trust.Revocation.OnlineFetches);
    }

    [Fact]
    public async Task Online_WhileTheFetchRuns_TheStatusIsUnknown_AndThePrefetchAwaitsTheOnlineAnswer()
    {
        await using var server = LoopbackCrlServer.Start(held: true);
        using var good = server.Issue(_root, "CN=good");
        server.Publish(_root);
        var trust = new ClientTrust([Public(_root)], []);
        var verification = trust.VerificationOf(good);

        // Not in any local cache: the online fetch starts in the background and this call does not wait for it.
        Assert.Equal(Unknown, verification.RevocationStatus(system: false));
        Assert.Equal(1, trust.Revocation.OnlineFetches);

        server.Release();
        await verification.PrefetchRevocationAsync();
        Assert.Equal(X509ChainStatusFlags.NoError, verification.RevocationStatus(system: false));
        Assert.Equal(1, trust.Revocation.OnlineFetches);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task NoCheck_ThePrefetchFetchesNothing_AndTheStatusIsGood()
    {
        await using var server = LoopbackCrlServer.Start();
        using var unchecked_ = server.Issue(_root, "CN=unchecked");
        server.Publish(_root, unchecked_);
        var trust = new ClientTrust([Public(_root)], [], RevocationMode.NoCheck);
        var verification = trust.VerificationOf(unchecked_);

        await verification.PrefetchRevocationAsync();

        Assert.Equal(0, trust.Revocation.OnlineFetches);
        Assert.Equal(X509ChainStatusFlags.NoError, verification.RevocationStatus(system: false));
        Assert.True(verification.Verify(checkRevocation: true));
        Assert.Equal(0, server.Requests);
    }
}
