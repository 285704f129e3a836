using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Pipeline.Steps;

/// <summary>set-header on a request without a server (APIM's exists-action: override, skip, append, delete).</summary>
public sealed class SetHeaderStepTests : IAsyncLifetime
{
    private PipelineHarness _harness = null!;

    public Task InitializeAsync()
    {
        _harness = PipelineHarness.Create();
        // <backend /> without <base />: nothing is forwarded, the request ends after outbound with an empty 200.
        _harness.AddApi("headers", """
            <policies>
              <inbound>
                <set-header name="x-over" exists-action="override"><value>new</value></set-header>
                <set-header name="x-skip" exists-action="skip"><value>gateway</value></set-header>
                <set-header name="x-absent" exists-action="skip"><value>added</value></set-header>
                <set-header name="x-list" exists-action="append"><value>b</value><value>c</value></set-header>
                <set-header name="x-drop" exists-action="delete" />
                <set-header name="@("x-" + "computed")"><value>@(context.Request.Method)</value></set-header>
              </inbound>
              <backend />
              <outbound>
                <set-header name="x-seen" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("x-over", "none"))</value></set-header>
              </outbound>
            </policies>
            """);
        _harness.AddApi("host", """
            <policies>
              <inbound><set-header name="host" exists-action="override"><value>backend.example</value></set-header></inbound>
              <backend />
              <outbound><set-header name="Host" exists-action="override"><value>ignored</value></set-header></outbound>
            </policies>
            """);
        _harness.AddApi("nohost", """
            <policies>
              <inbound />
              <backend />
              <outbound><set-header name="Host" exists-action="override"><value>response only</value></set-header></outbound>
            </policies>
            """);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task Inbound_ChangesTheRequestHeaders_ByExistsAction()
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/headers", h =>
        {
            h.Request.Headers["x-over"] = "old";
            h.Request.Headers["x-skip"] = "client";
            h.Request.Headers["x-list"] = "a";
            h.Request.Headers["x-drop"] = "secret";
        }));

        var headers = http.Request.Headers;
        Assert.Equal("new", headers["x-over"]);
        Assert.Equal("client", headers["x-skip"]); // skip keeps what the client sent
        Assert.Equal("added", headers["x-absent"]); // ... and adds what it did not
        Assert.Equal(new[] { "a", "b", "c" }, headers["x-list"].ToArray());
        Assert.False(headers.ContainsKey("x-drop"));
        Assert.Equal("GET", headers["x-computed"]);
        Assert.False(http.Response.Headers.ContainsKey("x-over"));
    }

    [Fact]
    public async Task Outbound_ChangesTheResponse_NotTheRequest()
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/headers"));

        Assert.Equal("new", http.Response.Headers["x-seen"]); // outbound reads the request as inbound left it
        Assert.False(http.Request.Headers.ContainsKey("x-seen"));
        Assert.Equal(200, http.Response.StatusCode);
    }

    [Fact]
    public async Task HostOnTheRequest_IsKeptForTheBackend_HostOnTheResponseIsNot()
    {
        bool? requestHost = null, responseHost = null;
        await _harness.RunAsync(PipelineHarness.NewRequest("/host"), c => requestHost = c.State.HostHeaderSet);
        await _harness.RunAsync(PipelineHarness.NewRequest("/nohost"), c => responseHost = c.State.HostHeaderSet);

        Assert.True(requestHost);
        Assert.False(responseHost);
    }
}
