using System.Security.Cryptography;
using System.Text.Json;

namespace ApiGateway.Core.Hosting;

/// <summary>
/// The state file a running gateway keeps beside its configuration (<c>gateway.json</c> → <c>gateway.state.json</c>):
/// how to reach its status endpoint and the token that authorizes a graceful shutdown. Written (owner-only, by
/// atomic rename) once the gateway listens, rewritten when its listeners change, and removed when it stops
/// gracefully. A file whose process is gone is stale: <see cref="GatewayProcess"/> reports "not running" for it.
/// </summary>
internal sealed record GatewayStateFile
{
    /// <summary>Process id of the gateway.</summary>
    public int Pid { get; init; }

    /// <summary>When the gateway process started (UTC), to tell it from a later process that reuses the id.</summary>
    public DateTimeOffset ProcessStartedAt { get; init; }

    /// <summary>When the gateway started serving (UTC).</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>Base URL of the status endpoint, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public required string StatusUrl { get; init; }

    /// <summary>Bearer token that <c>POST /shutdown</c> requires. Secret: the file is owner-only.</summary>
    public required string ShutdownToken { get; init; }

    /// <summary>Absolute path of the configuration file.</summary>
    public required string ConfigurationPath { get; init; }

    /// <summary>One URL per configured hostname.</summary>
    public IReadOnlyList<string> ListeningUrls { get; init; } = [];

    /// <summary>Where the gateway's output goes, when it was started in the background.</summary>
    public string? LogPath { get; init; }

    /// <summary>Version of the gateway host.</summary>
    public string? Version { get; init; }

    /// <summary>The state file of a configuration: <c>gateway.json</c> → <c>gateway.state.json</c> in the same folder.</summary>
    public static string PathFor(string configurationPath) =>
        Path.ChangeExtension(Path.GetFullPath(configurationPath), ".state.json");

    /// <summary>The default log file of a background gateway: <c>gateway.json</c> → <c>gateway.log</c>.</summary>
    public static string LogPathFor(string configurationPath) =>
        Path.ChangeExtension(Path.GetFullPath(configurationPath), ".log");

    /// <summary>A new random shutdown token.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>Reads the state file of <paramref name="configurationPath"/>; null when there is none or it cannot be read.</summary>
    public static GatewayStateFile? TryRead(string configurationPath)
    {
        var path = PathFor(configurationPath);
        try
        {
            return JsonSerializer.Deserialize<GatewayStateFile>(File.ReadAllBytes(path), HostingJson.Options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            // Missing, being replaced, or unreadable: all mean "no usable state" to the caller.
            return null;
        }
    }

    /// <summary>Writes this state beside <see cref="ConfigurationPath"/>: owner-only, complete or not at all.</summary>
    public void Write()
    {
        AtomicFile.Write(PathFor(ConfigurationPath), stream => JsonSerializer.Serialize(stream, this, HostingJson.Options),
            OperatingSystem.IsWindows() ? null : UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>Removes the state file of <paramref name="configurationPath"/> if it still belongs to process <paramref name="pid"/>.</summary>
    public static void Delete(string configurationPath, int pid)
    {
        var current = TryRead(configurationPath);
        if (current is null || current.Pid != pid)
            return;
        try
        {
            File.Delete(PathFor(configurationPath));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A state file that cannot be removed is reported as stale later; never fail a shutdown over it.
        }
    }

    /// <summary>Removes a stale state file (its process is gone) without looking at its content.</summary>
    internal static void DeleteStale(string configurationPath)
    {
        try
        {
            File.Delete(PathFor(configurationPath));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Reported again as stale next time.
        }
    }
}
