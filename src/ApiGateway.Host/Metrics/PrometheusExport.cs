using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Prometheus;

namespace ApiGateway.Host.Metrics;

/// <summary>
/// Exports the instruments of one <see cref="GatewayMetrics"/> in the Prometheus text format (and OpenMetrics, when
/// the scraper asks for it) through prometheus-net's own metric types, plus prometheus-net's process and .NET runtime
/// metrics (<c>process_cpu_seconds_total</c>, <c>process_resident_memory_bytes</c>, <c>dotnet_collection_count_total</c>, …).
/// <para>
/// Why not prometheus-net's own <c>MeterAdapter</c>: it exports every .NET counter as a Prometheus <em>gauge</em>, lets
/// series expire when unused (a counter that restarts from zero), and sorts, copies and allocates the tags of every
/// measurement, which the per-request counters cannot afford. Here each instrument becomes the Prometheus type it
/// is (Counter → counter with <c>_total</c>, Histogram → histogram with the instrument's advised buckets, observable
/// gauges → gauges whose vanished series are removed), its labels are the tag keys declared in
/// <see cref="GatewayMetrics.LabelsOf"/>, and a measurement costs a lookup of its label values in a cache.
/// </para>
/// Names: the instrument's name with dots as underscores, its unit as a suffix (s → <c>_seconds</c>, d →
/// <c>_days</c>), and <c>_total</c> for counters, as OpenTelemetry's Prometheus exporters name them.
/// </summary>
internal sealed class PrometheusExport : IDisposable
{
    /// <summary>The classic text format's content type.</summary>
    public const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The OpenMetrics content type (sent when the scraper accepts it).</summary>
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private readonly MeterListener _listener;
    private readonly Meter _meter;
    private readonly MetricFactory _factory;
    private readonly List<GaugeBinding> _gauges = [];
    private readonly Lock _collectLock = new();

