using System.Collections.Immutable;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Runtime;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Runtime;

public sealed class SnapshotBuilderTests : IAsyncLifetime
{
    private TestGateway _gateway = null!;

    public Task InitializeAsync()
    {
        _gateway = TestGateway.Create();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private SnapshotBuildResult Build(ExpressionCache? cache = null)
    {
        using var services = TestServices.Create();
        var result = SnapshotBuilder.Build(_gateway.ConfigurationPath, services, cache ?? new ExpressionCache());
        result.Snapshot?.Retire();
        return result;
    }

    private static string Api(string inbound) => $"""
        <policies>
          <inbound>
            <base />
        {inbound}
          </inbound>
        </policies>
        """;

    [Fact]
    public void ValidConfiguration_BuildsRoutesListenersAndTrust()
    {
        _gateway.AddApi("orders", "orders", "https://orders.example/");
        _gateway.AddApi("billing", "billing/v2", "https://billing.example/api");

        var result = Build();

        Assert.True(result.Succeeded, string.Join(Environment.NewLine, result.Errors));
        var snapshot = result.Snapshot!;
        Assert.Equal(["billing/v2", "orders"], snapshot.Routes.Routes.Select(r => r.Path));
        var listener = Assert.Single(snapshot.Listeners);
        Assert.Equal(_gateway.Port, listener.Key.Port);
        Assert.Equal("https://localhost:" + _gateway.Port + "/", Assert.Single(snapshot.ListeningUrls));
        Assert.Single(snapshot.ClientTrust.Roots);
    }

    [Fact]
    public void InvalidConfiguration_ListsEveryProblemOfEveryStage_WithApiAndLine()
    {
        _gateway.AddApi("orders", "orders", "https://orders.example/", policy: Api("""
                <set-header name="x-secret" exists-action="override">
                  <value>@(System.IO.File.ReadAllText("/etc/passwd"))</value>
                </set-header>
                <choose>
                  <when condition="@(context.Request.Methd == "GET")">
                    <set-header name="a" exists-action="override"><value>b</value></set-header>
                  </when>
                </choose>
            """));
        _gateway.Service.SetPolicy(null, """
            <policies>
              <inbound>
                <set-variable name="started" value="@(System.Diagnostics.Process.GetCurrentProcess().StartTime)" />
              </inbound>
              <backend>
                <forward-request />
              </backend>
            </policies>
            """);
        // Problems only the gateway can find (the management operations cannot see them): a store entry that
        // went missing, and two hostnames on one port with different listen addresses.
        var store = new ConfigurationStore(_gateway.ConfigurationPath);
        store.Update(c => c with
        {
            Certificates = c.Certificates.Add("lost", c.Certificates["gateway-server"] with { Thumbprint = new string('A', 40) }),
            Service = c.Service with
            {
                Hostnames = c.Service.Hostnames.Add(c.Service.Hostnames[0] with { HostName = "api.contoso.com", ListenAddress = "*" }),
            },
            Apis = c.Apis.Add("billing", new ApiEntry { DisplayName = "Billing", Path = "billing", BackendId = "nope" }),
        });

        var result = Build();

        Assert.False(result.Succeeded);
        var errors = string.Join(Environment.NewLine, result.Errors);
        Assert.Contains("The policy of API 'orders', line 5, column 16: the expression uses System.IO.File, which policy expressions may not use.", result.Errors);
        Assert.Contains(result.Errors, e => e.StartsWith("The policy of API 'orders', line 8, column 42: the expression does not compile:", StringComparison.Ordinal) && e.Contains("Methd", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("The global policy, line 3,", StringComparison.Ordinal) && e.Contains("System.Diagnostics.Process", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("Certificate 'lost' cannot be loaded", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("must share the listen address", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("API 'billing' uses backend 'nope', which does not exist", StringComparison.Ordinal));
        Assert.True(result.Errors.Count >= 6, errors);
    }

    [Fact]
    public void UnreadableConfiguration_IsOneClearError()
    {
        File.WriteAllText(_gateway.ConfigurationPath, "{ not json");

        var result = Build();

        var error = Assert.Single(result.Errors);
        Assert.Contains(_gateway.ConfigurationPath, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Rebuild_CompilesOnlyTheExpressionsThatChanged()
    {
        var cache = new ExpressionCache();
        _gateway.AddApi("a", "a", "https://a.example/", policy: Api("""<set-header name="x" exists-action="override"><value>@(context.Request.Method)</value></set-header>"""));
        _gateway.AddApi("b", "b", "https://b.example/", policy: Api("""<set-header name="x" exists-action="override"><value>@(context.Request.Method)</value></set-header>"""));

        var first = Build(cache);
        var again = Build(cache);
        _gateway.Service.SetPolicy("b", Api("""<set-header name="y" exists-action="override"><value>@(context.Api.Id)</value></set-header>"""));
        var changed = Build(cache);

        Assert.True(first.Succeeded, string.Join(Environment.NewLine, first.Errors));
        Assert.Equal(1, first.CompiledNow); // the same code in two APIs compiles once
        Assert.Equal(0, again.CompiledNow);
        Assert.Equal(1, changed.CompiledNow);
    }

    [Fact]
    public void ApiThatNeverForwards_IsAWarning()
    {
        _gateway.AddApi("mock", "mock", "https://a.example/");
        _gateway.Service.SetPolicy("mock", """
            <policies>
              <inbound><return-response><set-status code="200" /></return-response></inbound>
              <backend />
            </policies>
            """);

        var result = Build();

        Assert.True(result.Succeeded);
        Assert.Contains(result.Warnings, w => w.Contains("API 'mock' never forwards", StringComparison.Ordinal));
    }
}
