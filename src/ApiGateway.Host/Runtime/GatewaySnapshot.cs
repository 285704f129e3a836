using System.Collections.Concurrent;
using ApiGateway.Core.Configuration;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Context;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Tls;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;
using ApiGateway.Host.Metrics;

namespace ApiGateway.Host.Runtime;

/// <summary>What lives as long as the process: loggers, the forwarder, the invoker cache, the pool of contexts.</summary>
internal sealed class GatewayServices : IDisposable
{
    public GatewayServices(ILoggerFactory loggerFactory, Yarp.ReverseProxy.Forwarder.IHttpForwarder forwarder, TimeSpan? invokerGrace = null, GatewayMetrics? metrics = null, AccessLog? accessLog = null)
    {
        AccessLog = accessLog;
        LoggerFactory = loggerFactory;
        Metrics = metrics ?? new GatewayMetrics();
        Logger = loggerFactory.CreateLogger("ApiGateway");
        TlsLogger = loggerFactory.CreateLogger("ApiGateway.Tls");
        Forwarder = new BackendForwarder(forwarder, loggerFactory.CreateLogger("ApiGateway.Backend"));
        Invokers = new InvokerCache(Logger, invokerGrace, Metrics);
        Contexts = new DefaultObjectPool<PolicyContext>(new ContextPolicy(), Environment.ProcessorCount * 64);
        Crls = new CrlStores(loggerFactory.CreateLogger("ApiGateway.Revocation"));
    }

    /// <summary>The clock of the certificate validity checks (validate-client-certificate); tests set their own.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The CRL files of the configured CRL folder, kept across reloads that keep the folder.</summary>
    public CrlStores Crls { get; }

    public ILoggerFactory LoggerFactory { get; }
    public ILogger Logger { get; }
    public ILogger TlsLogger { get; }
    public BackendForwarder Forwarder { get; }
    public InvokerCache Invokers { get; }
    public ObjectPool<PolicyContext> Contexts { get; }

    /// <summary>The access log (<c>run --access-log</c>), or null when it is off.</summary>
    public AccessLog? AccessLog { get; }

    /// <summary>The gateway's instruments (exported at /metrics).</summary>
    public GatewayMetrics Metrics { get; }

    public void Dispose()
    {
        Invokers.Dispose();
        Metrics.Dispose();
        Crls.Dispose();
    }

    private sealed class ContextPolicy : PooledObjectPolicy<PolicyContext>
    {
        public override PolicyContext Create() => new();

        public override bool Return(PolicyContext obj) => true;
    }
}

/// <summary>The invokers one revision uses, looked up per request without allocating.</summary>
internal sealed class SnapshotInvokers
{
    private readonly InvokerCache _cache;
    private readonly ConcurrentDictionary<(BackendTarget Target, ServedCertificate? Certificate, bool FollowRedirects), BackendInvoker> _byTarget = new();
    private readonly List<BackendInvoker> _held = [];
    private readonly Lock _lock = new();
    private bool _released;

    public SnapshotInvokers(InvokerCache cache)
    {
        _cache = cache;
    }

    /// <summary>The invoker for a forward to <paramref name="target"/> presenting <paramref name="certificate"/> (authentication-certificate) or the backend's credentials.</summary>
    public HttpMessageInvoker Get(BackendTarget target, ServedCertificate? certificate, bool followRedirects)
    {
        if (_byTarget.TryGetValue((target, certificate, followRedirects), out var invoker))
            return invoker.Invoker;
        return Create(target, certificate, followRedirects).Invoker;
    }

    /// <summary>Acquires the invoker up front (at load time), so the first request does not create it.</summary>
    public void Prepare(BackendTarget target, ServedCertificate? certificate, bool followRedirects) => Create(target, certificate, followRedirects);

    private BackendInvoker Create(BackendTarget target, ServedCertificate? certificate, bool followRedirects)
    {
        lock (_lock)
        {
            if (_byTarget.TryGetValue((target, certificate, followRedirects), out var existing))
                return existing;
            IReadOnlyList<ServedCertificate> certificates = certificate is null
                ? target.Certificates
                : [certificate, .. target.Certificates.Where(c => !ReferenceEquals(c, certificate))];
            var invoker = _cache.Acquire(InvokerKey.For(target, certificates, followRedirects), certificates);
            if (_released)
            {
                // A straggler request on a drained revision: lend it the invoker, keep no reference.
                _cache.Release(invoker);
                return invoker;
            }
            _held.Add(invoker);
            _byTarget[(target, certificate, followRedirects)] = invoker;
            return invoker;
        }
    }

    public void Release()
    {
        lock (_lock)
        {
            if (_released)
                return;
            _released = true;
            foreach (var invoker in _held)
                _cache.Release(invoker);
            _held.Clear();
        }
    }
}

