using System.Collections.Immutable;
using System.Text;
using System.Text.Json.Serialization;
using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Configuration;

/// <summary>
/// The whole configuration file: one API gateway "service". Immutable; every change makes a new instance
/// (<c>with</c>), and <see cref="ConfigurationStore"/> writes it with <see cref="Revision"/> one higher.
/// Maps are keyed by id, compared without regard to case, and written in sorted order so the file diffs well.
/// </summary>
internal sealed record GatewayConfiguration
{
    /// <summary>The newest schema this version reads and writes.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>Format version of the file. A newer one than <see cref="CurrentSchemaVersion"/> is never written.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>Grows by one with every change written through the store.</summary>
    public long Revision { get; init; }

    /// <summary>Name and listeners.</summary>
    public ServiceSettings Service { get; init; } = new();

    /// <summary>Certificates the gateway presents or compares against: metadata only, never key material.</summary>
    public ImmutableSortedDictionary<string, CertificateEntry> Certificates { get; init; } = Ids.EmptyMap<CertificateEntry>();

    /// <summary>Trusted roots and intermediates for client-certificate chain validation.</summary>
    public ImmutableSortedDictionary<string, CaCertificateEntry> CaCertificates { get; init; } = Ids.EmptyMap<CaCertificateEntry>();

    /// <summary>Backends APIs forward to.</summary>
    public ImmutableSortedDictionary<string, BackendEntry> Backends { get; init; } = Ids.EmptyMap<BackendEntry>();

    /// <summary>APIs, routed by <see cref="ApiEntry.Path"/>.</summary>
    public ImmutableSortedDictionary<string, ApiEntry> Apis { get; init; } = Ids.EmptyMap<ApiEntry>();

    private readonly string? _policy;

    /// <summary>
    /// The global ("All APIs") policy the gateway applies, APIM policy XML: <see cref="OwnPolicy"/>, or
    /// <see cref="PolicyTemplates.Global"/> when there is none. APIs include it through <c>&lt;base /&gt;</c>.
    /// Setting it sets <see cref="OwnPolicy"/>.
    /// </summary>
    [JsonIgnore]
    public string Policy
    {
        get => _policy ?? PolicyTemplates.Global;
        init => _policy = value;
    }

    /// <summary>
    /// The global policy as written (the file's <c>policy</c>), or null when there is none (a configuration whose
    /// global policy was removed, as APIM's Remove-AzApiManagementPolicy does): then the default applies.
    /// A new configuration starts with <see cref="PolicyTemplates.Global"/> written out, so it can be read and edited.
    /// </summary>
    [JsonPropertyName("policy")]
    [JsonConverter(typeof(MultilineTextConverter))]
    public string? OwnPolicy
    {
        get => _policy;
        init => _policy = value;
    }
}

/// <summary>The service: its name and the hostnames the gateway listens on.</summary>
internal sealed record ServiceSettings
{
    /// <summary>A name for people; shown by the cmdlets and the gateway's status.</summary>
    public string Name { get; init; } = "apigateway";

    /// <summary>HTTPS listeners, one per hostname, in the order they were added.</summary>
    public ImmutableArray<HostnameEntry> Hostnames { get; init; } = [];

    /// <summary>Connection and request limits of every listener; null (or a limit left out): the defaults of <see cref="GatewayLimits.Defaults"/>.</summary>
    public GatewayLimits? Limits { get; init; }

    /// <summary>How revocation is checked where a policy asks for it (validate-revocation, Verify()); null: <see cref="RevocationMode.Online"/> without CRL files.</summary>
    public RevocationSettings? Revocation { get; init; }
}

/// <summary>How the gateway checks whether client certificates are revoked (Set-GatewayRevocation).</summary>
public enum RevocationMode
{
    /// <summary>The CRL files of the CRL folder when one covers the certificate, otherwise the CRL or OCSP responder the certificate names (the default, as APIM).</summary>
    Online,

    /// <summary>Only the CRL files of the CRL folder: no network. A certificate whose issuer has no current CRL there is not known to be good.</summary>
    Offline,

