using System.Text.Json;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Metrics;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Metrics;

/// <summary>
/// The opt-in access log: one JSON line per request with the documented fields, written off the request thread;
/// never a query string, header, body or backend secret; a writer that falls behind drops and counts lines instead
/// of slowing requests.
/// </summary>
public sealed class AccessLogTests
{
    private const string QuerySecret = "QUERY-SECRET-4711";
    private const string HeaderSecret = "HEADER-SECRET-0815";
    private const string BodySecret = "BODY-SECRET-1234";
    private const string BackendSecret = "BACKEND-SECRET-9999";
    private const string BackendQuerySecret = "BACKEND-QUERY-SECRET-5555";

    [Fact]
    public async Task EveryRequest_IsOneJsonLine_WithTheDocumentedFields_AndNoSecret()
    {
        await using var backend = await TestBackend.StartAsync();
        await using var gateway = TestGateway.Create();
        using var allowed = gateway.Client("CN=allowed, O=Contoso");
        using var other = gateway.Client("CN=other");
        using var parameter = Secrets.ToSecureString(BackendSecret);
        gateway.Service.NewBackend(new BackendDefinition
        {
            BackendId = "orders-backend",
            Url = backend.Url + "?apikey=" + BackendQuerySecret,
            SkipCertificateChainValidation = true,
            SkipCertificateNameValidation = true,
            Credentials = new GatewayBackendCredential { AuthorizationHeaderScheme = "Bearer", AuthorizationHeaderParameter = parameter },
        });
        gateway.AddApi("orders", "orders", backendId: "orders-backend", policy: $"""
            <policies>
              <inbound>
                <choose>
                  <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != &quot;{allowed.Thumbprint}&quot;)">
                    <return-response><set-status code="403" reason="Forbidden" /></return-response>
                  </when>
                </choose>
                <base />
              </inbound>
            </policies>
            """);
        var log = Path.Combine(gateway.Folder.Path, "logs", "access.jsonl");
        var server = await gateway.StartAsync(configure: o => o with { AccessLogPath = log });
        var before = DateTime.UtcNow;

        var forwarded = await gateway.SendAsync("/orders/42?sig=" + QuerySecret, allowed, "POST",
            new Dictionary<string, string> { ["Authorization"] = "Bearer " + HeaderSecret, ["x-api-key"] = HeaderSecret }, BodySecret);
        var refused = await gateway.SendAsync("/orders/1?token=" + QuerySecret, other);
        var missing = await gateway.SendAsync("/elsewhere?key=" + QuerySecret);
        Assert.Equal(200, forwarded.Status);
        Assert.Contains(BackendSecret, forwarded.Body, StringComparison.Ordinal); // the backend did get its secret
        Assert.Equal(403, refused.Status);
        Assert.Equal(404, missing.Status);
        await server.StopAsync(); // a stop writes every line handed over

        var text = await File.ReadAllTextAsync(log);
        foreach (var secret in new[] { QuerySecret, HeaderSecret, BodySecret, BackendSecret, BackendQuerySecret, "sig=", "token=" })
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, lines.Count);

        var first = lines[0];
        Assert.Equal("orders", first.GetProperty("api").GetString());
        Assert.Equal("POST", first.GetProperty("method").GetString());
        Assert.Equal("/orders/42", first.GetProperty("path").GetString());
        Assert.Equal("HTTP/1.1", first.GetProperty("protocol").GetString());
        Assert.Equal(200, first.GetProperty("status").GetInt32());
        Assert.Equal("forwarded", first.GetProperty("decision").GetString());
        Assert.Equal("orders-backend", first.GetProperty("backend").GetString());
        Assert.Equal(allowed.Thumbprint, first.GetProperty("certificateThumbprint").GetString());
        Assert.Equal(allowed.Subject, first.GetProperty("certificateSubject").GetString());
        Assert.Equal("127.0.0.1", first.GetProperty("client").GetString());
        Assert.InRange(first.GetProperty("latencyMs").GetDouble(), 0.001, 10_000);
        Assert.InRange(first.GetProperty("time").GetDateTime().ToUniversalTime(), before.AddSeconds(-1), DateTime.UtcNow);

