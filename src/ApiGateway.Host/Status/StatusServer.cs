using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ApiGateway.Core.Hosting;
using ApiGateway.Host.Metrics;
using ApiGateway.Host.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ApiGateway.Host.Status;

/// <summary>What the gateway answers on <c>/readyz</c>.</summary>
/// <param name="Ready">200 when true, 503 otherwise.</param>
/// <param name="Text">One line for the body: why (not) ready.</param>
internal readonly record struct Readiness(bool Ready, string Text);

/// <summary>
/// What one plain-HTTP management listener serves. The status listener (127.0.0.1) has all of it; the health
/// listener (<c>--health-address</c>, reachable by a kubelet or a load balancer) has only <see cref="Ready"/> and
/// <see cref="Metrics"/> besides <c>/healthz</c>, so it never serves <c>/status</c> or <c>/shutdown</c>.
/// </summary>
internal sealed record ManagementEndpoints
{
    /// <summary><c>GET /readyz</c>.</summary>
    public required Func<Readiness> Ready { get; init; }

    /// <summary><c>GET /metrics</c>, or null for none.</summary>
    public PrometheusExport? Metrics { get; init; }

    /// <summary><c>GET /status</c>, or null for none.</summary>
    public Func<GatewayStatusDocument>? Status { get; init; }

    /// <summary><c>POST /shutdown</c> with <c>Authorization: Bearer &lt;token&gt;</c> from the owner-only state file, or null for none.</summary>
    public (string Token, Action<string> Shutdown)? Shutdown { get; init; }
}

/// <summary>
/// A management endpoint, plain HTTP: <c>GET /healthz</c> (200 while the process serves: liveness),
/// <c>GET /readyz</c> (200 when the configuration is loaded and every listener bound, 503 while draining:
/// readiness), <c>GET /metrics</c> (Prometheus text or OpenMetrics), and on the loopback status listener also
/// <c>GET /status</c> (JSON, see <see cref="GatewayStatusDocument"/>) and <c>POST /shutdown</c> (graceful stop).
/// Anything else is 404.
/// </summary>
internal sealed class StatusServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StatusServer(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public string Url { get; }

    /// <summary>The loopback status endpoint on <paramref name="port"/> (0: ephemeral).</summary>
    public static Task<StatusServer> StartAsync(int port, ManagementEndpoints endpoints, ILoggerFactory loggerFactory, CancellationToken cancellationToken) =>
        StartAsync(EndpointKey.Of("127.0.0.1", port), endpoints, loggerFactory, cancellationToken);

    /// <summary>A management endpoint on <paramref name="address"/>.</summary>
    public static async Task<StatusServer> StartAsync(EndpointKey address, ManagementEndpoints endpoints, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "ApiGateway.Host.Status" });
        builder.Services.RemoveAll<ILoggerFactory>();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, ProcessLifetime>();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            switch (address.Address)
            {
                case "*":
                    options.ListenAnyIP(address.Port);
                    break;
                case "localhost":
                    options.ListenLocalhost(address.Port);
                    break;
                default:
                    options.Listen(IPAddress.Parse(address.Address), address.Port);
                    break;
            }
        });
        var app = builder.Build();
        var expected = endpoints.Shutdown is { } shutdown ? Encoding.UTF8.GetBytes("Bearer " + shutdown.Token) : null;
        app.Run(http => HandleAsync(http, endpoints, expected));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new StatusServer(app, bound.TrimEnd('/') + "/");
    }

    private static async Task HandleAsync(HttpContext http, ManagementEndpoints endpoints, byte[]? expectedAuthorization)
    {
        var path = http.Request.Path.Value ?? "/";
        var get = HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method);
        http.Response.Headers.CacheControl = "no-store";
        if (get && path == "/healthz")
        {
            http.Response.ContentType = "text/plain; charset=utf-8";
            await http.Response.WriteAsync("ok\n", http.RequestAborted).ConfigureAwait(false);
            return;
        }
        if (get && path == "/readyz")
        {
            var readiness = endpoints.Ready();
            http.Response.StatusCode = readiness.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            http.Response.ContentType = "text/plain; charset=utf-8";
            await http.Response.WriteAsync(readiness.Text + "\n", http.RequestAborted).ConfigureAwait(false);
            return;
        }
        if (get && path == "/metrics" && endpoints.Metrics is { } metrics)
        {
            // Written to a buffer first: the content type depends on the format, and a failed collection must not cut a 200.
            using var buffer = new MemoryStream();
            var contentType = await metrics.WriteAsync(buffer, http.Request.Headers.Accept.ToString(), http.RequestAborted).ConfigureAwait(false);
            http.Response.ContentType = contentType;
            http.Response.ContentLength = buffer.Length;
            buffer.Position = 0;
            await buffer.CopyToAsync(http.Response.Body, http.RequestAborted).ConfigureAwait(false);
            return;
        }
        if (get && path == "/status" && endpoints.Status is { } status)
        {
            http.Response.ContentType = "application/json; charset=utf-8";
            await JsonSerializer.SerializeAsync(http.Response.Body, status(), HostingJson.Options, http.RequestAborted).ConfigureAwait(false);
            return;
        }
        if (HttpMethods.IsPost(http.Request.Method) && path == "/shutdown" && endpoints.Shutdown is { } shutdown && expectedAuthorization is not null)
        {
            var given = Encoding.UTF8.GetBytes(http.Request.Headers.Authorization.ToString());
            if (!CryptographicOperations.FixedTimeEquals(given, expectedAuthorization))
            {
                http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return;
            }
            http.Response.StatusCode = StatusCodes.Status202Accepted;
            await http.Response.WriteAsync("{\"state\":\"stopping\"}", http.RequestAborted).ConfigureAwait(false);
            shutdown.Shutdown("shutdown request on the status endpoint");
            return;
        }
        http.Response.StatusCode = StatusCodes.Status404NotFound;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Closed anyway.
        }
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
