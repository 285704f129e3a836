using ApiGateway.Host.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Forwarder;

namespace ApiGateway.Host.Tests.Support;

/// <summary>Process services for building snapshots without a server.</summary>
internal static class TestServices
{
    public static GatewayServices Create(Microsoft.Extensions.Logging.ILoggerFactory? loggers = null, TimeProvider? time = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHttpForwarder();
        var provider = services.BuildServiceProvider();
        return new GatewayServices(loggers ?? NullLoggerFactory.Instance, provider.GetRequiredService<IHttpForwarder>(), TimeSpan.Zero)
        {
            Time = time ?? TimeProvider.System,
        };
    }
}
