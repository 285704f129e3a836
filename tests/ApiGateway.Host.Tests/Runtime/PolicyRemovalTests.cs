using ApiGateway.Core.Management;
using ApiGateway.Host.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Tests.Runtime;

/// <summary>
/// Remove-GatewayPolicy (GatewayService.RemovePolicy) on a running gateway: what it serves goes back to the default,
/// an API inheriting the global policy and the global default forwarding, as APIM does once a policy is deleted.
/// </summary>
public sealed class PolicyRemovalTests
{
    private static string WithOutboundHeader(string name, string value, bool inheriting) => $"""
        <policies>
          <inbound>{(inheriting ? "<base />" : string.Empty)}</inbound>
          <backend>{(inheriting ? "<base />" : "<forward-request />")}</backend>
          <outbound>
            {(inheriting ? "<base />" : string.Empty)}
            <set-header name="{name}" exists-action="override"><value>{value}</value></set-header>
          </outbound>
          <on-error>{(inheriting ? "<base />" : string.Empty)}</on-error>
        </policies>
        """;

    [Fact]
    public async Task RemovingAnApiPolicy_ServesTheInheritedGlobalPolicyOnly()
    {
        await using var backend = await TestBackend.StartAsync(handler: http => http.Response.WriteAsync("from the backend"));
        await using var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "b", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.Service.SetPolicy(null, WithOutboundHeader("x-global", "yes", inheriting: false));
        gateway.AddApi("orders", "orders", backendId: "b", policy: WithOutboundHeader("x-api", "orders", inheriting: true));
        await gateway.StartAsync();
        var before = await gateway.SendAsync("/orders/a");
        Assert.Equal(("orders", "yes"), (before.Header("x-api"), before.Header("x-global")));

        gateway.Service.RemovePolicy("orders");
        await gateway.WaitForRevisionAsync(gateway.Service.Read().Revision);
        var after = await gateway.SendAsync("/orders/a");

        Assert.Equal(200, after.Status);
        Assert.Equal("from the backend", after.Body);
        Assert.Null(after.Header("x-api"));
        Assert.Equal("yes", after.Header("x-global"));
    }

    [Fact]
    public async Task RemovingTheGlobalPolicy_ServesTheDefaultThatForwards()
    {
        await using var backend = await TestBackend.StartAsync(handler: http => http.Response.WriteAsync("from the backend"));
        await using var gateway = TestGateway.Create();
        gateway.Service.NewBackend(new BackendDefinition { BackendId = "b", Url = backend.Url, SkipCertificateChainValidation = true });
        gateway.Service.SetPolicy(null, WithOutboundHeader("x-global", "yes", inheriting: false));
        gateway.AddApi("orders", "orders", backendId: "b");
        await gateway.StartAsync();
        Assert.Equal("yes", (await gateway.SendAsync("/orders/a")).Header("x-global"));

        gateway.Service.RemovePolicy();
        await gateway.WaitForRevisionAsync(gateway.Service.Read().Revision);
        var after = await gateway.SendAsync("/orders/a");

        Assert.Equal(200, after.Status);
        Assert.Equal("from the backend", after.Body);
        Assert.Null(after.Header("x-global"));
        Assert.Null(gateway.Server!.Runtime.LastReloadError);
    }
}
