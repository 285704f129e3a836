using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ApiGateway.Host.Tests.Support;

/// <summary>
/// A CRL distribution point on loopback for the revocation tests that call <see cref="ApiGateway.Host.Tls.ClientTrust"/>
/// directly: answers every GET with the CRL published last, counts the requests, and (when started held) keeps
/// every answer back until <see cref="Release"/>, so a test can look at an online fetch that has not finished.
/// </summary>
internal sealed class LoopbackCrlServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;
    private readonly TimeSpan _answerDelay;
    private byte[] _crl = [];
    private int _requests;
    private long _firstAnsweredTicks;

    private LoopbackCrlServer(TcpListener listener, bool held, TimeSpan answerDelay)
    {
        _listener = listener;
        _answerDelay = answerDelay;
        if (!held)
            _open.SetResult();
        Url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/ca-{Guid.NewGuid():N}.crl";
        _loop = Task.Run(AcceptAsync);
    }

    /// <summary>
    /// Starts listening; <paramref name="held"/>: answers wait for <see cref="Release"/>; <paramref name="answerDelay"/>:
    /// each answer comes that long after its request (a slow CRL server).
    /// </summary>
    public static LoopbackCrlServer Start(bool held = false, TimeSpan answerDelay = default)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new LoopbackCrlServer(listener, held, answerDelay);
    }

    /// <summary>When the first answer was sent (UTC; DateTime.MinValue before).</summary>
    public DateTime FirstAnsweredAt => new(Interlocked.Read(ref _firstAnsweredTicks), DateTimeKind.Utc);

    /// <summary>The CRL distribution point to put in certificates.</summary>
    public string Url { get; }

    /// <summary>Requests received (answered or not).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The CRL of <paramref name="ca"/>, current for a week, listing <paramref name="revoked"/>.</summary>
    public void Publish(X509Certificate2 ca, params X509Certificate2[] revoked)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var certificate in revoked)
            builder.AddEntry(certificate, DateTimeOffset.UtcNow.AddMinutes(-5), X509RevocationReason.KeyCompromise);
        Volatile.Write(ref _crl, builder.Build(ca, 1, DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256, thisUpdate: DateTimeOffset.UtcNow.AddMinutes(-1)));
    }

    /// <summary>Answers with <paramref name="issuer"/>'s certificate instead (an authorityInfoAccess caIssuers URL).</summary>
    public void PublishIssuer(X509Certificate2 issuer) => Volatile.Write(ref _crl, issuer.RawData);

    /// <summary>Lets the held answers go.</summary>
    public void Release() => _open.TrySetResult();

    /// <summary>A client certificate issued by <paramref name="ca"/> whose CRL distribution point is this server.</summary>
    public X509Certificate2 Issue(X509Certificate2 ca, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(CertificateRevocationListBuilder.BuildCrlDistributionPointExtension([Url]));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var caKey = ca.GetECDsaPrivateKey()!;
        using var signed = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>A client certificate issued by <paramref name="ca"/> whose authorityInfoAccess names this server as where its issuer is.</summary>
    public X509Certificate2 IssueWithCaIssuers(X509Certificate2 ca, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(null, [Url]));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var caKey = ca.GetECDsaPrivateKey()!;
        using var signed = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        return signed.CopyWithPrivateKey(key);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => AnswerAsync(client));
        }
    }

    private async Task AnswerAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new byte[4096];
                var read = 0;
                while (read < buffer.Length && !Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await stream.ReadAsync(buffer.AsMemory(read), _stop.Token);
                    if (n == 0)
                        return;
                    read += n;
                }
                Interlocked.Increment(ref _requests);
                await _open.Task.WaitAsync(_stop.Token);
                if (_answerDelay > TimeSpan.Zero)
                    await Task.Delay(_answerDelay, _stop.Token);
                Interlocked.CompareExchange(ref _firstAnsweredTicks, DateTime.UtcNow.Ticks, 0);
                var crl = Volatile.Read(ref _crl);
                var header = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {crl.Length}\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(header, _stop.Token);
                await stream.WriteAsync(crl, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException or SocketException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _open.TrySetResult();
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }
}
