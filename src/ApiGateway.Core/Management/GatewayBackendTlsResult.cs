using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Core.Management;

/// <summary>
/// What a live TLS handshake with a backend showed (the output of Test-GatewayBackendTls): the backend's certificate
/// and the errors the gateway's checks find in it, whether it asked for a client certificate and accepted the one
/// the gateway presents, and what to change when it fails.
/// </summary>
public sealed record GatewayBackendTlsResult
{
    public required string BackendId { get; init; }

    /// <summary>The backend's URL as configured.</summary>
    public required string Url { get; init; }

    /// <summary>True when the whole exchange works as the gateway would do it: TLS accepted both ways and an HTTP answer came back.</summary>
    public bool Succeeded { get; init; }

    /// <summary>Whether the TLS handshake completed (the backend may still refuse the client certificate right after it, with TLS 1.3).</summary>
    public bool Connected { get; init; }

    /// <summary>The negotiated protocol (Tls12, Tls13), or None without a handshake.</summary>
    public SslProtocols Protocol { get; init; }

    /// <summary>The negotiated cipher suite (IANA name), or null.</summary>
    public string? CipherSuite { get; init; }

    /// <summary>The backend's certificate (public part), or null when it sent none.</summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>The DNS names and IP addresses the backend's certificate names (its subject alternative names).</summary>
    public IReadOnlyList<string> ServerCertificateNames { get; init; } = [];

    /// <summary>Whether the backend's chain does not build to a trusted system root (whatever the backend's settings say).</summary>
    public bool ChainErrors { get; init; }

    /// <summary>Why the chain failed (UntrustedRoot, PartialChain, NotTimeValid, …); NoError when it did not.</summary>
    public X509ChainStatusFlags ChainStatus { get; init; }

    /// <summary>Whether the backend's certificate does not name the URL's host (whatever the backend's settings say).</summary>
    public bool NameErrors { get; init; }

    /// <summary>The backend's setting the verdict used.</summary>
    public bool SkipCertificateChainValidation { get; init; }

    /// <summary>The backend's setting the verdict used.</summary>
    public bool SkipCertificateNameValidation { get; init; }

    /// <summary>Whether the gateway accepts the backend's certificate under those settings (false: it answers 500 BackendCertificateInvalid).</summary>
    public bool ServerCertificateAccepted { get; init; }

    /// <summary>Whether the backend asked for a client certificate; null when the handshake did not get that far.</summary>
    public bool? ClientCertificateRequested { get; init; }

    /// <summary>Whether the gateway presented a client certificate.</summary>
    public bool ClientCertificatePresented { get; init; }

    /// <summary>The certificate id of what was (or would be) presented, or null when the gateway has none for this backend.</summary>
    public string? ClientCertificateId { get; init; }

    /// <summary>The client certificate presented (public part), or null.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>
    /// Whether the backend accepted the connection with the client certificate it got (or with none): false when it
    /// refused it, true when it answered after asking for one, null when it did not ask or the test did not get that far.
    /// </summary>
    public bool? ClientCertificateAccepted { get; init; }

    /// <summary>The status code of the backend's answer to the test's HEAD request, or null when none came.</summary>
    public int? HttpStatus { get; init; }

    /// <summary>What would change the outcome, each with the command; empty when there is nothing to change.</summary>
    public IReadOnlyList<string> Advice { get; init; } = [];

    /// <summary>Why the test failed, or null when it succeeded.</summary>
    public string? Error { get; init; }

    /// <summary>How long the test took.</summary>
    public TimeSpan Elapsed { get; init; }

    public string? ConfigurationPath { get; init; }

    /// <summary>The policy errors SslStream reported, for scripts that compare with the gateway's log.</summary>
    public SslPolicyErrors PolicyErrors { get; init; }
}
