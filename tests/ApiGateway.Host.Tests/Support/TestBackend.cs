using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ApiGateway.Core.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;

namespace ApiGateway.Host.Tests.Support;

/// <summary>
/// A real backend on 127.0.0.1: HTTPS with a self-signed certificate by default, optionally requiring a client
/// certificate (only the listed thumbprints get through the handshake). By default it echoes what it received as JSON.
/// </summary>
internal sealed class TestBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private TestBackend(WebApplication app, string url, X509Certificate2 certificate)
    {
        _app = app;
        Url = url;
        Certificate = certificate;
    }

    public string Url { get; }

    public X509Certificate2 Certificate { get; }

    public int Requests => Volatile.Read(ref _requests);

    public static async Task<TestBackend> StartAsync(
        X509Certificate2? certificate = null,
        string[]? requireClientThumbprints = null,
        Func<HttpContext, Task>? handler = null,
        bool https = true,
        Func<X509Certificate2>? certificateSelector = null)
    {
        certificate ??= TestCertificates.Create("CN=test-backend", serverAuth: true, dnsNames: ["127.0.0.1", "localhost"]);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (!https)
                return;
            listen.UseHttps(options =>
            {
                if (certificateSelector is null)
                    options.ServerCertificate = certificate;
                else
                    options.ServerCertificateSelector = (_, _) => certificateSelector();
                if (requireClientThumbprints is not null)
                {
                    options.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    options.ClientCertificateValidation = (presented, _, _) =>
                        requireClientThumbprints.Contains(presented.Thumbprint, StringComparer.OrdinalIgnoreCase);
                }
            });
        }));
        var app = builder.Build();
        TestBackend? self = null;
        app.Run(async http =>
        {
            Interlocked.Increment(ref self!._requests);
            if (handler is not null)
            {
                await handler(http);
                return;
            }
            await Echo(http);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new TestBackend(app, address.TrimEnd('/') + "/", certificate);
        return self;
    }

    /// <summary>Answers with what arrived: method, path, query, headers, client certificate, body.</summary>
    public static async Task Echo(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body);
        var body = await reader.ReadToEndAsync();
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            method = http.Request.Method,
            path = http.Request.Path.Value,
            query = http.Request.QueryString.Value,
            headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
            clientCertificate = http.Connection.ClientCertificate?.Thumbprint,
            body,
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
