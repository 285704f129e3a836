using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Pipeline;

/// <summary>The other policy elements and the request path, through a real gateway and backend.</summary>
public sealed class PolicyElementsTests : IClassFixture<PolicyElementsTests.Fixture>
{
    private readonly Fixture _f;

    public PolicyElementsTests(Fixture fixture)
    {
        _f = fixture;
    }

    public sealed class Fixture : IAsyncLifetime
    {
        internal TestGateway Gateway { get; } = TestGateway.Create();
        internal TestBackend Backend { get; private set; } = null!;
        internal TestBackend Other { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var g = Gateway;
            Backend = await TestBackend.StartAsync();
            Other = await TestBackend.StartAsync(handler: async http => await Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(http.Response, "other backend"));
            g.Service.NewBackend(new BackendDefinition { BackendId = "echo", Url = Backend.Url + "api", SkipCertificateChainValidation = true });
            g.Service.NewBackend(new BackendDefinition { BackendId = "other", Url = Other.Url, SkipCertificateChainValidation = true });
            g.Service.SetPolicy(null, """
                <policies>
                  <inbound>
                    <set-header name="x-global" exists-action="override"><value>global</value></set-header>
                  </inbound>
                  <backend>
                    <forward-request />
                  </backend>
                  <outbound />
                  <on-error />
                </policies>
                """);
            g.AddApi("headers", "headers", backendId: "echo", policy: PolicyTemplates.Inheriting(
                inbound: """
                <set-variable name="who" value="@(context.Request.Headers.GetValueOrDefault("x-user", "anonymous"))" />
                <set-header name="x-api" exists-action="override"><value>@(context.Api.Id + "/" + context.Variables.GetValueOrDefault<string>("who"))</value></set-header>
                <set-header name="x-drop" exists-action="delete" />
                <set-header name="x-list" exists-action="append"><value>b</value></set-header>
                """,
                outbound: """
                <set-header name="x-backend-status" exists-action="override"><value>@(context.Response.StatusCode.ToString())</value></set-header>
                """));
            g.AddApi("rewrite", "rewrite", backendId: "echo", policy: PolicyTemplates.Inheriting(
                outbound: """
                <set-status code="299" reason="Rewritten" />
                <set-body>@("wrapped:" + context.Response.StatusCode)</set-body>
                """));
            g.AddApi("mock", "mock", backendId: "echo", policy: """
                <policies>
                  <inbound>
                    <return-response>
                      <set-status code="201" reason="Created Here" />
                      <set-header name="content-type" exists-action="override"><value>text/plain</value></set-header>
                      <set-body>mocked</set-body>
                    </return-response>
                  </inbound>
                </policies>
                """);
            g.AddApi("switch", "switch", backendId: "echo", policy: PolicyTemplates.Inheriting(
                inbound: """
                <choose>
                  <when condition="@(context.Request.Url.Query.GetValueOrDefault("to", "") == "other")">
                    <set-backend-service backend-id="other" />
                  </when>
                  <when condition="@(context.Request.Url.Query.GetValueOrDefault("to", "") == "url")">
                    <set-backend-service base-url="@(context.Request.Headers.GetValueOrDefault("x-target", ""))" />
                  </when>
                </choose>
                """));
            g.AddApi("broken", "broken", backendId: "echo", policy: PolicyTemplates.Inheriting(
                inbound: """
                <set-header name="x-length" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("x-missing").Length.ToString())</value></set-header>
                """));
            // forward-request with other steps in the backend section, and inside a choose there: the steps run in
            // order around the send (the section's general path, not the lone forward-request's).
            g.AddApi("conditional", "conditional", backendId: "echo", policy: """
                <policies>
                  <inbound><base /></inbound>
                  <backend>
                    <set-header name="x-in-backend" exists-action="override"><value>before</value></set-header>
                    <choose>
                      <when condition="@(context.Request.Headers.GetValueOrDefault("x-mock", "") == "yes")">
                        <return-response><set-status code="299" reason="Mocked In Backend" /></return-response>
                      </when>
                      <otherwise><forward-request timeout="10" /></otherwise>
                    </choose>
                  </backend>
                  <outbound>
                    <base />
                    <set-header name="x-after" exists-action="override"><value>@(context.Response.StatusCode.ToString())</value></set-header>
                  </outbound>
                  <on-error><base /></on-error>
                </policies>
                """);
            await g.StartAsync();
        }

        public async Task DisposeAsync()
        {
            await Gateway.DisposeAsync();
            await Backend.DisposeAsync();
            await Other.DisposeAsync();
        }
    }

