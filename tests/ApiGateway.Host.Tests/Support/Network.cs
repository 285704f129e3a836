using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ApiGateway.Host.Tests.Support;

/// <summary>Free TCP ports on 127.0.0.1 (the gateway's configuration needs a real port number).</summary>
internal static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>An HTTP/1.1 response read off the wire, or the reason there was none.</summary>
internal sealed record RawResponse(int Status, string Reason, IReadOnlyDictionary<string, string> Headers, string Body, string? Failure)
{
    /// <summary>Nothing listens on the port.</summary>
    public bool ConnectionRefused { get; init; }

    /// <summary>Thumbprint of the certificate the gateway presented in the handshake.</summary>
    public string? ServerThumbprint { get; init; }

    /// <summary>The TLS handshake (or the connection right after it) was refused: no HTTP response came back.</summary>
    public bool Refused => Failure is not null;

    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public override string ToString() => Refused ? $"refused: {Failure}" : $"{Status} {Reason} {Body}";
}

/// <summary>
/// A raw SslStream HTTP/1.1 client: it presents exactly the certificate it is given whenever the server asks (an
/// HttpClient may silently withhold one whose issuer the server does not list), and reports a refused handshake
/// instead of throwing.
/// </summary>
internal static class TlsClient
{
    public static async Task<RawResponse> SendAsync(int port, string path, X509Certificate2? clientCertificate, X509Certificate2 serverCa,
        string host = "localhost", string method = "GET", IReadOnlyDictionary<string, string>? headers = null, string? body = null,
        X509Certificate2Collection? clientIntermediates = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        }
        catch (SocketException ex)
        {
            return Refused(ex) with { ConnectionRefused = true };
        }
        await using var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
            RemoteCertificateValidationCallback = (_, certificate, _, _) => ChainsTo(certificate, serverCa),
        };
        if (clientCertificate is not null && clientIntermediates is not null)
        {
            // The certificate with its intermediates, as a client that sends its chain does.
            options.ClientCertificateContext = SslStreamCertificateContext.Create(clientCertificate, clientIntermediates, offline: true);
        }
        else if (clientCertificate is not null)
        {
            options.ClientCertificates = [clientCertificate];
            options.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate;
        }
        try
        {
            await ssl.AuthenticateAsClientAsync(options, timeout.Token);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return Refused(ex);
        }

        var request = new StringBuilder();
        request.Append(CultureInfo.InvariantCulture, $"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            request.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        var content = body is null ? [] : Encoding.UTF8.GetBytes(body);
        if (body is not null)
            request.Append(CultureInfo.InvariantCulture, $"Content-Length: {content.Length}\r\n");
        request.Append("\r\n");
        var received = new MemoryStream();
        try
        {
            await ssl.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), timeout.Token);
            if (content.Length > 0)
                await ssl.WriteAsync(content, timeout.Token);
            await ssl.FlushAsync(timeout.Token);
            await ssl.CopyToAsync(received, timeout.Token);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            // TLS 1.3: the server judges the client certificate after the client's handshake completed, so a refusal
            // arrives as an alert on the first read.
            if (received.Length == 0)
                return Refused(ex);
        }
        var serverThumbprint = ssl.RemoteCertificate is { } remote ? X509CertificateLoader.LoadCertificate(remote.GetRawCertData()).Thumbprint : null;
        if (received.Length == 0)
            return new RawResponse(0, string.Empty, new Dictionary<string, string>(), string.Empty, "the connection closed without a response");
        return Parse(received.ToArray()) with { ServerThumbprint = serverThumbprint };
    }

    private static RawResponse Refused(Exception ex)
    {
        var message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
            message += " / " + inner.Message;
        return new RawResponse(0, string.Empty, new Dictionary<string, string>(), string.Empty, message);
    }

    internal static bool ChainsTo(X509Certificate? certificate, X509Certificate2 ca)
    {
        if (certificate is null)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    private static RawResponse Parse(byte[] data)
    {
        var headerEnd = data.AsSpan().IndexOf("\r\n\r\n"u8);
        var head = Encoding.ASCII.GetString(data, 0, headerEnd < 0 ? data.Length : headerEnd);
        var lines = head.Split("\r\n");
        var statusParts = lines[0].Split(' ', 3);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                var name = line[..colon].Trim();
                var value = line[(colon + 1)..].Trim();
                headers[name] = headers.TryGetValue(name, out var existing) ? existing + ", " + value : value;
            }
        }
        var bodyBytes = headerEnd < 0 ? [] : data.AsSpan(headerEnd + 4).ToArray();
        if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            bodyBytes = Dechunk(bodyBytes);
        return new RawResponse(int.Parse(statusParts[1], CultureInfo.InvariantCulture), statusParts.Length > 2 ? statusParts[2] : string.Empty,
            headers, Encoding.UTF8.GetString(bodyBytes), null);
    }

    private static byte[] Dechunk(byte[] data)
    {
        var output = new ArrayBufferWriter<byte>();
        var position = 0;
        while (position < data.Length)
        {
            var lineEnd = data.AsSpan(position).IndexOf("\r\n"u8);
            if (lineEnd < 0)
                break;
            var sizeText = Encoding.ASCII.GetString(data, position, lineEnd).Split(';')[0];
            var size = int.Parse(sizeText, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            position += lineEnd + 2;
            if (size == 0)
                break;
            output.Write(data.AsSpan(position, size));
            position += size + 2;
        }
        return output.WrittenSpan.ToArray();
    }
}

/// <summary>Log lines the code under test wrote, for assertions such as "a line names the backend and the TLS error".</summary>
internal sealed class LogCollector : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, EventId EventId, string Message)> Entries { get; } = new();

    public ILoggerFactory CreateFactory() => LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(this));

    /// <summary>Messages of the gateway's own event <paramref name="eventId"/> (ASP.NET reuses small ids in its categories).</summary>
    public IEnumerable<string> Messages(int eventId) =>
        Entries.Where(e => e.EventId.Id == eventId && e.Category.StartsWith("ApiGateway", StringComparison.Ordinal)).Select(e => e.Message);

    public ILogger CreateLogger(string categoryName) => new Collector(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Collector(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((category, logLevel, eventId, formatter(state, exception)));
    }
}
