using System.Text.Json;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Pipeline.Steps;

/// <summary>
/// What happens after a step fails, without a server: on-error runs with <c>context.LastError</c> describing the
/// failure (APIM's Source, Reason, Message, Section), answers itself when it sets a status or body or returns a
/// response, and otherwise the client gets the gateway's JSON error.
/// </summary>
public sealed class OnErrorFlowTests : IAsyncLifetime
{
    private const string Throwing = """<set-header name="x-length" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("x-missing").Length.ToString())</value></set-header>""";

    private PipelineHarness _harness = null!;

    public Task InitializeAsync()
    {
        _harness = PipelineHarness.Create();
        _harness.AddApi("answers", $$"""
            <policies>
              <inbound>
                {{Throwing}}
                <set-header name="x-after" exists-action="override"><value>ran</value></set-header>
              </inbound>
              <on-error>
                <set-status code="418" reason="@(context.LastError.Reason)" />
                <set-header name="x-source" exists-action="override"><value>@(context.LastError.Source + "/" + context.LastError.Section)</value></set-header>
                <set-body>@(context.LastError.Message)</set-body>
              </on-error>
            </policies>
            """);
        _harness.AddApi("silent", $$"""
            <policies>
              <inbound>{{Throwing}}</inbound>
              <on-error><set-header name="x-on-error" exists-action="override"><value>ran</value></set-header></on-error>
            </policies>
            """);
        _harness.AddApi("returns", $$"""
            <policies>
              <inbound>{{Throwing}}</inbound>
              <on-error><return-response><set-status code="503" reason="Try Later" /></return-response></on-error>
            </policies>
            """);
        _harness.AddApi("fails-again", $$"""
            <policies>
              <inbound>{{Throwing}}</inbound>
              <on-error><set-status code="@(int.Parse("x"))" /></on-error>
            </policies>
            """);
        _harness.AddApi("ignored", """
            <policies>
              <inbound>
                <validate-client-certificate ignore-error="true" validate-revocation="false" />
                <return-response><set-body>@(context.LastError == null ? "none" : context.LastError.Reason + ": " + context.LastError.Message)</set-body></return-response>
              </inbound>
            </policies>
            """);
        _harness.AddApi("unreachable", """
            <policies>
              <inbound><base /></inbound>
              <backend><base /></backend>
              <on-error>
                <set-status code="599" reason="@(context.LastError.Reason)" />
                <set-body>@(context.LastError.Source + "/" + context.LastError.Section)</set-body>
              </on-error>
            </policies>
            """, url: "http://127.0.0.1:9/");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task FailedExpression_RunsOnErrorWithLastError_WhichAnswers()
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/answers"));

        var (status, reason, body) = PipelineHarness.Answer(http);
        Assert.Equal((418, "ExpressionValueEvaluationFailure"), (status, reason));
        Assert.Equal("set-header/inbound", http.Response.Headers["x-source"]);
        Assert.StartsWith("The policy of API 'answers', line 3 (<set-header>) failed: NullReferenceException", body, StringComparison.Ordinal);
        Assert.False(http.Request.Headers.ContainsKey("x-after")); // inbound stopped at the failure
    }

    [Fact]
    public async Task OnErrorThatDoesNotAnswer_LeavesTheGatewaysJsonError()
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/silent"));

        Assert.Equal(500, http.Response.StatusCode);
        Assert.StartsWith("application/json", http.Response.ContentType, StringComparison.Ordinal);
        var json = JsonDocument.Parse(PipelineHarness.ReadBody(http)).RootElement;
        Assert.Equal(500, json.GetProperty("statusCode").GetInt32());
        Assert.Equal("ExpressionValueEvaluationFailure", json.GetProperty("error").GetString());
        Assert.StartsWith("The policy of API 'silent', line 2 (<set-header>) failed:", json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(Guid.TryParse(json.GetProperty("requestId").GetString(), out _));
        Assert.Equal("ran", http.Response.Headers["x-on-error"]); // on-error ran before the default answer
    }

    [Fact]
    public async Task OnErrorReturnResponse_Answers()
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/returns"));

        Assert.Equal((503, "Try Later", string.Empty), PipelineHarness.Answer(http));
    }

    [Fact]
    public async Task OnErrorThatFailsItself_AnswersWithItsOwnFailure()
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/fails-again"));

        var json = JsonDocument.Parse(PipelineHarness.ReadBody(http)).RootElement;
        Assert.Equal(500, http.Response.StatusCode);
        Assert.StartsWith("The policy of API 'fails-again', line 3 (<set-status>) failed: FormatException", json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IgnoredValidationFailure_ContinuesWithLastErrorSet()
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/ignored"));

        Assert.Equal((200, null, "ClientCertificateNotValid: The client certificate is not valid: none was presented."), PipelineHarness.Answer(http));
    }

    [Fact]
    public async Task UnreachableBackend_RunsOnErrorWithTheForwardsFailure()
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/unreachable"));

        Assert.Equal((599, "BackendConnectionFailure", "forward-request/backend"), PipelineHarness.Answer(http));
    }
}
