using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using ApiGateway.Core.Configuration;
using ApiGateway.Host.Metrics;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ApiGateway.Host.Runtime;

/// <summary>
/// The HTTPS sockets: one Kestrel server per (listen address, port), so a reload that adds a port starts one server
/// and a reload that drops a port drains and stops one, while the others keep their connections. The TLS handshake
/// reads the current snapshot, so certificate rotation and client-certificate modes apply to the next handshake
/// without rebinding.
/// </summary>
internal sealed class ListenerManager : IAsyncDisposable
{
    private static readonly List<SslApplicationProtocol> Alpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    private readonly GatewayRuntime _runtime;
    private readonly GatewayRequestHandler _handler;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Dictionary<EndpointKey, Listener> _running = [];
    private volatile IReadOnlyList<Listener> _published = [];
    private string? _restartNotice;

    private readonly string? _listenAddress;

    // listenAddress: binds every listener on this address (an IP or *) instead of the hostnames' configured ones, for
    // several instances of one configuration on one host, each on an address of its own (--listen-address).
    public ListenerManager(GatewayRuntime runtime, GatewayRequestHandler handler, ILoggerFactory loggerFactory, string? listenAddress = null)
    {
        _listenAddress = listenAddress;
        _runtime = runtime;
        _handler = handler;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("ApiGateway");
    }

    /// <summary>The addresses bound now, e.g. <c>https://127.0.0.1:8443</c>.</summary>
    public IReadOnlyList<string> BoundAddresses => _published.SelectMany(l => l.Addresses).ToList();

    /// <summary>Whether a listener for <paramref name="key"/> is bound now (read from any thread: readiness).</summary>
    public bool IsBound(EndpointKey key) => _published.Any(l => l.Key == key);

    /// <summary>Publishes the running set for readers on other threads (the reload and stop paths change it under the server's lock).</summary>
    private void Publish() => _published = _running.Values.ToList();

