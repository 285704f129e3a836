using ApiGateway.Core.Hosting;
using ApiGateway.Host.Expressions;

namespace ApiGateway.Host.Runtime;

/// <summary>
/// The current snapshot and how it changes: builds a new one from the file, swaps it in atomically (the old one
/// drains), and remembers the last refused change for the status endpoint.
/// </summary>
internal sealed class GatewayRuntime
{
    private GatewaySnapshot? _current;

    public GatewayRuntime(string configurationPath, GatewayServices services)
    {
        ConfigurationPath = Path.GetFullPath(configurationPath);
        Services = services;
    }

    public string ConfigurationPath { get; }

    public GatewayServices Services { get; }

    public ExpressionCache Expressions { get; } = new();

    /// <summary>The snapshot serving now (null before the first load).</summary>
    public GatewaySnapshot? Current => Volatile.Read(ref _current);

    /// <summary>A snapshot being activated: its new listeners already look things up in it.</summary>
    public GatewaySnapshot? Pending { get; set; }

    /// <summary>The last change that was refused; null once a later change loads.</summary>
    public GatewayReloadError? LastReloadError { get; set; }

    /// <summary>Who may have live request traces (the holder of the status token), or null: no traces at all.</summary>
    public Pipeline.TraceAuthority? TraceAuthority { get; set; }

    /// <summary>Raised after a snapshot is swapped in.</summary>
    public event Action<GatewaySnapshot>? Activated;

    public SnapshotBuildResult Build(CancellationToken cancellationToken = default) => SnapshotBuilder.Build(ConfigurationPath, Services, Expressions, cancellationToken);

    /// <summary>Swaps <paramref name="next"/> in; the replaced snapshot drains and releases its resources.</summary>
    public void Activate(GatewaySnapshot next)
    {
        var previous = Interlocked.Exchange(ref _current, next);
        Pending = null;
        previous?.Retire();
        Expressions.Retain(next.ExpressionKeys);
        Activated?.Invoke(next);
    }

    /// <summary>The current snapshot with one more request counted on it (pair with <see cref="GatewaySnapshot.Exit"/>).</summary>
    public GatewaySnapshot EnterSnapshot()
    {
        while (true)
        {
            var snapshot = Volatile.Read(ref _current) ?? throw new InvalidOperationException("No configuration is loaded.");
            snapshot.Enter();
            // A swap between the read and the count would let the old snapshot drain under this request: retry.
            if (ReferenceEquals(snapshot, Volatile.Read(ref _current)))
                return snapshot;
            snapshot.Exit();
        }
    }
}
