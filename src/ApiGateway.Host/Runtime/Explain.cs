using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ApiGateway.Core.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Forwarder;

namespace ApiGateway.Host.Runtime;

/// <summary>
/// <c>explain</c>: builds the snapshot exactly as <c>run</c> does (a configuration that would not start is reported
/// as <c>validate</c> reports it, exit 2), makes the dry run of each request (<see cref="DryRun"/>) and prints each
/// decision and trace, as text or JSON (<see cref="GatewayDecision"/>). Several requests share one load, which is
/// most of the cost of a call (reading certificates, compiling every expression).
/// </summary>
internal static class Explain
{
    /// <summary>One request of <c>--requests</c>.</summary>
    internal sealed record RequestLine
    {
        public string? ApiId { get; init; }

        /// <summary>The client certificate as base64 DER, or null for none.</summary>
        public string? Certificate { get; init; }

        public string? HostName { get; init; }
        public string? Method { get; init; }
        public string? Path { get; init; }
        public Dictionary<string, string>? Headers { get; init; }
    }

    private static readonly JsonSerializerOptions CompactJson = new(HostingJson.Options) { WriteIndented = false };

    /// <summary>At most this many requests in one <c>--requests</c> file (each is bounded; the file must be too).</summary>
    public const int MaxRequests = 10_000;