    /// <summary>
    /// Binds what <paramref name="next"/> needs and the running set lacks (first stopping listeners of ports whose
    /// address changes). Returns the problems; on any, what this call started is stopped again and what it stopped
    /// is started again, so the serving snapshot keeps its sockets.
    /// </summary>
    public async Task<IReadOnlyList<string>> AddMissingAsync(GatewaySnapshot next, CancellationToken cancellationToken)
    {
        var wanted = next.Listeners.Select(l => l.Key).ToHashSet();
        var missing = next.Listeners.Where(l => !_running.ContainsKey(l.Key)).ToList();
        if (missing.Count == 0)
            return [];
        var displaced = _running.Keys.Where(k => !wanted.Contains(k) && missing.Any(m => m.Key.Port == k.Port)).ToList();
        foreach (var key in displaced)
            await StopAsync(key, TimeSpan.FromSeconds(30)).ConfigureAwait(false);

        var errors = new List<string>();
        var started = new List<EndpointKey>();
        foreach (var group in missing)
        {
            try
            {
                _running[group.Key] = await StartAsync(group, next, cancellationToken).ConfigureAwait(false);
                started.Add(group.Key);
                Publish();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                var reason = Innermost(ex);
                Log.ListenerFailed(_logger, group.Key.ToString(), reason);
                errors.Add($"The gateway cannot listen on {group.Key} (for {string.Join(", ", group.Hosts.Select(h => h.HostName))}): {reason} Choose another -Port for the hostname, or stop what uses it.");
            }
        }
        if (errors.Count > 0)
        {
            foreach (var key in started)
                await StopAsync(key, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            foreach (var key in displaced)
            {
                if (_runtime.Current is { } current && current.FindListener(key) is { } group)
                {
                    try
                    {
                        _running[key] = await StartAsync(group, current, cancellationToken).ConfigureAwait(false);
                        Publish();
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        Log.ListenerFailed(_logger, key.ToString(), Innermost(ex));
                    }
                }
            }
        }
        return errors;
    }

    /// <summary>Drains and stops the listeners <paramref name="current"/> no longer has.</summary>
    public async Task RemoveObsoleteAsync(GatewaySnapshot current, TimeSpan drain)
    {
        foreach (var key in _running.Keys.Where(k => current.FindListener(k) is null).ToList())
            await StopAsync(key, drain).ConfigureAwait(false);
    }

    /// <summary>Drains and stops every listener (graceful shutdown).</summary>
    public async Task StopAllAsync(TimeSpan drain)
    {
        await Task.WhenAll(_running.Keys.ToList().Select(k => StopAsync(k, drain))).ConfigureAwait(false);
    }

    private async Task StopAsync(EndpointKey key, TimeSpan drain)
    {
        if (!_running.Remove(key, out var listener))
            return;
        Publish();
        using var timeout = new CancellationTokenSource(drain);
        try
        {
            await listener.App.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Drain time is up: the remaining connections are closed.
        }
        await listener.App.DisposeAsync().ConfigureAwait(false);
        Log.ListenerStopped(_logger, key.ToString());
    }

    /// <summary>
    /// Applies the limits of <paramref name="current"/> to the running listeners. Kestrel reads the request and HTTP/2
    /// limits and the timeouts from its options for every new connection and request, so those take effect at once;
    /// the connection limit and the handshake timeout are fixed when a listener binds, so a change of them waits for
    /// a restart (logged once, event 23).
    /// </summary>
    public void ApplyLimits(GatewaySnapshot current)
    {
        var limits = current.Limits;
        var waiting = new List<string>();
        foreach (var listener in _running.Values)
        {
            ApplyLiveLimits(listener.Options, limits);
            if (listener.Bound.MaxConcurrentConnections != limits.MaxConcurrentConnections)
                waiting.Add($"{nameof(GatewayLimits.MaxConcurrentConnections)} {listener.Bound.MaxConcurrentConnections} → {limits.MaxConcurrentConnections}");
            if (listener.Bound.TlsHandshakeTimeoutSeconds != limits.TlsHandshakeTimeoutSeconds)
                waiting.Add($"{nameof(GatewayLimits.TlsHandshakeTimeoutSeconds)} {GatewayLimitDescriptor.Format(listener.Bound.TlsHandshakeTimeoutSeconds!.Value)} → {GatewayLimitDescriptor.Format(limits.TlsHandshakeTimeoutSeconds!.Value)}");
        }
        var notice = waiting.Count == 0 ? null : string.Join(", ", waiting.Distinct(StringComparer.Ordinal));
        if (notice is not null && !string.Equals(notice, _restartNotice, StringComparison.Ordinal))
            Log.LimitsNeedRestart(_logger, notice);
        _restartNotice = notice;
    }

    /// <summary>The limits Kestrel reads per connection or request (see <see cref="ApplyLimits"/>).</summary>
    private static void ApplyLiveLimits(KestrelServerOptions options, GatewayLimits limits)
    {
        var l = options.Limits;
        l.KeepAliveTimeout = TimeSpan.FromSeconds(limits.KeepAliveTimeoutSeconds!.Value);
        l.RequestHeadersTimeout = TimeSpan.FromSeconds(limits.RequestHeadersTimeoutSeconds!.Value);
        // Kestrel pauses reading a connection past MaxRequestBufferSize: it must hold a whole request line and headers.
        l.MaxRequestBufferSize = Math.Max(1024 * 1024, (long)limits.MaxRequestLineSize!.Value + limits.MaxRequestHeadersTotalSize!.Value);
        l.MaxRequestLineSize = limits.MaxRequestLineSize.Value;
        l.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersTotalSize.Value;
        l.MaxRequestHeaderCount = limits.MaxRequestHeaderCount!.Value;
        l.MaxRequestBodySize = limits.MaxRequestBodySize!.Value;
        var grace = TimeSpan.FromSeconds(limits.DataRateGracePeriodSeconds!.Value);
        l.MinRequestBodyDataRate = limits.MinRequestBodyDataRate is > 0 and var inRate ? new MinDataRate(inRate, grace) : null;
        l.MinResponseDataRate = limits.MinResponseDataRate is > 0 and var outRate ? new MinDataRate(outRate, grace) : null;
        l.Http2.MaxStreamsPerConnection = limits.Http2MaxStreamsPerConnection!.Value;
        // A single HTTP/2 header may be as large as all headers together are allowed to be.
        l.Http2.MaxRequestHeaderFieldSize = Math.Max(l.Http2.MaxRequestHeaderFieldSize, Math.Min(limits.MaxRequestHeadersTotalSize.Value, 16 * 1024 * 1024));
    }

    private async Task<Listener> StartAsync(ListenerGroup group, GatewaySnapshot snapshot, CancellationToken cancellationToken)
    {
        var key = group.Key;
        var limits = snapshot.Limits;
        var metrics = _runtime.Services.Metrics;
        var listenerName = key.ToString();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "ApiGateway.Host" });
        builder.Services.RemoveAll<ILoggerFactory>();
        builder.Services.AddSingleton<ILoggerFactory>(new ListenerLoggerFactory(_loggerFactory));
        // The process handles SIGTERM/Ctrl+C once, for all its servers.
        builder.Services.AddSingleton<IHostLifetime, ProcessLifetime>();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.UseSockets(TransportTuning.Apply);
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxConcurrentConnections = limits.MaxConcurrentConnections;
            ApplyLiveLimits(options, limits);
            void Configure(ListenOptions listen)
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                // Around the TLS middleware: a connection that leaves it without reaching the inner one never completed a handshake.
                listen.Use(next => connection => CountHandshakeAsync(next, connection, listenerName));
                // Reads the ClientHello's supported_versions before the handshake's options are chosen (see TlsOffer.For).
                var peekTimeout = TimeSpan.FromSeconds(limits.TlsHandshakeTimeoutSeconds!.Value);
                listen.Use(next => async connection =>
                {
                    await ClientHelloOffer.PeekAsync(connection, peekTimeout).ConfigureAwait(false);
                    await next(connection).ConfigureAwait(false);
                });
                listen.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = context => OnConnection(key, context),
                    HandshakeTimeout = TimeSpan.FromSeconds(limits.TlsHandshakeTimeoutSeconds!.Value),
                });
                listen.Use(next => connection =>
                {
                    if (connection.Features.Get<HandshakeOutcome>() is { } outcome)
                        outcome.Completed = true;
                    metrics.RecordHandshake(listenerName, connection.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.Protocol ?? SslProtocols.None);
                    return next(connection);
                });
            }
            switch (_listenAddress ?? key.Address)
            {
                case "*":
                    options.ListenAnyIP(key.Port, Configure);
                    break;
                case "localhost":
                    options.ListenLocalhost(key.Port, Configure);
                    break;
                default:
                    options.Listen(IPAddress.Parse(_listenAddress ?? key.Address), key.Port, Configure);
                    break;
            }
        });
        var app = builder.Build();
        app.Run(_handler.InvokeAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        Log.ListenerStarted(_logger, string.Join(", ", addresses), string.Join(", ", group.Hosts.Select(h => h.HostName)));
        foreach (var host in group.Hosts)
        {
            if (host.Offer.Warning is { } warning)
                Log.TlsOfferWarning(_logger, warning);
        }
        var kestrel = app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
        return new Listener(key, app, addresses, kestrel, limits);
    }

    /// <summary>Runs the connection; if it ends without a completed handshake, counts why (apigateway_tls_handshake_failures_total).</summary>
    private async Task CountHandshakeAsync(Microsoft.AspNetCore.Connections.ConnectionDelegate next, Microsoft.AspNetCore.Connections.ConnectionContext connection, string listenerName)
    {
        var outcome = new HandshakeOutcome();
        connection.Features.Set(outcome);
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            if (!outcome.Completed)
            {
                var tls = connection.Features.Get<ConnectionTls>();
                _runtime.Services.Metrics.RecordHandshakeFailure(listenerName,
                    tls is null ? HandshakeFailure.NoClientHello
                    : tls.RejectReason is not null ? HandshakeFailure.ClientCertificateRefused
                    : HandshakeFailure.Failed);
            }
        }
    }

    /// <summary>Set on a connection before its handshake, marked once the handshake completed.</summary>
    private sealed class HandshakeOutcome
    {
        public bool Completed { get; set; }
    }

    private ValueTask<SslServerAuthenticationOptions> OnConnection(EndpointKey key, TlsHandshakeCallbackContext context)
    {
        var snapshot = _runtime.Current;
        var group = snapshot?.FindListener(key);
        if (group is null && _runtime.Pending is { } pending)
        {
            snapshot = pending;
            group = pending.FindListener(key);
        }
        if (group is null || snapshot is null)
            throw new AuthenticationException($"{key} is no longer configured.");
        var host = group.Select(context.ClientHelloInfo.ServerName);
        var (protocols, suites) = host.Offer.For(context.Connection.Features.Get<ClientHelloOffer>()?.OffersTls13 == true);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = host.ServerCertificate,
            ApplicationProtocols = Alpn,
            EnabledSslProtocols = protocols,
            CipherSuitesPolicy = suites,
            // TLS 1.3 session tickets (and TLS 1.2 session ids) from the shared SSL_CTX of the server certificate: a
            // returning client skips the certificate exchange's signatures. A resumed session still hands its client
            // certificate to the validation callback, so every connection is judged as a full handshake is.
            AllowTlsResume = true,
            AllowRenegotiation = false,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        };
        var tls = new ConnectionTls(host.Mode, snapshot.ClientTrust, host.HostName, snapshot.Services.TlsLogger);
        if (host.Mode != ClientCertificateNegotiation.Off)
        {
            options.ClientCertificateRequired = true;
            options.CertificateChainPolicy = snapshot.ClientTrust.CreateHandshakePolicy();
            options.RemoteCertificateValidationCallback = tls.Validate;
        }
        context.Connection.Features.Set(tls);
        return ValueTask.FromResult(options);
    }

    private static string Innermost(Exception ex)
    {
        var e = ex;
        while (e.InnerException is not null)
            e = e.InnerException;
        return e.Message.TrimEnd('.') + ".";
    }

    public async ValueTask DisposeAsync() => await StopAllAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);

    /// <summary>A running listener, its live Kestrel options and the limits it was bound with.</summary>
    private sealed record Listener(EndpointKey Key, WebApplication App, IReadOnlyList<string> Addresses, KestrelServerOptions Options, GatewayLimits Bound);
}

