using System.Diagnostics.Metrics;
using System.Globalization;
using ApiGateway.Host.Runtime;

namespace ApiGateway.Host.Metrics;

/// <summary>Why a request's client certificate was refused (the <c>reason</c> of <c>apigateway_client_certificate_refusals_total</c>).</summary>
internal enum ClientCertificateRefusal
{
    /// <summary>No certificate was presented.</summary>
    Missing,
    /// <summary>Before its NotBefore.</summary>
    NotYetValid,
    /// <summary>After its NotAfter.</summary>
    Expired,
    /// <summary>It does not chain to an uploaded CA certificate or a trusted root.</summary>
    Untrusted,
    /// <summary>Its issuer revoked it.</summary>
    Revoked,
    /// <summary>Its revocation status could not be checked.</summary>
    RevocationUnknown,
    /// <summary>It matches none of the identities of validate-client-certificate.</summary>
    IdentityMismatch,
    /// <summary>A policy of the operator's own refused it (e.g. the documented choose/return-response 403).</summary>
    Policy,
}

/// <summary>
/// The gateway's metrics as <see cref="System.Diagnostics.Metrics"/> instruments on one <see cref="Meter"/> named
/// <c>ApiGateway</c>, so any collector (dotnet-counters, OpenTelemetry, prometheus-net) can read them; the gateway
/// exports them at <c>/metrics</c> through <see cref="PrometheusExport"/>. One instance per gateway server: tests run
/// several in one process, and each export listens to its own meter only.
/// <para>
/// Counters are recorded where the event happens (a handshake, a reload); gauges are observed from the serving
/// snapshot when a collector asks (revision, certificate expiry, readiness), so they cost nothing between scrapes.
/// The per-request methods (<see cref="RecordRequest"/>, <see cref="RecordClientCertificateRefusal"/>) allocate
/// nothing: tags are strings from tables built once, passed in the overloads that take up to three tags.
/// </para>
/// </summary>
internal sealed class GatewayMetrics : IDisposable
{
    /// <summary>The meter's name (what <c>dotnet-counters monitor --counters ApiGateway</c> selects).</summary>
    public const string MeterName = "ApiGateway";

    /// <summary>The <c>api</c> of a request that matched no API (answered 404).</summary>
    public const string NoApi = "(none)";

    /// <summary>Request duration buckets in seconds: 0.5 ms to 30 s, dense where a gateway's own cost lies.</summary>
    internal static readonly double[] DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private static readonly string[] StatusTexts = BuildStatusTexts();
    private static readonly string[] RefusalTexts = Enum.GetValues<ClientCertificateRefusal>().Select(SnakeCase).ToArray();

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Counter<long> _refusals;
    private readonly Counter<long> _handshakes;
    private readonly Counter<long> _handshakeFailures;
    private readonly Counter<long> _backendTlsFailures;
    private readonly Counter<long> _reloads;
    private readonly Counter<long> _accessLogDropped;
    private volatile MetricsSource? _source;

