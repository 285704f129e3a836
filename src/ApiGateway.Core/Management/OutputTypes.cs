using System.Security;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Management;

/// <summary>The result of a change: the new state and what the operator should know (e.g. an expired certificate).</summary>
internal sealed record OperationResult<T>(T Value, IReadOnlyList<string> Warnings);

/// <summary>An opened configuration, as <c>New-GatewayContext</c> shows it.</summary>
internal sealed record GatewayContextInfo
{
    public required string ConfigurationPath { get; init; }
    public required string StorePath { get; init; }
    public required string ServiceName { get; init; }
    public required long Revision { get; init; }
    public bool Created { get; init; }
}

/// <summary>A certificate of the gateway (the output of Get-/Add-/Set-GatewayCertificate).</summary>
public sealed record GatewayCertificate
{
    public required string CertificateId { get; init; }
    public required string Subject { get; init; }
    public required string Issuer { get; init; }
    public required string Thumbprint { get; init; }
    public required string SerialNumber { get; init; }
    public IReadOnlyList<string> SubjectAlternativeNames { get; init; } = [];

    /// <summary>Start of validity, local time (as <c>X509Certificate2.NotBefore</c> and <c>Get-Date</c>).</summary>
    public DateTime NotBefore { get; init; }

    /// <summary>End of validity, local time (APIM's name for NotAfter).</summary>
    public DateTime ExpirationDate { get; init; }

    public bool HasPrivateKey { get; init; }
    public CertificateSource Source { get; init; }

    /// <summary>For linked certificates: the file the gateway reads.</summary>
    public string? LinkedPath { get; init; }

    public string? KeyPath { get; init; }
    public string? StoreLocation { get; init; }
    public string? StoreName { get; init; }

    /// <summary>Whether anything (hostname, API, backend, policy) refers to it.</summary>
    public bool InUse { get; init; }

    public string? ConfigurationPath { get; init; }

    /// <summary>Whether it has expired.</summary>
    public bool IsExpired => ExpirationDate < DateTime.Now;
}

/// <summary>A CA certificate trusted for client-certificate chains.</summary>
public sealed record GatewayCaCertificate
{
    public required string CertificateId { get; init; }
    public required string Subject { get; init; }
    public required string Issuer { get; init; }
    public required string Thumbprint { get; init; }
    public DateTime NotBefore { get; init; }
    public DateTime ExpirationDate { get; init; }

    /// <summary>Root (trust anchor) or CertificateAuthority (intermediate).</summary>
    public CaStoreName StoreName { get; init; }

    public string? ConfigurationPath { get; init; }
}