    public static async Task<int> RunAsync(Options options)
    {
        if (options.Config is null)
        {
            Console.Error.WriteLine("explain needs --config <path of the configuration file>.");
            return 1;
        }
        if (options.Serve)
            return await ServeAsync(options.Config).ConfigureAwait(false);
        List<DryRunCase> requests;
        try
        {
            requests = options.Requests is { } file ? ReadRequests(file) : [Single(options)];
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException or JsonException or CryptographicException or FormatException)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }

        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddLogging();
        services.AddHttpForwarder();
        await using var provider = services.BuildServiceProvider();
        using var gatewayServices = new GatewayServices(NullLoggerFactory.Instance, provider.GetRequiredService<IHttpForwarder>(), TimeSpan.Zero);
        var result = SnapshotBuilder.Build(options.Config, gatewayServices, new Expressions.ExpressionCache());
        if (result.Snapshot is not { } snapshot)
        {
            CommandLine.PrintProblems($"'{Path.GetFullPath(options.Config)}' has {result.Errors.Count} problem(s): the gateway would not start with it.", result.Errors);
            return 2;
        }
        try
        {
            var decisions = new List<GatewayDecision>(requests.Count);
            foreach (var request in requests)
                decisions.Add(await DryRun.ExplainAsync(snapshot, request).ConfigureAwait(false));
            var output = Console.Out;
            if (options.Format == "json")
            {
                output.WriteLine(options.Requests is null
                    ? JsonSerializer.Serialize(decisions[0], HostingJson.Options)
                    : JsonSerializer.Serialize(decisions, HostingJson.Options));
            }
            else
            {
                foreach (var decision in decisions)
                    output.Write(Text(decision));
            }
            output.Flush();
            return 0;
        }
        catch (DryRunException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }
        finally
        {
            snapshot.Retire();
        }
    }

    /// <summary>How long <c>--serve</c> waits for the next batch before it exits (the caller starts it again when needed).</summary>
    public static readonly TimeSpan ServeIdleTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// <c>explain --serve</c>: one JSON array of requests per line of standard input, one line of JSON per batch on
    /// standard output (<c>{"decisions":[...]}</c>, or <c>{"exitCode":n,"problems":[...]}</c>), until standard input
    /// closes (the caller went away) or nothing came for <see cref="ServeIdleTimeout"/>. The snapshot is rebuilt
    /// only when the configuration file or a linked certificate file changed, and keeps its compiled expressions
    /// across rebuilds: after the first batch a dry run costs milliseconds, not a configuration load.
    /// </summary>
    private static async Task<int> ServeAsync(string config)
    {
        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddLogging();
        services.AddHttpForwarder();
        await using var provider = services.BuildServiceProvider();
        using var gatewayServices = new GatewayServices(NullLoggerFactory.Instance, provider.GetRequiredService<IHttpForwarder>(), TimeSpan.Zero);
        var expressions = new Expressions.ExpressionCache();
        var path = Path.GetFullPath(config);
        GatewaySnapshot? snapshot = null;
        string? stamp = null;
        var input = Console.In;
        var output = Console.Out;
        try
        {
            while (true)
            {
                string? line;
                using (var idle = new CancellationTokenSource(ServeIdleTimeout))
                {
                    try
                    {
                        line = await input.ReadLineAsync(idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return 0;
                    }
                }
                if (line is null)
                    return 0;
                if (line.Length == 0)
                    continue;
                object answer;
                try
                {
                    var requests = Parse(JsonSerializer.Deserialize<List<RequestLine>>(line, HostingJson.Options), "the request line");
                    var now = Stamp(path, snapshot);
                    if (snapshot is null || now != stamp)
                    {
                        snapshot?.Retire();
                        snapshot = null;
                        var result = SnapshotBuilder.Build(path, gatewayServices, expressions);
                        if (result.Snapshot is null)
                        {
                            output.WriteLine(JsonSerializer.Serialize(new { exitCode = 2, problems = result.Errors }, CompactJson));
                            output.Flush();
                            continue;
                        }
                        snapshot = result.Snapshot;
                        expressions.Retain(snapshot.ExpressionKeys);
                        stamp = Stamp(path, snapshot);
                    }
                    var decisions = new List<GatewayDecision>(requests.Count);
                    foreach (var request in requests)
                        decisions.Add(await DryRun.ExplainAsync(snapshot, request).ConfigureAwait(false));
                    answer = new { decisions };
                }
                catch (Exception ex) when (ex is DryRunException or ArgumentException or JsonException or CryptographicException or FormatException or IOException)
                {
                    answer = new { exitCode = 1, problems = new[] { ex.Message } };
                }
                output.WriteLine(JsonSerializer.Serialize(answer, CompactJson));
                output.Flush();
            }
        }
        finally
        {
            snapshot?.Retire();
        }
    }

    /// <summary>What a change of the configuration (or of a linked certificate file) changes: times and sizes.</summary>
    private static string Stamp(string config, GatewaySnapshot? snapshot)
    {
        var stamp = new StringBuilder();
        foreach (var file in snapshot is null ? [config] : snapshot.WatchedFiles.Prepend(config))
        {
            var info = new FileInfo(file);
            stamp.Append(file).Append('|').Append(info.Exists ? info.LastWriteTimeUtc.Ticks : -1).Append('|').Append(info.Exists ? info.Length : -1).Append(';');
        }
        return stamp.ToString();
    }

    private static DryRunCase Single(Options options)
    {
        if (options.Api is null)
            throw new ArgumentException("explain needs --api <id> (the API to call), or --requests <file>.");
        if (options.Certificate is null && !options.NoCertificate)
            throw new ArgumentException("explain needs --certificate <file> (a .cer, .pem or .crt; the public part is enough) or --no-certificate.");
        if (options.Certificate is not null && options.NoCertificate)
            throw new ArgumentException("Give --certificate or --no-certificate, not both.");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in options.Headers)
            headers[name] = headers.TryGetValue(name, out var existing) ? existing + "," + value : value;
        return new DryRunCase
        {
            ApiId = options.Api,
            Certificate = options.Certificate is { } file ? LoadCertificate(file) : null,
            HostName = options.Host,
            Method = options.Method,
            Path = options.RequestPath,
            Headers = headers,
        };
    }

    private static List<DryRunCase> ReadRequests(string file)
    {
        return Parse(JsonSerializer.Deserialize<List<RequestLine>>(File.ReadAllBytes(Path.GetFullPath(file)), HostingJson.Options), $"'{file}'");
    }

    private static List<DryRunCase> Parse(List<RequestLine>? lines, string file)
    {
        if (lines is null)
            throw new ArgumentException($"{file} holds no JSON array of requests.");
        if (lines.Count > MaxRequests)
            throw new ArgumentException($"{file} has {lines.Count} requests; explain takes at most {MaxRequests} at once.");
        var requests = new List<DryRunCase>(lines.Count);
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i] ?? throw new ArgumentException($"Request {i + 1} of {file} is null.");
            if (string.IsNullOrEmpty(line.ApiId))
                throw new ArgumentException($"Request {i + 1} of {file} has no apiId.");
            requests.Add(new DryRunCase
            {
                ApiId = line.ApiId,
                Certificate = line.Certificate is { Length: > 0 } der ? X509CertificateLoader.LoadCertificate(Convert.FromBase64String(der)) : null,
                HostName = line.HostName,
                Method = string.IsNullOrEmpty(line.Method) ? "GET" : line.Method,
                Path = line.Path,
                Headers = line.Headers,
            });
        }
        return requests;
    }

    /// <summary>A certificate file: PEM (the first certificate) or DER; a PFX without password also loads (its key is not used).</summary>
    internal static X509Certificate2 LoadCertificate(string file)
    {
        var path = Path.GetFullPath(file);
        if (!File.Exists(path))
            throw new ArgumentException($"The certificate file '{path}' does not exist.");
        var data = File.ReadAllBytes(path);
        var text = Encoding.ASCII.GetString(data, 0, Math.Min(data.Length, 64 * 1024));
        if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            return X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(data));
        try
        {
            return X509CertificateLoader.LoadCertificate(data);
        }
        catch (CryptographicException)
        {
            return X509CertificateLoader.LoadPkcs12(data, null);
        }
    }

    /// <summary>The decision for people: the verdict, then one line per trace entry (the deciding one marked).</summary>
    internal static string Text(GatewayDecision decision)
    {
        var text = new StringBuilder();
        var who = decision.CertificateSubject is null ? "no client certificate" : $"'{decision.CertificateSubject}' ({decision.CertificateThumbprint})";
        text.Append(CultureInfo.InvariantCulture, $"{decision.Method} https://{decision.HostName}{decision.Path} (API '{decision.ApiId}') with {who}: ");
        if (decision.Allowed)
            text.Append(CultureInfo.InvariantCulture, $"allowed, forwarded to backend '{decision.Backend}'");
        else if (decision.Stage == "handshake")
            text.Append(CultureInfo.InvariantCulture, $"refused at the TLS handshake: {decision.Reason}");
        else
            text.Append(CultureInfo.InvariantCulture, $"answered {decision.StatusCode} {decision.Reason}{(decision.Error is null ? string.Empty : $" ({decision.Error}: {decision.Message})")}");
        text.AppendLine();
        var entries = decision.Trace.Entries;
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            text.Append(i == decision.Trace.DecidedByIndex ? "  > " : "    ");
            text.Append(CultureInfo.InvariantCulture, $"{e.Section} {e.Scope}");
            if (e.Line > 0)
                text.Append(CultureInfo.InvariantCulture, $" line {e.Line}");
            text.Append(CultureInfo.InvariantCulture, $" <{e.Element}>");
            if (e.Expression is not null)
                text.Append(CultureInfo.InvariantCulture, $" {e.Expression} = {e.Value}");
            else if (e.Value is not null)
                text.Append(CultureInfo.InvariantCulture, $" [{e.Value}]");
            text.Append(CultureInfo.InvariantCulture, $": {e.Result}");
            if (e.StatusCode is { } status)
                text.Append(CultureInfo.InvariantCulture, $" {status} {e.Reason}");
            if (e.Detail is not null)
                text.Append(CultureInfo.InvariantCulture, $" — {e.Detail}");
            text.AppendLine();
        }
        if (decision.Trace.Dropped > 0)
            text.AppendLine(CultureInfo.InvariantCulture, $"    ({decision.Trace.Dropped} more entries left out)");
        return text.ToString();
    }
}