        Assert.Equal("refused:policy", lines[1].GetProperty("decision").GetString());
        Assert.Equal(403, lines[1].GetProperty("status").GetInt32());
        Assert.Equal(other.Thumbprint, lines[1].GetProperty("certificateThumbprint").GetString());
        Assert.Equal(JsonValueKind.Null, lines[1].GetProperty("backend").ValueKind);

        Assert.Equal(JsonValueKind.Null, lines[2].GetProperty("api").ValueKind);
        Assert.Equal("no_api", lines[2].GetProperty("decision").GetString());
        Assert.Equal("/elsewhere", lines[2].GetProperty("path").GetString());
        Assert.Equal(JsonValueKind.Null, lines[2].GetProperty("certificateThumbprint").ValueKind);
    }

    [Fact]
    public async Task AnErrorAnswer_NamesItsCode_AndTheServiceUrlsQueryNeverShows()
    {
        await using var gateway = TestGateway.Create();
        // Nothing listens on port 1: the forward fails with a 502/504-style pipeline error.
        gateway.AddApi("down", "down", url: "https://127.0.0.1:1/base?code=URL-PASSWORD-77");
        var log = Path.Combine(gateway.Folder.Path, "access.jsonl");
        var server = await gateway.StartAsync(configure: o => o with { AccessLogPath = log });

        var response = await gateway.SendAsync("/down/x");
        await server.StopAsync();

        var text = await File.ReadAllTextAsync(log);
        Assert.DoesNotContain("URL-PASSWORD-77", text, StringComparison.Ordinal);
        var line = JsonDocument.Parse(text.Trim()).RootElement;
        Assert.Equal(response.Status, line.GetProperty("status").GetInt32());
        Assert.Equal("error", line.GetProperty("decision").GetString());
        Assert.False(string.IsNullOrEmpty(line.GetProperty("error").GetString()));
        Assert.Equal("https://127.0.0.1:1", line.GetProperty("backend").GetString());
    }

    [Fact]
    public async Task AWriterThatFallsBehind_DropsAndCounts_AndNeverBlocksTheCaller()
    {
        var stream = new GatedStream();
        long counted = 0;
        var log = new AccessLog(stream, ownsOutput: true, capacity: 8, onDropped: n => Interlocked.Add(ref counted, n));
        var entry = new AccessLogEntry(DateTime.UtcNow, "orders", "GET", "/orders", 200, null, null, "forwarded", null, "b", 1.5, null, "HTTP/1.1");

        // One line takes the writer into the blocked write; then the queue holds 8 and the rest is dropped.
        log.Write(entry);
        await stream.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 1000; i++)
            log.Write(entry);
        watch.Stop();
        stream.Open();
        await log.DisposeAsync();

        Assert.Equal(1000 - 8, log.Dropped);
        Assert.Equal(log.Dropped, Interlocked.Read(ref counted));
        Assert.Equal(1 + 8, log.Written);
        Assert.Equal(log.Written, stream.Lines);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"Write blocked: {watch.Elapsed}");
    }

    [Fact]
    public async Task TheDroppedLines_AreExportedAsACounter()
    {
        using var metrics = new GatewayMetrics();
        using var export = new PrometheusExport(metrics);

        metrics.RecordAccessLogDropped(3);
        var text = await GatewayMetricsTests.ScrapeAsync(export);

        Assert.Equal(3, GatewayMetricsTests.Value(text, "apigateway_access_log_dropped_total", null));
    }

    /// <summary>A stream whose writes wait until <see cref="Open"/>: a disk or pipe that stopped taking data.</summary>
    private sealed class GatedStream : Stream
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _lines;

        public long Lines => Interlocked.Read(ref _lines);

        public void Open() => _open.TrySetResult();

        public TaskCompletionSource EnteredSource { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => EnteredSource.Task;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            EnteredSource.TrySetResult();
            await _open.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            foreach (var b in buffer.Span)
            {
                if (b == (byte)'\n')
                    Interlocked.Increment(ref _lines);
            }
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer) => WriteAsync(buffer.ToArray()).AsTask().GetAwaiter().GetResult();
    }
}