    /// <summary>No revocation check: validate-revocation="true" and Verify() pass without one.</summary>
    NoCheck,
}

/// <summary>The service's revocation settings (<c>service.revocation</c>).</summary>
internal sealed record RevocationSettings
{
    /// <summary>Online (default), Offline or NoCheck.</summary>
    public RevocationMode Mode { get; init; } = RevocationMode.Online;

    /// <summary>An absolute folder of CRL files (.crl, DER or PEM; .pem) the operator keeps current; watched by the gateway.</summary>
    public string? CrlFolder { get; init; }
}

/// <summary>An HTTPS listener: host name (for SNI and the status), port, server certificate and client-certificate mode.</summary>
internal sealed record HostnameEntry
{
    /// <summary>DNS name clients use; unique, compared without regard to case.</summary>
    public required string HostName { get; init; }

    /// <summary>TCP port (1-65535).</summary>
    public int Port { get; init; } = 443;

    /// <summary>Address to bind: <c>*</c> (all interfaces, the default), <c>localhost</c>, or an IP address.</summary>
    public string ListenAddress { get; init; } = "*";

    /// <summary>Id of the server certificate in <see cref="GatewayConfiguration.Certificates"/>; it needs a private key.</summary>
    public required string CertificateId { get; init; }

    /// <summary>Ask clients for a certificate during the handshake and hand it to the policies (APIM "Negotiate client certificate").</summary>
    public bool NegotiateClientCertificate { get; init; }

    /// <summary>Strict mode: refuse the handshake unless the client presents a certificate that chains to an uploaded CA certificate.</summary>
    public bool RequireClientCertificate { get; init; }

    /// <summary>Protocols and cipher suites offered; null: <see cref="Configuration.TlsProfile.Intermediate"/>.</summary>
    public TlsProfile? TlsProfile { get; init; }

    /// <summary>For <see cref="Configuration.TlsProfile.Custom"/>: the IANA names of the cipher suites offered, in order of preference.</summary>
    public ImmutableArray<string>? CipherSuites { get; init; }
}

/// <summary>Where a certificate's material comes from.</summary>
public enum CertificateSource
{
    /// <summary>Uploaded into the certificate store beside the configuration (encrypted at rest).</summary>
    Uploaded,
    /// <summary>A PEM or PFX file that another tool (certbot, cert-manager) writes and rotates.</summary>
    LinkedFile,
    /// <summary>An entry of the operating system's certificate store, found by thumbprint.</summary>
    Store,
}

/// <summary>Public metadata of a certificate. The certificate and its key live in the certificate store or the linked source.</summary>
internal sealed record CertificateEntry
{
    /// <summary>SHA-1 thumbprint, upper-case hex, as <c>X509Certificate2.Thumbprint</c> and APIM show it.</summary>
    public required string Thumbprint { get; init; }

    /// <summary>Subject distinguished name.</summary>
    public required string Subject { get; init; }

    /// <summary>Issuer distinguished name.</summary>
    public required string Issuer { get; init; }

    /// <summary>Serial number, upper-case hex.</summary>
    public required string SerialNumber { get; init; }

    /// <summary>Subject alternative names, e.g. <c>DNS:api.contoso.com</c>, <c>IP:127.0.0.1</c>.</summary>
    public ImmutableArray<string> SubjectAlternativeNames { get; init; } = [];

    /// <summary>Start of validity (UTC).</summary>
    public DateTimeOffset NotBefore { get; init; }

    /// <summary>End of validity (UTC).</summary>
    public DateTimeOffset NotAfter { get; init; }

    /// <summary>Whether the gateway has the private key (needed to present the certificate).</summary>
    public bool HasPrivateKey { get; init; }

    /// <summary>Where the material comes from.</summary>
    public CertificateSource Source { get; init; } = CertificateSource.Uploaded;

    /// <summary>For <see cref="CertificateSource.LinkedFile"/>: the certificate file (PEM or PFX), absolute.</summary>
    public string? Path { get; init; }

