using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Host.Tls;

/// <summary>
/// Revocation answers of one trust set (one revision's <see cref="ClientTrust"/>, so a reload starts empty), keyed by
/// the certificate's thumbprint and which trust anchored it, bounded, and never fetched on a request's thread.
/// <para>
/// A request asks <c>TryGet</c>: a cached answer, else a chain build in <see cref="X509RevocationMode.Offline"/>
/// mode (the CRLs .NET has cached, no network). Only when that is inconclusive does an online fetch start, in the
/// background, at most <see cref="MaxConcurrentFetches"/> at a time and one per certificate however many requests
/// want it; a request that needs the answer awaits it (<see cref="FetchAsync"/>) without holding a thread, so a slow
/// or dead CRL server delays only the requests that depend on it, never other connections.
/// </para>
/// </summary>
// The SemaphoreSlim is only ever awaited (its wait handle is never created), so it holds nothing to dispose; the cache
// lives as long as its revision's trust set.
#pragma warning disable CA1001
internal sealed class RevocationCache
#pragma warning restore CA1001
{
    /// <summary>Certificates whose answers are kept; beyond it the cache starts again (an attacker presenting new certificates cannot grow it).</summary>
    public const int Capacity = 10_000;

    /// <summary>Online fetches running at once (each may wait for the CRL server's timeout).</summary>
    public const int MaxConcurrentFetches = 4;

    /// <summary>Fetches waiting or running; a certificate beyond it gets "unknown" at once.</summary>
    public const int MaxPendingFetches = 256;

    /// <summary>How long a conclusive answer (good or revoked) is kept: the CRLs themselves are cached by .NET until their nextUpdate.</summary>
    public static readonly TimeSpan ConclusiveLifetime = TimeSpan.FromMinutes(5);

    /// <summary>How long "unknown" is kept before a new fetch is tried (a CRL server that is down is not asked per request).</summary>
    public static readonly TimeSpan UnknownLifetime = TimeSpan.FromSeconds(30);

    private readonly Func<X509Certificate2, X509Certificate2[]?, bool, X509RevocationMode, X509ChainStatusFlags> _build;
    private readonly Func<X509Certificate2, X509Certificate2[]?, bool, RevocationAnswer>? _fromFiles;
    private readonly Func<int> _generation;
    private readonly bool _offline;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(string Thumbprint, bool System), Answer> _answers = new();
    private readonly ConcurrentDictionary<(string Thumbprint, bool System), Task<X509ChainStatusFlags>> _pending = new();
    private readonly SemaphoreSlim _fetchers = new(MaxConcurrentFetches, MaxConcurrentFetches);
    private long _onlineFetches;

    /// <param name="build">Builds the chain (certificate, extra certificates, system trust, revocation mode) and returns its revocation flags.</param>
    /// <param name="fromFiles">The answer of the operator's CRL files (null: none configured).</param>
    /// <param name="generation">The CRL files' generation: answers cached under another one are not used.</param>
    /// <param name="offline">Only the CRL files answer: what they do not know stays unknown, nothing is fetched.</param>
    /// <param name="time">The clock of the answers' lifetimes (monotonic timestamps) and of the CRLs' nextUpdate (UTC): the gateway's <c>GatewayServices.Time</c>.</param>
    public RevocationCache(Func<X509Certificate2, X509Certificate2[]?, bool, X509RevocationMode, X509ChainStatusFlags> build,
        Func<X509Certificate2, X509Certificate2[]?, bool, RevocationAnswer>? fromFiles = null, Func<int>? generation = null, bool offline = false,
        TimeProvider? time = null)
    {
        _build = build;
        _fromFiles = fromFiles;
        _generation = generation ?? (static () => 0);
        _offline = offline;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>A cached answer: flags, when it expires (a timestamp of the cache's TimeProvider), the CRL generation it came from, and why it is not known.</summary>
    private readonly record struct Answer(X509ChainStatusFlags Flags, long Expires, int Generation, string? Problem);

    /// <summary>Online fetches started so far (tests: one per certificate, however many requests asked).</summary>
    public long OnlineFetches => Interlocked.Read(ref _onlineFetches);

    /// <summary>The answer without waiting for the network: cached, or conclusive from the CRLs cached locally.</summary>
    public bool TryGet(X509Certificate2 certificate, X509Certificate2[]? extra, bool system, out X509ChainStatusFlags flags) =>
        TryGet(certificate, extra, system, out flags, out _);

    /// <summary>
    /// As above, with why the status is not known (<paramref name="problem"/>, from the CRL files). The operator's
    /// CRL files are asked first; in Offline mode their answer is final (true, "unknown" included), otherwise what
    /// they do not know goes on to the CRLs .NET has cached and, through <see cref="FetchAsync"/>, the network.
    /// </summary>
    public bool TryGet(X509Certificate2 certificate, X509Certificate2[]? extra, bool system, out X509ChainStatusFlags flags, out string? problem)
    {
        var key = (certificate.Thumbprint, system);
        var generation = _generation();
        if (TryKnown(key, generation, out var known))
        {
            flags = known.Flags;
            problem = known.Problem;
            return true;
        }
        problem = null;
        if (_fromFiles is not null)
        {
            var answer = _fromFiles(certificate, extra, system);
            if (answer.IsConclusive || _offline)
            {
                // A good answer lasts until the CRL's nextUpdate at most, so a CRL that goes stale stops vouching on time
                // (one that is already due: not at all).
                var lifetime = answer.IsConclusive ? ConclusiveLifetime : UnknownLifetime;
                if (answer.ValidUntil is { } until)
                    lifetime = TimeSpan.FromTicks(Math.Min(lifetime.Ticks, Math.Max((until - _time.GetUtcNow()).Ticks, 0)));
                Remember(key, answer.Flags, lifetime, generation, answer.Problem);
                flags = answer.Flags;
                problem = answer.Problem;
                return true;
            }
            problem = answer.Problem;
        }
        else if (_offline)
        {
            flags = RevocationAnswer.UnknownFlags;
            problem = "revocation mode Offline has no CRL folder";
            return true;
        }
        flags = CertificateVerification.RevocationOf(_build(certificate, extra, system, X509RevocationMode.Offline));
        if (IsConclusive(flags))
        {
            Remember(key, flags, ConclusiveLifetime, generation, null);
            return true;
        }
        return false;
    }

    /// <summary>Starts (or joins) the online fetch of the certificate's revocation status; the answer is cached.</summary>
    public Task<X509ChainStatusFlags> FetchAsync(X509Certificate2 certificate, X509Certificate2[]? extra, bool system)
    {
        var key = (certificate.Thumbprint, system);
        if (TryKnown(key, _generation(), out var known))
            return Task.FromResult(known.Flags);
        if (_offline)
            return Task.FromResult(RevocationAnswer.UnknownFlags);
        if (_pending.TryGetValue(key, out var running))
            return running;
        if (_pending.Count >= MaxPendingFetches)
            return Task.FromResult(X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation);
        var fetch = new TaskCompletionSource<X509ChainStatusFlags>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Another request may have started the same fetch since the look-up above: its fetch is the answer.
        var joined = _pending.GetOrAdd(key, fetch.Task);
        if (joined != fetch.Task)
            return joined;
        _ = RunFetchAsync(key, X509CertificateLoader.LoadCertificate(certificate.RawData), extra, fetch);
        return fetch.Task;
    }

    private async Task RunFetchAsync((string Thumbprint, bool System) key, X509Certificate2 certificate, X509Certificate2[]? extra, TaskCompletionSource<X509ChainStatusFlags> fetch)
    {
        var flags = X509ChainStatusFlags.RevocationStatusUnknown;
        try
        {
            await _fetchers.WaitAsync().ConfigureAwait(false);
            try
            {
                Interlocked.Increment(ref _onlineFetches);
                // X509Chain.Build with online revocation blocks its thread for up to UrlRetrievalTimeout: its own
                // thread, so neither the request threads nor the thread pool's workers wait on a CRL server.
                flags = await Task.Factory.StartNew(() => CertificateVerification.RevocationOf(_build(certificate, extra, key.System, X509RevocationMode.Online)),
                    CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
                Remember(key, flags, IsConclusive(flags) ? ConclusiveLifetime : UnknownLifetime, _generation(), null);
            }
            finally
            {
                _fetchers.Release();
            }
        }
#pragma warning disable CA1031 // whatever the chain build throws, the requests waiting on this fetch get "unknown" (refused), never a hang
        catch (Exception)
#pragma warning restore CA1031
        {
            flags = X509ChainStatusFlags.RevocationStatusUnknown;
        }
        finally
        {
            certificate.Dispose();
        }
        // Off the pending list before the waiters resume: a request after this answer starts from the cache (or,
        // after a failure, a fetch of its own), never from a finished fetch.
        _pending.TryRemove(key, out _);
        fetch.TrySetResult(flags);
    }

    /// <summary>The cached answer for <paramref name="key"/> while it lasts and belongs to the CRL files' current generation.</summary>
    private bool TryKnown((string Thumbprint, bool System) key, int generation, out Answer known) =>
        _answers.TryGetValue(key, out known) && known.Expires > _time.GetTimestamp() && known.Generation == generation;

    private void Remember((string Thumbprint, bool System) key, X509ChainStatusFlags flags, TimeSpan lifetime, int generation, string? problem)
    {
        if (_answers.Count >= Capacity)
            _answers.Clear();
        _answers[key] = new Answer(flags, _time.GetTimestamp() + (long)(lifetime.TotalSeconds * _time.TimestampFrequency), generation, problem);
    }

    /// <summary>Good (no revocation flag) or revoked: anything else means the status is not known.</summary>
    private static bool IsConclusive(X509ChainStatusFlags flags) =>
        flags == X509ChainStatusFlags.NoError || (flags & X509ChainStatusFlags.Revoked) != 0;
}
