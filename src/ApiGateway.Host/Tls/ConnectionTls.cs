using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace ApiGateway.Host.Tls;

/// <summary>
/// What one TLS connection knows about its client certificate: set by the handshake's validation callback (the
/// chain SslStream built with the uploaded CA certificates as trust anchors) and read by every request on the
/// connection, so <c>Verify()</c> and <c>validate-client-certificate</c> cost no chain building per request.
/// </summary>
internal sealed class ConnectionTls
{
    private readonly ILogger? _logger;
    private X509Certificate2[]? _extra;
    private CertificateVerification? _verification;
    private CertificateFacts? _facts;
    private IdentityMatch? _identityMatch;

    public ConnectionTls(ClientCertificateNegotiation mode, ClientTrust trust, string hostName, ILogger? logger = null)
    {
        Mode = mode;
        Trust = trust;
        HostName = hostName;
        _logger = logger;
    }

    /// <summary>The mode of the hostname the handshake selected.</summary>
    public ClientCertificateNegotiation Mode { get; }

    /// <summary>The trust of the revision the handshake used.</summary>
    public ClientTrust Trust { get; }

    /// <summary>The hostname the handshake selected (by SNI).</summary>
    public string HostName { get; }

    /// <summary>The client certificate, or null.</summary>
    public X509Certificate2? Certificate { get; private set; }

    /// <summary>Status of the chain against the uploaded CA certificates (NoError: trusted and valid at the handshake).</summary>
    public X509ChainStatusFlags HandshakeStatus { get; private set; } = X509ChainStatusFlags.NoError;

    /// <summary>Thumbprint of the certificate that issued the client certificate, when the chain found it.</summary>
    public string? IssuerThumbprint { get; private set; }

    /// <summary>
    /// The DER of the certificates after the client certificate in the handshake's chain, issuer first, without the
    /// trust anchor: what Client-Cert-Chain forwards (RFC 9440). Empty without a chain.
    /// </summary>
    public byte[][] ForwardedChain { get; private set; } = [];

    /// <summary>Why a strict hostname refused the handshake.</summary>
    public string? RejectReason { get; private set; }

    /// <summary>The RemoteCertificateValidationCallback of the connection (the only place SslStream asks).</summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        // Later handshakes of this server certificate issue one stateful session ticket, not two stateless ones (see SessionTickets).
        SessionTickets.Apply(sender);
        var certificate2 = certificate switch
        {
            null => null,
            X509Certificate2 c => c,
            _ => X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()),
        };
        Certificate = certificate2;
        if (certificate2 is not null)
        {
            var status = X509ChainStatusFlags.NoError;
            if (chain is not null)
            {
                foreach (var s in chain.ChainStatus)
                    status |= s.Status;
                var elements = chain.ChainElements;
                if (elements.Count > 1)
                    ForwardedChain = Core.Configuration.ClientCertificateHeaders.ForwardedChain(chain);
                if (elements.Count > 1)
                    IssuerThumbprint = elements[1].Certificate.Thumbprint;
                if (elements.Count > 2)
                {
                    // Intermediates the client sent: kept (as copies; SslStream disposes the chain) for later builds.
                    _extra = new X509Certificate2[elements.Count - 2];
                    for (var i = 1; i < elements.Count - 1; i++)
                        _extra[i - 1] = X509CertificateLoader.LoadCertificate(elements[i].Certificate.RawData);
                }
            }
            else if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                status = X509ChainStatusFlags.PartialChain;
            }
            HandshakeStatus = status;
        }
        if (Mode != ClientCertificateNegotiation.Require)
            return true; // negotiate: every certificate (or none) is handed to the policies
        // The EKU answer comes from the trust set's facts of this certificate: decoded once, not per handshake.
        var evidence = certificate2 is null
            ? HandshakeDecision.Evaluate(null, HandshakeStatus)
            : new ClientCertificateEvidence(true, HandshakeStatus, Facts.ClientAuthentication);
        if (HandshakeDecision.Accept(Mode, evidence, out var reason))
            return true;
        RejectReason = reason;
        if (_logger is not null)
            Log.HandshakeRejected(_logger, HostName, reason!);
        return false;
    }

    /// <summary>The checks of the connection's certificate, seeded with the chain of the handshake (null without certificate).</summary>
    public CertificateVerification? Verification =>
        Certificate is null ? null : _verification ??= new CertificateVerification(Trust, Certificate, HandshakeStatus, _extra);

    /// <summary>Identity facts of the certificate, computed once per connection.</summary>
    public CertificateFacts Facts => _facts ??= Trust.FactsOf(Certificate!, IssuerThumbprint);

    /// <summary>Whether the certificate matched the identities of <paramref name="step"/>, when this connection already knows.</summary>
    public bool? IdentityMatchOf(object step) =>
        Volatile.Read(ref _identityMatch) is { } known && ReferenceEquals(known.Step, step) ? known.Matched : null;

    /// <summary>Remembers the identity answer of the step the requests of this connection go through (the last one asked).</summary>
    public void RememberIdentityMatch(object step, bool matched) => Volatile.Write(ref _identityMatch, new IdentityMatch(step, matched));

    /// <summary>One answer, replaced whole (requests of an HTTP/2 connection run concurrently).</summary>
    private sealed record IdentityMatch(object Step, bool Matched);
}

/// <summary>What identities of validate-client-certificate compare, computed once per certificate.</summary>
internal sealed class CertificateFacts
{
    public CertificateFacts(X509Certificate2 certificate, string? issuerThumbprint)
    {
        Thumbprint = certificate.Thumbprint;
        SerialNumber = certificate.SerialNumber;
        SerialForm = ApiGateway.Core.Certificates.IdentityValues.SerialNumber(SerialNumber);
        CommonName = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        Subject = certificate.Subject;
        Issuer = certificate.Issuer;
        IssuerThumbprint = issuerThumbprint;
        Names = CertificateNames.Decode(certificate);
        ClientAuthentication = HandshakeDecision.AllowsClientAuthentication(certificate);
    }

    /// <summary>Whether the certificate may be used for client authentication (see <see cref="HandshakeDecision.AllowsClientAuthentication"/>).</summary>
    public bool ClientAuthentication { get; }

    public string Thumbprint { get; }
    public string SerialNumber { get; }

    /// <summary>The serial number's comparison form (hex without leading zeros).</summary>
    public string? SerialForm { get; }

    public string CommonName { get; }
    public string Subject { get; }
    public string Issuer { get; }
    public string? IssuerThumbprint { get; }

    /// <summary>Subject alternative names and SHA-256 pins.</summary>
    public CertificateNames Names { get; }
}
