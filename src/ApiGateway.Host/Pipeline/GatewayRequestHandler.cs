using ApiGateway.Host.Runtime;
using ApiGateway.Host.Tls;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Pipeline;

/// <summary>
/// The terminal middleware of every listener: captures the current snapshot once, routes by API path (404 JSON when
/// none matches), runs the API's composed policy with a pooled context, and leaves the snapshot when done.
/// </summary>
internal sealed class GatewayRequestHandler(GatewayRuntime runtime)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var snapshot = runtime.EnterSnapshot();
        try
        {
            var path = http.Request.Path.Value is { Length: > 0 } p ? p : "/";
            if (!snapshot.Routes.TryMatch(path, out var route, out var consumed))
            {
                await ErrorResponses.WriteNotFoundAsync(http, path).ConfigureAwait(false);
                return;
            }
            var pool = snapshot.Services.Contexts;
            var context = pool.Get();
            context.Begin(http, snapshot, route, consumed, http.Features.Get<ConnectionTls>());
            http.Features.Set(context);
            try
            {
                await route.Pipeline.ExecuteAsync(context).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                // The client went away.
            }
            catch (Exception ex)
            {
                Log.RequestFailed(snapshot.Services.Logger, path, ex);
                if (!http.Response.HasStarted)
                {
                    http.Response.Headers.Clear();
                    await ErrorResponses.WriteAsync(http, StatusCodes.Status500InternalServerError, null, "InternalError",
                        "The gateway failed while handling the request; see its log.", null, context.RequestId).ConfigureAwait(false);
                }
                else
                {
                    http.Abort();
                }
            }
            finally
            {
                http.Features.Set<Context.PolicyContext>(null);
                context.End();
                pool.Return(context);
            }
        }
        finally
        {
            snapshot.Exit();
        }
    }
}
