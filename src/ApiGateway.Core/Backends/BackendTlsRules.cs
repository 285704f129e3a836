using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Core.Backends;

/// <summary>
/// How the gateway judges a backend's TLS: which server-certificate errors count under the backend's two switches,
/// and which client certificate it presents. The gateway's connection pools (Host) and Test-GatewayBackendTls both
/// decide with this code, so the test's verdict is the gateway's.
/// </summary>
internal static class BackendTlsRules
{
    /// <summary>
    /// The errors of <paramref name="errors"/> that refuse the backend: chain errors only when the chain is checked,
    /// a name mismatch only when the name is, a missing certificate always (there must be one).
    /// </summary>
    public static SslPolicyErrors Remaining(SslPolicyErrors errors, bool validateChain, bool validateName)
    {
        var remaining = errors;
        if (!validateChain)
            remaining &= ~SslPolicyErrors.RemoteCertificateChainErrors;
        if (!validateName)
            remaining &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
        return remaining;
    }

    /// <summary>The union of the statuses of <paramref name="chain"/>'s elements (NoError for none or a null chain).</summary>
    public static X509ChainStatusFlags StatusOf(X509Chain? chain)
    {
        var status = X509ChainStatusFlags.NoError;
        if (chain is not null)
        {
            foreach (var s in chain.ChainStatus)
                status |= s.Status;
        }
        return status;
    }

    /// <summary>
    /// Of several client certificates (the API's gateway credential first, then the backend's), the one whose
    /// issuer the backend names as acceptable, else the first; null when there is none.
    /// </summary>
    public static X509Certificate2? SelectClientCertificate(IReadOnlyList<X509Certificate2> certificates, string[]? acceptableIssuers, Func<string, string, bool> issuerEquals)
    {
        ArgumentNullException.ThrowIfNull(issuerEquals);
        if (certificates.Count == 0)
            return null;
        foreach (var issuer in acceptableIssuers ?? [])
        {
            foreach (var certificate in certificates)
            {
                if (issuerEquals(certificate.Issuer, issuer))
                    return certificate;
            }
        }
        return certificates[0];
    }

    /// <summary>
    /// The client side of a backend connection: the server-certificate callback, revocation off (as the gateway
    /// sends requests), and the client certificate: one is presented with its intermediates; of several, the
    /// selection callback picks one by the issuers the backend names.
    /// </summary>
    public static SslClientAuthenticationOptions ClientOptions(RemoteCertificateValidationCallback validate,
        IReadOnlyList<(X509Certificate2 Certificate, X509Certificate2Collection Chain)> certificates, Func<string, string, bool> issuerEquals)
    {
        var ssl = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = validate,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (certificates.Count == 1)
        {
            ssl.ClientCertificateContext = SslStreamCertificateContext.Create(certificates[0].Certificate, certificates[0].Chain, offline: true);
        }
        else if (certificates.Count > 1)
        {
            var leaves = certificates.Select(c => c.Certificate).ToArray();
            ssl.ClientCertificates = new X509CertificateCollection(leaves);
            ssl.LocalCertificateSelectionCallback = (_, _, _, _, issuers) => SelectClientCertificate(leaves, issuers, issuerEquals)!;
        }
        return ssl;
    }
}
