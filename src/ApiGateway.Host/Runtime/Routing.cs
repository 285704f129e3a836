using ApiGateway.Core.Configuration;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Context;
using ApiGateway.Host.Pipeline;

namespace ApiGateway.Host.Runtime;

/// <summary>An API as served: its path, composed policy and default backend.</summary>
internal sealed class ApiRoute
{
    public ApiRoute(string apiId, ApiEntry api, PolicyPipeline pipeline, BackendTarget defaultBackend, bool checksRevocation = false)
    {
        ChecksRevocation = checksRevocation;
        ApiId = apiId;
        Api = api;
        Path = api.Path;
        Pipeline = pipeline;
        DefaultBackend = defaultBackend;
        ModelApi = new PolicyApi(apiId, api.DisplayName, api.Path);
    }

    public string ApiId { get; }
    public ApiEntry Api { get; }

    /// <summary>URL suffix without slashes ("orders", "billing/v2", "" for the root).</summary>
    public string Path { get; }

    public PolicyPipeline Pipeline { get; }

    /// <summary>
    /// Whether the composed policy may check a client certificate's revocation (validate-client-certificate with
    /// validate-revocation, or an expression calling <c>Verify()</c>): its requests await the revocation answer
    /// before the policy runs, so the policy's synchronous check never waits for a CRL server on a thread.
    /// </summary>
    public bool ChecksRevocation { get; }
    public BackendTarget DefaultBackend { get; }
    public PolicyApi ModelApi { get; }
}

/// <summary>
/// Routes a request path to an API: the longest API path that is a whole-segment prefix of the request path wins
/// ("billing/v2" before "billing"; "orders" matches "/orders" and "/orders/1" but not "/ordersx"), compared without
/// regard to case as in APIM. The root API ("") matches everything else.
/// </summary>
internal sealed class RouteTable
{
    private readonly ApiRoute[] _routes;

    public RouteTable(IEnumerable<ApiRoute> routes)
    {
        _routes = routes.OrderByDescending(r => r.Path.Length).ThenBy(r => r.Path, StringComparer.OrdinalIgnoreCase).ToArray();
    }

    public IReadOnlyList<ApiRoute> Routes => _routes;

    /// <summary>The API for <paramref name="path"/> and how many characters of the path its prefix takes.</summary>
    public bool TryMatch(string path, out ApiRoute route, out int consumed)
    {
        var span = path.AsSpan();
        if (span.Length > 0 && span[0] == '/')
            span = span[1..];
        foreach (var candidate in _routes)
        {
            var prefix = candidate.Path;
            if (prefix.Length == 0)
            {
                route = candidate;
                consumed = 0;
                return true;
            }
            if (span.Length >= prefix.Length
                && span[..prefix.Length].Equals(prefix, StringComparison.OrdinalIgnoreCase)
                && (span.Length == prefix.Length || span[prefix.Length] == '/'))
            {
                route = candidate;
                consumed = path.Length - span.Length + prefix.Length;
                return true;
            }
        }
        route = null!;
        consumed = 0;
        return false;
    }
}
