using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using System.Text.RegularExpressions;
using ApiGateway.Host.Metrics;

namespace ApiGateway.Host.Tests.Metrics;

/// <summary>
/// GatewayMetrics and its Prometheus export, without a gateway: what each method records, under which Prometheus
/// name, type and labels (the exposition format's rules: counters end in _total, histograms have cumulative buckets
/// with le="+Inf", a _sum and a _count), and that other collectors see the same instruments.
/// </summary>
public sealed partial class GatewayMetricsTests
{
    [Fact]
    public async Task RecordRequest_CountsByApiAndStatus_AndObservesTheDurationInSeconds()
    {
        using var metrics = new GatewayMetrics();
        using var export = new PrometheusExport(metrics);

        metrics.RecordRequest("orders", 200, 0.003);
        metrics.RecordRequest("orders", 200, 0.2);
        metrics.RecordRequest("orders", 403, 0.001);
        metrics.RecordRequest(null, 404, 0.0001);
        var text = await ScrapeAsync(export);

        Assert.Contains("# TYPE apigateway_requests_total counter", text, StringComparison.Ordinal);
        Assert.Equal(2, Value(text, "apigateway_requests_total", "api=\"orders\",status=\"200\""));
        Assert.Equal(1, Value(text, "apigateway_requests_total", "api=\"orders\",status=\"403\""));
        Assert.Equal(1, Value(text, "apigateway_requests_total", "api=\"(none)\",status=\"404\""));
        Assert.Contains("# TYPE apigateway_request_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Equal(3, Value(text, "apigateway_request_duration_seconds_count", "api=\"orders\""));
        Assert.Equal(0.204, Value(text, "apigateway_request_duration_seconds_sum", "api=\"orders\""), 6);
        // Cumulative buckets: 1 ms holds the 403, 5 ms also the 3 ms one, 250 ms all three.
        Assert.Equal(1, Value(text, "apigateway_request_duration_seconds_bucket", "api=\"orders\",le=\"0.001\""));
        Assert.Equal(2, Value(text, "apigateway_request_duration_seconds_bucket", "api=\"orders\",le=\"0.005\""));
        Assert.Equal(2, Value(text, "apigateway_request_duration_seconds_bucket", "api=\"orders\",le=\"0.1\""));
        Assert.Equal(3, Value(text, "apigateway_request_duration_seconds_bucket", "api=\"orders\",le=\"0.25\""));
        Assert.Equal(3, Value(text, "apigateway_request_duration_seconds_bucket", "api=\"orders\",le=\"+Inf\""));
    }

    [Theory]
    [InlineData("Missing", "missing")]
    [InlineData("NotYetValid", "not_yet_valid")]
    [InlineData("Expired", "expired")]
    [InlineData("Untrusted", "untrusted")]
    [InlineData("Revoked", "revoked")]
    [InlineData("RevocationUnknown", "revocation_unknown")]
    [InlineData("IdentityMismatch", "identity_mismatch")]
    [InlineData("Policy", "policy")]
    public async Task RecordClientCertificateRefusal_NamesTheReason(string refusal, string label)
    {
        var reason = Enum.Parse<ClientCertificateRefusal>(refusal);
        using var metrics = new GatewayMetrics();
        using var export = new PrometheusExport(metrics);

        metrics.RecordClientCertificateRefusal("orders", reason);
        metrics.RecordClientCertificateRefusal("orders", reason);
        var text = await ScrapeAsync(export);

        Assert.Equal(2, Value(text, "apigateway_client_certificate_refusals_total", $"api=\"orders\",reason=\"{label}\""));
        Assert.Single(Series(text, "apigateway_client_certificate_refusals_total"));
    }

    [Fact]
    public async Task HandshakesReloadsAndBackendTlsFailures_AreCountedByTheirLabels()
    {
        using var metrics = new GatewayMetrics();
        using var export = new PrometheusExport(metrics);

        metrics.RecordHandshake("127.0.0.1:8443", SslProtocols.Tls13);
        metrics.RecordHandshake("127.0.0.1:8443", SslProtocols.Tls12);
        metrics.RecordHandshake("127.0.0.1:8443", SslProtocols.Tls13);
        metrics.RecordHandshakeFailure("127.0.0.1:8443", HandshakeFailure.ClientCertificateRefused);
        metrics.RecordHandshakeFailure("[::]:9443", HandshakeFailure.NoClientHello);
        metrics.RecordHandshakeFailure("[::]:9443", HandshakeFailure.Failed);
        metrics.RecordReload(loaded: true);
        metrics.RecordReload(loaded: false);
        metrics.RecordReload(loaded: false);
        metrics.RecordBackendTlsFailure("https://10.0.0.5:8443", SslPolicyErrors.RemoteCertificateChainErrors);
        metrics.RecordBackendTlsFailure("https://10.0.0.5:8443", SslPolicyErrors.RemoteCertificateNameMismatch);
        metrics.RecordBackendTlsFailure("https://10.0.0.5:8443", SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors);
        var text = await ScrapeAsync(export);

        Assert.Equal(2, Value(text, "apigateway_tls_handshakes_total", "listener=\"127.0.0.1:8443\",protocol=\"tls1.3\""));
        Assert.Equal(1, Value(text, "apigateway_tls_handshakes_total", "listener=\"127.0.0.1:8443\",protocol=\"tls1.2\""));
        Assert.Equal(1, Value(text, "apigateway_tls_handshake_failures_total", "listener=\"127.0.0.1:8443\",reason=\"client_certificate_refused\""));
        Assert.Equal(1, Value(text, "apigateway_tls_handshake_failures_total", "listener=\"[::]:9443\",reason=\"no_client_hello\""));
        Assert.Equal(1, Value(text, "apigateway_tls_handshake_failures_total", "listener=\"[::]:9443\",reason=\"handshake_failed\""));
        Assert.Equal(1, Value(text, "apigateway_configuration_reloads_total", "result=\"loaded\""));
        Assert.Equal(2, Value(text, "apigateway_configuration_reloads_total", "result=\"refused\""));
        Assert.Equal(2, Value(text, "apigateway_backend_tls_failures_total", "backend=\"https://10.0.0.5:8443\",reason=\"certificate_chain\""));
        Assert.Equal(1, Value(text, "apigateway_backend_tls_failures_total", "backend=\"https://10.0.0.5:8443\",reason=\"certificate_name\""));
    }

    [Fact]
    public async Task Gauges_WithoutASource_ReportNothingServing_AndTheBuildInfo()
    {
        using var metrics = new GatewayMetrics();
        using var export = new PrometheusExport(metrics);

        var text = await ScrapeAsync(export);

        Assert.Contains("# TYPE apigateway_configuration_revision gauge", text, StringComparison.Ordinal);
        Assert.Equal(0, Value(text, "apigateway_configuration_revision", null));
        Assert.Equal(0, Value(text, "apigateway_ready", null));
        Assert.Equal(1, Value(text, "apigateway_configuration_last_reload_success", null));
        Assert.Equal(1, Value(text, "apigateway_build_info", $"version=\"{GatewayServer.Version}\""));
        Assert.Empty(Series(text, "apigateway_certificate_expiry_days"));
        // prometheus-net's process metrics come along.
        Assert.Contains("process_cpu_seconds_total", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoGatewaysInOneProcess_NeverSeeEachOthersSeries()
    {
        using var first = new GatewayMetrics();
        using var second = new GatewayMetrics();
        using var firstExport = new PrometheusExport(first);
        using var secondExport = new PrometheusExport(second);

        first.RecordRequest("a", 200, 0.01);
        second.RecordRequest("b", 200, 0.01);
        second.RecordRequest("b", 200, 0.01);

        var one = await ScrapeAsync(firstExport);
        var two = await ScrapeAsync(secondExport);
        Assert.Equal(["api=\"a\",status=\"200\""], Series(one, "apigateway_requests_total").Keys);
        Assert.Equal(["api=\"b\",status=\"200\""], Series(two, "apigateway_requests_total").Keys);
        Assert.Equal(2, Value(two, "apigateway_requests_total", "api=\"b\",status=\"200\""));
    }

    [Fact]
    public void OtherCollectors_SeeTheSameInstruments_OnTheApiGatewayMeter()
    {
        using var metrics = new GatewayMetrics();
        var seen = new List<(string Instrument, double Value, string Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => seen.Add((i.Name, v, Join(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => seen.Add((i.Name, v, Join(tags))));
        listener.Start();

        metrics.RecordRequest("orders", 201, 0.5);
        metrics.RecordClientCertificateRefusal("orders", ClientCertificateRefusal.Expired);

        Assert.Equal("ApiGateway", metrics.Meter.Name);
        Assert.Equal(
            [("apigateway.requests", 1d, "api=orders,status=201"), ("apigateway.request.duration", 0.5, "api=orders"), ("apigateway.client_certificate.refusals", 1d, "api=orders,reason=expired")],
            seen);
    }

    [Fact]
    public async Task OpenMetrics_IsWrittenWhenTheScraperAsksForIt()
    {
        using var metrics = new GatewayMetrics();
        using var export = new PrometheusExport(metrics);
        metrics.RecordReload(loaded: true);
        using var buffer = new MemoryStream();

        var contentType = await export.WriteAsync(buffer, "application/openmetrics-text; version=1.0.0,text/plain;q=0.5", CancellationToken.None);
        var text = Encoding.UTF8.GetString(buffer.ToArray());

        Assert.StartsWith("application/openmetrics-text", contentType, StringComparison.Ordinal);
        Assert.EndsWith("# EOF\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE apigateway_configuration_reloads counter", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("apigateway.request.duration", "s", false, "apigateway_request_duration_seconds")]
    [InlineData("apigateway.certificate.expiry", "d", false, "apigateway_certificate_expiry_days")]
    [InlineData("apigateway.requests", "{request}", true, "apigateway_requests_total")]
    [InlineData("apigateway.ready", null, false, "apigateway_ready")]
    public void PrometheusName_FollowsTheOpenTelemetryRules(string instrument, string? unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusExport.PrometheusName(instrument, unit, counter));

    [Fact]
    public void EveryInstrument_HasItsLabelsDeclared()
    {
        using var metrics = new GatewayMetrics();
        var names = new List<string>();
        using var listener = new MeterListener { InstrumentPublished = (i, _) => { if (ReferenceEquals(i.Meter, metrics.Meter)) names.Add(i.Name); } };
        listener.Start();

        Assert.Equal(GatewayMetrics.LabelsOf.Keys.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
    }

    internal static async Task<string> ScrapeAsync(PrometheusExport export)
    {
        using var buffer = new MemoryStream();
        await export.WriteAsync(buffer, null, CancellationToken.None);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The sample lines of <paramref name="metric"/>: labels (without braces) → value.</summary>
    internal static Dictionary<string, double> Series(string text, string metric)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (Match m in SampleLine().Matches(text))
        {
            if (m.Groups["name"].Value == metric)
                result[m.Groups["labels"].Value] = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        return result;
    }

    /// <summary>The value of one series; fails naming what the scrape had instead.</summary>
    internal static double Value(string text, string metric, string? labels)
    {
        var series = Series(text, metric);
        return series.TryGetValue(labels ?? string.Empty, out var value)
            ? value
            : throw new Xunit.Sdk.XunitException($"No {metric}{{{labels}}} in the scrape; it has: {string.Join("; ", series.Select(s => $"{{{s.Key}}} {s.Value}"))}");
    }

    private static string Join(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var parts = new List<string>();
        foreach (var tag in tags)
            parts.Add($"{tag.Key}={tag.Value}");
        return string.Join(',', parts);
    }

    [GeneratedRegex(@"(?m)^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[^ \n]+)")]
    private static partial Regex SampleLine();
}
