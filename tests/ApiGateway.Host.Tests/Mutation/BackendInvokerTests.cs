using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The pooled connection toward a backend (YARP's ForwarderHttpClientFactory model): a handler that goes straight to
/// the backend (the gateway has no outbound proxy, docs/cmdlets.md), keeps no cookie jar shared by every client, opens
/// more HTTP/2 connections instead of queueing beyond one connection's stream limit, presents one client certificate
/// with its intermediates, and owns what it created (handler, certificate copies) until it is disposed. Then the
/// cache's lifetime rule: an unused pool is disposed the grace period after the LAST revision let go of it, whatever
/// the context of the thread that let go, and the disposal is logged (event 19).
/// </summary>
public sealed class BackendInvokerTests : IDisposable
{
    private readonly X509Certificate2 _root = TestCertificates.CreateCa("CN=Backend Client Root");
    private readonly X509Certificate2 _intermediate;
    private readonly X509Certificate2 _leaf;
    private readonly X509Certificate2 _second;

    public BackendInvokerTests()
    {
        _intermediate = TestCertificates.CreateIntermediate("CN=Backend Client Intermediate", _root);
        _leaf = TestCertificates.Create("CN=gateway-client", _intermediate, clientAuth: true);
        _second = TestCertificates.Create("CN=gateway-client-2", _root, clientAuth: true);
    }

    public void Dispose()
    {
        _second.Dispose();
        _leaf.Dispose();
        _intermediate.Dispose();
        _root.Dispose();
    }

    private static ServedCertificate Served(string id, X509Certificate2 certificate, params X509Certificate2[] chain) =>
        new(id, new CertificateEntry { Thumbprint = certificate.Thumbprint, Subject = certificate.Subject, Issuer = certificate.Issuer, SerialNumber = certificate.SerialNumber, HasPrivateKey = true },
            new LoadedCertificate(certificate, new X509Certificate2Collection(chain)));

    private static InvokerKey Key(string authority, IReadOnlyList<ServedCertificate> certificates) =>
        new(authority, true, true, string.Join(',', certificates.Select(c => c.Thumbprint)), FollowRedirects: false);

    /// <summary>The handler inside the invoker (HttpMessageInvoker keeps it private; there is no other way to read its settings).</summary>
    private static SocketsHttpHandler HandlerOf(BackendInvoker invoker) =>
        Assert.IsType<SocketsHttpHandler>(typeof(HttpMessageInvoker).GetField("_handler", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(invoker.Invoker));

    [Fact]
    public void Handler_GoesStraightToTheBackend_WithoutACookieJar_AndSpreadsHttp2OverConnections()
    {
        using var invoker = new BackendInvoker(new InvokerKey("orders.contoso.example:443", true, true, string.Empty, FollowRedirects: false), []);
        using var redirecting = new BackendInvoker(new InvokerKey("orders.contoso.example:443", true, true, string.Empty, FollowRedirects: true), []);

        var handler = HandlerOf(invoker);
        Assert.False(handler.UseProxy); // no outbound proxy: HTTP_PROXY of the host must not reroute backend traffic
        Assert.False(handler.UseCookies); // one jar per pool would hand one client's cookies to the next client
        Assert.True(handler.EnableMultipleHttp2Connections); // an HTTP/2 backend is not capped at one connection's streams
        Assert.Equal(DecompressionMethods.None, handler.AutomaticDecompression); // bodies pass through as the backend sent them
        Assert.False(handler.AllowAutoRedirect);
        Assert.True(HandlerOf(redirecting).AllowAutoRedirect); // forward-request follow-redirects="true"
    }

    [Fact]
    public void OneClientCertificate_IsPresentedWithItsIntermediates_FromACopyWithTheKey()
    {
        var served = Served("gateway", _leaf, _intermediate);
        using var invoker = new BackendInvoker(Key("orders.contoso.example:443", [served]), [served]);

        var context = HandlerOf(invoker).SslOptions.ClientCertificateContext!;
        Assert.Equal(_leaf.Thumbprint, context.TargetCertificate.Thumbprint);
        Assert.NotSame(_leaf, context.TargetCertificate); // a copy: it outlives the revision that loaded the certificate
        Assert.True(context.TargetCertificate.HasPrivateKey);
        Assert.Equal([_intermediate.Thumbprint], context.IntermediateCertificates.Select(c => c.Thumbprint));
    }

    [Fact]
    public void Dispose_DisposesTheHandler_AndTheCertificateCopies_ButNotTheRevisionsCertificates()
    {
        var first = Served("gateway", _leaf, _intermediate);
        var second = Served("backend", _second);
        var invoker = new BackendInvoker(Key("orders.contoso.example:443", [first, second]), [first, second]);
        var handler = HandlerOf(invoker);
        var copies = handler.SslOptions.ClientCertificates!.Cast<X509Certificate2>().ToArray();
        Assert.Equal([_leaf.Thumbprint, _second.Thumbprint], copies.Select(c => c.Thumbprint));
        Assert.All(copies, c => Assert.NotEqual(IntPtr.Zero, c.Handle));

        invoker.Dispose();

        // A disposed handler refuses to be changed; one left alive would keep its sockets after the pool is gone.
        Assert.Throws<ObjectDisposedException>(() => handler.ConnectTimeout = TimeSpan.FromSeconds(1));
        Assert.All(copies, c => Assert.Equal(IntPtr.Zero, c.Handle));
        Assert.NotEqual(IntPtr.Zero, _leaf.Handle);
        Assert.NotEqual(IntPtr.Zero, _second.Handle);
    }

    private static InvokerKey PlainKey(string authority) => new(authority, true, true, string.Empty, false);

    [Fact]
    public void TheGivenGracePeriod_IsTheOneUsed()
    {
        // 100 ms instead of the default 10 s: the pool is gone long before the default would have let it go.
        using var cache = new InvokerCache(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeSpan.FromMilliseconds(100));
        var a = cache.Acquire(PlainKey("a:443"), []);
        var watch = Stopwatch.StartNew();

        cache.Release(a);

        Assert.True(SpinWait.SpinUntil(() => cache.Count == 0, TimeSpan.FromSeconds(6)), "still alive 6 s after a release with a 100 ms grace period");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(9));
    }

    [Fact]
    public void DisposingAnUnusedPool_IsLoggedAsEvent19_WithTheAuthority()
    {
        var logs = new LogCollector();
        using var factory = logs.CreateFactory();
        using var cache = new InvokerCache(factory.CreateLogger("ApiGateway.Host.Backends.InvokerCache"), TimeSpan.FromMilliseconds(20));
        var a = cache.Acquire(PlainKey("orders.contoso.example:443"), []);

        cache.Release(a);

        Assert.True(SpinWait.SpinUntil(() => logs.Messages(19).Any(), TimeSpan.FromSeconds(10)), "no event 19");
        Assert.Equal(["Disposed the unused backend connection pool for orders.contoso.example:443."], logs.Messages(19));
        Assert.Equal(0, cache.Count);
    }

    /// <summary>A context whose queue never runs: what a continuation that wants the releasing thread's context would wait on forever.</summary>
    private sealed class StalledContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state)
        {
        }
    }

    [Fact]
    public void TheDisposal_DoesNotNeedTheContextOfTheThreadThatReleased()
    {
        using var cache = new InvokerCache(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeSpan.FromMilliseconds(20));
        var a = cache.Acquire(PlainKey("a:443"), []);
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new StalledContext());
        try
        {
            cache.Release(a);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        Assert.True(SpinWait.SpinUntil(() => cache.Count == 0, TimeSpan.FromSeconds(10)), "the disposal waited on the releasing thread's context");
    }

    [Fact]
    public async Task TheGracePeriod_RunsFromTheLastRelease_NotFromAnEarlierOne()
    {
        // Two revisions use the pool; the first lets go, the second a while later. A request of the second may still
        // be reading its response: the pool must live the whole grace period after the second release.
        var grace = TimeSpan.FromMilliseconds(1500);
        using var cache = new InvokerCache(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, grace);
        var a = cache.Acquire(PlainKey("a:443"), []);
        Assert.Same(a, cache.Acquire(PlainKey("a:443"), []));
        var watch = Stopwatch.StartNew();

        cache.Release(a);
        await Task.Delay(900);
        var lastRelease = watch.Elapsed; // read before the release: its timer cannot start earlier
        cache.Release(a);

        // Past the grace period of the first release (with room for a late timer), before that of the last one.
        var check = grace + TimeSpan.FromMilliseconds(400);
        if (watch.Elapsed < check)
            await Task.Delay(check - watch.Elapsed);
        var count = cache.Count;
        if (watch.Elapsed < lastRelease + grace - TimeSpan.FromMilliseconds(50)) // else this machine was too slow to tell
            Assert.Equal(1, count);

        Assert.True(SpinWait.SpinUntil(() => cache.Count == 0, TimeSpan.FromSeconds(10)), "never disposed after the last release");
        Assert.True(watch.Elapsed >= lastRelease + grace - TimeSpan.FromMilliseconds(50), $"disposed at {watch.Elapsed}, the last release was at {lastRelease}");
    }
}
