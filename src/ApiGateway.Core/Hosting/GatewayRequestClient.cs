using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Hosting;

/// <summary>What Invoke-GatewayRequest sends.</summary>
internal sealed record GatewayRequestOptions
{
    /// <summary>The API to call (its path comes first), or null when <see cref="Path"/> is the whole path.</summary>
    public string? ApiId { get; init; }

    /// <summary>The path (below the API's, with <see cref="ApiId"/>), with any query string.</summary>
    public string? Path { get; init; }

    public string Method { get; init; } = "GET";
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
    public string? Body { get; init; }

    /// <summary>The client certificate, with its private key (the handshake signs with it), or null for none.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>The hostname to call (SNI and Host); null: the first configured.</summary>
    public string? HostName { get; init; }

    /// <summary>Ask for the gateway's trace of this request (a proof of the status token goes with it).</summary>
    public bool IncludeTrace { get; init; }

    /// <summary>Accept whatever server certificate the gateway presents.</summary>
    public bool SkipCertificateCheck { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);
}

/// <summary>What the gateway answered to Invoke-GatewayRequest.</summary>
public sealed record GatewayResponse
{
    public required int StatusCode { get; init; }
    public string? ReasonPhrase { get; init; }

    /// <summary>Response and content headers (values of a repeated header joined with ", "), without the trace header.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>The body as text (UTF-8 unless the response names another charset).</summary>
    public string Body { get; init; } = string.Empty;

    /// <summary>The gateway's trace of the request, when asked with -IncludeTrace.</summary>
    public GatewayTrace? Trace { get; init; }

    /// <summary>The trace entry that decided, when there is a trace.</summary>
    public GatewayTraceEntry? DecidedBy => Trace?.DecidedBy;

    public required string Method { get; init; }
    public required string Uri { get; init; }
    public string? ApiId { get; init; }
    public double ElapsedMilliseconds { get; init; }

    /// <summary>The configuration whose gateway answered.</summary>
    public string? ConfigurationPath { get; init; }
}

/// <summary>
/// Invoke-GatewayRequest: one request through the running gateway of a configuration (the test console of APIM).
/// The gateway is found through its state file; the connection goes to the hostname's listening address with the
/// hostname as SNI and Host; the gateway's server certificate must be the hostname's configured certificate (or
/// chain to a trusted root for that name) unless the caller skips the check explicitly; a trace is asked for with a
/// per-request <see cref="TraceProof"/> of the status token, which only the owner of the state file can read.
/// </summary>
internal static class GatewayRequestClient
{
    /// <summary>Bodies beyond this are cut (the console is for testing, not for downloads).</summary>
    public const int MaxBodyBytes = 16 * 1024 * 1024;

    public static GatewayResponse Send(string configurationPath, GatewayRequestOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configurationPath);
        ArgumentNullException.ThrowIfNull(options);
        var config = Path.GetFullPath(configurationPath);
        var state = GatewayStateFile.TryRead(config);
        if (state is null || !GatewayProcess.IsAlive(state))
        {
            throw new GatewayException("Gateway", "NotRunning", GatewayErrorCategory.InvalidOperation,
                $"No gateway serves '{config}'. Start one with Start-Gateway -Context '{config}' (or test the policy without one with Test-GatewayClientCertificate).", config);
        }
        var configuration = new ConfigurationStore(config).Read();
        var hostname = SelectHostname(configuration, config, options.HostName);
        var hostName = options.HostName ?? hostname.HostName;
        if (hostName.StartsWith("*.", StringComparison.Ordinal))
        {
            throw new GatewayException("Hostname", "Wildcard", GatewayErrorCategory.InvalidArgument,
                $"The hostname '{hostname.HostName}' is a wildcard: give the name to call with -HostName, e.g. -HostName api{hostName[1..]}.", hostName);
        }
        var target = RequestTarget(configuration, config, options);
        var uri = new UriBuilder(Uri.UriSchemeHttps, hostName, hostname.Port).Uri;
        uri = new Uri(uri, target);
        var address = ConnectAddress(hostname.ListenAddress);
        var expected = configuration.Certificates.TryGetValue(hostname.CertificateId, out var served) ? served.Thumbprint : null;

