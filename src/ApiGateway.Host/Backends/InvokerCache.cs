using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Backends;
using ApiGateway.Host.Expressions;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;
using ApiGateway.Host.Metrics;

namespace ApiGateway.Host.Backends;

/// <summary>What makes two invokers interchangeable: the backend's authority, the TLS checks and the client certificates.</summary>
internal readonly record struct InvokerKey(string Authority, bool ValidateChain, bool ValidateName, string Certificates, bool FollowRedirects)
{
    public static InvokerKey For(BackendTarget target, IReadOnlyList<ServedCertificate> certificates, bool followRedirects) =>
        new(target.Authority, target.ValidateChain, target.ValidateName, string.Join(',', certificates.Select(c => c.Thumbprint)), followRedirects);
}

/// <summary>
/// A pooled connection to a backend (YARP's model: one <see cref="HttpMessageInvoker"/> per backend × TLS settings ×
/// client certificate). It owns copies of the client certificates so it outlives the configuration revision that
/// created it: a reload that changes none of those keeps its warm connections.
/// </summary>
internal sealed class BackendInvoker : IDisposable
{
    private readonly X509Certificate2[] _certificates;

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5359", Justification = "BackendCertificateValidator rejects (throws) unless every check the backend asks for passes; skipping a check is the operator's explicit setting.")]
    public BackendInvoker(InvokerKey key, IReadOnlyList<ServedCertificate> certificates, GatewayMetrics? metrics = null)
    {
        Key = key;
        _certificates = certificates.Select(c => CopyWithKey(c.Certificate)).ToArray();
        var validator = new BackendCertificateValidator(key.Authority, key.ValidateChain, key.ValidateName, metrics);
        // The rules Test-GatewayBackendTls uses too: one certificate with its intermediates, or of several (the API's
        // gateway credential first, then the backend's) the one whose issuer the backend says it accepts.
        var presented = new List<(X509Certificate2, X509Certificate2Collection)>();
        for (var i = 0; i < _certificates.Length; i++)
        {
            var chain = new X509Certificate2Collection();
            foreach (var c in certificates[i].Chain)
                chain.Add(c);
            presented.Add((_certificates[i], chain));
        }
        var ssl = BackendTlsRules.ClientOptions(validator.Validate, presented, (a, b) => DistinguishedName.Equals(a, b));
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = key.FollowRedirects,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
            ConnectTimeout = TimeSpan.FromSeconds(15),
            SslOptions = ssl,
        };
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public InvokerKey Key { get; }

    public HttpMessageInvoker Invoker { get; }

    /// <summary>Snapshots that use this invoker (guarded by the cache's lock).</summary>
    internal int References;

    private static X509Certificate2 CopyWithKey(X509Certificate2 certificate)
    {
        if (!certificate.HasPrivateKey)
            return X509CertificateLoader.LoadCertificate(certificate.RawData);
        var flags = OperatingSystem.IsLinux() ? X509KeyStorageFlags.EphemeralKeySet : X509KeyStorageFlags.DefaultKeySet;
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, flags);
    }

    public void Dispose()
    {
        Invoker.Dispose();
        foreach (var certificate in _certificates)
            certificate.Dispose();
    }
}

/// <summary>The backend's server certificate checks: chain and name, each switchable on its own.</summary>
internal sealed class BackendCertificateValidator(string authority, bool validateChain, bool validateName, GatewayMetrics? metrics = null)
{
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var remaining = BackendTlsRules.Remaining(errors, validateChain, validateName);
        if (remaining == SslPolicyErrors.None)
            return true;
        var status = (remaining & SslPolicyErrors.RemoteCertificateChainErrors) != 0 ? BackendTlsRules.StatusOf(chain) : X509ChainStatusFlags.NoError;
        metrics?.RecordBackendTlsFailure(authority, remaining);
        // Thrown rather than returning false so the reason reaches the request that failed (SocketsHttpHandler wraps
        // it as the inner exception); a plain false only says "rejected by the callback".
        throw new BackendCertificateException(authority, certificate?.Subject, remaining, status);
    }
}

/// <summary>The backend's server certificate failed the checks its backend settings ask for.</summary>
internal sealed class BackendCertificateException : AuthenticationException
{
    public BackendCertificateException(string authority, string? subject, SslPolicyErrors errors, X509ChainStatusFlags chainStatus)
        : base(Describe(authority, subject, errors, chainStatus))
    {
        Errors = errors;
        ChainStatus = chainStatus;
    }

    public BackendCertificateException()
    {
    }

    public BackendCertificateException(string message)
        : base(message)
    {
    }

    public BackendCertificateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SslPolicyErrors Errors { get; }

    public X509ChainStatusFlags ChainStatus { get; }

    private static string Describe(string authority, string? subject, SslPolicyErrors errors, X509ChainStatusFlags chainStatus)
    {
        var parts = new List<string>();
        if ((errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            parts.Add("it presented no certificate");
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            parts.Add($"its certificate does not name the host of {authority} (RemoteCertificateNameMismatch)");
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            parts.Add($"its certificate chain is not trusted (RemoteCertificateChainErrors: {chainStatus})");
        return $"The server certificate{(subject is null ? string.Empty : " '" + subject + "'")} of {authority} failed validation: {string.Join("; ", parts)}.";
    }
}

/// <summary>
/// The invokers of the process, shared by the revisions that use them and disposed a while after the last one
/// that did has drained (so a reload never cuts a request that is still reading its response).
/// </summary>
internal sealed class InvokerCache : IDisposable
{
    private readonly Dictionary<InvokerKey, BackendInvoker> _invokers = [];
    private readonly Lock _lock = new();
    private readonly ILogger _logger;
    private readonly TimeSpan _grace;
    private readonly GatewayMetrics? _metrics;
    private bool _disposed;

    public InvokerCache(ILogger logger, TimeSpan? grace = null, GatewayMetrics? metrics = null)
    {
        _logger = logger;
        _grace = grace ?? TimeSpan.FromSeconds(10);
        _metrics = metrics;
    }

    /// <summary>How many invokers were ever created (tests: a reload that changes nothing creates none).</summary>
    public int Created { get; private set; }

    /// <summary>Invokers alive now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _invokers.Count;
        }
    }

    /// <summary>The invoker for <paramref name="key"/>, created when there is none; the caller holds a reference until <see cref="Release"/>.</summary>
    public BackendInvoker Acquire(InvokerKey key, IReadOnlyList<ServedCertificate> certificates)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_invokers.TryGetValue(key, out var invoker))
            {
                invoker = new BackendInvoker(key, certificates, _metrics);
                _invokers[key] = invoker;
                Created++;
            }
            invoker.References++;
            return invoker;
        }
    }

    /// <summary>Drops a reference; an invoker nobody uses any more is disposed after the grace period unless taken again.</summary>
    public void Release(BackendInvoker invoker)
    {
        lock (_lock)
        {
            if (--invoker.References > 0 || _disposed)
                return;
        }
        _ = DisposeLaterAsync(invoker);
    }

    private async Task DisposeLaterAsync(BackendInvoker invoker)
    {
        await Task.Delay(_grace).ConfigureAwait(false);
        lock (_lock)
        {
            if (invoker.References > 0 || !_invokers.TryGetValue(invoker.Key, out var current) || !ReferenceEquals(current, invoker))
                return;
            _invokers.Remove(invoker.Key);
        }
        Log.InvokerDisposed(_logger, invoker.Key.Authority);
        invoker.Dispose();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (var invoker in _invokers.Values)
                invoker.Dispose();
            _invokers.Clear();
        }
    }
}
