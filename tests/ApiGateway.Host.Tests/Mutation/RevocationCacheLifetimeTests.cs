using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tls;
using Microsoft.Extensions.Time.Testing;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// How long the revocation cache keeps an answer, on a fake clock (docs/gateway.md, "Revocation: CRL files and
/// modes"): a conclusive answer (good or revoked) <see cref="RevocationCache.ConclusiveLifetime"/> (5 minutes), an
/// "unknown" <see cref="RevocationCache.UnknownLifetime"/> (30 s, so a CRL server that is down is not asked per request
/// yet asked again soon), and a good answer of the operator's CRL files no longer than the CRL's nextUpdate (RFC 5280
/// 5.1.2.5: after it the CRL vouches for nothing). Each lifetime is checked on both sides of its end, so a lifetime
/// swapped for the other, or a bound taken the wrong way, fails here.
/// </summary>
public sealed class RevocationCacheLifetimeTests : IDisposable
{
    private const X509ChainStatusFlags Unknown = RevocationAnswer.UnknownFlags;
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private readonly X509Certificate2 _certificate = TestCertificates.Create("CN=revocation lifetimes");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 8, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => _certificate.Dispose();

    [Theory]
    [InlineData(X509ChainStatusFlags.NoError)]
    [InlineData(X509ChainStatusFlags.Revoked)]
    public void AConclusiveAnswerOfTheLocalCrls_IsKeptFiveMinutes(X509ChainStatusFlags answer)
    {
        var builds = 0;
        var cache = new RevocationCache((_, _, _, _) =>
        {
            builds++;
            return answer;
        }, time: _clock);

        Assert.True(cache.TryGet(_certificate, null, system: false, out var flags));
        Assert.Equal(answer, flags);
        // Past the 30 s of an unknown answer, and to the last tick of its own five minutes: still the cached answer.
        _clock.Advance(RevocationCache.UnknownLifetime + Tick);
        Assert.True(cache.TryGet(_certificate, null, system: false, out flags));
        _clock.Advance(RevocationCache.ConclusiveLifetime - RevocationCache.UnknownLifetime - Tick - Tick);
        Assert.True(cache.TryGet(_certificate, null, system: false, out flags));
        Assert.Equal(answer, flags);
        Assert.Equal(1, builds);

        // Five minutes after it was given: asked again.
        _clock.Advance(Tick);
        Assert.True(cache.TryGet(_certificate, null, system: false, out flags));
        Assert.Equal(2, builds);
    }

    [Fact]
    public async Task AnUnknownAnswerOfTheNetwork_IsKeptThirtySeconds_ThenTheCrlServerIsAskedAgain()
    {
        var cache = new RevocationCache((_, _, _, _) => Unknown, time: _clock);

        Assert.False(cache.TryGet(_certificate, null, system: false, out _));
        Assert.Equal(Unknown, await cache.FetchAsync(_certificate, null, system: false));
        Assert.Equal(1, cache.OnlineFetches);

        // Within the 30 s the server that did not answer is not asked again.
        _clock.Advance(RevocationCache.UnknownLifetime - Tick);
        Assert.Equal(Unknown, await cache.FetchAsync(_certificate, null, system: false));
        Assert.Equal(1, cache.OnlineFetches);

        // At 30 s (long before five minutes) it is.
        _clock.Advance(Tick);
        Assert.Equal(Unknown, await cache.FetchAsync(_certificate, null, system: false));
        Assert.Equal(2, cache.OnlineFetches);
    }

    [Theory]
    [InlineData(X509ChainStatusFlags.NoError)]
    [InlineData(X509ChainStatusFlags.Revoked)]
    public async Task AConclusiveAnswerOfTheNetwork_IsKeptFiveMinutes(X509ChainStatusFlags answer)
    {
        var cache = new RevocationCache((_, _, _, mode) => mode == X509RevocationMode.Online ? answer : Unknown, time: _clock);

        Assert.Equal(answer, await cache.FetchAsync(_certificate, null, system: false));
        _clock.Advance(RevocationCache.ConclusiveLifetime - Tick);
        // Cached: both the request's look-up and a fetch answer without the network.
        Assert.True(cache.TryGet(_certificate, null, system: false, out var flags));
        Assert.Equal(answer, flags);
        Assert.Equal(answer, await cache.FetchAsync(_certificate, null, system: false));
        Assert.Equal(1, cache.OnlineFetches);

        _clock.Advance(Tick);
        Assert.False(cache.TryGet(_certificate, null, system: false, out _));
        Assert.Equal(answer, await cache.FetchAsync(_certificate, null, system: false));
        Assert.Equal(2, cache.OnlineFetches);
    }

    /// <summary>A CRL due in one minute: its good answer is kept that minute, not the five minutes of other answers.</summary>
    [Fact]
    public void AGoodAnswerOfTheCrlFiles_IsKeptUntilTheCrlsNextUpdate_WhenThatComesFirst()
    {
        var files = 0;
        var nextUpdate = _clock.GetUtcNow().AddMinutes(1);
        var cache = Files(() =>
        {
            files++;
            return new RevocationAnswer(X509ChainStatusFlags.NoError, nextUpdate, null);
        });

        var (flags, _) = AssertKeptExactly(cache, TimeSpan.FromMinutes(1), () => files);
        Assert.Equal(X509ChainStatusFlags.NoError, flags);
    }

