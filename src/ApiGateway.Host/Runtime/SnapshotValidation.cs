using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace ApiGateway.Host.Runtime;

/// <summary><c>validate</c>: builds a snapshot exactly as <c>run</c> would, without binding anything.</summary>
internal static class SnapshotValidation
{
    public static SnapshotBuildResult Validate(string configurationPath, ILoggerFactory loggerFactory)
    {
        var services = new ServiceCollection();
        services.AddSingleton(loggerFactory);
        services.AddLogging();
        services.AddHttpForwarder();
        using var provider = services.BuildServiceProvider();
        using var gatewayServices = new GatewayServices(loggerFactory, provider.GetRequiredService<IHttpForwarder>(), TimeSpan.Zero);
        var result = SnapshotBuilder.Build(configurationPath, gatewayServices, new Expressions.ExpressionCache());
        result.Snapshot?.Retire();
        return result;
    }
}
