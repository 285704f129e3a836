using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Hosting;

/// <summary>One request of a dry run, as Test-GatewayClientCertificate gives it.</summary>
internal sealed record DryRunCase
{
    public required string ApiId { get; init; }

    /// <summary>The client certificate (its public part is what the dry run uses), or null for none.</summary>
    public X509Certificate2? Certificate { get; init; }

    public string? HostName { get; init; }
    public string Method { get; init; } = "GET";
    public string? Path { get; init; }
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}

/// <summary>
/// The dry run of requests against a configuration, made by the gateway host itself (<c>ApiGateway.Host explain</c>
/// as a child process): the same snapshot, handshake decision, compiled expressions and pipeline as a served request,
/// without a running gateway and without sending anything. pwsh cannot load ASP.NET Core, Roslyn and YARP, so the
/// pipeline cannot run in-process; every case of one call shares one host process and one configuration load.
/// </summary>
internal static class GatewayDryRun
{
    /// <summary>One request batch is one line to the host.</summary>
    private static readonly JsonSerializerOptions CompactJson = new(HostingJson.Options) { WriteIndented = false };

    /// <summary>The decisions for <paramref name="cases"/>, in order.</summary>
    public static IReadOnlyList<GatewayDecision> Explain(string configurationPath, IReadOnlyList<DryRunCase> cases, string? hostPath = null, string? dotnetPath = null, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configurationPath);
        ArgumentNullException.ThrowIfNull(cases);
        if (cases.Count == 0)
            return [];
        var config = Path.GetFullPath(configurationPath);
        var configuration = new ConfigurationStore(config).Read();
        foreach (var c in cases)
        {
            if (!configuration.Apis.ContainsKey(c.ApiId))
            {
                var known = configuration.Apis.Count == 0 ? "none" : string.Join(", ", configuration.Apis.Keys.Select(k => "'" + k + "'"));
                throw new GatewayException("Api", "NotFound", GatewayErrorCategory.NotFound,
                    $"No API '{c.ApiId}' is configured in '{config}' (configured: {known}). Create it with New-GatewayApi, or check the id with Get-GatewayApi.", c.ApiId);
            }
            if (c.HostName is { } name && !configuration.Service.Hostnames.Any(h => HostMatches(h.HostName, name)))
            {
                throw new GatewayException("Hostname", "NotFound", GatewayErrorCategory.NotFound,
                    $"No hostname '{name}' is configured in '{config}' (configured: {string.Join(", ", configuration.Service.Hostnames.Select(h => "'" + h.HostName + "'"))}). Add it with Set-GatewayHostname, or leave -HostName out for the first one.", name);
            }
        }
        if (configuration.Service.Hostnames.IsEmpty)
        {
            throw new GatewayException("Hostname", "NotFound", GatewayErrorCategory.InvalidOperation,
                $"'{config}' has no hostname, so no client can connect. Add one with Set-GatewayHostname.", config);
        }

        var host = Path.GetFullPath(hostPath ?? GatewayProcess.DefaultHostPath);
        if (!File.Exists(host))
        {
            throw new GatewayException("Gateway", "HostNotFound", GatewayErrorCategory.NotFound,
                $"The gateway host '{host}' does not exist. The ApiGateway module ships it in its 'host' folder; reinstall the module.", host);
        }
        var muxer = DotnetLocator.Find(host, dotnetPath);
        var lines = cases.Select(c => new
        {
            apiId = c.ApiId,
            certificate = c.Certificate is null ? null : Convert.ToBase64String(c.Certificate.RawData),
            hostName = c.HostName,
            method = c.Method,
            path = c.Path,
            headers = c.Headers,
        });
        using var answer = ExplainServer.Ask(muxer, host, config, JsonSerializer.Serialize(lines, CompactJson), timeout ?? TimeSpan.FromSeconds(120));
        var root = answer.RootElement;
        if (root.TryGetProperty("decisions", out var decisions))
        {
            return decisions.Deserialize<List<GatewayDecision>>(HostingJson.Options)
                ?? throw new GatewayException("Gateway", "DryRunFailed", GatewayErrorCategory.InvalidOperation, "The gateway host answered no decisions.", config);
        }
        var problems = root.TryGetProperty("problems", out var p) ? p.EnumerateArray().Select(item => item.GetString() ?? string.Empty).ToList() : [];
        var exit = root.TryGetProperty("exitCode", out var code) ? code.GetInt32() : 1;
        if (exit == 2)
        {
            throw new GatewayException("Configuration", "Invalid", GatewayErrorCategory.InvalidData,
                $"The gateway would not start with '{config}', so there is nothing to test. {problems.Count} problem(s):{string.Concat(problems.Select(l => Environment.NewLine + "  - " + l))}", config)
            { Details = problems };
        }
        throw new GatewayException("Gateway", "DryRunFailed", GatewayErrorCategory.InvalidOperation,
            $"The dry run of '{config}' failed: {string.Join(" ", problems)}", config);
    }

    private static bool HostMatches(string configured, string given) =>
        string.Equals(configured, given, StringComparison.OrdinalIgnoreCase)
        || (configured.StartsWith("*.", StringComparison.Ordinal) && given.EndsWith(configured[1..], StringComparison.OrdinalIgnoreCase) && given.Length > configured.Length - 1);
}
