using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tls;
using Microsoft.Extensions.Time.Testing;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The rules of the revocation cache that the first tests left open (docs/gateway.md, "Revocation: CRL files and
/// modes"): a good answer of the operator's CRL files is kept at most until the CRL's nextUpdate, so a CRL that is due
/// vouches for nothing from the cache either; Offline mode without a CRL folder answers "unknown" and says why; the
/// cache holds at most <see cref="RevocationCache.Capacity"/> answers and then starts again; and the online fetch never
/// resumes on the caller's synchronization context (a request's thread neither runs nor has to run any of it).
/// <para>
/// How long each answer is kept, on a fake clock: <see cref="RevocationCacheLifetimeTests"/>.
/// </para>
/// </summary>
public sealed class RevocationCacheRuleTests : IDisposable
{
    private const X509ChainStatusFlags Unknown = RevocationAnswer.UnknownFlags;

    private readonly X509Certificate2 _certificate = TestCertificates.Create("CN=revocation rules");

    public void Dispose() => _certificate.Dispose();

    [Fact]
    public void AGoodAnswerOfTheCrlFiles_IsKeptUntilTheCrlsNextUpdate()
    {
        var files = 0;
        var cache = new RevocationCache((_, _, _, _) => throw new InvalidOperationException("the CRL files answered"),
            (_, _, _) =>
            {
                files++;
                return new RevocationAnswer(X509ChainStatusFlags.NoError, DateTimeOffset.UtcNow.AddMinutes(1), null);
            });

        Assert.True(cache.TryGet(_certificate, null, system: false, out var flags, out var problem));
        Assert.Equal(X509ChainStatusFlags.NoError, flags);
        Assert.Null(problem);
        // A minute before the CRL is due the answer still holds: the second request is answered from the cache.
        Assert.True(cache.TryGet(_certificate, null, system: false, out flags, out problem));
        Assert.Equal(X509ChainStatusFlags.NoError, flags);
        Assert.Null(problem);
        Assert.Equal(1, files);
    }

    [Fact]
    public void ARevokedAnswerOfTheCrlFiles_IsFinal_AndKeptWithItsReason()
    {
        var files = 0;
        var cache = new RevocationCache((_, _, _, _) => throw new InvalidOperationException("the CRL files answered"),
            (_, _, _) =>
            {
                files++;
                return new RevocationAnswer(X509ChainStatusFlags.Revoked, null, "it is listed in the CRL of 'CN=CA' ('ca.crl')");
            });

        for (var i = 0; i < 2; i++)
        {
            Assert.True(cache.TryGet(_certificate, null, system: true, out var flags, out var problem));
            Assert.Equal(X509ChainStatusFlags.Revoked, flags);
            Assert.Equal("it is listed in the CRL of 'CN=CA' ('ca.crl')", problem);
        }
        Assert.Equal(1, files);
        Assert.Equal(0, cache.OnlineFetches);
    }

    [Fact]
    public async Task AnOnlineFetch_AfterTheCrlFilesAnswerRanOut_AsksTheNetwork_NotTheCache()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 8, 9, 0, 0, TimeSpan.Zero));
        var cache = new RevocationCache((_, _, _, mode) => mode == X509RevocationMode.Online ? X509ChainStatusFlags.Revoked : Unknown,
            (_, _, _) => new RevocationAnswer(X509ChainStatusFlags.NoError, clock.GetUtcNow(), null), time: clock);

        Assert.True(cache.TryGet(_certificate, null, system: false, out var flags));
        Assert.Equal(X509ChainStatusFlags.NoError, flags);
        // The CRL server says revoked; the files' answer, due the instant it was given, must not stand in for it.
        Assert.Equal(X509ChainStatusFlags.Revoked, await cache.FetchAsync(_certificate, null, system: false));
        Assert.Equal(1, cache.OnlineFetches);
    }

    [Fact]
    public void OfflineMode_WithoutACrlFolder_AnswersUnknownAtOnce_AndSaysWhy()
    {
        var builds = 0;
        var cache = new RevocationCache((_, _, _, _) =>
        {
            builds++;
            return X509ChainStatusFlags.NoError;
        }, offline: true);

        // Final (true), although not known: nothing else may be asked, not even the CRLs .NET has cached.
        Assert.True(cache.TryGet(_certificate, null, system: false, out var flags, out var problem));
        Assert.Equal(Unknown, flags);
        Assert.NotNull(problem);
        Assert.Contains("Offline", problem, StringComparison.Ordinal);
        Assert.Contains("no CRL folder", problem, StringComparison.Ordinal);
        Assert.Equal(0, builds);
    }

    [Fact]
    public void TheCache_KeepsCapacityAnswers_AndBeyondStartsAgain()
    {
        var builds = new ConcurrentDictionary<string, int>();
        var cache = new RevocationCache((certificate, _, _, _) =>
        {
            builds.AddOrUpdate(certificate.Thumbprint, 1, (_, n) => n + 1);
            return X509ChainStatusFlags.NoError;
        });
        var certificates = Many(RevocationCache.Capacity + 1);
        try
        {
            foreach (var certificate in certificates.Take(RevocationCache.Capacity))
                Assert.True(cache.TryGet(certificate, null, system: false, out _));
            // Full, and every answer is still kept: asking again builds nothing.
            foreach (var certificate in certificates.Take(RevocationCache.Capacity))
                Assert.True(cache.TryGet(certificate, null, system: false, out _));
            Assert.All(builds.Values, n => Assert.Equal(1, n));

            // One more certificate: the cache never holds more than Capacity, it starts again.
            Assert.True(cache.TryGet(certificates[^1], null, system: false, out _));
            Assert.True(cache.TryGet(certificates[0], null, system: false, out _));
            Assert.Equal(2, builds[certificates[0].Thumbprint]);
            // The newest answer is the one kept.
            Assert.True(cache.TryGet(certificates[^1], null, system: false, out _));
            Assert.Equal(1, builds[certificates[^1].Thumbprint]);
        }
        finally
        {
            foreach (var certificate in certificates)
                certificate.Dispose();
        }
    }

    [Fact]
    public async Task TheOnlineFetch_DoesNotResumeOnTheCallersSynchronizationContext()
    {
        using var release = new ManualResetEventSlim();
        var cache = new RevocationCache((_, _, _, mode) =>
        {
            // A slow CRL server: the fetch is still running when FetchAsync returns to the caller.
            if (mode == X509RevocationMode.Online)
                release.Wait(TimeSpan.FromSeconds(30));
            return mode == X509RevocationMode.Online ? X509ChainStatusFlags.NoError : Unknown;
        });
        var context = new HeldSynchronizationContext();

        var fetch = Under(context, () => cache.FetchAsync(_certificate, null, system: false));
        release.Set();
        var first = await Task.WhenAny(fetch, context.Posted);
        context.RunHeld();

        Assert.Same(fetch, first);
        Assert.Equal(X509ChainStatusFlags.NoError, await fetch);
        Assert.Equal(0, context.Posts);
    }

    [Fact]
    public async Task AFetchThatWaitsForAFreeSlot_DoesNotResumeOnTheCallersSynchronizationContext()
    {
        using var release = new ManualResetEventSlim();
        var busy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = 0;
        var certificates = Many(RevocationCache.MaxConcurrentFetches);
        var blockers = certificates.Select(c => c.Thumbprint).ToHashSet(StringComparer.Ordinal);
        var cache = new RevocationCache((certificate, _, _, mode) =>
        {
            if (mode == X509RevocationMode.Online && blockers.Contains(certificate.Thumbprint))
            {
                if (Interlocked.Increment(ref running) == RevocationCache.MaxConcurrentFetches)
                    busy.TrySetResult();
                release.Wait(TimeSpan.FromSeconds(30));
            }
            return mode == X509RevocationMode.Online ? X509ChainStatusFlags.NoError : Unknown;
        });
        var context = new HeldSynchronizationContext();
        try
        {
            var others = certificates.Select(c => cache.FetchAsync(c, null, system: false)).ToList();
            await busy.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // Every slot is taken: this fetch waits for one, and must not come back through the caller's context.
            var fetch = Under(context, () => cache.FetchAsync(_certificate, null, system: false));
            Assert.False(fetch.IsCompleted);
            release.Set();
            var first = await Task.WhenAny(fetch, context.Posted);
            context.RunHeld();

            Assert.Same(fetch, first);
            Assert.Equal(X509ChainStatusFlags.NoError, await fetch);
            Assert.Equal(0, context.Posts);
            Assert.All(await Task.WhenAll(others), f => Assert.Equal(X509ChainStatusFlags.NoError, f));
        }
        finally
        {
            release.Set();
            foreach (var certificate in certificates)
                certificate.Dispose();
        }
    }

    private static T Under<T>(SynchronizationContext context, Func<T> call)
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            return call();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    /// <summary>
    /// Distinct certificates, cheaply: one key and a fixed signature (the cache keys by thumbprint and never checks a
    /// signature; the chain build is the test's function), no private key attached.
    /// </summary>
    private static List<X509Certificate2> Many(int count)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var generator = new FixedSignature(X509SignatureGenerator.CreateForECDsa(key));
        var from = DateTimeOffset.UtcNow.AddDays(-1);
        var to = DateTimeOffset.UtcNow.AddDays(1);
        var certificates = new List<X509Certificate2>(count);
        for (var i = 0; i < count; i++)
        {
            var name = new X500DistinguishedName($"CN=c{i}");
            var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
            certificates.Add(request.Create(name, generator, from, to, BitConverter.GetBytes(i + 1)));
        }
        return certificates;
    }

    private sealed class FixedSignature(X509SignatureGenerator inner) : X509SignatureGenerator
    {
        private static readonly byte[] Signature = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01];

        public override byte[] GetSignatureAlgorithmIdentifier(HashAlgorithmName hashAlgorithm) => inner.GetSignatureAlgorithmIdentifier(hashAlgorithm);

        public override byte[] SignData(byte[] data, HashAlgorithmName hashAlgorithm) => Signature;

        protected override PublicKey BuildPublicKey() => inner.PublicKey;
    }

    /// <summary>A caller's context that runs nothing posted to it until told: what resumes on it is seen, and would wait.</summary>
    private sealed class HeldSynchronizationContext : SynchronizationContext
    {
        private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _held = new();
        private readonly TaskCompletionSource _posted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _posts;

        public Task Posted => _posted.Task;

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            _held.Enqueue((d, state));
            _posted.TrySetResult();
        }

        public override void Send(SendOrPostCallback d, object? state) => Post(d, state);

        /// <summary>Lets what was held run (on the thread pool), so a fetch that resumed here still finishes.</summary>
        public void RunHeld()
        {
            while (_held.TryDequeue(out var item))
                ThreadPool.QueueUserWorkItem(_ => item.Callback(item.State));
        }
    }
}
