using System.Security.Cryptography;
using ApiGateway.Core.Backends;
using ApiGateway.Core.Certificates;

namespace ApiGateway.Core.Management;

internal sealed partial class GatewayService
{
    /// <summary>
    /// Test-GatewayBackendTls: a live TLS handshake with backend <paramref name="backendId"/> made as the gateway
    /// makes it (its two switches, its credential certificates, or <paramref name="certificateIds"/> instead), then
    /// one HEAD request without credentials. Bounded by <paramref name="timeout"/>. A failed test is a result, not an
    /// exception; a backend that does not exist, or a plain http one, is an exception.
    /// </summary>
    public async Task<GatewayBackendTlsResult> TestBackendTlsAsync(string backendId, IReadOnlyList<string>? certificateIds = null,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var configuration = Read();
        var (id, backend) = Existing(configuration.Backends, backendId, "Backend", "Backend", ListBackends);
        if (!Uri.TryCreate(backend.Url, UriKind.Absolute, out var uri) || !string.Equals(uri.Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase))
        {
            throw new GatewayException("BackendTls", "NotHttps", GatewayErrorCategory.InvalidOperation,
                $"Backend '{id}' has the URL '{backend.Url}': the gateway speaks plain HTTP to it, so there is no TLS to test. Give it an https URL (Set-GatewayBackend -BackendId {id} -Url https://...) to use TLS.",
                id);
        }
        var loaded = new List<(string Id, LoadedCertificate Certificate)>();
        try
        {
            foreach (var certificateId in CredentialCertificates(configuration, id, backend, certificateIds))
            {
                var entry = configuration.Certificates[certificateId];
                try
                {
                    loaded.Add((certificateId, CertificateStore.LoadCertificate(certificateId, entry)));
                }
                catch (CryptographicException ex)
                {
                    throw new GatewayException("Certificate", "Unreadable", GatewayErrorCategory.ReadError,
                        $"Certificate '{certificateId}' cannot be loaded: {ex.Message}. The gateway cannot present it either; replace it with Set-GatewayCertificate -CertificateId {certificateId}.", certificateId, ex);
                }
            }
            var request = new BackendTlsProbeRequest
            {
                BackendId = id,
                Url = backend.Url,
                ValidateChain = backend.Tls.ValidateCertificateChain,
                ValidateName = backend.Tls.ValidateCertificateName,
                Certificates = loaded.Select(l => new ProbeCertificate(l.Id, l.Certificate.Leaf, l.Certificate.Chain)).ToList(),
                Timeout = timeout ?? TimeSpan.FromSeconds(10),
            };
            var result = await BackendTlsProbe.RunAsync(request, cancellationToken).ConfigureAwait(false);
            var advice = certificateIds is null ? GatewayCredentialAdvice(configuration, id) : [];
            return result with { ConfigurationPath = ConfigurationPath, Advice = [.. result.Advice, .. advice] };
        }
        finally
        {
            foreach (var (_, certificate) in loaded)
                certificate.Dispose();
        }
    }

    /// <summary>
    /// APIs on backend <paramref name="backendId"/> whose policy has a gateway credential (Set-ApiGatewayCredential):
    /// their requests present it before the backend's own certificates, so the test of the backend alone is not
    /// what they do; each gets the command that tests it.
    /// </summary>
    private static List<string> GatewayCredentialAdvice(Configuration.GatewayConfiguration configuration, string backendId)
    {
        var advice = new List<string>();
        foreach (var (apiId, api) in configuration.Apis)
        {
            if (api.BackendId is null || !Configuration.Ids.Comparer.Equals(api.BackendId, backendId) || api.OwnPolicy is not { } policy)
                continue;
            var (byId, byThumbprint) = GatewayCredentialOf(policy, Policies.PolicyScope.Api);
            var certificateId = byId ?? (byThumbprint is null ? null
                : configuration.Certificates.FirstOrDefault(p => string.Equals(p.Value.Thumbprint, CertificateMetadata.NormalizeThumbprint(byThumbprint), StringComparison.OrdinalIgnoreCase)).Key);
            if (certificateId is not null)
            {
                advice.Add($"API '{apiId}' presents its gateway credential '{certificateId}' to this backend before the backend's own certificates: Test-GatewayBackendTls -BackendId {backendId} -CertificateId {certificateId} tests what its requests do.");
            }
        }
        return advice;
    }

    /// <summary>
    /// The ids of the certificates presented to the backend: <paramref name="requested"/> when given (each must exist
    /// with its private key), else the backend's credentials by id and then by thumbprint, as the gateway loads them.
    /// </summary>
    private static List<string> CredentialCertificates(Configuration.GatewayConfiguration configuration, string backendId, Configuration.BackendEntry backend, IReadOnlyList<string>? requested)
    {
        var ids = new List<string>();
        if (requested is not null)
        {
            foreach (var certificateId in requested)
            {
                var (existing, entry) = Existing(configuration.Certificates, certificateId, "Certificate", "Certificate", ListCertificates);
                if (!entry.HasPrivateKey)
                {
                    throw new GatewayException("Certificate", "NoPrivateKey", GatewayErrorCategory.InvalidArgument,
                        $"Certificate '{existing}' cannot be presented to backend '{backendId}': it has no private key. Give a certificate with its key (Set-GatewayCertificate -CertificateId {existing} -PfxFilePath ...).", existing);
                }
                if (!ids.Contains(existing, StringComparer.OrdinalIgnoreCase))
                    ids.Add(existing);
            }
            return ids;
        }
        if (backend.Credentials is not { } credentials)
            return ids;
        foreach (var certificateId in credentials.CertificateIds)
        {
            if (configuration.Certificates.ContainsKey(certificateId))
                ids.Add(configuration.Certificates.Keys.First(k => Configuration.Ids.Comparer.Equals(k, certificateId)));
        }
        foreach (var thumbprint in credentials.CertificateThumbprints)
        {
            var normalized = CertificateMetadata.NormalizeThumbprint(thumbprint);
            var match = configuration.Certificates.FirstOrDefault(p => string.Equals(p.Value.Thumbprint, normalized, StringComparison.OrdinalIgnoreCase));
            if (match.Key is not null)
                ids.Add(match.Key);
        }
        return ids;
    }
}