    /// <summary>A CRL due tomorrow: the answer is still kept five minutes only (the files may change before then).</summary>
    [Fact]
    public void AGoodAnswerOfTheCrlFiles_IsKeptFiveMinutes_WhenTheCrlIsDueLater()
    {
        var files = 0;
        var nextUpdate = _clock.GetUtcNow().AddDays(1);
        var cache = Files(() =>
        {
            files++;
            return new RevocationAnswer(X509ChainStatusFlags.NoError, nextUpdate, null);
        });

        AssertKeptExactly(cache, RevocationCache.ConclusiveLifetime, () => files);
    }

    /// <summary>A CRL that is due now, or was an hour ago, vouches for nothing: its good answer is not kept at all.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(-3600)]
    public void AGoodAnswerOfACrlThatIsDue_IsNotKept(int nextUpdateInSeconds)
    {
        var files = 0;
        var cache = Files(() =>
        {
            files++;
            return new RevocationAnswer(X509ChainStatusFlags.NoError, _clock.GetUtcNow().AddSeconds(nextUpdateInSeconds), null);
        });

        // The clock does not move between the two requests: an answer expiring "now" is already expired.
        Assert.True(cache.TryGet(_certificate, null, system: false, out var flags));
        Assert.Equal(X509ChainStatusFlags.NoError, flags);
        Assert.True(cache.TryGet(_certificate, null, system: false, out flags));
        Assert.Equal(X509ChainStatusFlags.NoError, flags);
        Assert.Equal(2, files);
    }

    /// <summary>In Offline mode the files' "unknown" is final for the request, and kept 30 s like the network's.</summary>
    [Fact]
    public void OfflineMode_AnUnknownAnswerOfTheCrlFiles_IsKeptThirtySeconds()
    {
        var files = 0;
        var cache = new RevocationCache((_, _, _, _) => throw new InvalidOperationException("Offline mode built a chain"),
            (_, _, _) =>
            {
                files++;
                return RevocationAnswer.Unknown("no CRL of its issuer in the folder");
            }, offline: true, time: _clock);

        var (flags, problem) = AssertKeptExactly(cache, RevocationCache.UnknownLifetime, () => files);
        Assert.Equal(Unknown, flags);
        Assert.Equal("no CRL of its issuer in the folder", problem);
    }

    /// <summary>A revoked answer of the files has no nextUpdate to respect: it is kept the five minutes.</summary>
    [Fact]
    public void ARevokedAnswerOfTheCrlFiles_IsKeptFiveMinutes()
    {
        var files = 0;
        var cache = Files(() =>
        {
            files++;
            return new RevocationAnswer(X509ChainStatusFlags.Revoked, null, "it is listed in the CRL of 'CN=CA' ('ca.crl')");
        });

        var (flags, _) = AssertKeptExactly(cache, RevocationCache.ConclusiveLifetime, () => files);
        Assert.Equal(X509ChainStatusFlags.Revoked, flags);
    }

    /// <summary>
    /// Whatever the chain build throws, the requests waiting on the fetch get "unknown" (refused where revocation is
    /// required), never a wait without end; and the next request starts a fetch of its own.
    /// </summary>
    [Fact]
    public async Task AFetchThatThrowsAnythingElse_StillAnswersUnknown_AndIsNotLeftPending()
    {
        var cache = new RevocationCache((_, _, _, mode) => mode == X509RevocationMode.Online ? throw new NotSupportedException("a platform without it") : Unknown,
            time: _clock);

        Assert.Equal(X509ChainStatusFlags.RevocationStatusUnknown, await cache.FetchAsync(_certificate, null, system: false).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(X509ChainStatusFlags.RevocationStatusUnknown, await cache.FetchAsync(_certificate, null, system: false).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, cache.OnlineFetches);
    }

    /// <summary>
    /// The first request asks the CRL files (<paramref name="asked"/> counts it); every request until the last tick of
    /// <paramref name="lifetime"/> gets the same answer from the cache; the request at <paramref name="lifetime"/> asks
    /// again. Returns the first answer.
    /// </summary>
    private (X509ChainStatusFlags Flags, string? Problem) AssertKeptExactly(RevocationCache cache, TimeSpan lifetime, Func<int> asked)
    {
        Assert.True(cache.TryGet(_certificate, null, system: false, out var flags, out var problem));
        Assert.Equal(1, asked());
        _clock.Advance(lifetime - Tick);
        Assert.True(cache.TryGet(_certificate, null, system: false, out var cachedFlags, out var cachedProblem));
        Assert.Equal(flags, cachedFlags);
        Assert.Equal(problem, cachedProblem);
        Assert.Equal(1, asked());

        _clock.Advance(Tick);
        Assert.True(cache.TryGet(_certificate, null, system: false, out _));
        Assert.Equal(2, asked());
        return (flags, problem);
    }

    private RevocationCache Files(Func<RevocationAnswer> answer) =>
        new((_, _, _, _) => throw new InvalidOperationException("the CRL files answered"), (_, _, _) => answer(), time: _clock);
}
