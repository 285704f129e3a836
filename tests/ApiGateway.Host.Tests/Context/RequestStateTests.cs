using System.Collections;
using System.Reflection;
using ApiGateway.Host.Context;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Context;

/// <summary>
/// The pooled <see cref="PolicyContext"/> forgets a request when it ends: after a request that touched every part of
/// its state, the context the pool hands out next is indistinguishable from a new one, field by field (its request
/// state, the request and response views, the header, query and variable dictionaries).
/// </summary>
public sealed class RequestStateTests : IAsyncLifetime
{
    private PipelineHarness _harness = null!;

    public Task InitializeAsync()
    {
        _harness = PipelineHarness.Create();
        // Touches: variables, request id, timestamp, client address, headers and query (read and written), Host,
        // set-backend-service, authentication-certificate, an ignored validation failure (LastError), the forward
        // (it fails: nothing listens), on-error with a custom status and body.
        _harness.AddApi("busy", """
            <policies>
              <inbound>
                <set-variable name="seen" value="@(context.RequestId.ToString() + context.Timestamp.Ticks + context.Request.IpAddress + context.Request.Headers.GetValueOrDefault("x-a", "") + context.Request.Url.Query.GetValueOrDefault("q", "") + context.Elapsed)" />
                <set-header name="Host" exists-action="override"><value>backend.example</value></set-header>
                <validate-client-certificate ignore-error="true" validate-revocation="false" />
                <set-backend-service base-url="http://127.0.0.1:9/elsewhere" />
                <authentication-certificate certificate-id="gateway-server" />
              </inbound>
              <backend><forward-request timeout="5" /></backend>
              <on-error>
                <set-status code="502" reason="@(context.LastError.Reason)" />
                <set-body>@(context.Variables.GetValueOrDefault<string>("seen") + context.Response.StatusCode + context.Response.Headers.Count)</set-body>
              </on-error>
            </policies>
            """);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task NoStateSurvivesFromOneRequestToTheNext()
    {
        PolicyContext? used = null;
        var http = await _harness.RunAsync(
            PipelineHarness.NewRequest("/busy/x", h =>
            {
                h.Request.Headers["x-a"] = "1";
                h.Request.QueryString = new Microsoft.AspNetCore.Http.QueryString("?q=2");
            }),
            context =>
            {
                used = context;
                // The request really went through every part the test claims to cover.
                Assert.True(context.State.Forwarded);
                Assert.NotNull(context.State.ForwardTarget);
                Assert.NotNull(context.State.BackendOverride);
                Assert.NotNull(context.State.AuthenticationCertificate);
                Assert.True(context.State.HostHeaderSet);
                Assert.True(context.State.ResponseCustomized);
                Assert.NotNull(context.State.ResponseBody);
                Assert.NotNull(context.State.CurrentStep);
                Assert.True(context.State.HasRequestId && context.State.HasTimestamp);
                Assert.NotEmpty(context.Variables);
                Assert.NotNull(context.LastError);
                Assert.NotEmpty(context.Request.IpAddress);
            });
        Assert.Equal(502, http.Response.StatusCode);

        var next = _harness.Snapshot.Services.Contexts.Get();
        try
        {
            Assert.Same(used, next); // the pool hands the same object to the next request
            AssertLikeNew(next, new PolicyContext(), "context", new HashSet<(object, object)>(PairComparer.Instance));
        }
        finally
        {
            _harness.Snapshot.Services.Contexts.Return(next);
        }
    }

    /// <summary>Every field of <paramref name="used"/> (and of the objects it owns) equals that of a fresh context.</summary>
    private static void AssertLikeNew(object used, object fresh, string path, HashSet<(object, object)> seen)
    {
        if (!seen.Add((used, fresh)))
            return;
        for (var type = used.GetType(); type is not null && type != typeof(object) && type != typeof(ValueType); type = type.BaseType)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                AssertSame(field.GetValue(used), field.GetValue(fresh), $"{path}.{field.Name}", seen);
        }
    }

    private static void AssertSame(object? used, object? fresh, string path, HashSet<(object, object)> seen)
    {
        if (ReferenceEquals(used, fresh))
            return;
        // A collection kept for reuse counts as empty, as a fresh context's missing one does.
        if (used is ICollection { Count: 0 } && fresh is null)
            return;
        Assert.True(used is not null && fresh is not null, $"{path} survives the request: {used ?? fresh}");
        var type = used!.GetType();
        Assert.Equal(type, fresh!.GetType());
        if (type.IsPrimitive || type.IsEnum || used is string or Guid or DateTime or TimeSpan)
        {
            Assert.True(used.Equals(fresh), $"{path} survives the request: {used} (new: {fresh})");
            return;
        }
        if (used is ICollection collection)
        {
            Assert.True(collection.Count == ((ICollection)fresh).Count, $"{path} survives the request: {collection.Count} items");
            return;
        }
        // The context's own objects are compared field by field; anything else it still holds is a leak.
        Assert.True(type.Namespace == typeof(PolicyContext).Namespace, $"{path} survives the request: it still holds {type.Name}");
        AssertLikeNew(used, fresh, path, seen);
    }

    private sealed class PairComparer : IEqualityComparer<(object, object)>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals((object, object) x, (object, object) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);

        public int GetHashCode((object, object) obj) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item1), System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item2));
    }
}