    public GatewayMetrics()
    {
        Meter = new Meter(MeterName, GatewayServer.Version);
        _requests = Meter.CreateCounter<long>(Names.Requests, "{request}", "Requests answered, by API and status code.");
        _requestDuration = Meter.CreateHistogram<double>(Names.RequestDuration, "s", "Time from the request's start to the end of the gateway's answer, by API.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _refusals = Meter.CreateCounter<long>(Names.ClientCertificateRefusals, "{request}", "Requests refused because of their client certificate, by API and reason.");
        _handshakes = Meter.CreateCounter<long>(Names.TlsHandshakes, "{handshake}", "TLS handshakes completed, by listener and protocol.");
        _handshakeFailures = Meter.CreateCounter<long>(Names.TlsHandshakeFailures, "{handshake}", "Connections that ended without a completed TLS handshake, by listener and reason.");
        _backendTlsFailures = Meter.CreateCounter<long>(Names.BackendTlsFailures, "{connection}", "TLS connections to backends refused because of the backend's certificate, by backend authority and reason.");
        _reloads = Meter.CreateCounter<long>(Names.Reloads, "{reload}", "Configuration changes applied (result=loaded) or refused (result=refused), the last good revision serving on.");
        _accessLogDropped = Meter.CreateCounter<long>(Names.AccessLogDropped, "{line}", "Access log lines dropped because the writer fell behind (the request went on unlogged).");
        Meter.CreateObservableGauge(Names.Revision, ObserveRevision, "{revision}", "The configuration revision serving now.");
        Meter.CreateObservableGauge(Names.LastReloadSuccess, ObserveLastReloadSuccess, null, "1 when the configuration on disk is the one serving, 0 while its last change is refused.");
        Meter.CreateObservableGauge(Names.CertificateExpiry, ObserveCertificateExpiry, "d", "Days until each certificate of the serving revision expires (negative: expired), by id and kind (certificate or ca).");
        Meter.CreateObservableGauge(Names.Ready, ObserveReady, null, "1 while /readyz answers 200 (configuration loaded, every listener bound, not draining).");
        Meter.CreateObservableGauge(Names.AllocatedBytes, static () => new Measurement<long>(GC.GetTotalAllocatedBytes(precise: false)), "By", "Bytes the process has allocated on the managed heap since it started (its rate is the allocation rate; bench/ divides it by requests).");
        Meter.CreateObservableGauge(Names.BuildInfo, ObserveBuildInfo, null, "Always 1; the version label names the gateway's version.");
    }

    /// <summary>The instruments' meter.</summary>
    public Meter Meter { get; }

    /// <summary>Where the gauges read from; set once the server has a runtime.</summary>
    public void Observe(MetricsSource source) => _source = source;

    /// <summary>
    /// A request answered with <paramref name="statusCode"/> after <paramref name="seconds"/>; <paramref name="apiId"/>
    /// null when it matched no API. Called once per request, when the response is complete.
    /// </summary>
    public void RecordRequest(string? apiId, int statusCode, double seconds)
    {
        var api = new KeyValuePair<string, object?>(Tags.Api, apiId ?? NoApi);
        _requests.Add(1, api, new KeyValuePair<string, object?>(Tags.Status, StatusText(statusCode)));
        _requestDuration.Record(seconds, api);
    }

    /// <summary>A request to <paramref name="apiId"/> refused because of its client certificate.</summary>
    public void RecordClientCertificateRefusal(string apiId, ClientCertificateRefusal reason) =>
        _refusals.Add(1, new KeyValuePair<string, object?>(Tags.Api, apiId), new KeyValuePair<string, object?>(Tags.Reason, RefusalTexts[(int)reason]));

    /// <summary>The <c>reason</c> label of <paramref name="reason"/> (also the access log's <c>refused:</c> decisions).</summary>
    public static string RefusalText(ClientCertificateRefusal reason) => RefusalTexts[(int)reason];

    /// <summary>Access log lines dropped because its writer fell behind.</summary>
    public void RecordAccessLogDropped(long count) => _accessLogDropped.Add(count);

    /// <summary>A completed TLS handshake on <paramref name="listener"/> (e.g. <c>127.0.0.1:8443</c>).</summary>
    public void RecordHandshake(string listener, System.Security.Authentication.SslProtocols protocol) =>
        _handshakes.Add(1, new KeyValuePair<string, object?>(Tags.Listener, listener), new KeyValuePair<string, object?>(Tags.Protocol, ProtocolText(protocol)));

    /// <summary>A connection on <paramref name="listener"/> that ended without a handshake.</summary>
    public void RecordHandshakeFailure(string listener, HandshakeFailure reason) =>
        _handshakeFailures.Add(1, new KeyValuePair<string, object?>(Tags.Listener, listener), new KeyValuePair<string, object?>(Tags.Reason, reason switch
        {
            HandshakeFailure.NoClientHello => "no_client_hello",
            HandshakeFailure.ClientCertificateRefused => "client_certificate_refused",
            _ => "handshake_failed",
        }));

    /// <summary>The gateway refused the server certificate of the backend at <paramref name="authority"/>.</summary>
    public void RecordBackendTlsFailure(string authority, System.Net.Security.SslPolicyErrors errors) =>
        _backendTlsFailures.Add(1, new KeyValuePair<string, object?>(Tags.Backend, authority), new KeyValuePair<string, object?>(Tags.Reason,
            (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNotAvailable) != 0 ? "no_certificate"
            : (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors) != 0 ? "certificate_chain"
            : "certificate_name"));

    /// <summary>A configuration change was applied (<paramref name="loaded"/>) or refused.</summary>
    public void RecordReload(bool loaded) =>
        _reloads.Add(1, new KeyValuePair<string, object?>(Tags.Result, loaded ? "loaded" : "refused"));

    public void Dispose() => Meter.Dispose();

    private Measurement<long> ObserveRevision() => new(_source?.Current()?.Revision ?? 0);

    private Measurement<int> ObserveLastReloadSuccess() => new(_source?.LastReloadRefused() == true ? 0 : 1);

    private Measurement<int> ObserveReady() => new(_source?.Ready() == true ? 1 : 0);

    private Measurement<int> ObserveBuildInfo() => new(1, new KeyValuePair<string, object?>(Tags.Version, GatewayServer.Version));

    private IEnumerable<Measurement<double>> ObserveCertificateExpiry()
    {
        if (_source?.Current() is not { } snapshot)
            return [];
        var now = DateTimeOffset.UtcNow;
        var measurements = new List<Measurement<double>>();
        foreach (var (id, certificate) in snapshot.Certificates)
            measurements.Add(Expiry(id, "certificate", new DateTimeOffset(certificate.Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero), now));
        foreach (var (id, ca) in snapshot.Configuration.CaCertificates)
            measurements.Add(Expiry(id, "ca", ca.NotAfter, now));
        return measurements;
    }

    private static Measurement<double> Expiry(string id, string kind, DateTimeOffset notAfter, DateTimeOffset now) =>
        new(Math.Round((notAfter - now).TotalDays, 3), new KeyValuePair<string, object?>(Tags.Certificate, id), new KeyValuePair<string, object?>(Tags.Kind, kind));

    private static string StatusText(int statusCode) =>
        (uint)statusCode < (uint)StatusTexts.Length ? StatusTexts[statusCode] : statusCode.ToString(CultureInfo.InvariantCulture);

    private static string[] BuildStatusTexts()
    {
        var texts = new string[600];
        for (var i = 0; i < texts.Length; i++)
            texts[i] = i.ToString(CultureInfo.InvariantCulture);
        return texts;
    }

    // TLS 1.0 and 1.1 are never offered (every TLS profile starts at 1.2), so they need no name of their own.
    private static string ProtocolText(System.Security.Authentication.SslProtocols protocol) => protocol switch
    {
        System.Security.Authentication.SslProtocols.Tls13 => "tls1.3",
        System.Security.Authentication.SslProtocols.Tls12 => "tls1.2",
        _ => "other",
    };

    private static string SnakeCase(ClientCertificateRefusal value)
    {
        var name = value.ToString();
        var sb = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
                sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }

    /// <summary>The instruments' names (<see cref="System.Diagnostics.Metrics"/> form; the Prometheus names are in <see cref="PrometheusExport"/>).</summary>
    internal static class Names
    {
        public const string Requests = "apigateway.requests";
        public const string RequestDuration = "apigateway.request.duration";
        public const string ClientCertificateRefusals = "apigateway.client_certificate.refusals";
        public const string TlsHandshakes = "apigateway.tls.handshakes";
        public const string TlsHandshakeFailures = "apigateway.tls.handshake_failures";
        public const string BackendTlsFailures = "apigateway.backend.tls_failures";
        public const string Reloads = "apigateway.configuration.reloads";
        public const string AccessLogDropped = "apigateway.access_log.dropped";
        public const string Revision = "apigateway.configuration.revision";
        public const string LastReloadSuccess = "apigateway.configuration.last_reload_success";
        public const string CertificateExpiry = "apigateway.certificate.expiry";
        public const string Ready = "apigateway.ready";
        public const string BuildInfo = "apigateway.build_info";
        public const string AllocatedBytes = "apigateway.process.allocated";
    }

    /// <summary>The tag keys of each instrument, in the order the Prometheus labels are written.</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> LabelsOf = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [Names.Requests] = [Tags.Api, Tags.Status],
        [Names.RequestDuration] = [Tags.Api],
        [Names.ClientCertificateRefusals] = [Tags.Api, Tags.Reason],
        [Names.TlsHandshakes] = [Tags.Listener, Tags.Protocol],
        [Names.TlsHandshakeFailures] = [Tags.Listener, Tags.Reason],
        [Names.BackendTlsFailures] = [Tags.Backend, Tags.Reason],
        [Names.Reloads] = [Tags.Result],
        [Names.AccessLogDropped] = [],
        [Names.Revision] = [],
        [Names.LastReloadSuccess] = [],
        [Names.CertificateExpiry] = [Tags.Certificate, Tags.Kind],
        [Names.Ready] = [],
        [Names.BuildInfo] = [Tags.Version],
        [Names.AllocatedBytes] = [],
    };