    public PrometheusExport(GatewayMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _meter = metrics.Meter;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        _factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        DotNetStats.Register(Registry);
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, _meter))
                    listener.EnableMeasurementEvents(instrument, Bind(instrument));
            },
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, state) => ((Binding)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, state) => ((Binding)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, state) => ((Binding)state!).Record(value, tags));
        _listener.Start();
        Registry.AddBeforeCollectCallback(CollectObservables);
    }

    /// <summary>The registry the export writes (its own: several gateways in one process never mix their series).</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>The Prometheus name of an instrument (see the class remarks).</summary>
    public static string PrometheusName(string instrumentName, string? unit, bool counter)
    {
        ArgumentNullException.ThrowIfNull(instrumentName);
        var name = instrumentName.Replace('.', '_');
        name += unit switch
        {
            "s" => "_seconds",
            "d" => "_days",
            "By" => "_bytes",
            _ => string.Empty,
        };
        return counter ? name + "_total" : name;
    }

    /// <summary>Writes every metric; OpenMetrics when <paramref name="accept"/> (the request's Accept header) asks for it.</summary>
    public async Task<string> WriteAsync(Stream stream, string? accept, CancellationToken cancellationToken)
    {
        var openMetrics = accept is not null && accept.Contains("application/openmetrics-text", StringComparison.OrdinalIgnoreCase);
        await Registry.CollectAndExportAsTextAsync(stream, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText, cancellationToken).ConfigureAwait(false);
        return openMetrics ? OpenMetricsContentType : TextContentType;
    }

    public void Dispose() => _listener.Dispose();

    private Binding Bind(Instrument instrument)
    {
        if (!GatewayMetrics.LabelsOf.TryGetValue(instrument.Name, out var labels))
            throw new InvalidOperationException($"GatewayMetrics.LabelsOf has no labels for the instrument '{instrument.Name}'.");
        var help = instrument.Description ?? instrument.Name;
        switch (instrument)
        {
            case Counter<long> or Counter<int> or Counter<double>:
                var counter = _factory.CreateCounter(PrometheusName(instrument.Name, instrument.Unit, counter: true), help, labels);
                return new ChildBinding<Counter.Child>(values => counter.WithLabels(values), static (child, value) => child.Inc(value), labels);
            case Histogram<double> histogram:
                var buckets = histogram.Advice?.HistogramBucketBoundaries?.ToArray() ?? GatewayMetrics.DurationBuckets;
                var prometheusHistogram = _factory.CreateHistogram(PrometheusName(instrument.Name, instrument.Unit, counter: false), help, labels, new HistogramConfiguration { Buckets = buckets });
                return new ChildBinding<Histogram.Child>(values => prometheusHistogram.WithLabels(values), static (child, value) => child.Observe(value), labels);
            case ObservableGauge<long> or ObservableGauge<int> or ObservableGauge<double>:
                var gauge = new GaugeBinding(_factory.CreateGauge(PrometheusName(instrument.Name, instrument.Unit, counter: false), help, labels), labels);
                lock (_collectLock)
                    _gauges.Add(gauge);
                return gauge;
            default:
                throw new InvalidOperationException($"The instrument '{instrument.Name}' is a {instrument.GetType().Name}, which the export does not map.");
        }
    }

    /// <summary>Before each scrape: the observable gauges report, and series they no longer report are removed.</summary>
    private void CollectObservables()
    {
        lock (_collectLock)
        {
            foreach (var gauge in _gauges)
                gauge.BeginRound();
            _listener.RecordObservableInstruments();
            foreach (var gauge in _gauges)
                gauge.EndRound();
        }
    }

    /// <summary>The label values of a measurement, in the declared label order (at most three labels).</summary>
    private readonly record struct LabelKey(string? A, string? B, string? C)
    {
        public static LabelKey From(string[] names, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? a = null, b = null, c = null;
            for (var i = 0; i < names.Length; i++)
            {
                var value = string.Empty;
                foreach (var tag in tags)
                {
                    if (string.Equals(tag.Key, names[i], StringComparison.Ordinal))
                    {
                        value = tag.Value as string ?? Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
                        break;
                    }
                }
                switch (i)
                {
                    case 0: a = value; break;
                    case 1: b = value; break;
                    default: c = value; break;
                }
            }
            return new LabelKey(a, b, c);
        }

        public string[] Values(int count) => count switch
        {
            0 => [],
            1 => [A!],
            2 => [A!, B!],
            _ => [A!, B!, C!],
        };
    }

    private abstract class Binding
    {
        protected Binding(string[] labels)
        {
            if (labels.Length > 3)
                throw new InvalidOperationException("An exported instrument has at most three labels.");
            Labels = labels;
        }

        protected string[] Labels { get; }

        public abstract void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags);
    }

    /// <summary>A counter or histogram: each label combination's child is looked up in a cache, created once.</summary>
    private sealed class ChildBinding<TChild>(Func<string[], TChild> create, Action<TChild, double> record, string[] labels) : Binding(labels)
        where TChild : class
    {
        private readonly ConcurrentDictionary<LabelKey, TChild> _children = new();

        public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var key = LabelKey.From(Labels, tags);
            if (!_children.TryGetValue(key, out var child))
                child = _children.GetOrAdd(key, k => create(k.Values(Labels.Length)));
            record(child, value);
        }
    }

    /// <summary>An observable gauge: each scrape sets the series it reports and removes those it stopped reporting (a removed certificate).</summary>
    private sealed class GaugeBinding(Gauge gauge, string[] labels) : Binding(labels)
    {
        private readonly HashSet<LabelKey> _published = [];
        private readonly HashSet<LabelKey> _seen = [];

        public void BeginRound() => _seen.Clear();

        public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            // Only called from RecordObservableInstruments, under the export's collect lock.
            var key = LabelKey.From(Labels, tags);
            _seen.Add(key);
            _published.Add(key);
            if (Labels.Length == 0)
                gauge.Set(value);
            else
                gauge.WithLabels(key.Values(Labels.Length)).Set(value);
        }

        public void EndRound()
        {
            if (Labels.Length == 0)
                return;
            foreach (var stale in _published.Where(k => !_seen.Contains(k)).ToList())
            {
                gauge.RemoveLabelled(stale.Values(Labels.Length));
                _published.Remove(stale);
            }
        }
    }
}
