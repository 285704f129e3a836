using ApiGateway.Core.Configuration;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Context;
using ApiGateway.Host.Runtime;
using ApiGateway.Host.Tls;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// A request context on a configuration revision of its own: the service's <c>limits</c> and the client trust as a
/// configuration file would give them. Only what policy expressions read of a revision is there (no routes,
/// listeners, backends or invokers: the budget and Verify() never reach them).
/// </summary>
internal static class BudgetTestSnapshot
{
    public static PolicyContext ContextWith(GatewayLimits? limits = null, ClientTrust? trust = null)
    {
        var configuration = new GatewayConfiguration { Service = new ServiceSettings { Name = "budget", Limits = limits } };
        var snapshot = new GatewaySnapshot(
            configurationPath: "budget.json",
            configuration,
            services: null!,
            new RouteTable([]),
            listeners: [],
            trust ?? new ClientTrust([], []),
            certificates: new Dictionary<string, ServedCertificate>(),
            backends: new Dictionary<string, BackendTarget>(),
            invokers: null!,
            expressionKeys: [],
            watchedFiles: []);
        var context = NewContext();
        context.State.Snapshot = snapshot;
        return context;
    }
}
