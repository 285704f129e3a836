using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ApiGateway.Core.Management;

namespace ApiGateway.Core.Backends;

/// <summary>A client certificate the probe presents: its id in the configuration, the certificate with its key, its intermediates.</summary>
internal sealed record ProbeCertificate(string Id, X509Certificate2 Certificate, X509Certificate2Collection Chain);

/// <summary>What to test: a backend's URL, its two TLS switches and the client certificates the gateway would present.</summary>
internal sealed record BackendTlsProbeRequest
{
    public required string BackendId { get; init; }
    public required string Url { get; init; }
    public bool ValidateChain { get; init; } = true;
    public bool ValidateName { get; init; } = true;
    public IReadOnlyList<ProbeCertificate> Certificates { get; init; } = [];

    /// <summary>The bound of the whole test: connect, handshake and the HTTP answer share it.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The TLS versions offered (None: the system's defaults, as the gateway).</summary>
    public SslProtocols Protocols { get; init; } = SslProtocols.None;

    /// <summary>The command for advice that changes the backend (e.g. <c>Set-GatewayBackend -BackendId orders</c>).</summary>
    public string SetCommand => $"Set-GatewayBackend -BackendId {BackendId}";
}

/// <summary>
/// A live TLS connection to a backend made as the gateway makes it (<see cref="BackendTlsRules"/>: the same
/// server-certificate verdict, the same client certificate), then one <c>HEAD</c> request without credentials:
/// TLS 1.3 servers judge the client certificate after the client's side of the handshake has finished, so a refusal
/// shows only on the first read. Every phase is bounded by <see cref="BackendTlsProbeRequest.Timeout"/>.
/// </summary>
internal static class BackendTlsProbe
{
    private const int MaxResponseBytes = 16 * 1024;