    /// <summary>For a linked PEM certificate: the PEM private key file, when it is not in <see cref="Path"/>.</summary>
    public string? KeyPath { get; init; }

    /// <summary>For a linked PFX protected by a password: the name of the encrypted secret in the certificate store.</summary>
    public string? PasswordSecret { get; init; }

    /// <summary>For <see cref="CertificateSource.Store"/>: <c>CurrentUser</c> or <c>LocalMachine</c>.</summary>
    public string? StoreLocation { get; init; }

    /// <summary>For <see cref="CertificateSource.Store"/>: the store name, usually <c>My</c>.</summary>
    public string? StoreName { get; init; }
}

/// <summary>Which trust role a CA certificate plays for client-certificate chains (APIM's StoreName).</summary>
public enum CaStoreName
{
    /// <summary>A trusted root: chains must end here.</summary>
    Root,
    /// <summary>An intermediate CA, used to complete chains.</summary>
    CertificateAuthority,
}

/// <summary>A CA certificate (public only) trusted for client-certificate chain validation.</summary>
internal sealed record CaCertificateEntry
{
    public required string Thumbprint { get; init; }
    public required string Subject { get; init; }
    public required string Issuer { get; init; }
    public required string SerialNumber { get; init; }
    public DateTimeOffset NotBefore { get; init; }
    public DateTimeOffset NotAfter { get; init; }

    /// <summary><see cref="CaStoreName.Root"/> (trust anchor) or <see cref="CaStoreName.CertificateAuthority"/> (intermediate).</summary>
    public CaStoreName StoreName { get; init; } = CaStoreName.Root;
}

/// <summary>Backend protocol, as in APIM.</summary>
public enum BackendProtocol
{
    /// <summary>HTTP or HTTPS.</summary>
    Http,
    /// <summary>SOAP over HTTP(S); forwarded the same way.</summary>
    Soap,
}

/// <summary>A backend: where an API forwards to, how the gateway checks its TLS certificate and what credentials it presents.</summary>
internal sealed record BackendEntry
{
    /// <summary>Absolute http or https URL.</summary>
    public required string Url { get; init; }

    public BackendProtocol Protocol { get; init; } = BackendProtocol.Http;

    public string? Title { get; init; }

    public string? Description { get; init; }

    /// <summary>Server-certificate validation toward the backend.</summary>
    public BackendTls Tls { get; init; } = new();

    /// <summary>Credentials presented to the backend.</summary>
    public BackendCredentials? Credentials { get; init; }
}

/// <summary>Server-certificate checks toward a backend. The two switches are independent.</summary>
internal sealed record BackendTls
{
    /// <summary>Require the backend's certificate chain to build to a trusted root.</summary>
    public bool ValidateCertificateChain { get; init; } = true;

    /// <summary>Require the backend's certificate to name the host of the URL.</summary>
    public bool ValidateCertificateName { get; init; } = true;
}

/// <summary>What the gateway presents to a backend.</summary>
internal sealed record BackendCredentials
{
    /// <summary>Client certificates (ids in <see cref="GatewayConfiguration.Certificates"/>) presented in the TLS handshake.</summary>
    public ImmutableArray<string> CertificateIds { get; init; } = [];

    /// <summary>Client certificates by thumbprint (the older APIM form); each must match an uploaded certificate.</summary>
    public ImmutableArray<string> CertificateThumbprints { get; init; } = [];

    /// <summary>Headers added to every request: name → values.</summary>
    public ImmutableSortedDictionary<string, ImmutableArray<string>> Header { get; init; } = Ids.EmptyHeaderMap();

    /// <summary>Query parameters added to every request: name → values.</summary>
    public ImmutableSortedDictionary<string, ImmutableArray<string>> Query { get; init; } = Ids.EmptyHeaderMap();

    /// <summary>The Authorization header: scheme here, the parameter encrypted in the certificate store.</summary>
    public BackendAuthorization? Authorization { get; init; }
}