/// <summary>
/// What a backend receives from the gateway: client certificates, headers, query parameters and an Authorization
/// header. Built by <c>New-GatewayBackendCredential</c>; the authorization parameter is a secret (SecureString).
/// </summary>
public sealed class GatewayBackendCredential
{
    public IReadOnlyList<string> CertificateIds { get; init; } = [];
    public IReadOnlyList<string> CertificateThumbprints { get; init; } = [];
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Header { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Query { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
    public string? AuthorizationHeaderScheme { get; init; }

    /// <summary>The new parameter to store (input only; never read back).</summary>
    public SecureString? AuthorizationHeaderParameter { get; init; }

    /// <summary>Whether a stored parameter exists (output); kept when the credential is passed back unchanged.</summary>
    public bool HasAuthorizationHeaderParameter { get; init; }

    /// <summary>The stored parameter's name, so that a credential read back and set again keeps its secret.</summary>
    internal string? StoredParameterSecret { get; init; }

    /// <summary>
    /// Az's shape (PsApiManagementBackendCredential.Certificate): the thumbprints of the client certificates the
    /// backend is presented, those named by id resolved to their current thumbprint when read from a configuration.
    /// Read only: <see cref="CertificateIds"/> and <see cref="CertificateThumbprints"/> are what is stored.
    /// </summary>
    public IReadOnlyList<string> Certificate { get; init; } = [];

    /// <summary>
    /// Az's shape (PsApiManagementBackendCredential.Authorization): <c>.Scheme</c> and <c>.Parameter</c> of the
    /// Authorization header, null without one. The same data as <see cref="AuthorizationHeaderScheme"/> and
    /// <see cref="AuthorizationHeaderParameter"/>; the parameter stays a SecureString and is never read back.
    /// </summary>
    public GatewayBackendAuthorization? Authorization => AuthorizationHeaderScheme is null
        ? null
        : new GatewayBackendAuthorization(AuthorizationHeaderScheme, AuthorizationHeaderParameter, HasAuthorizationHeaderParameter || AuthorizationHeaderParameter is { Length: > 0 });

    public override string ToString()
    {
        var parts = new List<string>();
        if (CertificateIds.Count > 0)
            parts.Add("Certificate: " + string.Join(", ", CertificateIds));
        if (CertificateThumbprints.Count > 0)
            parts.Add("Thumbprint: " + string.Join(", ", CertificateThumbprints));
        if (Header.Count > 0)
            parts.Add("Header: " + string.Join(", ", Header.Keys));
        if (Query.Count > 0)
            parts.Add("Query: " + string.Join(", ", Query.Keys));
        if (AuthorizationHeaderScheme is not null)
            parts.Add("Authorization: " + AuthorizationHeaderScheme);
        return string.Join("; ", parts);
    }
}

/// <summary>
/// A backend's Authorization header as Az shows it (<c>$backend.Credentials.Authorization.Scheme</c>). Unlike Az's
/// plain-string <c>Parameter</c>, the parameter is a secret: a SecureString on a credential being built, and null on
/// one read from a configuration (<see cref="HasParameter"/> says whether one is stored).
/// </summary>
public sealed class GatewayBackendAuthorization
{
    internal GatewayBackendAuthorization(string scheme, SecureString? parameter, bool hasParameter)
    {
        Scheme = scheme;
        Parameter = parameter;
        HasParameter = hasParameter;
    }

    /// <summary>Scheme, e.g. <c>Basic</c> or <c>Bearer</c>.</summary>
    public string Scheme { get; }

    /// <summary>The parameter given to New-GatewayBackendCredential; null when read back (it is never decrypted for display).</summary>
    public SecureString? Parameter { get; }

    /// <summary>Whether there is a parameter (given, or stored encrypted).</summary>
    public bool HasParameter { get; }

    /// <summary>The scheme, so that the header shows as <c>Bearer</c> and never as its secret.</summary>
    public override string ToString() => Scheme;
}

/// <summary>A backend (the output of Get-/New-/Set-GatewayBackend).</summary>
public sealed record GatewayBackend
{
    public required string BackendId { get; init; }
    public required string Url { get; init; }
    public BackendProtocol Protocol { get; init; }
    public string? Title { get; init; }
    public string? Description { get; init; }
    public bool SkipCertificateChainValidation { get; init; }
    public bool SkipCertificateNameValidation { get; init; }
    public GatewayBackendCredential? Credentials { get; init; }
    public string? ConfigurationPath { get; init; }

    /// <summary>
    /// Az's shape (PsApiManagementBackend.Properties): <c>skipCertificateChainValidation</c> and
    /// <c>skipCertificateNameValidation</c>, the same values as the two properties above.
    /// </summary>
    public IReadOnlyDictionary<string, object> Properties => new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase)
    {
        ["skipCertificateChainValidation"] = SkipCertificateChainValidation,
        ["skipCertificateNameValidation"] = SkipCertificateNameValidation,
    };
}

/// <summary>The protocols an API can be offered over, as Az's <c>-Protocols</c> names them. The gateway offers https only.</summary>
public enum ApiProtocol
{
    /// <summary>Plain HTTP: not offered (refused with <c>ApiProtocolNotSupported</c>).</summary>
    Http,
    /// <summary>HTTPS, the only protocol the gateway listens on.</summary>
    Https,
}

/// <summary>An API (the output of Get-/New-/Set-GatewayApi).</summary>
public sealed record GatewayApi
{
    public required string ApiId { get; init; }
    public required string DisplayName { get; init; }

    /// <summary>Az's name for <see cref="DisplayName"/> (PsApiManagementApi.Name), so that Az scripts read <c>$api.Name</c>.</summary>
    public string Name => DisplayName;

    /// <summary>Free text for people.</summary>
    public string? Description { get; init; }

    public required string Path { get; init; }
    public string? BackendId { get; init; }
    public string? ServiceUrl { get; init; }

    /// <summary>The protocols the API is offered over: always https (Az's PsApiManagementApi.Protocols).</summary>
#pragma warning disable CA1822 // an instance property, so that PowerShell shows it and binds it by property name
    public IReadOnlyList<ApiProtocol> Protocols => HttpsOnly;
#pragma warning restore CA1822

