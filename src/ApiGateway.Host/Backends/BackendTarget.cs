using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Host.Backends;

/// <summary>A certificate of the configuration, loaded with its key (when it has one) and chain.</summary>
internal sealed class ServedCertificate
{
    public ServedCertificate(string id, CertificateEntry entry, LoadedCertificate loaded)
    {
        Id = id;
        Entry = entry;
        Certificate = loaded.Leaf;
        Chain = loaded.Chain;
        Thumbprint = loaded.Leaf.Thumbprint;
        using (var copy = X509CertificateLoader.LoadCertificate(loaded.Leaf.RawData))
            PublicCopy = new Context.DeploymentCertificate(copy);
    }

    /// <summary>The id in the configuration.</summary>
    public string Id { get; }

    public CertificateEntry Entry { get; }

    /// <summary>The certificate with its private key (if any).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Intermediates that came with it.</summary>
    public X509Certificate2Collection Chain { get; }

    /// <summary>Thumbprint of what was actually loaded (a linked file may have been rotated since the metadata was written).</summary>
    public string Thumbprint { get; }

    /// <summary>The certificate without its key, for <c>context.Deployment.Certificates</c>.</summary>
    public X509Certificate2 PublicCopy { get; }

    /// <summary>The first of <paramref name="certificates"/> whose thumbprint is <paramref name="thumbprint"/> (any case, separators allowed), or null.</summary>
    public static ServedCertificate? FindByThumbprint(IEnumerable<ServedCertificate> certificates, string thumbprint)
    {
        var normalized = CertificateMetadata.NormalizeThumbprint(thumbprint);
        return certificates.FirstOrDefault(c => string.Equals(c.Thumbprint, normalized, StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>
/// Where a request is forwarded and how: a backend of the configuration, an API's service URL, or a base-url of
/// set-backend-service; its TLS checks and the credentials it receives.
/// </summary>
internal sealed class BackendTarget
{
    public BackendTarget(string? backendId, string url, BackendTls tls, IReadOnlyList<ServedCertificate> certificates,
        IReadOnlyList<KeyValuePair<string, string[]>> headers, IReadOnlyList<KeyValuePair<string, string[]>> query, string? authorization)
    {
        BackendId = backendId;
        Url = url;
        var uri = new Uri(url, UriKind.Absolute);
        // The destination prefix has no query: the backend URL's own query parameters join the credentials' ones.
        DestinationPrefix = uri.GetLeftPart(UriPartial.Path);
        Authority = uri.GetLeftPart(UriPartial.Authority);
        // Uri.Authority is host and port without user information: a URL's user:password never reaches a log line.
        LogName = backendId ?? uri.Scheme + "://" + uri.Authority;
        var extraQuery = new List<KeyValuePair<string, string[]>>(query);
        if (uri.Query.Length > 1)
        {
            foreach (var pair in Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(uri.Query))
            {
                if (!extraQuery.Any(q => string.Equals(q.Key, pair.Key, StringComparison.Ordinal)))
                    extraQuery.Add(new(pair.Key, pair.Value.Select(v => v ?? string.Empty).ToArray()));
            }
        }
        Query = extraQuery;
        ValidateChain = tls.ValidateCertificateChain;
        ValidateName = tls.ValidateCertificateName;
        Certificates = certificates;
        Headers = headers;
        Authorization = authorization;
    }

    /// <summary>
    /// A target that is just a URL (an API's service URL, a base-url of set-backend-service): default TLS checks, no
    /// credentials.
    /// </summary>
    public static BackendTarget ForUrl(string url) => new(null, url, new BackendTls(), [], [], [], null);

    /// <summary>The backend id, or null for a service URL or base-url.</summary>
    public string? BackendId { get; }

    /// <summary>The URL as configured.</summary>
    public string Url { get; }

    /// <summary>The URL without its query: what the remaining request path is appended to.</summary>
    public string DestinationPrefix { get; }

    /// <summary>scheme://host:port of the backend.</summary>
    public string Authority { get; }

    public bool ValidateChain { get; }
    public bool ValidateName { get; }

    /// <summary>The backend's credential certificates.</summary>
    public IReadOnlyList<ServedCertificate> Certificates { get; }

    /// <summary>Credential headers: set on every forwarded request, replacing what the client sent.</summary>
    public IReadOnlyList<KeyValuePair<string, string[]>> Headers { get; }

    /// <summary>Credential query parameters (and those of the URL): set on every forwarded request.</summary>
    public IReadOnlyList<KeyValuePair<string, string[]>> Query { get; }

    /// <summary>The Authorization header value (<c>scheme parameter</c>), decrypted, or null.</summary>
    public string? Authorization { get; }

    /// <summary>How messages name it: <c>backend 'orders'</c> or <c>service URL 'https://…'</c>.</summary>
    public string Describe() => BackendId is null ? $"service URL '{Url}'" : $"backend '{BackendId}'";

    /// <summary>The id for error bodies and logs: the backend id, or the authority.</summary>
    public string Name => BackendId ?? Authority;

    /// <summary>The backend id, or scheme, host and port of its URL (never user information, path or query): what the access log writes.</summary>
    public string LogName { get; }
}