/// <summary>
/// One configuration revision, ready to serve and never changed: routes with their compiled policies, loaded
/// certificates, backend targets and invokers, listener TLS settings. A reload builds a new one and swaps it in;
/// each request captures the current one once at its start, so a reload never changes a request mid-flight. A
/// replaced snapshot releases its invokers once its last request has finished.
/// </summary>
internal sealed class GatewaySnapshot
{
    private readonly ConcurrentDictionary<string, BackendTarget?> _urlTargets = new(StringComparer.Ordinal);
    private int _active;
    private int _retired;
    private int _released;

    public GatewaySnapshot(
        string configurationPath,
        GatewayConfiguration configuration,
        GatewayServices services,
        RouteTable routes,
        IReadOnlyList<ListenerGroup> listeners,
        ClientTrust clientTrust,
        IReadOnlyDictionary<string, ServedCertificate> certificates,
        IReadOnlyDictionary<string, BackendTarget> backends,
        SnapshotInvokers invokers,
        IReadOnlyCollection<ExpressionKey> expressionKeys,
        IReadOnlyList<string> watchedFiles)
    {
        ConfigurationPath = configurationPath;
        Configuration = configuration;
        Services = services;
        Routes = routes;
        Listeners = listeners;
        ClientTrust = clientTrust;
        Certificates = certificates;
        CertificatesByThumbprint = new Dictionary<string, ServedCertificate>(StringComparer.OrdinalIgnoreCase);
        foreach (var certificate in certificates.Values)
            CertificatesByThumbprint.TryAdd(certificate.Thumbprint, certificate);
        Backends = backends;
        Invokers = invokers;
        ExpressionKeys = expressionKeys;
        WatchedFiles = watchedFiles;
        LoadedAt = DateTimeOffset.UtcNow;
        Deployment = new PolicyDeployment(configuration.Service.Name, new CertificateDictionary(certificates.Select(p => new KeyValuePair<string, System.Security.Cryptography.X509Certificates.X509Certificate2>(p.Key, p.Value.PublicCopy))));
    }

    public string ConfigurationPath { get; }
    public GatewayConfiguration Configuration { get; }

    /// <summary>The certificates this revision uses, with their end of validity (expiry warnings and /status).</summary>
    public IReadOnlyList<ApiGateway.Core.Hosting.CertificateInUse> CertificatesInUse { get; init; } = [];
    public long Revision => Configuration.Revision;
    public string ServiceName => Configuration.Service.Name;

    /// <summary>The connection and request limits, every one resolved (configured or default).</summary>
    public GatewayLimits Limits => field ??= (Configuration.Service.Limits ?? new GatewayLimits()).Resolve();
    public DateTimeOffset LoadedAt { get; }
    public GatewayServices Services { get; }
    public RouteTable Routes { get; }
    public IReadOnlyList<ListenerGroup> Listeners { get; }
    public ClientTrust ClientTrust { get; }
    public IReadOnlyDictionary<string, ServedCertificate> Certificates { get; }
    public Dictionary<string, ServedCertificate> CertificatesByThumbprint { get; }
    public IReadOnlyDictionary<string, BackendTarget> Backends { get; }
    public SnapshotInvokers Invokers { get; }
    public PolicyDeployment Deployment { get; }

    /// <summary>The expressions this revision uses (the cache keeps these, drops the rest).</summary>
    public IReadOnlyCollection<ExpressionKey> ExpressionKeys { get; }

    /// <summary>Linked certificate and key files, watched for rotation.</summary>
    public IReadOnlyList<string> WatchedFiles { get; }

    /// <summary>Requests running on this revision now.</summary>
    public int ActiveRequests => Volatile.Read(ref _active);

    /// <summary>One URL per hostname, in configuration order.</summary>
    public IReadOnlyList<string> ListeningUrls => Listeners.SelectMany(l => l.Hosts).Select(h => h.Url).Distinct().ToList();

    public ListenerGroup? FindListener(EndpointKey key)
    {
        foreach (var group in Listeners)
        {
            if (group.Key == key)
                return group;
        }
        return null;
    }

    /// <summary>The target of a base-url from set-backend-service: default TLS checks, no credentials; null for a bad URL.</summary>
    public BackendTarget? TargetForUrl(string url) =>
        _urlTargets.GetOrAdd(url, static u => ConfigurationValidator.IsHttpUrl(u) ? BackendTarget.ForUrl(u) : null);

    internal void Enter() => Interlocked.Increment(ref _active);

    internal void Exit()
    {
        if (Interlocked.Decrement(ref _active) == 0 && Volatile.Read(ref _retired) == 1)
            Release();
    }

    /// <summary>Marks this revision replaced; it releases its resources when (or if already) no request uses it.</summary>
    internal void Retire()
    {
        Volatile.Write(ref _retired, 1);
        if (Volatile.Read(ref _active) == 0)
            Release();
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
            Invokers.Release();
    }
}
