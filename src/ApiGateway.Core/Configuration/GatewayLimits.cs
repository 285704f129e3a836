using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Serialization;

namespace ApiGateway.Core.Configuration;

/// <summary>
/// The limits that keep abusive or broken clients from taking the gateway down (slow headers, idle connections,
/// oversized requests, stream floods). Every property is optional: null means "this version's default"
/// (<see cref="Defaults"/>), so a file that sets nothing gets better defaults when the gateway is updated, and the
/// file shows only what an operator chose. <see cref="Catalog"/> describes each limit (range, unit, default, whether a
/// change needs a restart), for the validator, the cmdlets and the documentation alike.
/// </summary>
internal sealed record GatewayLimits
{
    /// <summary>Open connections per listener, TLS handshakes included; beyond it new connections are closed at once.</summary>
    public int? MaxConcurrentConnections { get; init; }

    /// <summary>Time a client has to complete the TLS handshake.</summary>
    public double? TlsHandshakeTimeoutSeconds { get; init; }

    /// <summary>Time a client has to send a request's line and headers, from its first byte.</summary>
    public double? RequestHeadersTimeoutSeconds { get; init; }

    /// <summary>Time an idle connection (no request under way) stays open.</summary>
    public double? KeepAliveTimeoutSeconds { get; init; }

    /// <summary>Bytes of the HTTP/1.1 request line (method, URL, version).</summary>
    public int? MaxRequestLineSize { get; init; }

    /// <summary>Bytes of all request headers together (HTTP/1.1 and HTTP/2).</summary>
    public int? MaxRequestHeadersTotalSize { get; init; }

    /// <summary>Number of request headers.</summary>
    public int? MaxRequestHeaderCount { get; init; }

    /// <summary>Bytes of a request body.</summary>
    public long? MaxRequestBodySize { get; init; }

    /// <summary>Bytes per second a client must send a request body at, after the grace period; 0 turns the check off.</summary>
    public int? MinRequestBodyDataRate { get; init; }

    /// <summary>Bytes per second a client must read a response at, after the grace period; 0 turns the check off.</summary>
    public int? MinResponseDataRate { get; init; }

    /// <summary>How long a body transfer may run below the minimum data rates before the connection is closed.</summary>
    public double? DataRateGracePeriodSeconds { get; init; }

    /// <summary>Concurrent streams (requests) per HTTP/2 connection.</summary>
    public int? Http2MaxStreamsPerConnection { get; init; }

    /// <summary>Steps (loop iterations, calls of lambdas and local functions, elements of sequences) one policy expression may run.</summary>
    public long? ExpressionMaxSteps { get; init; }

    /// <summary>How deep the calls of lambdas and local functions inside one expression may nest (recursion).</summary>
    public int? ExpressionMaxDepth { get; init; }

    /// <summary>Bytes one expression may allocate.</summary>
    public long? ExpressionMaxAllocatedBytes { get; init; }

    /// <summary>Wall-clock time one expression may run.</summary>
    public double? ExpressionTimeoutMilliseconds { get; init; }

    /// <summary>Characters of one policy expression.</summary>
    public int? MaxExpressionLength { get; init; }

    /// <summary>How deep parentheses, brackets and braces may nest in one expression.</summary>
    public int? MaxExpressionNesting { get; init; }

    /// <summary>Characters of one policy document.</summary>
    public int? MaxPolicySize { get; init; }

    /// <summary>Time compiling a configuration's expressions may take before the change is refused.</summary>
    public double? ExpressionCompileTimeoutSeconds { get; init; }

    /// <summary>Every limit at this version's default.</summary>
    public static GatewayLimits Defaults { get; } = new()
    {
        MaxConcurrentConnections = 10_000,
        TlsHandshakeTimeoutSeconds = 10,
        RequestHeadersTimeoutSeconds = 15,
        KeepAliveTimeoutSeconds = 120,
        MaxRequestLineSize = 8 * 1024,
        MaxRequestHeadersTotalSize = 32 * 1024,
        MaxRequestHeaderCount = 100,
        MaxRequestBodySize = 30_000_000,
        MinRequestBodyDataRate = 240,
        MinResponseDataRate = 240,
        DataRateGracePeriodSeconds = 5,
        Http2MaxStreamsPerConnection = 100,
        ExpressionMaxSteps = 1_000_000,
        ExpressionMaxDepth = 64,
        ExpressionMaxAllocatedBytes = 16L * 1024 * 1024,
        ExpressionTimeoutMilliseconds = 100,
        MaxExpressionLength = 16 * 1024,
        MaxExpressionNesting = 100,
        MaxPolicySize = 1024 * 1024,
        ExpressionCompileTimeoutSeconds = 30,
    };

