using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The revocation answers of one trust set, with the chain build given as the function the cache is built with
/// (what <see cref="ClientTrust"/> passes): a conclusive answer (good, or revoked: RFC 5280 6.3) is kept, an
/// inconclusive offline answer starts an online fetch, one per certificate and trust however many ask, at most
/// <see cref="RevocationCache.MaxConcurrentFetches"/> at once, and "unknown" when the fetch fails or too many wait.
/// </summary>
public sealed class RevocationCacheTests : IDisposable
{
    private const X509ChainStatusFlags Unknown = X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation;

    private readonly X509Certificate2 _certificate = TestCertificates.Create("CN=revocation");
    private readonly List<(X509RevocationMode Mode, bool System)> _builds = [];

    public void Dispose() => _certificate.Dispose();

    private RevocationCache Cache(Func<X509RevocationMode, X509ChainStatusFlags> answer) => new((certificate, extra, system, mode) =>
    {
        lock (_builds)
            _builds.Add((mode, system));
        return answer(mode);
    });

    private int Builds(X509RevocationMode mode)
    {
        lock (_builds)
            return _builds.Count(b => b.Mode == mode);
    }

    [Fact]
    public void AGoodOfflineAnswer_IsConclusive_AndKept()
    {
        // Flags other than revocation (here an untrusted root) are not the cache's business.
        var cache = Cache(_ => X509ChainStatusFlags.UntrustedRoot);

        Assert.True(cache.TryGet(_certificate, null, system: false, out var flags));
        Assert.Equal(X509ChainStatusFlags.NoError, flags);
        Assert.True(cache.TryGet(_certificate, null, system: false, out flags));
        Assert.Equal(X509ChainStatusFlags.NoError, flags);
        Assert.Equal(1, Builds(X509RevocationMode.Offline));
        Assert.Equal(0, cache.OnlineFetches);
    }

    [Fact]
    public void ARevokedOfflineAnswer_IsConclusive()
    {
        var cache = Cache(_ => X509ChainStatusFlags.Revoked | X509ChainStatusFlags.RevocationStatusUnknown);

        Assert.True(cache.TryGet(_certificate, null, system: true, out var flags));
        Assert.True(flags.HasFlag(X509ChainStatusFlags.Revoked));
        Assert.Equal((X509RevocationMode.Offline, true), _builds.Single());
    }

    [Fact]
    public void AnUnknownOfflineAnswer_IsNotAnAnswer_AndIsAskedAgain()
    {
        var cache = Cache(_ => Unknown);

        Assert.False(cache.TryGet(_certificate, null, system: false, out var flags));
        Assert.Equal(Unknown, flags);
        Assert.False(cache.TryGet(_certificate, null, system: false, out _));
        Assert.Equal(2, Builds(X509RevocationMode.Offline));
    }

    [Fact]
    public async Task TheOnlineFetch_RunsOncePerCertificate_AndItsAnswerIsKept()
    {
        using var release = new ManualResetEventSlim();
        var cache = Cache(mode =>
        {
            if (mode == X509RevocationMode.Online)
                release.Wait(TimeSpan.FromSeconds(30));
            return mode == X509RevocationMode.Online ? X509ChainStatusFlags.NoError : Unknown;
        });

        var first = cache.FetchAsync(_certificate, null, system: false);
        var second = cache.FetchAsync(_certificate, null, system: false);
        Assert.Same(first, second);
        release.Set();

        Assert.Equal(X509ChainStatusFlags.NoError, await first);
        Assert.Equal(1, cache.OnlineFetches);
        Assert.True(cache.TryGet(_certificate, null, system: false, out var flags));
        Assert.Equal(X509ChainStatusFlags.NoError, flags);
        Assert.Equal(0, Builds(X509RevocationMode.Offline));
        var third = cache.FetchAsync(_certificate, null, system: false);
        Assert.True(third.IsCompletedSuccessfully);
        Assert.Equal(X509ChainStatusFlags.NoError, await third);
        Assert.Equal(1, cache.OnlineFetches);

        // The other trust (system roots rather than the uploaded CAs) is another answer.
        Assert.Equal(X509ChainStatusFlags.NoError, await cache.FetchAsync(_certificate, null, system: true));
        Assert.Equal(2, cache.OnlineFetches);
    }

    [Fact]
    public async Task AnUnknownOnlineAnswer_IsKeptForAWhile_SoADeadCrlServerIsNotAskedPerRequest()
    {
        var cache = Cache(_ => X509ChainStatusFlags.RevocationStatusUnknown);

        Assert.Equal(X509ChainStatusFlags.RevocationStatusUnknown, await cache.FetchAsync(_certificate, null, system: false));
        Assert.Equal(X509ChainStatusFlags.RevocationStatusUnknown, await cache.FetchAsync(_certificate, null, system: false));
        Assert.Equal(1, cache.OnlineFetches);
        // Kept: a request in the next seconds gets the same "unknown" (and is refused) without another build.
        Assert.True(cache.TryGet(_certificate, null, system: false, out var flags));
        Assert.Equal(X509ChainStatusFlags.RevocationStatusUnknown, flags);
        Assert.True(RevocationCache.UnknownLifetime < RevocationCache.ConclusiveLifetime);
    }

    [Fact]
    public async Task AFetchThatFails_AnswersUnknown()
    {
        var cache = Cache(mode => mode == X509RevocationMode.Online ? throw new CryptographicException("no CRL") : Unknown);

        Assert.Equal(X509ChainStatusFlags.RevocationStatusUnknown, await cache.FetchAsync(_certificate, null, system: false));
        // Nothing is left pending: the next request starts a new fetch.
        Assert.Equal(X509ChainStatusFlags.RevocationStatusUnknown, await cache.FetchAsync(_certificate, null, system: false));
        Assert.Equal(2, cache.OnlineFetches);
    }

    [Fact]
    public async Task AtMostFourFetchesRunAtOnce_AndBeyondThePendingLimitTheAnswerIsUnknownAtOnce()
    {
        using var release = new ManualResetEventSlim();
        var running = 0;
        var most = 0;
        var cache = Cache(_ =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            release.Wait(TimeSpan.FromSeconds(60));
            Interlocked.Decrement(ref running);
            return X509ChainStatusFlags.NoError;
        });
        var certificates = Enumerable.Range(0, RevocationCache.MaxPendingFetches + 1).Select(i => Cheap(i)).ToList();
        try
        {
            var fetches = certificates.Take(RevocationCache.MaxPendingFetches).Select(c => cache.FetchAsync(c, null, system: false)).ToList();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Volatile.Read(ref running) < RevocationCache.MaxConcurrentFetches && DateTime.UtcNow < deadline)
                await Task.Delay(20);
            await Task.Delay(200);

            var beyond = cache.FetchAsync(certificates[^1], null, system: false);
            Assert.True(beyond.IsCompletedSuccessfully);
            Assert.Equal(Unknown, await beyond);
            Assert.Equal(RevocationCache.MaxConcurrentFetches, Volatile.Read(ref most));

            release.Set();
            Assert.All(await Task.WhenAll(fetches), f => Assert.Equal(X509ChainStatusFlags.NoError, f));
            Assert.Equal(RevocationCache.MaxConcurrentFetches, most);
        }
        finally
        {
            release.Set();
            foreach (var c in certificates)
                c.Dispose();
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static X509Certificate2 Cheap(int i)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest($"CN=c{i}", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