    public static async Task<GatewayBackendTlsResult> RunAsync(BackendTlsProbeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = Stopwatch.GetTimestamp();
        var uri = new Uri(request.Url, UriKind.Absolute);
        var state = new ProbeState(request, uri);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(request.Timeout);
        try
        {
            await RunCoreAsync(state, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            state.TimedOut();
        }
        return state.Result(Stopwatch.GetElapsedTime(started));
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5359", Justification = "A diagnostic: the verdict is the gateway's rules (BackendTlsRules.Remaining); the test goes on past a refused certificate only to learn about the client certificate, and sends nothing but a credential-free HEAD.")]
    private static async Task RunCoreAsync(ProbeState state, CancellationToken token)
    {
        var uri = state.Uri;
        using var tcp = new TcpClient(uri.HostNameType == UriHostNameType.IPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        state.Phase = "connect";
        try
        {
            await ConnectAsync(tcp, uri, token).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            state.ConnectFailed(ex);
            return;
        }
        var recording = new RecordingStream(tcp.GetStream());
        await using var ssl = new SslStream(recording, leaveInnerStreamOpen: false);
        var options = BackendTlsRules.ClientOptions(state.Validate,
            state.Request.Certificates.Select(c => (c.Certificate, c.Chain)).ToList(),
            (a, b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase));
        options.TargetHost = uri.IdnHost;
        options.EnabledSslProtocols = state.Request.Protocols;
        // Offer HTTP/1.1 only: the test's request is HTTP/1.1 text.
        options.ApplicationProtocols = [SslApplicationProtocol.Http11];
        // A resumed session skips the backend's certificate request: every test makes a full handshake.
        options.AllowTlsResume = false;
        if (state.Request.Certificates.Count == 0)
        {
            // Without a certificate the callback is only a witness: SslStream calls it again when the backend asks.
            options.LocalCertificateSelectionCallback = state.SelectNone;
        }
        state.Phase = "handshake";
        try
        {
            await ssl.AuthenticateAsClientAsync(options, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            state.HandshakeFailed(ex, recording.FirstBytes);
            return;
        }
        state.Handshook(ssl);
        state.Phase = "request";
        var host = uri.IsDefaultPort ? uri.IdnHost : uri.IdnHost + ":" + uri.Port.ToString(CultureInfo.InvariantCulture);
        if (uri.HostNameType == UriHostNameType.IPv6)
            host = uri.IsDefaultPort ? "[" + uri.IdnHost + "]" : "[" + uri.IdnHost + "]:" + uri.Port.ToString(CultureInfo.InvariantCulture);
        var text = $"HEAD {uri.AbsolutePath} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ApiGateway-Test-GatewayBackendTls\r\nConnection: close\r\n\r\n";
        var received = new MemoryStream();
        try
        {
            await ssl.WriteAsync(Encoding.ASCII.GetBytes(text), token).ConfigureAwait(false);
            await ssl.FlushAsync(token).ConfigureAwait(false);
            var buffer = new byte[4096];
            while (received.Length < MaxResponseBytes && !EndsStatusLine(received))
            {
                var read = await ssl.ReadAsync(buffer, token).ConfigureAwait(false);
                if (read == 0)
                    break;
                received.Write(buffer, 0, read);
            }
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            if (received.Length == 0)
            {
                state.RefusedAfterHandshake(ex);
                return;
            }
        }
        state.Answered(received.ToArray());
    }

    private static bool EndsStatusLine(MemoryStream received)
    {
        var span = received.GetBuffer().AsSpan(0, (int)received.Length);
        return span.IndexOf("\r\n"u8) >= 0;
    }

    private static async Task ConnectAsync(TcpClient tcp, Uri uri, CancellationToken token)
    {
        if (IPAddress.TryParse(uri.IdnHost, out var address))
        {
            await tcp.ConnectAsync(address, uri.Port, token).ConfigureAwait(false);
            return;
        }
        await tcp.ConnectAsync(uri.IdnHost, uri.Port, token).ConfigureAwait(false);
    }

    /// <summary>Everything the test learns, and the verdict and advice made from it.</summary>
    private sealed class ProbeState(BackendTlsProbeRequest request, Uri uri)
    {
        private readonly List<string> _advice = [];
        private string? _error;
        private bool _connected;
        private SslProtocols _protocol;
        private string? _cipherSuite;
        private X509Certificate2? _serverCertificate;
        private SslPolicyErrors _errors;
        private X509ChainStatusFlags _chainStatus;
        private bool _validated;
        private bool _askedWithoutCertificate;
        private bool? _requested;
        private X509Certificate2? _presented;
        private bool? _accepted;
        private int? _httpStatus;

        public BackendTlsProbeRequest Request { get; } = request;
        public Uri Uri { get; } = uri;
        public string Phase { get; set; } = "connect";

        private string Endpoint => Uri.IdnHost + ":" + Uri.Port.ToString(CultureInfo.InvariantCulture);

        /// <summary>The server-certificate callback: records what the gateway's rules make of it and always goes on, so the test also learns about the client certificate.</summary>
        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            _validated = true;
            _errors = errors;
            _chainStatus = BackendTlsRules.StatusOf(chain);
            if (certificate is not null)
                _serverCertificate = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return true;
        }

        public X509Certificate SelectNone(object sender, string targetHost, X509CertificateCollection localCertificates, X509Certificate? remoteCertificate, string[] acceptableIssuers)
        {
            // Called once before the handshake (no remote certificate yet) and again when the backend asks.
            if (remoteCertificate is not null)
                _askedWithoutCertificate = true;
            return null!;
        }

        public void ConnectFailed(SocketException ex)
        {
            _error = ex.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => $"Nothing accepts connections at {Endpoint} (connection refused).",
                SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"The host name '{Uri.IdnHost}' cannot be resolved ({ex.Message}).",
                _ => $"Cannot connect to {Endpoint}: {ex.Message} ({ex.SocketErrorCode}).",
            };
            _advice.Add($"Check that the backend runs and listens at {Endpoint}, or correct its URL: {Request.SetCommand} -Url <url>.");
        }

        public void TimedOut()
        {
            var seconds = Request.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            _error = Phase switch
            {
                "connect" => $"No TCP connection to {Endpoint} within {seconds} s.",
                "handshake" => $"The TLS handshake with {Endpoint} did not complete within {seconds} s: is it a TLS port?",
                _ => $"The backend at {Endpoint} did not answer the test's HEAD request within {seconds} s.",
            };
            _advice.Add(Phase == "connect"
                ? $"Check that a firewall lets the gateway reach {Endpoint}, or give the test longer (-TimeoutSec)."
                : "Check that the backend is not overloaded or stuck, or give the test longer (-TimeoutSec).");
            if (Phase == "request")
                EvaluateCertificates();
        }

        public void HandshakeFailed(Exception ex, byte[] firstBytes)
        {
            var detail = Innermost(ex);
            if (firstBytes.Length > 0 && firstBytes[0] is not (0x16 or 0x15))
            {
                // A TLS record starts with its content type: 22 (handshake) or 21 (alert). Anything else is another protocol.
                var sample = Printable(firstBytes);
                _error = $"The backend at {Endpoint} does not speak TLS: it answered the handshake with '{sample}'.";
                _advice.Add(sample.StartsWith("HTTP/", StringComparison.Ordinal)
                    ? $"It is plain HTTP: use an http:// URL ({Request.SetCommand} -Url http://{Endpoint}{Uri.AbsolutePath}), or enable TLS on the backend."
                    : $"Check the port: {Request.SetCommand} -Url <https URL of the backend's TLS port>.");
                return;
            }
            if (firstBytes.Length == 0)
            {
                _error = $"The backend at {Endpoint} closed the connection without a TLS answer: {detail}";
                _advice.Add($"Check that {Endpoint} is the backend's TLS port and that it accepts TLS 1.2 or 1.3, or correct the URL: {Request.SetCommand} -Url <url>.");
                return;
            }
            _error = $"The TLS handshake with {Endpoint} failed: {detail}";
            if (_validated && (_requested is true || _askedWithoutCertificate || Request.Certificates.Count > 0) && LooksLikeCertificateAlert(detail))
            {
                // TLS 1.2: the backend judges the client certificate inside the handshake and ends it with an alert.
                _requested = true;
                _accepted = false;
                EvaluateCertificates();
                AdviseRefusedClientCertificate();
                return;
            }
            if (_validated)
                EvaluateCertificates();
            _advice.Add("Check the TLS versions and cipher suites the backend accepts: the gateway offers the system's defaults (TLS 1.2 and 1.3).");
        }

        public void Handshook(SslStream ssl)
        {
            _connected = true;
            _protocol = ssl.SslProtocol;
            _cipherSuite = ssl.NegotiatedCipherSuite.ToString();
            if (ssl.LocalCertificate is { } local)
            {
                _presented = X509CertificateLoader.LoadCertificate(local.GetRawCertData());
                // A client sends its certificate only when the server asks for one.
                _requested = true;
            }
            else
            {
                _requested = _askedWithoutCertificate;
            }
        }

        public void RefusedAfterHandshake(Exception ex)
        {
            EvaluateCertificates();
            var detail = Innermost(ex);
            if (_requested is true)
            {
                _accepted = false;
                _error = _presented is null
                    ? $"The backend asked for a client certificate, got none, and closed the connection: {detail}"
                    : $"The backend refused the client certificate '{_presented.Subject}' (thumbprint {_presented.Thumbprint}) and closed the connection: {detail}";
                AdviseRefusedClientCertificate();
                return;
            }
            _error = $"The backend closed the connection after the TLS handshake, before answering: {detail}";
            _advice.Add("The backend did not ask for a client certificate; see its own log for why it closed the connection.");
        }

        public void Answered(byte[] response)
        {
            EvaluateCertificates();
            var text = Encoding.ASCII.GetString(response);
            var line = text.Split("\r\n", 2)[0];
            var parts = line.Split(' ', 3);
            if (parts.Length >= 2 && parts[0].StartsWith("HTTP/", StringComparison.Ordinal) && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
                _httpStatus = status;
            if (_requested is true)
                _accepted = true;
            if (_httpStatus is null)
            {
                if (_requested is true && response.Length == 0)
                {
                    // The backend closed cleanly right after asking for a certificate: how a refusal looks from a
                    // server that sends close_notify instead of an alert.
                    _accepted = false;
                    _error = _presented is null
                        ? "The backend asked for a client certificate, got none, and closed the connection without answering."
                        : $"The backend refused the client certificate '{_presented.Subject}' (thumbprint {_presented.Thumbprint}): it closed the connection without answering.";
                    AdviseRefusedClientCertificate();
                    return;
                }
                _error = response.Length == 0
                    ? "The backend closed the connection after the TLS handshake without answering the test's HEAD request."
                    : $"The backend answered the test's HEAD request with something that is not HTTP: '{Printable(response)}'.";
                _advice.Add("Check that the URL points at the backend's HTTPS service (HTTP/1.1 or HTTP/2 over TLS).");
            }
        }

        /// <summary>The gateway's verdict on the server certificate and the advice that goes with it.</summary>
        private void EvaluateCertificates()
        {
            if (!_validated)
                return;
            var remaining = BackendTlsRules.Remaining(_errors, Request.ValidateChain, Request.ValidateName);
            var chainErrors = (_errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0;
            var nameErrors = (_errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0;
            if ((remaining & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
                _advice.Add("The backend sent no certificate: configure one on its TLS listener.");
            if ((remaining & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                var issuer = _serverCertificate?.Issuer ?? "its issuer";
                _advice.Add($"The backend's certificate chain is not trusted ({_chainStatus}): add its CA ('{issuer}') to the system's trusted roots on the gateway's machine (the gateway checks backends against the system store), or accept it without the check: {Request.SetCommand} -SkipCertificateChainValidation $true (insecure: anyone between the gateway and the backend can impersonate it).");
            }
            if ((remaining & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                var names = ServerNames();
                var named = names.Count == 0 ? "no DNS name or IP address" : string.Join(", ", names);
                var advice = $"The backend's certificate names {named}, not '{Uri.IdnHost}': ";
                advice += names.Count > 0 && !names[0].StartsWith('*')
                    ? $"use a URL with one of its names ({Request.SetCommand} -Url https://{names[0]}:{Uri.Port.ToString(CultureInfo.InvariantCulture)}{Uri.AbsolutePath}), "
                    : string.Empty;
                advice += $"give the backend a certificate for '{Uri.IdnHost}', or accept it without the check: {Request.SetCommand} -SkipCertificateNameValidation $true (insecure).";
                _advice.Add(advice);
            }
            if (remaining == SslPolicyErrors.None)
            {
                if (!Request.ValidateChain && !chainErrors)
                    _advice.Add($"The backend's chain is trusted: SkipCertificateChainValidation is not needed ({Request.SetCommand} -SkipCertificateChainValidation $false).");
                if (!Request.ValidateName && !nameErrors)
                    _advice.Add($"The backend's certificate names '{Uri.IdnHost}': SkipCertificateNameValidation is not needed ({Request.SetCommand} -SkipCertificateNameValidation $false).");
            }
        }

        private void AdviseRefusedClientCertificate()
        {
            if (_presented is null)
            {
                _advice.Add($"The backend requires a client certificate and the gateway has none for it: give the backend a credential certificate it trusts ({Request.SetCommand} -Credential (New-GatewayBackendCredential -CertificateId <id>)), or the API a gateway credential (Set-ApiGatewayCredential -ApiId <api> -CertificateId <id>).");
                return;
            }
            var id = Request.Certificates.FirstOrDefault(c => string.Equals(c.Certificate.Thumbprint, _presented.Thumbprint, StringComparison.OrdinalIgnoreCase))?.Id;
            var which = id is null ? $"'{_presented.Subject}'" : $"'{id}' ({_presented.Subject})";
            _advice.Add($"The backend does not accept the client certificate {which}, issued by '{_presented.Issuer}': make the backend trust that issuer, or present a certificate it trusts ({Request.SetCommand} -Credential (New-GatewayBackendCredential -CertificateId <id>)). Test another with Test-GatewayBackendTls -BackendId {Request.BackendId} -CertificateId <id>.");
        }

        private List<string> ServerNames()
        {
            var names = new List<string>();
            if (_serverCertificate?.Extensions["2.5.29.17"] is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
                names.AddRange(san.EnumerateIPAddresses().Select(a => a.ToString()));
            }
            return names;
        }

        public GatewayBackendTlsResult Result(TimeSpan elapsed)
        {
            var remaining = BackendTlsRules.Remaining(_errors, Request.ValidateChain, Request.ValidateName);
            var serverAccepted = _validated && remaining == SslPolicyErrors.None;
            if (_error is null && _validated && !serverAccepted)
                _error = Describe(remaining);
            else if (_error is not null && _validated && !serverAccepted)
                _error = Describe(remaining) + " " + _error;
            var succeeded = _connected && serverAccepted && _accepted is not false && _httpStatus is not null && _error is null;
            if (!succeeded && _error is null)
                _error = "The test did not complete.";
            if (_presented is null && Request.Certificates.Count > 0 && _requested is false)
                _advice.Add($"The backend did not ask for a client certificate: the gateway's certificate '{Request.Certificates[0].Id}' is not used in the TLS handshake.");
            if (_requested is true && _presented is null && _accepted is true)
                _advice.Add("The backend asked for a client certificate but also answers without one.");
            var presentedId = _presented is null
                ? (Request.Certificates.Count > 0 ? Request.Certificates[0].Id : null)
                : Request.Certificates.FirstOrDefault(c => string.Equals(c.Certificate.Thumbprint, _presented.Thumbprint, StringComparison.OrdinalIgnoreCase))?.Id;
            return new GatewayBackendTlsResult
            {
                BackendId = Request.BackendId,
                Url = Request.Url,
                Succeeded = succeeded,
                Connected = _connected,
                Protocol = _protocol,
                CipherSuite = _cipherSuite,
                ServerCertificate = _serverCertificate,
                ServerCertificateNames = ServerNames(),
                ChainErrors = (_errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0,
                ChainStatus = _chainStatus,
                NameErrors = (_errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0,
                SkipCertificateChainValidation = !Request.ValidateChain,
                SkipCertificateNameValidation = !Request.ValidateName,
                ServerCertificateAccepted = serverAccepted,
                ClientCertificateRequested = _requested,
                ClientCertificatePresented = _presented is not null,
                ClientCertificateId = presentedId,
                ClientCertificate = _presented,
                ClientCertificateAccepted = _accepted,
                HttpStatus = _httpStatus,
                Advice = _advice.Distinct(StringComparer.Ordinal).ToList(),
                Error = succeeded ? null : _error,
                Elapsed = elapsed,
                PolicyErrors = _errors,
            };
        }

        private string Describe(SslPolicyErrors remaining)
        {
            var parts = new List<string>();
            if ((remaining & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
                parts.Add("it presented no certificate");
            if ((remaining & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                parts.Add($"its certificate does not name the host '{Uri.IdnHost}' (RemoteCertificateNameMismatch)");
            if ((remaining & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                parts.Add($"its certificate chain is not trusted (RemoteCertificateChainErrors: {_chainStatus})");
            return $"The gateway refuses the backend's certificate{(_serverCertificate is null ? string.Empty : " '" + _serverCertificate.Subject + "'")}: {string.Join("; ", parts)}; its requests fail with 500 BackendCertificateInvalid.";
        }
    }

    private static bool LooksLikeCertificateAlert(string message) =>
        message.Contains("certificate", StringComparison.OrdinalIgnoreCase) || message.Contains("unknown ca", StringComparison.OrdinalIgnoreCase)
        || message.Contains("handshake failure", StringComparison.OrdinalIgnoreCase);

    private static string Innermost(Exception ex)
    {
        var messages = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (!messages.Contains(e.Message))
                messages.Add(e.Message);
        }
        return string.Join(" ", messages);
    }

    private static string Printable(byte[] bytes)
    {
        var text = new StringBuilder();
        foreach (var b in bytes.AsSpan(0, Math.Min(bytes.Length, 32)))
            text.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
        return text.ToString();
    }

    /// <summary>Passes everything through and keeps the first bytes the backend sent: what tells TLS from another protocol.</summary>
    private sealed class RecordingStream(Stream inner) : Stream
    {
        private readonly byte[] _first = new byte[32];
        private int _count;

        public byte[] FirstBytes => _first[.._count];

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            Record(buffer.AsSpan(offset, read));
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            Record(buffer.Span[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        private void Record(ReadOnlySpan<byte> data)
        {
            var take = Math.Min(data.Length, _first.Length - _count);
            if (take <= 0)
                return;
            data[..take].CopyTo(_first.AsSpan(_count));
            _count += take;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
