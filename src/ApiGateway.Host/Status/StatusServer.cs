using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ApiGateway.Core.Hosting;
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

/// <summary>
/// The status endpoint, plain HTTP on 127.0.0.1 only: <c>GET /status</c> (JSON, see <see cref="GatewayStatusDocument"/>),
/// <c>GET /healthz</c> (200 once serving), <c>POST /shutdown</c> with <c>Authorization: Bearer &lt;token&gt;</c> from
/// the owner-only state file (graceful stop). Anything else is 404.
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

    public static async Task<StatusServer> StartAsync(int port, Func<GatewayStatusDocument> status, string token, Action<string> shutdown, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "ApiGateway.Host.Status" });
        builder.Services.RemoveAll<ILoggerFactory>();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, ProcessLifetime>();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        var expected = Encoding.UTF8.GetBytes("Bearer " + token);
        app.Run(async http =>
        {
            var path = http.Request.Path.Value ?? "/";
            if (HttpMethods.IsGet(http.Request.Method) && path == "/status")
            {
                http.Response.ContentType = "application/json; charset=utf-8";
                await JsonSerializer.SerializeAsync(http.Response.Body, status(), HostingJson.Options, http.RequestAborted).ConfigureAwait(false);
                return;
            }
            if (HttpMethods.IsGet(http.Request.Method) && path == "/healthz")
            {
                await http.Response.WriteAsync("ok", http.RequestAborted).ConfigureAwait(false);
                return;
            }
            if (HttpMethods.IsPost(http.Request.Method) && path == "/shutdown")
            {
                var given = Encoding.UTF8.GetBytes(http.Request.Headers.Authorization.ToString());
                if (!CryptographicOperations.FixedTimeEquals(given, expected))
                {
                    http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    http.Response.Headers.WWWAuthenticate = "Bearer";
                    return;
                }
                http.Response.StatusCode = StatusCodes.Status202Accepted;
                await http.Response.WriteAsync("{\"state\":\"stopping\"}", http.RequestAborted).ConfigureAwait(false);
                shutdown("shutdown request on the status endpoint");
                return;
            }
            http.Response.StatusCode = StatusCodes.Status404NotFound;
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new StatusServer(app, address.TrimEnd('/') + "/");
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
