using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ApiGateway.Core.Tests.Support;

/// <summary>How a <see cref="TlsTestServer"/> treats client certificates.</summary>
public enum ClientCertificateDemand
{
    /// <summary>Never asks for one.</summary>
    None,

    /// <summary>Asks, and answers with or without one.</summary>
    Optional,

    /// <summary>Asks, and refuses the connection unless the certificate's thumbprint is one it accepts.</summary>
    Required,
}

/// <summary>
/// A real backend on 127.0.0.1 made of a TcpListener and SslStream: one TLS version, a server certificate, a client
/// certificate demand, and an HTTP/1.1 answer (200, empty) to whatever request comes. Or no TLS at all: a plain
/// HTTP server, or one that accepts connections and never says anything.
/// </summary>
public sealed class TlsTestServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<TcpClient> _silent = [];

    private TlsTestServer(TcpListener listener, Func<TcpClient, Task> serve)
    {
        _listener = listener;
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = Task.Run(() => serve(client));
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Url => $"https://127.0.0.1:{Port}/";

    /// <summary>Thumbprints of the client certificates the server saw in handshakes.</summary>
    public List<string> ClientCertificatesSeen { get; } = [];

    public static TlsTestServer Start(X509Certificate2 certificate, SslProtocols protocol = SslProtocols.None,
        ClientCertificateDemand demand = ClientCertificateDemand.None, params string[] acceptedClientThumbprints)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        TlsTestServer? self = null;
        self = new TlsTestServer(listener, async client =>
        {
            using var _ = client;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await using var ssl = new SslStream(client.GetStream());
            try
            {
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = certificate,
                    EnabledSslProtocols = protocol,
                    ClientCertificateRequired = demand != ClientCertificateDemand.None,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    {
                        if (presented is not null)
                        {
                            lock (self!.ClientCertificatesSeen)
                                self.ClientCertificatesSeen.Add(X509CertificateLoader.LoadCertificate(presented.GetRawCertData()).Thumbprint);
                        }
                        return demand switch
                        {
                            ClientCertificateDemand.Required => presented is not null
                                && acceptedClientThumbprints.Contains(X509CertificateLoader.LoadCertificate(presented.GetRawCertData()).Thumbprint, StringComparer.OrdinalIgnoreCase),
                            _ => true,
                        };
                    },
                }, timeout.Token);
                await ReadRequestAsync(ssl, timeout.Token);
                await ssl.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), timeout.Token);
                await ssl.FlushAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
            {
                // A refused handshake or client: the connection just closes, as a real server's does.
            }
        });
        return self;
    }

    /// <summary>A plain HTTP server on the port: it answers a TLS ClientHello with an HTTP 400, as a real one does.</summary>
    public static TlsTestServer StartPlainHttp()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new TlsTestServer(listener, async client =>
        {
            using var _ = client;
            var stream = client.GetStream();
            var buffer = new byte[4096];
            var hello = await stream.ReadAsync(buffer);
            if (hello == 0)
                return;
            await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
        });
    }

    /// <summary>Accepts connections and never sends a byte (a hung backend, or a port in front of a dead service).</summary>
    public static TlsTestServer StartSilent()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        TlsTestServer? self = null;
        self = new TlsTestServer(listener, client =>
        {
            lock (self!._silent)
                self._silent.Add(client);
            return Task.CompletedTask;
        });
        return self;
    }

    /// <summary>A port on 127.0.0.1 where nothing listens (taken from the system, then released).</summary>
    public static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task ReadRequestAsync(SslStream ssl, CancellationToken token)
    {
        var received = new StringBuilder();
        var buffer = new byte[1024];
        while (received.Length < 16 * 1024 && !received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await ssl.ReadAsync(buffer, token);
            if (read == 0)
                return;
            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        lock (_silent)
        {
            foreach (var client in _silent)
                client.Dispose();
        }
        _stop.Dispose();
    }
}