/// <summary>
/// The socket transport's settings, each kept for its measured gain (bench/RESULTS.md, "Runtime and transport
/// settings": one gateway per setting in one interleaved run of bench/settings-sweep.sh against nginx).
/// <c>APIGATEWAY_SOCKETS</c> (e.g. <c>inline=0;waitfordata=1</c>) overrides them for benchmarking.
/// </summary>
internal static class TransportTuning
{
    /// <summary>The environment variable that, set before the first socket, makes the sockets engine complete inline.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Called first thing in <c>run</c>: socket completions run on the epoll thread instead of being queued to the
    /// thread pool (together with UnsafePreferInlineScheduling below: -19 % gateway CPU per keep-alive request in
    /// the sweep). Safe only because nothing on the request path blocks: revocation is fetched in the background
    /// (RevocationCache), the access log is written by its own task, expressions run under a time budget.
    /// </summary>
    public static void PreferInlineCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
    }

    /// <summary>The environment variable that sets how many event (epoll) threads the sockets engine runs.</summary>
    public const string EventThreadsVariable = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    /// <summary>
    /// With inline completions each event thread runs all the work of its connections, and .NET then starts one per
    /// core; the gateway takes half the cores, at least one, unless the environment sets the count. Measured on the
    /// 2-core benchmark machine, shared by the gateway, its backend and the load generator (bench/settings-sweep.sh,
    /// one interleaved run each, against two threads): one event thread used 0.82x the gateway CPU per kept-alive
    /// request (6 rounds; req/s 1.03x, p99 0.85x) and completed 1.25x the full handshakes per second at 0.99x their
    /// CPU (5 rounds; p99 0.49x): fewer wake-ups and hand-offs between the two threads' connections. Half the cores
    /// leaves the rest to a backend on the same machine; one that runs only the gateway can set the variable to its
    /// core count. Only with inline completions: without them .NET's own default is lower still. Called after
    /// <see cref="PreferInlineCompletions"/>, before the first socket.
    /// </summary>
    public static void PreferFewerEventThreads()
    {
        if (EventThreadsFor(Environment.GetEnvironmentVariable(EventThreadsVariable), Environment.GetEnvironmentVariable(InlineCompletionsVariable), Environment.ProcessorCount) is { } count)
            Environment.SetEnvironmentVariable(EventThreadsVariable, count);
    }

    /// <summary>The event thread count to set (null: leave it), given the operator's own setting, the inline setting and the cores.</summary>
    internal static string? EventThreadsFor(string? configured, string? inline, int processorCount) =>
        configured is null && inline == "1"
            ? Math.Max(1, processorCount / 2).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : null;

    public static void Apply(Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions options)
    {
        // Kestrel runs the connection's continuations on the thread that completed the socket operation instead of
        // its IOQueue: one hop less per read and per write (see PreferInlineCompletions for the measured gain).
        options.UnsafePreferInlineScheduling = true;
        // A read buffer is rented at once instead of after a zero-byte read signals data: one syscall and one
        // completion less per request on kept-alive connections (+25 % req/s in the sweep, same CPU per request),
        // for a pooled 4 KB buffer held by each connection while it waits.
        options.WaitForDataBeforeAllocatingBuffer = false;
        var spec = Environment.GetEnvironmentVariable("APIGATEWAY_SOCKETS");
        if (string.IsNullOrWhiteSpace(spec))
            return;
        foreach (var part in spec.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (name, value) = part.IndexOf('=', StringComparison.Ordinal) is var eq and > 0 ? (part[..eq], part[(eq + 1)..]) : (part, "1");
            switch (name.ToLowerInvariant())
            {
                case "inline":
                    options.UnsafePreferInlineScheduling = value == "1";
                    break;
                case "ioqueues":
                    options.IOQueueCount = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "waitfordata":
                    options.WaitForDataBeforeAllocatingBuffer = value == "1";
                    break;
                default:
                    throw new ArgumentException($"APIGATEWAY_SOCKETS: unknown setting '{name}' (inline, ioqueues, waitfordata).");
            }
        }
    }
}

/// <summary>
/// The gateway's logger factory as the listeners' web hosts see it, less ASP.NET Core's per-request diagnostics. With
/// that category enabled at any level the host starts an <see cref="System.Diagnostics.Activity"/> and a logging scope
/// for every request, and HttpClient then starts a child activity and writes a <c>traceparent</c> header toward the
/// backend: about 6 % of the gateway's CPU under keep-alive load (bench/RESULTS.md), for a trace nobody collects. The
/// category logs nothing the gateway needs: its own handler logs failed requests, and Kestrel logs what escapes it. A
/// client's own <c>traceparent</c> and <c>tracestate</c> still reach the backend unchanged, as any other header.
/// </summary>
internal sealed class ListenerLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    internal const string HostingDiagnostics = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public ILogger CreateLogger(string categoryName) =>
        string.Equals(categoryName, HostingDiagnostics, StringComparison.Ordinal)
            ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance
            : inner.CreateLogger(categoryName);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>The gateway owns the inner factory; a listener's host stopping must not dispose it.</summary>
    public void Dispose()
    {
    }
}

/// <summary>A host lifetime that does nothing: the process (Program) owns signals and stops every server itself.</summary>
internal sealed class ProcessLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