    /// <summary>The tag keys (the Prometheus label names).</summary>
    internal static class Tags
    {
        public const string Api = "api";
        public const string Status = "status";
        public const string Reason = "reason";
        public const string Listener = "listener";
        public const string Protocol = "protocol";
        public const string Backend = "backend";
        public const string Result = "result";
        public const string Certificate = "certificate";
        public const string Kind = "kind";
        public const string Version = "version";
    }
}

/// <summary>Why a connection ended without a TLS handshake.</summary>
internal enum HandshakeFailure
{
    /// <summary>It closed (or timed out) before sending a ClientHello: TCP probes, port scanners, slow clients.</summary>
    NoClientHello,
    /// <summary>A strict hostname refused its client certificate (or its lack of one).</summary>
    ClientCertificateRefused,
    /// <summary>Any other failure: no common protocol or cipher suite, a broken or timed-out handshake.</summary>
    Failed,
}

/// <summary>What the gauges of <see cref="GatewayMetrics"/> read, when a collector asks.</summary>
internal sealed class MetricsSource(Func<GatewaySnapshot?> current, Func<bool> lastReloadRefused, Func<bool> ready)
{
    public Func<GatewaySnapshot?> Current { get; } = current;
    public Func<bool> LastReloadRefused { get; } = lastReloadRefused;
    public Func<bool> Ready { get; } = ready;
}
