using System.Diagnostics;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace ApiGateway.Host.Runtime;

/// <summary><c>validate</c>: builds a snapshot exactly as <c>run</c> would, without binding anything.</summary>
internal static class SnapshotValidation
{
    public static SnapshotBuildResult Validate(string configurationPath, ILoggerFactory loggerFactory, string? storeDirectory = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(loggerFactory);
        services.AddLogging();
        services.AddHttpForwarder();
        using var provider = services.BuildServiceProvider();
        using var gatewayServices = new GatewayServices(loggerFactory, provider.GetRequiredService<IHttpForwarder>(), TimeSpan.Zero);
        var result = SnapshotBuilder.Build(configurationPath, storeDirectory, gatewayServices, new Expressions.ExpressionCache());
        result.Snapshot?.Retire();
        return result;
    }

    /// <summary>
    /// The whole report of <c>validate</c>: every problem of the build (errors the gateway refuses, warnings it logs)
    /// plus a warning for each certificate in use that expires within <paramref name="expiringInDays"/> days.
    /// </summary>
    public static ValidationReport Report(string configurationPath, ILoggerFactory loggerFactory, string? storeDirectory, int expiringInDays, TimeProvider? time = null)
    {
        var watch = Stopwatch.StartNew();
        var result = Validate(configurationPath, loggerFactory, storeDirectory);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var expiring = CertificateExpiry.Expiring(result.CertificatesInUse, now, expiringInDays).Select(CertificateExpiry.Problem);
        var path = Path.GetFullPath(configurationPath);
        var problems = result.Problems.Concat(expiring)
            .OrderBy(p => p.Severity)
            .Select(p => p with { ConfigurationPath = path })
            .ToList();
        return new ValidationReport
        {
            ConfigurationPath = path,
            Revision = result.Revision,
            Valid = result.Succeeded,
            Problems = problems,
            ElapsedMilliseconds = watch.ElapsedMilliseconds,
        };
    }
}
