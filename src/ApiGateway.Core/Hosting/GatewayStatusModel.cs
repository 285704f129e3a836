using System.Text.Json;
using System.Text.Json.Serialization;

namespace ApiGateway.Core.Hosting;

/// <summary>What a gateway for a configuration is doing (Get-GatewayStatus's State).</summary>
public enum GatewayState
{
    /// <summary>No gateway process serves the configuration.</summary>
    NotRunning,
    /// <summary>It serves the configuration.</summary>
    Running,
    /// <summary>It drains its requests after a shutdown request.</summary>
    Stopping,
    /// <summary>The process lives but its status endpoint does not answer.</summary>
    NotResponding,
}

/// <summary>
/// What the running gateway answers on its status endpoint (<c>GET /status</c>, bound to 127.0.0.1): the host
/// writes it and <see cref="GatewayProcess"/> reads it, so both sides share this one definition.
/// </summary>
internal sealed record GatewayStatusDocument
{
    /// <summary>Process id of the gateway.</summary>
    public int Pid { get; init; }

    /// <summary><see cref="GatewayState.Running"/>, or <see cref="GatewayState.Stopping"/> while it drains after a shutdown request (<c>running</c>, <c>stopping</c> in JSON).</summary>
    public GatewayState State { get; init; } = GatewayState.Running;

    /// <summary>The service name of the loaded configuration.</summary>
    public string ServiceName { get; init; } = string.Empty;

    /// <summary>Absolute path of the configuration file the gateway serves.</summary>
    public string ConfigurationPath { get; init; } = string.Empty;

    /// <summary>Revision of the configuration being served (the last one that loaded).</summary>
    public long Revision { get; init; }

    /// <summary>When that revision was loaded (UTC).</summary>
    public DateTimeOffset LoadedAt { get; init; }

    /// <summary>The last change the gateway refused (it kept serving <see cref="Revision"/>); null once a later change loads.</summary>
    public GatewayReloadError? LastReloadError { get; init; }

    /// <summary>One URL per configured hostname, e.g. <c>https://api.contoso.com:8443/</c>.</summary>
    public IReadOnlyList<string> ListeningUrls { get; init; } = [];

    /// <summary>The socket addresses actually bound, e.g. <c>https://127.0.0.1:8443</c>.</summary>
    public IReadOnlyList<string> BoundAddresses { get; init; } = [];

    /// <summary>When the process started serving (UTC).</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>Version of the gateway host.</summary>
    public string Version { get; init; } = string.Empty;

    /// <summary>The certificates the served revision uses that expire within 30 days (or have expired), soonest first.</summary>
    public IReadOnlyList<GatewayExpiringCertificate> ExpiringCertificates { get; init; } = [];
}

/// <summary>A configuration change the gateway refused, with every reason.</summary>
public sealed record GatewayReloadError
{
    /// <summary>When the change was refused (UTC).</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>The revision that was refused, when the file could be read far enough to tell.</summary>
    public long? Revision { get; init; }

    /// <summary>Every problem found, one sentence each.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];
}

/// <summary>The answer of <see cref="GatewayProcess.GetStatus"/> (what Get-GatewayStatus shows).</summary>
public sealed record GatewayStatus
{
    /// <summary>The configuration file asked about.</summary>
    public required string ConfigurationPath { get; init; }

    /// <summary>Whether a gateway process serves this configuration.</summary>
    public bool IsRunning { get; init; }

    /// <summary>Running, Stopping, NotResponding (the process lives but its status endpoint does not answer) or NotRunning.</summary>
    public GatewayState State { get; init; } = GatewayState.NotRunning;

    public int? Pid { get; init; }
    public string? ServiceName { get; init; }

    /// <summary>Revision being served.</summary>
    public long? Revision { get; init; }

    public DateTimeOffset? LoadedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public GatewayReloadError? LastReloadError { get; init; }
    public IReadOnlyList<string> ListeningUrls { get; init; } = [];
    public string? StatusUrl { get; init; }

    /// <summary>The log file of a gateway started with Start-Gateway.</summary>
    public string? LogPath { get; init; }

    /// <summary>Why the gateway is not running or not answering, when that is worth saying (e.g. a state file left by a crash).</summary>
    public string? Message { get; init; }

    /// <summary>The certificates the served revision uses that expire within 30 days (or have expired), soonest first.</summary>
    public IReadOnlyList<GatewayExpiringCertificate> ExpiringCertificates { get; init; } = [];
}

/// <summary>JSON conventions shared by the state file and the status endpoint.</summary>
internal static class HostingJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            PropertyNameCaseInsensitive = true,
            // The status endpoint's document says "running" and "stopping", as it always has.
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
