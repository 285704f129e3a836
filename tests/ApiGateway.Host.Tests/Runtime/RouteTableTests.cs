using ApiGateway.Core.Configuration;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Runtime;

namespace ApiGateway.Host.Tests.Runtime;

public sealed class RouteTableTests
{
    private static ApiRoute Route(string path) =>
        new(path.Length == 0 ? "root" : path.Replace('/', '-'), new ApiEntry { DisplayName = path, Path = path },
            new PolicyPipeline([], [], [], []), new BackendTarget(null, "https://backend.example/", new BackendTls(), [], [], [], null));

    private static readonly RouteTable Table = new([Route("billing"), Route("billing/v2"), Route("orders")]);

    [Theory]
    [InlineData("/orders", "orders", 7)]
    [InlineData("/orders/", "orders", 7)]
    [InlineData("/orders/42", "orders", 7)]
    [InlineData("/ORDERS/42", "orders", 7)]
    [InlineData("/billing/v2/invoices", "billing-v2", 11)]
    [InlineData("/billing/v2", "billing-v2", 11)]
    [InlineData("/billing/v3", "billing", 8)]
    [InlineData("/billing", "billing", 8)]
    public void LongestWholeSegmentPrefix_Wins(string path, string api, int consumed)
    {
        Assert.True(Table.TryMatch(path, out var route, out var taken));
        Assert.Equal(api, route.ApiId);
        Assert.Equal(consumed, taken);
    }

    [Theory]
    [InlineData("/ordersx")]
    [InlineData("/billingv2")]
    [InlineData("/")]
    [InlineData("/other/orders")]
    public void NoApi_NoMatch(string path) => Assert.False(Table.TryMatch(path, out _, out _));

    [Fact]
    public void RootApi_TakesWhatNoOtherApiMatches()
    {
        var table = new RouteTable([Route(""), Route("orders")]);

        Assert.True(table.TryMatch("/orders/1", out var orders, out _));
        Assert.Equal("orders", orders.ApiId);
        Assert.True(table.TryMatch("/anything", out var root, out var consumed));
        Assert.Equal("root", root.ApiId);
        Assert.Equal(0, consumed);
    }
}
