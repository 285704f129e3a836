using System.Diagnostics;
using System.Globalization;
using System.Text;
using ApiGateway.Core;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Runtime;

/// <summary>
/// What a hostile or mistaken policy does to a gateway: its request ends with 500 ExpressionBudgetExceeded and every
/// other API keeps serving; the recursion that used to end the whole process (stack overflow) does not, in the real
/// executable; a pathological expression is refused where it is written and when it arrives by other means, and the
/// reloader always moves on to the newest configuration, so a benign change written after it is served at once.
/// </summary>
public sealed class BudgetAndCompileLimitTests
{
    private static string Answer(string condition) => PolicyTemplates.Inheriting(inbound: $$"""
        <choose>
          <when condition="@{{{System.Security.SecurityElement.Escape(condition)}}}">
            <return-response><set-status code="200" reason="OK" /><set-body>yes</set-body></return-response>
          </when>
        </choose>
        <return-response><set-status code="200" reason="OK" /><set-body>no</set-body></return-response>
        """);

    [Fact]
    public async Task ABudgetExceeded_Ends500ExpressionBudgetExceeded_NamesTheExpression_OtherApisServe()
    {
        await using var harness = PipelineHarness.Create();
        harness.AddApi("spin", Answer("while (true) { } return true;"));
        harness.AddApi("fine", Answer("return true;"));

        var spin = await harness.RunAsync(PipelineHarness.NewRequest("/spin/x"));
        var fine = await harness.RunAsync(PipelineHarness.NewRequest("/fine/x"));

        var (status, _, body) = PipelineHarness.Answer(spin);
        Assert.Equal(500, status);
        Assert.Contains("ExpressionBudgetExceeded", body, StringComparison.Ordinal);
        Assert.Equal((200, "yes"), (fine.Response.StatusCode, PipelineHarness.ReadBody(fine)));
        var logged = Assert.Single(harness.Gateway.Logs.Entries, e => e.Message.Contains("exceeded its budget", StringComparison.Ordinal));
        Assert.Contains("API 'spin'", logged.Message, StringComparison.Ordinal);
        Assert.Contains("line", logged.Message, StringComparison.Ordinal);
        Assert.Contains("ExpressionMaxSteps", logged.Message + logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBudget_IsTheConfigurations()
    {
        await using var harness = PipelineHarness.Create();
        harness.AddApi("loop", Answer("var s = 0L; for (var i = 0; i < 5000; i++) s += i; return s > 0;"));
        Assert.Equal(200, (await harness.RunAsync(PipelineHarness.NewRequest("/loop/x"))).Response.StatusCode);

        await using var tight = PipelineHarness.Create();
        tight.Gateway.Service.SetLimits(new Dictionary<string, double> { ["ExpressionMaxSteps"] = 1000 });
        tight.AddApi("loop", Answer("var s = 0L; for (var i = 0; i < 5000; i++) s += i; return s > 0;"));
        var refused = await tight.RunAsync(PipelineHarness.NewRequest("/loop/x"));

        Assert.Equal(500, refused.Response.StatusCode);
        Assert.Contains("ExpressionBudgetExceeded", PipelineHarness.ReadBody(refused), StringComparison.Ordinal);
    }

    // Before the depth limit this request ended the gateway process on the first request (a stack overflow cannot be
    // caught), and again after every restart. It runs in the real executable so that a regression kills the child.
    [Fact]
    public async Task UnboundedRecursion_InTheRealGateway_Ends500_AndTheProcessServesOn()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("recurse", "recurse", policy: Answer("int F(int n) => F(n + 1) + 1; return F(0) > 0;"));
        gateway.AddApi("hello", "hello", policy: Answer("return true;"));
        using var process = HostProcess.Start(["run", "--config", gateway.ConfigurationPath]);
        try
        {
            await HostProcess.WaitForStateFileAsync(gateway.ConfigurationPath, process);

            var recursion = await gateway.SendAsync("/recurse/x");
            var again = await gateway.SendAsync("/recurse/x");
            var hello = await gateway.SendAsync("/hello/x");

            Assert.False(process.HasExited, "the gateway process ended");
            Assert.Equal(500, recursion.Status);
            Assert.Contains("ExpressionBudgetExceeded", recursion.Body, StringComparison.Ordinal);
            Assert.Equal(500, again.Status);
            Assert.Equal((200, "yes"), (hello.Status, hello.Body));
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
    }

    [Theory]
    [InlineData(20_000, "MaxExpressionLength")]
    [InlineData(5_000, "MaxExpressionNesting")]
    public void APathologicalExpression_IsRefusedWhereItIsWritten_NamingTheLimit_Quickly(int depth, string limit)
    {
        using var folder = new ApiGateway.Core.Tests.Support.TempFolder();
        var service = new ApiGateway.Core.Management.GatewayService(folder.File("gateway.json"));
        service.Open("contoso");
        service.NewApi(new ApiDefinition { ApiId = "deep", Path = "deep", ServiceUrl = "https://deep.internal/" });
        var before = File.ReadAllBytes(service.ConfigurationPath);

        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<GatewayException>(() => service.SetPolicy("deep", Answer(Nested(depth))));
        watch.Stop();

        Assert.Contains(limit, error.Message, StringComparison.Ordinal);
        Assert.Contains("API 'deep'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Set-GatewayLimit", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(service.ConfigurationPath));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"refusing took {watch.ElapsedMilliseconds} ms");
    }

    // The wedge: a pathological policy saved (here written into the file directly, as an older version, another
    // tool or a hand edit would), then a benign change. Before, the gateway spent minutes compiling the first and never
    // loaded the second. Now the first is refused at once and the second is served within the usual second.
    [Fact]
    public async Task APathologicalPolicyThenABenignOne_TheBenignOneIsServedWithinTheUsualSecond()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("api", "api", policy: Answer("return false;"));
        var server = await gateway.StartAsync();
        var revision = server.Snapshot.Revision;

        WriteBehindTheCmdlets(gateway, "api", Answer(Nested(20_000)), revision + 1);
        await WaitAsync(() => server.Runtime.LastReloadError is not null, TimeSpan.FromSeconds(10));
        var refusal = server.Runtime.LastReloadError!;
        var watch = Stopwatch.StartNew();
        gateway.Service.SetPolicy("api", Answer("return true;"));
        string? body = null;
        while (body != "yes" && watch.Elapsed < TimeSpan.FromSeconds(10))
            body = (await gateway.SendAsync("/api/x")).Body;
        watch.Stop();

        Assert.Contains(refusal.Errors, e => e.Contains("MaxExpression", StringComparison.Ordinal) && e.Contains("API 'api'", StringComparison.Ordinal));
        Assert.Equal("yes", body);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"the benign change took {watch.ElapsedMilliseconds} ms");
        Assert.Null(server.Runtime.LastReloadError);
    }

    // A change that is slow to compile within the limits (thousands of distinct expressions) must not hold up the next
    // one: the build of the first is abandoned as soon as the second is written.
    [Fact]
    public async Task ASlowCompile_IsSupersededByTheNextChange()
    {
        await using var gateway = TestGateway.Create();
        gateway.AddApi("api", "api", policy: Answer("return false;"));
        var server = await gateway.StartAsync();

        WriteBehindTheCmdlets(gateway, "api", ManyDistinct(4000), server.Snapshot.Revision + 1);
        gateway.Service.SetPolicy("api", Answer("return true;"));
        var watch = Stopwatch.StartNew();
        string? body = null;
        while (body != "yes" && watch.Elapsed < TimeSpan.FromSeconds(20))
            body = (await gateway.SendAsync("/api/x")).Body;

        Assert.Equal("yes", body);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the newest change took {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task ACompileOverTheDeadline_IsRefusedNamingThePolicy_AndTheLastGoodKeepsServing()
    {
        await using var gateway = TestGateway.Create();
        gateway.Service.SetLimits(new Dictionary<string, double> { ["MaxPolicySize"] = 4 * 1024 * 1024 });
        gateway.AddApi("api", "api", policy: Answer("return true;"));
        var server = await gateway.StartAsync();

        // The deadline comes with the change, not before the start: on a loaded machine Roslyn's own first compile can
        // take longer than one second.
        WriteBehindTheCmdlets(gateway, "api", ManyDistinct(8000), server.Snapshot.Revision + 1,
            c => c with { Service = c.Service with { Limits = c.Service.Limits! with { ExpressionCompileTimeoutSeconds = 1 } } });
        // Before PolicyXmlPreprocessor.Map used line tables, parsing this 1 MB policy alone took 94 s.
        await WaitAsync(() => server.Runtime.LastReloadError is not null, TimeSpan.FromSeconds(30), gateway);

        var error = Assert.Single(server.Runtime.LastReloadError!.Errors);
        Assert.Contains("ExpressionCompileTimeoutSeconds", error, StringComparison.Ordinal);
        Assert.Contains("API 'api'", error, StringComparison.Ordinal);
        Assert.Equal("yes", (await gateway.SendAsync("/api/x")).Body);
    }

    /// <summary>A condition of <paramref name="depth"/> nested parentheses around <c>true</c>.</summary>
    private static string Nested(int depth) => "return " + new string('(', depth) + "true" + new string(')', depth) + ";";

    /// <summary>
    /// A policy with <paramref name="count"/> expressions that share no compiled shape (their numbers differ, and only
    /// string literals are shared between shapes), each well within the per-expression limits.
    /// </summary>
    private static string ManyDistinct(int count)
    {
        var headers = new StringBuilder();
        for (var i = 0; i < count; i++)
            headers.Append(CultureInfo.InvariantCulture, $"<set-header name=\"x-{i}\" exists-action=\"override\"><value>@((context.Request.Url.Port * {i} + {i % 7}).ToString())</value></set-header>\n");
        return PolicyTemplates.Inheriting(inbound: headers + "<return-response><set-status code=\"200\" reason=\"OK\" /><set-body>yes</set-body></return-response>");
    }

    /// <summary>Writes <paramref name="policy"/> into the file directly, past the write-time checks of the operations.</summary>
    private static void WriteBehindTheCmdlets(TestGateway gateway, string apiId, string policy, long revision, Func<GatewayConfiguration, GatewayConfiguration>? also = null)
    {
        var configuration = gateway.Service.Read();
        var changed = (also ?? (c => c))(configuration) with
        {
            Revision = revision,
            Apis = configuration.Apis.SetItem(apiId, configuration.Apis[apiId] with { OwnPolicy = policy }),
        };
        var temp = gateway.ConfigurationPath + ".edit";
        File.WriteAllBytes(temp, ConfigurationSerializer.Serialize(changed));
        File.Move(temp, gateway.ConfigurationPath, overwrite: true);
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, TestGateway? gateway = null)
    {
        var limit = DateTime.UtcNow + timeout;
        while (!condition() && DateTime.UtcNow < limit)
            await Task.Delay(20);
        Assert.True(condition(), "timed out" + (gateway is null ? "" : Environment.NewLine + gateway.Diagnostics()));
    }
}
