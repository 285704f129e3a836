using ApiGateway.Host.Context;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ApiGateway.Host.Tests.Support;

/// <summary>
/// The policy pipeline without a server: a configuration written through the Core operations, the snapshot the host
/// builds from it (steps, compiled expressions, routes), and requests as <see cref="DefaultHttpContext"/>s run the way
/// <c>GatewayRequestHandler</c> runs them (a pooled context begun, the route's pipeline, the context ended and returned).
/// </summary>
internal sealed class PipelineHarness : IAsyncDisposable
{
    private readonly GatewayServices _services;
    private GatewaySnapshot? _snapshot;

    private PipelineHarness(TimeProvider? time)
    {
        // What the pipeline logs lands in the gateway's collector (Gateway.Logs), as in a served request.
        _services = TestServices.Create(Gateway.Logs.CreateFactory(), time);
    }

    public TestGateway Gateway { get; } = TestGateway.Create();

    /// <summary>A harness whose certificate checks read <paramref name="time"/> (the system clock when null).</summary>
    public static PipelineHarness Create(TimeProvider? time = null) => new(time);

    /// <summary>The snapshot of the configuration as it is now (built on first use).</summary>
    public GatewaySnapshot Snapshot
    {
        get
        {
            if (_snapshot is null)
            {
                var result = SnapshotBuilder.Build(Gateway.ConfigurationPath, _services, new ExpressionCache());
                _snapshot = result.Snapshot ?? throw new InvalidOperationException(string.Join(Environment.NewLine, result.Errors));
            }
            return _snapshot;
        }
    }

    /// <summary>An API with <paramref name="policy"/>, served from <paramref name="url"/> (nothing listens on the default).</summary>
    public void AddApi(string id, string policy, string url = "https://127.0.0.1:9/")
    {
        Gateway.AddApi(id, id, url, policy: policy);
        _snapshot = null;
    }

    /// <summary>A GET of <paramref name="path"/> with its own response body stream, <paramref name="configure"/>d.</summary>
    public static DefaultHttpContext NewRequest(string path, Action<HttpContext>? configure = null)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "GET";
        http.Request.Scheme = "https";
        http.Request.Host = new HostString("localhost", 8443);
        http.Request.Path = path;
        http.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        http.Response.Body = new MemoryStream();
        configure?.Invoke(http);
        return http;
    }

    /// <summary>Runs <paramref name="http"/> through the pipeline of the API its path routes to.</summary>
    public async Task<HttpContext> RunAsync(HttpContext http, Action<PolicyContext>? inspect = null)
    {
        var snapshot = Snapshot;
        if (!snapshot.Routes.TryMatch(http.Request.Path.Value!, out var route, out var consumed))
            throw new InvalidOperationException("No API serves " + http.Request.Path);
        var pool = snapshot.Services.Contexts;
        var context = pool.Get();
        context.Begin(http, snapshot, route, consumed, tls: null);
        http.Features.Set(context);
        try
        {
            await route.Pipeline.ExecuteAsync(context);
            inspect?.Invoke(context);
        }
        finally
        {
            http.Features.Set<PolicyContext>(null);
            context.End();
            pool.Return(context);
        }
        return http;
    }

    /// <summary>What the client would receive: status, reason phrase, a header, the body.</summary>
    public static (int Status, string? Reason, string Body) Answer(HttpContext http) =>
        (http.Response.StatusCode, http.Features.Get<IHttpResponseFeature>()?.ReasonPhrase, ReadBody(http));

    public static string ReadBody(HttpContext http)
    {
        var stream = (MemoryStream)http.Response.Body;
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        _snapshot?.Retire();
        _services.Dispose();
        await Gateway.DisposeAsync();
    }
}
