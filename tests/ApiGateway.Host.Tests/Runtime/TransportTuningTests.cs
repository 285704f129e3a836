using ApiGateway.Host.Runtime;

namespace ApiGateway.Host.Tests.Runtime;

/// <summary>
/// The sockets engine's event threads the host asks for (docs/gateway.md, "Performance settings"): half the cores, at
/// least one, only when socket completions run inline, and never over the operator's own
/// DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT.
/// </summary>
public sealed class TransportTuningTests
{
    [Theory]
    [InlineData(1, "1")]
    [InlineData(2, "1")]
    [InlineData(3, "1")]
    [InlineData(8, "4")]
    [InlineData(64, "32")]
    public void WithInlineCompletions_HalfTheCores_AtLeastOne(int cores, string expected) =>
        Assert.Equal(expected, TransportTuning.EventThreadsFor(configured: null, inline: "1", cores));

    [Theory]
    [InlineData("2")]
    [InlineData("8")]
    [InlineData("")]
    public void TheOperatorsOwnCount_IsLeftAsItIs(string configured) =>
        Assert.Null(TransportTuning.EventThreadsFor(configured, inline: "1", processorCount: 8));

    [Theory]
    [InlineData("0")]
    [InlineData(null)]
    public void WithoutInlineCompletions_NetsOwnDefaultStays(string? inline) =>
        Assert.Null(TransportTuning.EventThreadsFor(configured: null, inline, processorCount: 8));
}