    /// <summary>These limits with every unset one at its default.</summary>
    public GatewayLimits Resolve()
    {
        var result = this;
        foreach (var limit in Catalog)
        {
            if (limit.Get(result) is null)
                result = limit.With(result, limit.Get(Defaults));
        }
        return result;
    }

    /// <summary>
    /// As <see cref="Resolve"/>, and every limit outside its range (a problem <see cref="Validate"/> reports) at its
    /// default too: what a check of the rest of a configuration goes on with, so that a limit the file gets wrong (a
    /// negative compile deadline, a zero policy size) is reported once, as itself, instead of ending the check with an
    /// exception or turning every policy into an error.
    /// </summary>
    public GatewayLimits ResolveWithinRanges()
    {
        var result = this;
        foreach (var limit in Catalog)
        {
            if (limit.Get(result) is not { } value || limit.Check(value) is not null)
                result = limit.With(result, limit.Get(Defaults));
        }
        return result;
    }

    /// <summary>Whether no limit is set (the configuration then leaves <c>limits</c> out).</summary>
    [JsonIgnore]
    public bool IsEmpty => Catalog.All(l => l.Get(this) is null);

    /// <summary>Every limit, in the order the documentation and Get-GatewayLimit list them.</summary>
    public static ImmutableArray<GatewayLimitDescriptor> Catalog { get; } =
    [
        new(nameof(MaxConcurrentConnections), "connections", 1, 1_000_000, wholeNumber: true, requiresRestart: true,
            l => l.MaxConcurrentConnections, (l, v) => l with { MaxConcurrentConnections = (int?)v },
            "Bounds sockets and memory when a flood of connections (or of idle ones) arrives; each connection costs a socket and a few KB. Connections over the limit are closed right after accept."),
        new(nameof(TlsHandshakeTimeoutSeconds), "s", 0.5, 300, wholeNumber: false, requiresRestart: true,
            l => l.TlsHandshakeTimeoutSeconds, (l, v) => l with { TlsHandshakeTimeoutSeconds = v },
            "Closes connections that open a socket and never finish (or never start) the TLS handshake; a real client completes it in milliseconds."),
        new(nameof(RequestHeadersTimeoutSeconds), "s", 0.5, 3600, wholeNumber: false, requiresRestart: false,
            l => l.RequestHeadersTimeoutSeconds, (l, v) => l with { RequestHeadersTimeoutSeconds = v },
            "Cuts off slow-header (Slowloris) clients: the whole request line and headers must arrive within it, however slowly the bytes trickle."),
        new(nameof(KeepAliveTimeoutSeconds), "s", 1, 3600, wholeNumber: false, requiresRestart: false,
            l => l.KeepAliveTimeoutSeconds, (l, v) => l with { KeepAliveTimeoutSeconds = v },
            "Closes idle connections, including ones that completed the handshake and never send a request; longer than HttpClient's and browsers' own idle timeouts so they close first."),
        new(nameof(MaxRequestLineSize), "bytes", 256, 1024 * 1024, wholeNumber: true, requiresRestart: false,
            l => l.MaxRequestLineSize, (l, v) => l with { MaxRequestLineSize = (int?)v },
            "Refuses oversized URLs (414) before they are buffered or routed."),
        new(nameof(MaxRequestHeadersTotalSize), "bytes", 1024, 1024 * 1024, wholeNumber: true, requiresRestart: false,
            l => l.MaxRequestHeadersTotalSize, (l, v) => l with { MaxRequestHeadersTotalSize = (int?)v },
            "Refuses oversized headers (431) so one request cannot pin megabytes of memory."),
        new(nameof(MaxRequestHeaderCount), "headers", 1, 10_000, wholeNumber: true, requiresRestart: false,
            l => l.MaxRequestHeaderCount, (l, v) => l with { MaxRequestHeaderCount = (int?)v },
            "Refuses requests with very many small headers (431), which cost per-header work in parsing and policies."),
        new(nameof(MaxRequestBodySize), "bytes", 1, 1L << 40, wholeNumber: true, requiresRestart: false,
            l => l.MaxRequestBodySize, (l, v) => l with { MaxRequestBodySize = (long?)v },
            "Refuses oversized bodies (413) as soon as the Content-Length or the bytes received exceed it, instead of streaming them to the backend."),
        new(nameof(MinRequestBodyDataRate), "bytes/s", 0, 1_000_000_000, wholeNumber: true, requiresRestart: false,
            l => l.MinRequestBodyDataRate, (l, v) => l with { MinRequestBodyDataRate = (int?)v },
            "Closes connections that send a body a byte at a time (slow POST), which would otherwise hold a request and a backend connection open."),
        new(nameof(MinResponseDataRate), "bytes/s", 0, 1_000_000_000, wholeNumber: true, requiresRestart: false,
            l => l.MinResponseDataRate, (l, v) => l with { MinResponseDataRate = (int?)v },
            "Closes connections that read a response very slowly (slow read), which would otherwise hold buffers and a backend connection."),
        new(nameof(DataRateGracePeriodSeconds), "s", 1.5, 3600, wholeNumber: false, requiresRestart: false,
            l => l.DataRateGracePeriodSeconds, (l, v) => l with { DataRateGracePeriodSeconds = v },
            "Lets a transfer start slowly (TCP slow start, a busy client) before the minimum data rates apply."),
        new(nameof(Http2MaxStreamsPerConnection), "streams", 1, 1000, wholeNumber: true, requiresRestart: false,
            l => l.Http2MaxStreamsPerConnection, (l, v) => l with { Http2MaxStreamsPerConnection = (int?)v },
            "Bounds the requests one HTTP/2 connection runs at once; together with Kestrel's reset-flood detection it keeps a rapid-reset client to its own connection."),
        new(nameof(ExpressionMaxSteps), "steps", 1000, 1_000_000_000, wholeNumber: true, requiresRestart: false,
            l => l.ExpressionMaxSteps, (l, v) => l with { ExpressionMaxSteps = (long?)v },
            "Ends an expression that loops too long (while (true), a huge for, a goto back, a lambda or sequence over millions of elements): the request gets 500 ExpressionBudgetExceeded, every other request is served."),
        new(nameof(ExpressionMaxDepth), "calls", 1, 1000, wholeNumber: true, requiresRestart: false,
            l => l.ExpressionMaxDepth, (l, v) => l with { ExpressionMaxDepth = (int?)v },
            "Turns deep recursion of a local function or lambda into an ordinary error long before the stack overflows (which would end the whole gateway)."),
        new(nameof(ExpressionMaxAllocatedBytes), "bytes", 64 * 1024, 1L << 30, wholeNumber: true, requiresRestart: false,
            l => l.ExpressionMaxAllocatedBytes, (l, v) => l with { ExpressionMaxAllocatedBytes = (long?)v },
            "Ends an expression that allocates without bound (a list that grows forever, a huge string), before the gateway's memory climbs."),
        new(nameof(ExpressionTimeoutMilliseconds), "ms", 1, 60_000, wholeNumber: false, requiresRestart: false,
            l => l.ExpressionTimeoutMilliseconds, (l, v) => l with { ExpressionTimeoutMilliseconds = v },
            "Ends an expression that runs too long in wall-clock time, checked with its steps and sizes."),
        new(nameof(MaxExpressionLength), "characters", 64, 1024 * 1024, wholeNumber: true, requiresRestart: false,
            l => l.MaxExpressionLength, (l, v) => l with { MaxExpressionLength = (int?)v },
            "Refuses (at write time and on reload) expressions too long to be a policy check, before the compiler spends time on them."),
        new(nameof(MaxExpressionNesting), "levels", 8, 1000, wholeNumber: true, requiresRestart: false,
            l => l.MaxExpressionNesting, (l, v) => l with { MaxExpressionNesting = (int?)v },
            "Refuses expressions whose parentheses, brackets or braces nest deeper than this before the compiler sees them: pathological nesting costs the compiler seconds to minutes."),
        new(nameof(MaxPolicySize), "characters", 1024, 64 * 1024 * 1024, wholeNumber: true, requiresRestart: false,
            l => l.MaxPolicySize, (l, v) => l with { MaxPolicySize = (int?)v },
            "Refuses policy documents larger than this before they are parsed."),
        new(nameof(ExpressionCompileTimeoutSeconds), "s", 1, 3600, wholeNumber: false, requiresRestart: false,
            l => l.ExpressionCompileTimeoutSeconds, (l, v) => l with { ExpressionCompileTimeoutSeconds = v },
            "Refuses a change whose expressions take longer than this to compile; the last good configuration keeps serving and the next change is compiled as usual."),
    ];