        string? serverProblem = null;
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = hostName,
                // The certificate is presented whenever the gateway asks, whatever issuers it lists (an HttpClient
                // would otherwise withhold one whose issuer is not among them, and the test would not test it).
                LocalCertificateSelectionCallback = options.Certificate is null ? null : (_, _, _, _, _) => options.Certificate,
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (options.SkipCertificateCheck)
                        return true;
                    if (certificate is null)
                    {
                        serverProblem = "the gateway presented no certificate";
                        return false;
                    }
                    var thumbprint = certificate is X509Certificate2 c2 ? c2.Thumbprint : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()).Thumbprint;
                    if (expected is not null && string.Equals(thumbprint, expected, StringComparison.OrdinalIgnoreCase))
                        return true;
                    if (errors == SslPolicyErrors.None)
                        return true;
                    serverProblem = $"the gateway presented the certificate {thumbprint}, which is not the certificate '{hostname.CertificateId}' ({expected ?? "unknown"}) of hostname '{hostname.HostName}' in the configuration, and does not chain to a trusted root for '{hostName}' ({errors})";
                    return false;
                },
            },
        };
        if (options.Certificate is not null)
            handler.SslOptions.ClientCertificates = [options.Certificate];
        using var client = new HttpClient(handler) { Timeout = options.Timeout };
        using var request = new HttpRequestMessage(new HttpMethod(options.Method.ToUpperInvariant()), uri);
        foreach (var (name, value) in options.Headers)
        {
            if (string.Equals(name, TraceProof.RequestHeader, StringComparison.OrdinalIgnoreCase))
                continue;
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }
        if (options.Body is not null)
        {
            var content = new StringContent(options.Body, Encoding.UTF8);
            content.Headers.ContentType = null;
            if (request.Content is not null)
            {
                foreach (var header in request.Content.Headers)
                    content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
            content.Headers.ContentType ??= new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
            request.Content = content;
        }
        if (options.IncludeTrace)
            request.Headers.TryAddWithoutValidation(TraceProof.RequestHeader, TraceProof.Create(state.ShutdownToken, request.Method.Method, uri.PathAndQuery, DateTimeOffset.UtcNow));

        var clock = Stopwatch.StartNew();
        HttpResponseMessage response;
        try
        {
            response = client.Send(request, HttpCompletionOption.ResponseHeadersRead);
        }
        catch (HttpRequestException ex) when (serverProblem is not null)
        {
            throw new GatewayException("Request", "ServerCertificateUntrusted", GatewayErrorCategory.SecurityError,
                $"The request to {uri} was not sent: {serverProblem}. If this is the gateway you mean, give -SkipCertificateCheck.", uri.ToString(), ex);
        }
        catch (HttpRequestException ex)
        {
            var inner = Innermost(ex);
            var refused = ex.InnerException is AuthenticationException or IOException || ex.HttpRequestError == HttpRequestError.SecureConnectionError;
            throw new GatewayException("Request", refused ? "HandshakeFailed" : "Failed", GatewayErrorCategory.InvalidOperation,
                refused
                    ? $"The gateway refused the TLS connection to {uri} ({inner}). A hostname that requires client certificates refuses a client without a valid one; Test-GatewayClientCertificate says why."
                    : $"The request to {uri} failed: {inner}", uri.ToString(), ex);
        }
        catch (TaskCanceledException ex)
        {
            throw new GatewayException("Request", "Timeout", GatewayErrorCategory.Unavailable,
                $"The gateway did not answer {uri} within {options.Timeout.TotalSeconds:0} s.", uri.ToString(), ex);
        }
        using (response)
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            string? traceHeader = null;
            foreach (var header in response.Headers.Concat(response.Content.Headers))
            {
                if (string.Equals(header.Key, TraceProof.ResponseHeader, StringComparison.OrdinalIgnoreCase))
                {
                    traceHeader = header.Value.FirstOrDefault();
                    continue;
                }
                headers[header.Key] = string.Join(", ", header.Value);
            }
            var body = ReadBody(response);
            return new GatewayResponse
            {
                StatusCode = (int)response.StatusCode,
                ReasonPhrase = response.ReasonPhrase,
                Headers = headers,
                Body = body,
                Trace = options.IncludeTrace && traceHeader is not null ? DecodeTrace(traceHeader) : null,
                Method = request.Method.Method,
                Uri = uri.ToString(),
                ApiId = options.ApiId,
                ElapsedMilliseconds = clock.Elapsed.TotalMilliseconds,
                ConfigurationPath = config,
            };
        }
    }

    /// <summary>The trace of the response header (base64url of its JSON).</summary>
    internal static GatewayTrace? DecodeTrace(string header)
    {
        try
        {
            var padded = header.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            return JsonSerializer.Deserialize<GatewayTrace>(Convert.FromBase64String(padded), HostingJson.Options);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    private static HostnameEntry SelectHostname(GatewayConfiguration configuration, string config, string? hostName)
    {
        var hostnames = configuration.Service.Hostnames;
        if (hostnames.IsEmpty)
        {
            throw new GatewayException("Hostname", "NotFound", GatewayErrorCategory.InvalidOperation,
                $"'{config}' has no hostname: the gateway does not listen anywhere. Add one with Set-GatewayHostname.", config);
        }
        if (hostName is null)
            return hostnames[0];
        foreach (var entry in hostnames)
        {
            if (string.Equals(entry.HostName, hostName, StringComparison.OrdinalIgnoreCase))
                return entry;
        }
        foreach (var entry in hostnames)
        {
            if (entry.HostName.StartsWith("*.", StringComparison.Ordinal) && hostName.EndsWith(entry.HostName[1..], StringComparison.OrdinalIgnoreCase))
                return entry;
        }
        throw new GatewayException("Hostname", "NotFound", GatewayErrorCategory.NotFound,
            $"No hostname '{hostName}' is configured in '{config}' (configured: {string.Join(", ", hostnames.Select(h => "'" + h.HostName + "'"))}).", hostName);
    }

    /// <summary>"/orders/1?x=y": the API's path, then the given path.</summary>
    private static string RequestTarget(GatewayConfiguration configuration, string config, GatewayRequestOptions options)
    {
        var path = options.Path ?? string.Empty;
        if (path.Length > 0 && path[0] != '/' && path[0] != '?')
            path = "/" + path;
        if (options.ApiId is null)
            return path.Length == 0 ? "/" : path;
        if (!configuration.Apis.TryGetValue(options.ApiId, out var api))
        {
            throw new GatewayException("Api", "NotFound", GatewayErrorCategory.NotFound,
                $"No API '{options.ApiId}' is configured in '{config}'. Check the id with Get-GatewayApi.", options.ApiId);
        }
        var prefix = api.Path.Length == 0 ? string.Empty : "/" + api.Path;
        var target = prefix + path;
        return target.Length == 0 || target[0] == '?' ? "/" + target : target;
    }

    /// <summary>Where to connect: the hostname's listening address, loopback for "every address".</summary>
    private static IPAddress ConnectAddress(string listenAddress) => listenAddress switch
    {
        "*" or "0.0.0.0" or "" => IPAddress.Loopback,
        "::" or "[::]" => IPAddress.IPv6Loopback,
        _ when IPAddress.TryParse(listenAddress.Trim('[', ']'), out var ip) => ip,
        _ => IPAddress.Loopback,
    };

    private static string ReadBody(HttpResponseMessage response)
    {
        using var stream = response.Content.ReadAsStream();
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            buffer.Write(chunk, 0, Math.Min(read, MaxBodyBytes - (int)buffer.Length));
            if (buffer.Length >= MaxBodyBytes)
                break;
        }
        var charset = response.Content.Headers.ContentType?.CharSet;
        Encoding encoding;
        try
        {
            encoding = charset is null ? Encoding.UTF8 : Encoding.GetEncoding(charset.Trim('"'));
        }
        catch (ArgumentException)
        {
            encoding = Encoding.UTF8;
        }
        return encoding.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string Innermost(Exception ex)
    {
        var e = ex;
        while (e.InnerException is not null)
            e = e.InnerException;
        return e.Message.TrimEnd('.');
    }
}