    /// <summary>Certificate id of the gateway credential (authentication-certificate), if set by id.</summary>
    public string? GatewayCredentialCertificateId { get; init; }

    /// <summary>Thumbprint of the gateway credential, if set by thumbprint.</summary>
    public string? GatewayCredentialThumbprint { get; init; }

    /// <summary>Which headers carry the client certificate to the backend (<c>None</c>: nothing is forwarded).</summary>
    public ClientCertificateForwarding ForwardClientCertificate { get; init; }

    public string? ConfigurationPath { get; init; }

    private static readonly IReadOnlyList<ApiProtocol> HttpsOnly = [ApiProtocol.Https];
}

/// <summary>A policy document: the global one (ApiId null) or an API's.</summary>
public sealed record GatewayPolicy
{
    /// <summary>The API, or null for the global policy.</summary>
    public string? ApiId { get; init; }

    public Policies.PolicyScope Scope { get; init; }

    /// <summary>The policy XML.</summary>
    public required string Policy { get; init; }

    /// <summary>
    /// The format <see cref="Policy"/> is written in, <c>Xml</c> or <c>RawXml</c> when Get-GatewayPolicy -Format
    /// asked for one; null: as stored. Set-GatewayPolicy -Format binds it by property name, so a piped copy keeps its meaning.
    /// </summary>
    public string? Format { get; init; }

    public string? ConfigurationPath { get; init; }

    /// <summary>
    /// The XML, as Get-AzApiManagementPolicy returns it (a string), so that <c>"$policy"</c>, <c>-like</c>,
    /// <c>-match</c> and a <c>[string]</c> parameter see the document.
    /// </summary>
    public override string ToString() => Policy;
}

/// <summary>A hostname the gateway listens on.</summary>
public sealed record GatewayHostname
{
    public required string HostName { get; init; }
    public int Port { get; init; }
    public required string ListenAddress { get; init; }
    public required string CertificateId { get; init; }
    public bool NegotiateClientCertificate { get; init; }
    public bool RequireClientCertificate { get; init; }

    /// <summary>Protocols and cipher suites offered (Intermediate unless set).</summary>
    public TlsProfile TlsProfile { get; init; }

    /// <summary>For the custom profile: the IANA names of the suites offered; empty otherwise.</summary>
    public IReadOnlyList<string> CipherSuites { get; init; } = [];

    public string? ConfigurationPath { get; init; }
}

/// <summary>One connection or request limit of the gateway (the output of Get-/Set-GatewayLimit).</summary>
public sealed record GatewayLimit
{
    /// <summary>The limit's name: the Set-GatewayLimit parameter, and the property in the file's <c>service.limits</c> (camelCase).</summary>
    public required string Name { get; init; }

    /// <summary>The value in force: the configured one, else the default.</summary>
    public double Value { get; init; }

    /// <summary>This version's default.</summary>
    public double Default { get; init; }

    /// <summary><c>s</c>, <c>bytes</c>, <c>bytes/s</c> or what is counted.</summary>
    public required string Unit { get; init; }

    /// <summary>Whether the configuration leaves the limit at its default.</summary>
    public bool IsDefault { get; init; }

    /// <summary>Whether a running gateway applies a change only after a restart (Stop-Gateway, Start-Gateway).</summary>
    public bool RequiresRestart { get; init; }

    /// <summary>What the limit protects against.</summary>
    public required string Description { get; init; }

    public string? ConfigurationPath { get; init; }
}

/// <summary>How the gateway checks revocation (the output of Get-/Set-GatewayRevocation).</summary>
public sealed record GatewayRevocation
{
    /// <summary>Online (CRL files first, then the certificate's CRL or OCSP server), Offline (CRL files only) or NoCheck.</summary>
    public RevocationMode Mode { get; init; }

    /// <summary>The folder of CRL files the gateway watches, or null.</summary>
    public string? CrlFolder { get; init; }

    /// <summary>Whether the CRL folder exists now (null without one).</summary>
    public bool? CrlFolderExists { get; init; }

    /// <summary>The .crl and .pem files in the CRL folder now (null without one, or when it cannot be read).</summary>
    public int? CrlFileCount { get; init; }

    public string? ConfigurationPath { get; init; }
}