    /// <summary>The descriptor named <paramref name="name"/> (without regard to case), or null.</summary>
    public static GatewayLimitDescriptor? Find(string name) =>
        Catalog.FirstOrDefault(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Every problem of these limits, each a sentence naming the limit, its range and the fix.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        foreach (var limit in Catalog)
        {
            if (limit.Get(this) is { } value && limit.Check(value) is { } problem)
                errors.Add(problem);
        }
        return errors;
    }
}

/// <summary>One limit of <see cref="GatewayLimits"/>: its name (the JSON property, in PascalCase), unit, range and default.</summary>
internal sealed class GatewayLimitDescriptor
{
    private readonly Func<GatewayLimits, double?> _get;
    private readonly Func<GatewayLimits, double?, GatewayLimits> _with;

    internal GatewayLimitDescriptor(string name, string unit, double minimum, double maximum, bool wholeNumber, bool requiresRestart,
        Func<GatewayLimits, double?> get, Func<GatewayLimits, double?, GatewayLimits> with, string reason)
    {
        Name = name;
        Unit = unit;
        Minimum = minimum;
        Maximum = maximum;
        WholeNumber = wholeNumber;
        RequiresRestart = requiresRestart;
        _get = get;
        _with = with;
        Reason = reason;
    }

    /// <summary>The property name in the file (camelCase there), the Set-GatewayLimit parameter and the Get-GatewayLimit name.</summary>
    public string Name { get; }

