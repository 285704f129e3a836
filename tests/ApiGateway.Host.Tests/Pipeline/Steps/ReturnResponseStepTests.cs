using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Pipeline.Steps;

/// <summary>return-response and set-status on a request without a server.</summary>
public sealed class ReturnResponseStepTests : IAsyncLifetime
{
    private PipelineHarness _harness = null!;

    public Task InitializeAsync()
    {
        _harness = PipelineHarness.Create();
        _harness.AddApi("mock", """
            <policies>
              <inbound>
                <set-variable name="who" value="@(context.Request.Headers.GetValueOrDefault("x-user", "nobody"))" />
                <return-response>
                  <set-status code="201" reason="Created Here" />
                  <set-header name="content-type" exists-action="override"><value>text/plain</value></set-header>
                  <set-body>@("made for " + context.Variables.GetValueOrDefault<string>("who"))</set-body>
                </return-response>
                <set-header name="x-after" exists-action="override"><value>ran</value></set-header>
              </inbound>
              <backend><forward-request /></backend>
              <outbound>
                <set-header name="x-outbound" exists-action="override"><value>ran</value></set-header>
              </outbound>
            </policies>
            """);
        _harness.AddApi("status", """
            <policies>
              <inbound>
                <return-response><set-status code="@(int.Parse(context.Request.Headers.GetValueOrDefault("x-code", "0")))" /></return-response>
              </inbound>
            </policies>
            """);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task ReturnResponse_AnswersFromItsChildren_AndSkipsTheRestOfThePipeline()
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/mock", h =>
        {
            h.Request.Headers["x-user"] = "ada";
            h.Response.Headers["x-stale"] = "from before";
        }));

        Assert.Equal((201, "Created Here", "made for ada"), PipelineHarness.Answer(http));
        Assert.Equal("text/plain", http.Response.Headers.ContentType);
        Assert.Equal(12, http.Response.ContentLength);
        Assert.False(http.Response.Headers.ContainsKey("x-stale")); // a fresh response
        Assert.False(http.Request.Headers.ContainsKey("x-after")); // the rest of inbound did not run
        Assert.False(http.Response.Headers.ContainsKey("x-outbound")); // nor outbound, nor the forward
    }

    [Fact]
    public async Task ReturnResponse_WithoutChildren_IsAnEmpty200()
    {
        _harness.AddApi("empty", "<policies><inbound><return-response /></inbound></policies>");

        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/empty"));

        Assert.Equal((200, null, string.Empty), PipelineHarness.Answer(http));
        Assert.Equal(0, http.Response.ContentLength);
    }

    [Theory]
    [InlineData("204", 204)]
    [InlineData("599", 599)]
    public async Task SetStatus_FromAnExpression(string code, int expected)
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/status", h => h.Request.Headers["x-code"] = code));

        Assert.Equal(expected, http.Response.StatusCode);
    }

    [Theory]
    [InlineData("99")]
    [InlineData("600")]
    public async Task SetStatus_OutsideTheHttpRange_IsAPolicyFailure(string code)
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/status", h => h.Request.Headers["x-code"] = code));

        var (status, _, body) = PipelineHarness.Answer(http);
        Assert.Equal(500, status);
        Assert.Contains("\"error\":\"PolicyRuntimeFailure\"", body, StringComparison.Ordinal);
        Assert.Contains($"<set-status> produced {code}, which is not an HTTP status code (100-599).", body, StringComparison.Ordinal);
        Assert.Contains("The policy of API 'status', line 3 (<set-status>) failed", body, StringComparison.Ordinal);
    }
}
