using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Host.Tls;

/// <summary>How a hostname treats client certificates.</summary>
internal enum ClientCertificateNegotiation
{
    /// <summary>negotiateClientCertificate off: no certificate is requested; <c>context.Request.Certificate</c> is null.</summary>
    Off,
    /// <summary>negotiateClientCertificate on: any certificate the client presents is accepted and handed to the policies.</summary>
    Negotiate,
    /// <summary>Strict: the handshake fails unless the client presents a certificate that chains to an uploaded CA.</summary>
    Require,
}

/// <summary>What the handshake learned about the client certificate.</summary>
/// <param name="Presented">Whether the client sent a certificate.</param>
/// <param name="ChainStatus">The status of its chain built against the uploaded CA certificates (NoError: trusted and valid now).</param>
/// <param name="ClientAuthentication">Whether it may be used for client authentication (no extended key usage, or clientAuth among them).</param>
internal readonly record struct ClientCertificateEvidence(bool Presented, X509ChainStatusFlags ChainStatus, bool ClientAuthentication);

/// <summary>
/// The accept/reject decision of a TLS handshake: a pure function of the hostname's mode and what the client
/// presented, so it is tested without a socket. Judging an accepted certificate further is the policies' job.
/// </summary>
internal static class HandshakeDecision
{
    private const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";
    private const string AnyExtendedKeyUsageOid = "2.5.29.37.0";

    /// <summary>The mode of a hostname from its two switches (strict implies negotiate).</summary>
    public static ClientCertificateNegotiation ModeOf(bool negotiate, bool require) =>
        require ? ClientCertificateNegotiation.Require : negotiate ? ClientCertificateNegotiation.Negotiate : ClientCertificateNegotiation.Off;

    /// <summary>The evidence about <paramref name="certificate"/> given the status of its handshake chain.</summary>
    public static ClientCertificateEvidence Evaluate(X509Certificate2? certificate, X509ChainStatusFlags chainStatus) =>
        certificate is null
            ? new ClientCertificateEvidence(false, chainStatus, false)
            : new ClientCertificateEvidence(true, chainStatus, AllowsClientAuthentication(certificate));

    /// <summary>Whether to complete the handshake; <paramref name="reason"/> says why not.</summary>
    public static bool Accept(ClientCertificateNegotiation mode, in ClientCertificateEvidence evidence, out string? reason)
    {
        reason = null;
        if (mode != ClientCertificateNegotiation.Require)
            return true;
        if (!evidence.Presented)
        {
            reason = "the client presented no certificate";
            return false;
        }
        if ((evidence.ChainStatus & (X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested)) != 0
            && (evidence.ChainStatus & ~(X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested)) == 0)
        {
            reason = "the client certificate (or its issuer) is expired or not yet valid";
            return false;
        }
        if (evidence.ChainStatus != X509ChainStatusFlags.NoError)
        {
            reason = $"the client certificate does not chain to an uploaded CA certificate ({evidence.ChainStatus})";
            return false;
        }
        if (!evidence.ClientAuthentication)
        {
            reason = "the client certificate is not for client authentication (its extended key usage lacks clientAuth)";
            return false;
        }
        return true;
    }

    /// <summary>No extended key usage extension means any use; otherwise clientAuth or anyExtendedKeyUsage must be listed.</summary>
    public static bool AllowsClientAuthentication(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509EnhancedKeyUsageExtension usage)
            {
                foreach (var oid in usage.EnhancedKeyUsages)
                {
                    if (oid.Value is ClientAuthenticationOid or AnyExtendedKeyUsageOid)
                        return true;
                }
                return false;
            }
        }
        return true;
    }
}
