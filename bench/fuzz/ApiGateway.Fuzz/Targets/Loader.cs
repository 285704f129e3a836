using System.Diagnostics;
using System.Globalization;
using System.Text;
using ApiGateway.Host.Runtime;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Fuzz.Targets;

/// <summary>
/// What the gateway does with a configuration file and a request: the snapshot build of a reload, and a request run
/// through an API's pipeline as <c>GatewayRequestHandler</c> runs it (a pooled context begun, the pipeline, the context
/// ended), with what the request cost measured.
/// </summary>
internal static class Loader
{
    /// <summary>Loads <paramref name="bytes"/> as the gateway's configuration file: a snapshot, or its problems.</summary>
    public static Verdict Load(FuzzWorld world, byte[] bytes)
    {
        using var built = Build(world, bytes);
        return built.Verdict;
    }

    /// <summary>The snapshot build of <paramref name="bytes"/>; the caller disposes it (retiring the snapshot).</summary>
    public static BuiltSnapshot Build(FuzzWorld world, byte[] bytes)
    {
        File.WriteAllBytes(world.ConfigurationPath, bytes);
        var result = SnapshotBuilder.Build(world.ConfigurationPath, world.Services, world.Expressions);
        if (result.Snapshot is { } snapshot)
            return new BuiltSnapshot(snapshot, Verdict.Success("loaded"), []);
        if (result.Errors.Count == 0)
            return new BuiltSnapshot(null, Verdict.Failure("the build failed without saying why"), []);
        if (result.Errors.Any(string.IsNullOrWhiteSpace))
            return new BuiltSnapshot(null, Verdict.Failure("the build reported an empty problem"), result.Errors);
        return new BuiltSnapshot(null, Verdict.Refused("ConfigurationRefused"), result.Errors);
    }

    /// <summary>
    /// A GET of <paramref name="path"/> through the API it routes to. The answer must be an HTTP status (a decision,
    /// or the 500 of a failed or over-budget expression); what the request cost is returned for the bounds checks.
    /// </summary>
    public static RequestOutcome Run(FuzzWorld world, GatewaySnapshot snapshot, string path, int variant)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = (variant % 3) switch { 0 => "GET", 1 => "POST", _ => "DELETE" };
        http.Request.Scheme = "https";
        http.Request.Host = new HostString("localhost", 8443);
        http.Request.Path = path;
        http.Request.QueryString = new QueryString(variant % 2 == 0 ? "?a=1&a=2&b=" : string.Empty);
        if (variant % 4 != 0)
            http.Request.Headers.Authorization = "Bearer x";
        if (variant % 5 == 0)
            http.Request.Headers["x-fuzz"] = new[] { "a", "\u00e9" };
        http.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        if (variant % 2 == 1)
            http.Connection.ClientCertificate = world.Client;
        http.Response.Body = new MemoryStream();
        if (!snapshot.Routes.TryMatch(path, out var route, out var consumed))
            return new RequestOutcome(null, "no route", TimeSpan.Zero, 0);

        var pool = snapshot.Services.Contexts;
        var context = pool.Get();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        context.Begin(http, snapshot, route, consumed, tls: null);
        http.Features.Set(context);
        try
        {
            route.Pipeline.ExecuteAsync(context).GetAwaiter().GetResult();
        }
        finally
        {
            http.Features.Set<Host.Context.PolicyContext>(null);
            context.End();
            pool.Return(context);
        }
        watch.Stop();
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        var body = Encoding.UTF8.GetString(((MemoryStream)http.Response.Body).ToArray());
        return new RequestOutcome(http.Response.StatusCode, body, watch.Elapsed, bytes);
    }

    /// <summary>
    /// The properties of an answer: a status from 100 to 599, a 500 of the gateway with its error code, and the
    /// request within its budget's time and memory (with room for a busy machine and the pipeline's own work).
    /// </summary>
    public static Verdict Judge(RequestOutcome outcome, TimeSpan maxTime, long maxBytes)
    {
        if (outcome.Status is not { } status)
            return Verdict.Failure("the request matched no route");
        if (status is < 100 or > 599)
            return Verdict.Failure($"the answer has status {status.ToString(CultureInfo.InvariantCulture)}");
        if (outcome.Elapsed > maxTime)
            return Verdict.Failure($"the request took {outcome.Elapsed.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms, more than {maxTime.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms: the expression budget did not bound it");
        if (outcome.AllocatedBytes > maxBytes)
            return Verdict.Failure($"the request allocated {outcome.AllocatedBytes.ToString(CultureInfo.InvariantCulture)} bytes, more than {maxBytes.ToString(CultureInfo.InvariantCulture)}: the expression budget did not bound it");
        var code = status == 500 ? ErrorCode(outcome.Body) : null;
        return Verdict.Success(code is null ? status.ToString(CultureInfo.InvariantCulture) : $"500 {code}");
    }

    private static string? ErrorCode(string body)
    {
        foreach (var code in new[] { "ExpressionBudgetExceeded", "ExpressionValueEvaluationFailure", "PolicyRuntimeFailure", "Backend" })
        {
            if (body.Contains(code, StringComparison.Ordinal))
                return code;
        }
        return null;
    }
}

/// <summary>What a request got and cost.</summary>
internal sealed record RequestOutcome(int? Status, string Body, TimeSpan Elapsed, long AllocatedBytes);

/// <summary>A snapshot build: the snapshot (retired on dispose), the verdict, and the problems of a refused build.</summary>
internal sealed class BuiltSnapshot(GatewaySnapshot? snapshot, Verdict verdict, IReadOnlyList<string> errors) : IDisposable
{
    public GatewaySnapshot? Snapshot { get; } = snapshot;

    public Verdict Verdict { get; } = verdict;

    public IReadOnlyList<string> Errors { get; } = errors;

    public void Dispose() => Snapshot?.Retire();
}
