using System.Text.Json.Serialization;

namespace ApiGateway.Core.Hosting;

/// <summary>
/// What happened at one policy element (or the TLS handshake) of a traced request: a dry run's
/// (<c>Test-GatewayClientCertificate</c>) or a live one's (<c>Invoke-GatewayRequest -IncludeTrace</c>).
/// </summary>
public sealed record GatewayTraceEntry
{
    /// <summary>The element, e.g. <c>when</c>, <c>return-response</c>, <c>validate-client-certificate</c>; <c>tls-handshake</c> for the handshake.</summary>
    public required string Element { get; init; }

    /// <summary>Whose policy: <c>global</c> or <c>api:&lt;id&gt;</c>; for the handshake, the hostname.</summary>
    public required string Scope { get; init; }

    /// <summary>inbound, backend, outbound, on-error; <c>tls</c> for the handshake.</summary>
    public required string Section { get; init; }

    /// <summary>The line of the element (or of a condition) in its policy; 0 for the handshake and the gateway's own answer.</summary>
    public int Line { get; init; }

    /// <summary>The condition evaluated, as written, e.g. <c>@(context.Request.Certificate == null)</c>.</summary>
    public string? Expression { get; init; }

    /// <summary>Its value (<c>true</c>/<c>false</c>), the hostname's certificate mode, or the backend.</summary>
    public string? Value { get; init; }

    /// <summary><c>continued</c>, <c>returned</c> (answered the client), <c>failed</c> (on to on-error), <c>forwarded</c>, <c>refused</c> (handshake).</summary>
    public required string Result { get; init; }

    /// <summary>The status the client gets, on the entry that decided it.</summary>
    public int? StatusCode { get; init; }

    /// <summary>The reason phrase or error code of that answer.</summary>
    public string? Reason { get; init; }

    /// <summary>Why, in a sentence: the rule that failed, the backend, the handshake's verdict.</summary>
    public string? Detail { get; init; }
}

/// <summary>The trace of one request: every entry in order and the one that decided.</summary>
public sealed record GatewayTrace
{
    /// <summary>The entries in the order they happened.</summary>
    public IReadOnlyList<GatewayTraceEntry> Entries { get; init; } = [];

    /// <summary>The index in <see cref="Entries"/> of the entry that decided (-1: none did; the request went on).</summary>
    public int DecidedByIndex { get; init; } = -1;

    /// <summary>Entries left out because the trace reached its bound.</summary>
    public int Dropped { get; init; }

    /// <summary>The entry that decided, or null.</summary>
    [JsonIgnore]
    public GatewayTraceEntry? DecidedBy => DecidedByIndex >= 0 && DecidedByIndex < Entries.Count ? Entries[DecidedByIndex] : null;
}

/// <summary>
/// The decision of a dry run (<c>Test-GatewayClientCertificate</c>, the host's <c>explain</c>): what the gateway would
/// do with this request and certificate — forward it (allowed), or refuse the handshake, or answer with a status and
/// reason — and the trace of how it decided.
/// </summary>
public sealed record GatewayDecision
{
    /// <summary>The API the request was routed to.</summary>
    public required string ApiId { get; init; }

    /// <summary>The hostname (SNI and Host) the request used.</summary>
    public required string HostName { get; init; }

    public required string Method { get; init; }

    /// <summary>The request path, with the API's path.</summary>
    public required string Path { get; init; }

    /// <summary>Subject of the client certificate, or null for none.</summary>
    public string? CertificateSubject { get; init; }

    public string? CertificateThumbprint { get; init; }

    /// <summary>Whether the request would reach the backend.</summary>
    public bool Allowed { get; init; }

    /// <summary>Where it was decided: <c>handshake</c>, <c>policy</c> (an answer of the policy or on-error), or <c>backend</c> (allowed).</summary>
    public required string Stage { get; init; }

    /// <summary>The status the client would get (null when the handshake is refused, or when allowed: the backend answers).</summary>
    public int? StatusCode { get; init; }

    /// <summary>The reason phrase of that answer, or the handshake's reason for refusing.</summary>
    public string? Reason { get; init; }

    /// <summary>The error code of the gateway's error body (e.g. ClientCertificateNotValid), when it answers with one.</summary>
    public string? Error { get; init; }

    /// <summary>The message of the gateway's error body, when it answers with one.</summary>
    public string? Message { get; init; }

    /// <summary>The backend the request would be forwarded to, when allowed.</summary>
    public string? Backend { get; init; }

    /// <summary>The trace.</summary>
    public GatewayTrace Trace { get; init; } = new();

    /// <summary>The entry of the trace that decided.</summary>
    [JsonIgnore]
    public GatewayTraceEntry? DecidedBy => Trace.DecidedBy;

    /// <summary>The configuration and its revision the dry run used.</summary>
    public string? ConfigurationPath { get; init; }

    public long Revision { get; init; }
}
