using System.Globalization;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;

namespace ApiGateway.Host.Pipeline;

/// <summary>
/// The trace of one request: each policy element evaluated, each condition's value, and the element that decided.
/// Only made for a dry run (<c>explain</c>) or a live request that proved it holds the gateway's status token
/// (<see cref="TraceProof"/>): <see cref="RequestState.Trace"/> is null otherwise, and every recording site is one
/// null check, so the normal path neither allocates nor formats anything for it. Bounded: at most
/// <see cref="MaxEntries"/> entries of at most <see cref="MaxText"/> characters each, whatever the policy does.
/// </summary>
internal sealed class PolicyTrace
{
    public const int MaxEntries = 200;
    public const int MaxText = 400;

    private readonly List<GatewayTraceEntry> _entries = [];

    public PolicyTrace(bool dryRun)
    {
        DryRun = dryRun;
    }

    /// <summary>A dry run: forward-request records where it would send the request instead of sending it.</summary>
    public bool DryRun { get; }

    /// <summary>The section running now (set by the pipeline as it enters each section).</summary>
    public PolicySectionKind Section { get; set; }

    /// <summary>The entries in the order they happened.</summary>
    public IReadOnlyList<GatewayTraceEntry> Entries => _entries;

    /// <summary>Entries left out once <see cref="MaxEntries"/> was reached.</summary>
    public int Dropped { get; private set; }

    /// <summary>Set by a step before it returns: what it found (read by the runner's entry for that step).</summary>
    public string? PendingDetail { get; set; }

    /// <summary>
    /// The entry that decided the answer: the first that did not continue (refused at the handshake, returned a
    /// response, failed on to on-error, or forwarded), or -1.
    /// </summary>
    public int DecidedBy => _entries.FindIndex(e => e.Result != "continued");

    /// <summary>The trace as reported (to <c>explain</c>'s JSON and the live trace header).</summary>
    public GatewayTrace ToModel() => new() { Entries = [.. _entries], DecidedByIndex = DecidedBy, Dropped = Dropped };

    public void Add(GatewayTraceEntry entry)
    {
        if (_entries.Count >= MaxEntries)
        {
            Dropped++;
            return;
        }
        _entries.Add(entry with
        {
            Expression = Cut(entry.Expression),
            Value = Cut(entry.Value),
            Detail = Cut(entry.Detail),
            Reason = Cut(entry.Reason),
        });
    }

    /// <summary>The TLS handshake: the hostname's mode and what it found of the client certificate.</summary>
    public void Handshake(string hostName, string mode, bool accepted, string detail) => Add(new GatewayTraceEntry
    {
        Element = "tls-handshake",
        Scope = hostName,
        Section = "tls",
        Value = mode,
        Result = accepted ? "continued" : "refused",
        Detail = detail,
    });

    /// <summary>One condition of a &lt;when&gt;, and its value.</summary>
    public void Condition(Step step, int when, string expression, bool value, int line) => Add(new GatewayTraceEntry
    {
        Element = "when",
        Scope = ScopeOf(step.Owner),
        Section = Section.XmlName(),
        Line = line > 0 ? line : step.Line,
        Expression = expression,
        Value = value ? "true" : "false",
        Result = "continued",
        Detail = value
            ? $"<when> {(when + 1).ToString(CultureInfo.InvariantCulture)} of <choose> holds: its policies run"
            : $"<when> {(when + 1).ToString(CultureInfo.InvariantCulture)} of <choose> does not hold",
    });

    /// <summary>No &lt;when&gt; of a &lt;choose&gt; held.</summary>
    public void Otherwise(Step step, bool hasOtherwise) => Add(new GatewayTraceEntry
    {
        Element = "otherwise",
        Scope = ScopeOf(step.Owner),
        Section = Section.XmlName(),
        Line = step.Line,
        Result = "continued",
        Detail = hasOtherwise ? "no <when> of <choose> holds: <otherwise> runs" : "no <when> of <choose> holds and it has no <otherwise>: nothing runs",
    });

    /// <summary>A step that ran to its end, with the flow it returned.</summary>
    public void Step(Step step, Flow flow, PolicyContext context)
    {
        var detail = PendingDetail;
        PendingDetail = null;
        var response = context.State.Http.Response;
        var (result, status, reason) = flow switch
        {
            Flow.Return => ("returned", (int?)response.StatusCode, ReasonOf(context)),
            Flow.Error => ("failed", context.State.Error?.StatusCode, context.State.Error?.Code),
            _ => ("continued", (int?)null, (string?)null),
        };
        if (flow == Flow.Error && detail is null)
            detail = context.State.Error?.Message;
        Add(new GatewayTraceEntry
        {
            Element = step.ElementName,
            Scope = ScopeOf(step.Owner),
            Section = Section.XmlName(),
            Line = step.Line,
            Result = result,
            StatusCode = status,
            Reason = reason,
            Detail = detail,
        });
    }

    /// <summary>An exception of a step (an expression that threw, a budget exceeded): on to on-error.</summary>
    public void Failed(Step? step, PipelineError error) => Add(new GatewayTraceEntry
    {
        Element = step?.ElementName ?? "policy",
        Scope = step is null ? "global" : ScopeOf(step.Owner),
        Section = error.Section.XmlName(),
        Line = step?.Line ?? 0,
        Result = "failed",
        StatusCode = error.StatusCode,
        Reason = error.Code,
        Detail = error.Message,
    });

    /// <summary>forward-request: where the request goes (a dry run stops here).</summary>
    public void Forward(Step step, string backend) => Add(new GatewayTraceEntry
    {
        Element = step.ElementName,
        Scope = ScopeOf(step.Owner),
        Section = Section.XmlName(),
        Line = step.Line,
        Value = backend,
        Result = "forwarded",
        Detail = DryRun ? $"the request would be forwarded to backend '{backend}'" : $"the request was forwarded to backend '{backend}'",
    });

    /// <summary>The answer of on-error or the gateway's default error body, after a failure.</summary>
    public void Answer(int status, string? reason, string detail) => Add(new GatewayTraceEntry
    {
        Element = "on-error",
        Scope = "gateway",
        Section = PolicySectionKind.OnError.XmlName(),
        Result = "returned",
        StatusCode = status,
        Reason = reason,
        Detail = detail,
    });

    internal static string ScopeOf(PolicyOwner owner) => owner.ApiId is { } api ? "api:" + api : "global";

    private static string? ReasonOf(PolicyContext context) =>
        context.State.Http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>()?.ReasonPhrase;

    private static string? Cut(string? text) =>
        text is { Length: > MaxText } ? string.Concat(text.AsSpan(0, MaxText - 1), "…") : text;
}
