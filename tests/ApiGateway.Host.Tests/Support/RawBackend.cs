using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Host.Tests.Support;

/// <summary>
/// A backend on 127.0.0.1 that speaks HTTP/1.1 byte by byte as a test scripts it: each accepted connection (TLS with a
/// self-signed certificate, or plain TCP) runs the script, which reads the request heads and bodies the gateway wrote
/// and answers whatever bytes it likes, well-formed or not. What it received is kept for the test to assert on.
/// </summary>
internal sealed class RawBackend : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<RawBackendConnection, Task> _script;
    private readonly X509Certificate2? _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly ConcurrentQueue<Task> _connections = new();
    private int _accepted;

    private RawBackend(Func<RawBackendConnection, Task> script, bool https, string[]? alpn)
    {
        _script = script;
        _certificate = https ? TestCertificates.Create("CN=raw-backend", serverAuth: true, dnsNames: ["127.0.0.1", "localhost"]) : null;
        Alpn = alpn;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        var port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Url = (https ? "https" : "http") + "://127.0.0.1:" + port + "/";
        _accepting = AcceptAsync();
    }

    /// <summary>The backend's URL (https://127.0.0.1:port/ or http://…).</summary>
    public string Url { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Every request head received, in order (request line and fields, without the final empty line).</summary>
    public ConcurrentQueue<string> Heads { get; } = new();

    /// <summary>The ALPN protocols offered to the gateway (null: no ALPN).</summary>
    private string[]? Alpn { get; }

    /// <summary>Failures of the scripts (a test asserts there were none).</summary>
    public ConcurrentQueue<Exception> Errors { get; } = new();

    public static RawBackend Start(Func<RawBackendConnection, Task> script, bool https = true, string[]? alpn = null) => new(script, https, alpn);

    /// <summary>A backend that answers every request on a connection with <paramref name="response"/> (kept alive unless it says close).</summary>
    public static RawBackend Answering(string response, bool https = true) => Start(async c =>
    {
        while (await c.ReadRequestAsync() is not null)
            await c.WriteAsync(response);
    }, https);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            Interlocked.Increment(ref _accepted);
            _connections.Enqueue(RunAsync(socket));
        }
    }

    private async Task RunAsync(Socket socket)
    {
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            if (_certificate is not null)
            {
                var tls = new SslStream(stream);
                stream = tls;
                var options = new SslServerAuthenticationOptions { ServerCertificate = _certificate };
                if (Alpn is not null)
                    options.ApplicationProtocols = Alpn.Select(p => new SslApplicationProtocol(p)).ToList();
                await tls.AuthenticateAsServerAsync(options, _stop.Token);
            }
            await _script(new RawBackendConnection(stream, this, _stop.Token));
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            // The gateway closed the connection, or the test ended.
        }
        catch (Exception ex)
        {
            Errors.Enqueue(ex);
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var connection in _connections)
        {
            try
            {
                await connection.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (TimeoutException)
            {
            }
        }
        _certificate?.Dispose();
        _stop.Dispose();
    }
}

/// <summary>One connection of a <see cref="RawBackend"/>, as its script sees it.</summary>
internal sealed class RawBackendConnection(Stream stream, RawBackend backend, CancellationToken stop)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public Stream Stream => stream;

    /// <summary>The next request head (the lines before the empty line), or null when the gateway closed the connection.</summary>
    public async Task<RawRequest?> ReadRequestAsync()
    {
        while (true)
        {
            var data = _buffer.AsSpan(_start, _end - _start);
            var end = data.IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var head = Encoding.ASCII.GetString(data[..end]);
                _start += end + 4;
                backend.Heads.Enqueue(head);
                return RawRequest.Parse(head);
            }
            if (!await FillAsync())
                return null;
        }
    }

    /// <summary>Exactly <paramref name="count"/> body bytes.</summary>
    public async Task<byte[]> ReadBytesAsync(int count)
    {
        var result = new byte[count];
        var have = 0;
        while (have < count)
        {
            if (_end == _start && !await FillAsync())
                throw new IOException($"the gateway closed the connection after {have} of {count} body bytes");
            var take = Math.Min(count - have, _end - _start);
            _buffer.AsSpan(_start, take).CopyTo(result.AsSpan(have));
            _start += take;
            have += take;
        }
        return result;
    }

    /// <summary>A chunked body, decoded (RFC 9112 7.1), and the raw text of its chunk lines.</summary>
    public async Task<(byte[] Body, List<string> Lines)> ReadChunkedAsync()
    {
        var body = new MemoryStream();
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync();
            lines.Add(line);
            var size = Convert.ToInt32(line.Split(';')[0].Trim(), 16);
            if (size == 0)
            {
                while ((await ReadLineAsync()).Length > 0)
                {
                }
                return (body.ToArray(), lines);
            }
            body.Write(await ReadBytesAsync(size));
            if ((await ReadLineAsync()).Length != 0)
                throw new InvalidDataException("chunk data does not end with CRLF");
        }
    }

    /// <summary>The body the request's framing announces: Content-Length bytes, chunked, or none.</summary>
    public async Task<byte[]> ReadBodyAsync(RawRequest request)
    {
        if (request.Header("Transfer-Encoding") is { } coding && coding.EndsWith("chunked", StringComparison.OrdinalIgnoreCase))
            return (await ReadChunkedAsync()).Body;
        return request.Header("Content-Length") is { } length ? await ReadBytesAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)) : [];
    }

    public async Task<string> ReadLineAsync()
    {
        while (true)
        {
            var data = _buffer.AsSpan(_start, _end - _start);
            var lf = data.IndexOf("\r\n"u8);
            if (lf >= 0)
            {
                var line = Encoding.ASCII.GetString(data[..lf]);
                _start += lf + 2;
                return line;
            }
            if (!await FillAsync())
                throw new IOException("the gateway closed the connection in the middle of a line");
        }
    }

    public async Task WriteAsync(string text) => await WriteAsync(Encoding.ASCII.GetBytes(text));

    public async Task WriteAsync(byte[] bytes)
    {
        await stream.WriteAsync(bytes, stop);
        await stream.FlushAsync(stop);
    }

    private async Task<bool> FillAsync()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
            throw new InvalidDataException("request head larger than the raw backend's buffer");
        var read = await stream.ReadAsync(_buffer.AsMemory(_end), stop);
        _end += read;
        return read > 0;
    }
}

/// <summary>A request head as the raw backend received it.</summary>
internal sealed record RawRequest(string Method, string Target, string Version, IReadOnlyList<(string Name, string Value)> Fields)
{
    public static RawRequest Parse(string head)
    {
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ');
        var fields = lines.Skip(1).Select(l =>
        {
            var colon = l.IndexOf(':', StringComparison.Ordinal);
            return (l[..colon], l[(colon + 1)..].Trim());
        }).ToList();
        return new RawRequest(parts[0], parts[1], parts[2], fields);
    }

    /// <summary>The value of the field <paramref name="name"/> (any case), or null; fails when there are several.</summary>
    public string? Header(string name) => Fields.Where(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase)).Select(f => f.Value).SingleOrDefault();

    /// <summary>How many lines carry the field <paramref name="name"/>.</summary>
    public int Count(string name) => Fields.Count(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
}