    [Fact]
    public async Task Path_IsTheBackendUrlPlusWhatFollowsTheApiPath_WithTheQuery()
    {
        var response = await _f.Gateway.SendAsync("/headers/items/7?x=1&y=2");

        Assert.Equal(200, response.Status);
        Assert.Equal("/api/items/7", response.Json.GetProperty("path").GetString());
        Assert.Equal("?x=1&y=2", response.Json.GetProperty("query").GetString());
        Assert.Equal("127.0.0.1", response.Json.GetProperty("headers").GetProperty("x-forwarded-for").GetString());
    }

    [Fact]
    public async Task UnknownPath_Is404_WithAJsonBody()
    {
        var response = await _f.Gateway.SendAsync("/nothing/here");

        Assert.Equal(404, response.Status);
        Assert.StartsWith("application/json", response.Header("Content-Type"), StringComparison.Ordinal);
        Assert.Equal("ApiNotFound", response.Json.GetProperty("error").GetString());
        Assert.Contains("/nothing/here", response.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Headers_GlobalThenApi_VariablesAndActions()
    {
        var response = await _f.Gateway.SendAsync("/headers", headers: new Dictionary<string, string> { ["x-user"] = "ada", ["x-drop"] = "secret", ["x-list"] = "a" });

        var headers = response.Json.GetProperty("headers");
        Assert.Equal("global", headers.GetProperty("x-global").GetString());
        Assert.Equal("headers/ada", headers.GetProperty("x-api").GetString());
        Assert.False(headers.TryGetProperty("x-drop", out _));
        Assert.Equal("a, b", headers.GetProperty("x-list").GetString()); // both values reach the backend
        Assert.Equal("200", response.Header("x-backend-status"));
    }

    [Fact]
    public async Task Outbound_CanReplaceStatusAndBody()
    {
        var response = await _f.Gateway.SendAsync("/rewrite");

        Assert.Equal(299, response.Status);
        Assert.Equal("Rewritten", response.Reason);
        Assert.Equal("wrapped:299", response.Body);
    }

    [Fact]
    public async Task ReturnResponse_AnswersWithoutTheBackend()
    {
        var before = _f.Backend.Requests;
        var response = await _f.Gateway.SendAsync("/mock");

        Assert.Equal((201, "Created Here", "mocked", "text/plain"), (response.Status, response.Reason, response.Body, response.Header("content-type")));
        Assert.Equal(before, _f.Backend.Requests);
    }

    [Fact]
    public async Task SetBackendService_ByIdAndByUrl()
    {
        var byId = await _f.Gateway.SendAsync("/switch?to=other");
        var byUrl = await _f.Gateway.SendAsync("/switch?to=url", headers: new Dictionary<string, string> { ["x-target"] = "http://127.0.0.1:1/" });
        var stay = await _f.Gateway.SendAsync("/switch");

        Assert.Equal("other backend", byId.Body);
        Assert.Equal(502, byUrl.Status); // nothing listens there: the URL came from the expression
        Assert.Equal("BackendConnectionFailure", byUrl.Json.GetProperty("error").GetString());
        Assert.Equal("/api", stay.Json.GetProperty("path").GetString());
    }

    [Fact]
    public async Task ForwardRequest_AmongOtherBackendSteps_AndInsideAChoose()
    {
        var before = _f.Backend.Requests;
        var forwarded = await _f.Gateway.SendAsync("/conditional/a");
        var mocked = await _f.Gateway.SendAsync("/conditional/b", headers: new Dictionary<string, string> { ["x-mock"] = "yes" });

        Assert.Equal(200, forwarded.Status);
        Assert.Equal("before", forwarded.Json.GetProperty("headers").GetProperty("x-in-backend").GetString());
        Assert.Equal("200", forwarded.Header("x-after"));
        Assert.Equal((299, "Mocked In Backend"), (mocked.Status, mocked.Reason));
        Assert.Equal(before + 1, _f.Backend.Requests);
    }

    [Fact]
    public async Task ExpressionThatThrows_Is500_NamingThePolicyLine_AndIsLogged()
    {
        var response = await _f.Gateway.SendAsync("/broken");

        Assert.Equal(500, response.Status);
        Assert.Equal("ExpressionValueEvaluationFailure", response.Json.GetProperty("error").GetString());
        Assert.Contains("The policy of API 'broken', line 4 (<set-header>) failed: NullReferenceException", response.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(_f.Gateway.Logs.Messages(11), m => m.Contains("API 'broken'", StringComparison.Ordinal));
    }
}
