using System.Diagnostics;

namespace ApiGateway.Core.Hosting;

/// <summary>What a running gateway did with a revision just written.</summary>
internal enum ReloadOutcomeKind
{
    /// <summary>It serves that revision (or a later one) now.</summary>
    PickedUp,
    /// <summary>It refused that revision and keeps serving an earlier one.</summary>
    Refused,
    /// <summary>It did not report either within the wait.</summary>
    NotYet,
}

/// <summary>The answer of <see cref="ReloadObserver.Observe"/>.</summary>
internal sealed record ReloadObservation(ReloadOutcomeKind Kind, long Revision, long ServingRevision, int Pid, IReadOnlyList<string> Errors, TimeSpan Waited)
{
    /// <summary>The sentence a cmdlet writes (verbose when picked up, a warning otherwise).</summary>
    public string Describe(string configurationPath) => Kind switch
    {
        ReloadOutcomeKind.PickedUp => $"The gateway (process {Pid}) serving '{configurationPath}' picked up revision {ServingRevision} after {Waited.TotalMilliseconds:0} ms.",
        ReloadOutcomeKind.Refused => $"The gateway (process {Pid}) serving '{configurationPath}' refused revision {Revision} and keeps serving revision {ServingRevision}: {string.Join(" ", Errors)} Get-GatewayStatus shows the refusal; fix the configuration and it reloads by itself.",
        _ => $"The gateway (process {Pid}) serving '{configurationPath}' has not loaded revision {Revision} within {Waited.TotalSeconds:0} s (it serves revision {ServingRevision}). Get-GatewayStatus shows when it does, or why not.",
    };
}

/// <summary>
/// After a write: whether a gateway serving the configuration picked the new revision up. It reads the state file
/// and polls the status endpoint (127.0.0.1) until the revision is served or refused, for at most
/// <see cref="DefaultWait"/>; with no gateway running it returns at once.
/// </summary>
internal static class ReloadObserver
{
    /// <summary>The gateway notices a change within its poll interval (0.5 s) and builds it, compiling new expressions (seconds on a busy machine): 15 s bounds both.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(15);

    /// <summary>What the gateway serving <paramref name="configurationPath"/> did with <paramref name="revision"/>, or null when none runs.</summary>
    public static ReloadObservation? Observe(string configurationPath, long revision, TimeSpan? wait = null)
    {
        var config = Path.GetFullPath(configurationPath);
        var state = GatewayStateFile.TryRead(config);
        if (state is null || !GatewayProcess.IsAlive(state))
            return null;
        var limit = wait ?? DefaultWait;
        var watch = Stopwatch.StartNew();
        long serving = 0;
        while (true)
        {
            if (GatewayProcess.QueryStatus(state.StatusUrl, TimeSpan.FromSeconds(2)) is { } document)
            {
                serving = document.Revision;
                if (document.Revision >= revision)
                    return new ReloadObservation(ReloadOutcomeKind.PickedUp, revision, document.Revision, document.Pid, [], watch.Elapsed);
                if (document.LastReloadError is { Revision: { } refused } error && refused >= revision)
                    return new ReloadObservation(ReloadOutcomeKind.Refused, refused, document.Revision, document.Pid, error.Errors, watch.Elapsed);
            }
            if (watch.Elapsed >= limit || !GatewayProcess.IsAlive(state))
                return new ReloadObservation(ReloadOutcomeKind.NotYet, revision, serving, state.Pid, [], watch.Elapsed);
            Thread.Sleep(100);
        }
    }
}