    /// <summary>Unit of the value: <c>s</c>, <c>bytes</c>, <c>bytes/s</c>, a count.</summary>
    public string Unit { get; }

    public double Minimum { get; }

    public double Maximum { get; }

    /// <summary>Whether the value must be a whole number.</summary>
    public bool WholeNumber { get; }

    /// <summary>Whether a running gateway applies a change only when it restarts (Kestrel reads it once per listener).</summary>
    public bool RequiresRestart { get; }

    /// <summary>Why the limit exists and why its default is what it is.</summary>
    public string Reason { get; }

    /// <summary>This version's default.</summary>
    public double Default => _get(GatewayLimits.Defaults)!.Value;

    /// <summary>The value set in <paramref name="limits"/>, or null when it is left at the default.</summary>
    public double? Get(GatewayLimits limits) => _get(limits);

    /// <summary><paramref name="limits"/> with this limit set to <paramref name="value"/> (null: back to the default).</summary>
    public GatewayLimits With(GatewayLimits limits, double? value) => _with(limits, value);

    /// <summary>The problem with <paramref name="value"/>, or null when it is in range.</summary>
    public string? Check(double value)
    {
        if (double.IsNaN(value) || value < Minimum || value > Maximum || (WholeNumber && value != Math.Floor(value)))
        {
            return $"The limit '{Name}' is {Format(value)}; it must be {(WholeNumber ? "a whole number " : string.Empty)}from {Format(Minimum)} to {Format(Maximum)} {Unit} (default {Format(Default)}). Change it with Set-GatewayLimit -{Name} <value>, or -Reset {Name} for the default.";
        }
        return null;
    }

    /// <summary>A value as the file and the messages write it.</summary>
    public static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