/// <summary>An Authorization header for a backend. The parameter is a secret: it is kept encrypted in the certificate store.</summary>
internal sealed record BackendAuthorization
{
    /// <summary>Scheme, e.g. <c>Basic</c> or <c>Bearer</c>.</summary>
    public required string Scheme { get; init; }

    /// <summary>Name of the encrypted secret holding the parameter, or null for a scheme without parameter.</summary>
    public string? ParameterSecret { get; init; }
}

/// <summary>An API: a path under the gateway, where it forwards, and its policy.</summary>
internal sealed record ApiEntry
{
    private readonly string? _policy;

    public required string DisplayName { get; init; }

    /// <summary>Free text for people (APIM's API description); null when there is none.</summary>
    public string? Description { get; init; }

    /// <summary>URL suffix without leading or trailing slash; unique among APIs (without regard to case). Empty: the root.</summary>
    public required string Path { get; init; }

    /// <summary>Backend id; exclusive with <see cref="ServiceUrl"/>.</summary>
    public string? BackendId { get; init; }

    /// <summary>Absolute backend URL; exclusive with <see cref="BackendId"/>.</summary>
    public string? ServiceUrl { get; init; }

    /// <summary>
    /// Which headers carry the client's certificate to the backend (opt-in; the file leaves out <c>none</c>). The
    /// same headers from the client are removed whatever this says.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ClientCertificateForwarding ForwardClientCertificate { get; init; }

    /// <summary>
    /// The policy the gateway applies to this API, APIM policy XML (inbound, backend, outbound, on-error) composed
    /// with the global policy through <c>&lt;base /&gt;</c>: <see cref="OwnPolicy"/>, or
    /// <see cref="PolicyTemplates.Api"/> (inherit everything) when the API has none. Setting it sets <see cref="OwnPolicy"/>.
    /// </summary>
    [JsonIgnore]
    public string Policy
    {
        get => _policy ?? PolicyTemplates.Api;
        init => _policy = value;
    }

    /// <summary>
    /// The API's own policy as written (the file's <c>policy</c>), or null when it has none: a new API, or one whose
    /// policy was removed. As in APIM, such an API inherits everything and Get-GatewayPolicy returns nothing for it.
    /// </summary>
    [JsonPropertyName("policy")]
    [JsonConverter(typeof(MultilineTextConverter))]
    public string? OwnPolicy
    {
        get => _policy;
        init => _policy = value;
    }
}

/// <summary>The default policies APIM starts from.</summary>
internal static class PolicyTemplates
{
    /// <summary>The global policy of a new configuration: forward every request.</summary>
    public const string Global = """
        <policies>
          <inbound />
          <backend>
            <forward-request />
          </backend>
          <outbound />
          <on-error />
        </policies>
        """;

    /// <summary>The policy of a new API: inherit everything from the global policy.</summary>
    public static string Api { get; } = Inheriting();

    /// <summary>
    /// An API policy that inherits every section from the global policy (<c>&lt;base /&gt;</c> first in each) and runs
    /// the given elements after the inherited ones, each snippet indented into its section. With no snippets it is
    /// <see cref="Api"/>.
    /// </summary>
    public static string Inheriting(string? inbound = null, string? backend = null, string? outbound = null, string? onError = null)
    {
        var text = new StringBuilder("<policies>\n");
        string?[] extras = [inbound, backend, outbound, onError];
        foreach (var kind in Enum.GetValues<PolicySectionKind>())
        {
            var name = kind.XmlName();
            text.Append("  <").Append(name).Append(">\n    <base />\n");
            if (!string.IsNullOrWhiteSpace(extras[(int)kind]))
            {
                foreach (var line in extras[(int)kind]!.ReplaceLineEndings("\n").Trim('\n').Split('\n'))
                    text.Append(line.Length == 0 ? string.Empty : "    " + line).Append('\n');
            }
            text.Append("  </").Append(name).Append(">\n");
        }
        return text.Append("</policies>").ToString();
    }
}
