using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace ApiGateway.Host.Backends.Http1;

/// <summary>
/// The kept-alive HTTP/1.1 connections to one backend with one set of TLS settings and client certificates (one per
/// <see cref="BackendInvoker"/>, beside its HttpClient pool). A TLS backend that chooses HTTP/2 in ALPN is
/// remembered as such, and its requests go to the HttpClient pool from then on (<see cref="SpeaksHttp2"/>).
/// Connections idle longer than <see cref="IdleTimeout"/> are closed; at most <see cref="MaxIdle"/> wait.
/// </summary>
internal sealed class Http1Pool : IDisposable
{
    /// <summary>How long an unused connection is kept (HttpClient's default PooledConnectionIdleTimeout).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(1);

    /// <summary>A connection idle longer than this is checked for a close by the backend before it is used.</summary>
    public static readonly TimeSpan CheckAfter = TimeSpan.FromSeconds(1);

    /// <summary>How long a connection (TCP and TLS handshake) may take (as the HttpClient pool's ConnectTimeout).</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Idle connections kept at most; more are closed when they come back.</summary>
    public const int MaxIdle = 512;

    private static readonly List<SslApplicationProtocol> Alpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    private readonly string _host;
    private readonly int _port;
    private readonly SslClientAuthenticationOptions? _ssl;
    private readonly Stack<Http1Connection> _idle = new();
    private readonly Lock _lock = new();
    private readonly Timer _sweep;
    private volatile bool _speaksHttp2;
    private bool _disposed;
    private int _opened;

    /// <param name="authority">scheme://host:port of the backend.</param>
    /// <param name="ssl">The TLS settings of an https backend (validation callback, client certificates), as the HttpClient pool has them.</param>
    public Http1Pool(Uri authority, SslClientAuthenticationOptions? ssl)
    {
        _host = authority.IdnHost;
        _port = authority.Port;
        var host = authority.HostNameType == UriHostNameType.IPv6 ? "[" + authority.IdnHost + "]" : authority.IdnHost;
        HostHeader = authority.IsDefaultPort ? host : host + ":" + _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (string.Equals(authority.Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase))
        {
            var options = ssl ?? new SslClientAuthenticationOptions();
            _ssl = new SslClientAuthenticationOptions
            {
                TargetHost = authority.IdnHost,
                ApplicationProtocols = Alpn,
                RemoteCertificateValidationCallback = options.RemoteCertificateValidationCallback,
                CertificateRevocationCheckMode = options.CertificateRevocationCheckMode,
                ClientCertificateContext = options.ClientCertificateContext,
                ClientCertificates = options.ClientCertificates,
                LocalCertificateSelectionCallback = options.LocalCertificateSelectionCallback,
                EnabledSslProtocols = options.EnabledSslProtocols,
            };
        }
        _sweep = new Timer(static state => ((Http1Pool)state!).Sweep(), this, IdleTimeout / 2, IdleTimeout / 2);
    }

    /// <summary>The Host header of a request to the backend (its host, and its port unless the scheme's default), as HttpClient writes it.</summary>
    public string HostHeader { get; }

    /// <summary>The backend chose HTTP/2 in ALPN: its requests go to the HttpClient pool, which speaks it.</summary>
    public bool SpeaksHttp2 => _speaksHttp2;

    /// <summary>Connections opened so far (tests: kept-alive requests reuse them).</summary>
    public int Opened => Volatile.Read(ref _opened);

    /// <summary>Connections waiting now.</summary>
    public int IdleCount
    {
        get
        {
            lock (_lock)
                return _idle.Count;
        }
    }

    /// <summary>An idle connection, or null when none is left that still looks usable.</summary>
    public Http1Connection? TryRent()
    {
        while (true)
        {
            Http1Connection connection;
            lock (_lock)
            {
                if (!_idle.TryPop(out connection!))
                    return null;
            }
            var idle = Stopwatch.GetElapsedTime(connection.IdleSince);
            if (idle < IdleTimeout && (idle < CheckAfter || connection.LooksAlive()))
            {
                connection.Reused = true;
                return connection;
            }
            connection.Abort();
        }
    }

    /// <summary>
    /// A new connection, its TLS handshake done; null when the backend chose HTTP/2 (the connection is closed and the
    /// pool remembers it). Throws what connecting threw: SocketException (refused, unreachable, timed out),
    /// AuthenticationException (the handshake, or the backend's certificate through the validation callback).
    /// </summary>
    public async ValueTask<Http1Connection?> ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            try
            {
                await socket.ConnectAsync(new DnsEndPoint(_host, _port), timeout.Token).ConfigureAwait(false);
                stream = new NetworkStream(socket, ownsSocket: true);
                if (_ssl is not null)
                {
                    var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                    stream = tls;
                    await tls.AuthenticateAsClientAsync(_ssl, timeout.Token).ConfigureAwait(false);
                    if (tls.NegotiatedApplicationProtocol == SslApplicationProtocol.Http2)
                    {
                        _speaksHttp2 = true;
                        await tls.DisposeAsync().ConfigureAwait(false);
                        socket.Dispose();
                        return null;
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new SocketException((int)SocketError.TimedOut);
            }
            Interlocked.Increment(ref _opened);
            return new Http1Connection(socket, stream);
        }
        catch
        {
            if (stream is not null)
                await stream.DisposeAsync().ConfigureAwait(false);
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Takes a connection back after a complete exchange; closes it when the pool is full or gone.</summary>
    public void Return(Http1Connection connection)
    {
        connection.End();
        connection.IdleSince = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            if (!_disposed && _idle.Count < MaxIdle)
            {
                _idle.Push(connection);
                return;
            }
        }
        connection.Abort();
    }

    /// <summary>Closes the connections idle longer than <see cref="IdleTimeout"/>.</summary>
    private void Sweep()
    {
        List<Http1Connection>? stale = null;
        lock (_lock)
        {
            if (_idle.Count == 0)
                return;
            var keep = new List<Http1Connection>(_idle.Count);
            // The stack's enumeration runs from the most recently returned to the oldest.
            foreach (var connection in _idle)
            {
                if (Stopwatch.GetElapsedTime(connection.IdleSince) < IdleTimeout)
                    keep.Add(connection);
                else
                    (stale ??= []).Add(connection);
            }
            if (stale is null)
                return;
            _idle.Clear();
            for (var i = keep.Count - 1; i >= 0; i--)
                _idle.Push(keep[i]);
        }
        foreach (var connection in stale)
            connection.Abort();
    }

    /// <summary>Closes the idle connections; those carrying a request are closed when they come back.</summary>
    public void Dispose()
    {
        Http1Connection[] idle;
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            idle = _idle.ToArray();
            _idle.Clear();
        }
        _sweep.Dispose();
        foreach (var connection in idle)
            connection.Abort();
    }
}
