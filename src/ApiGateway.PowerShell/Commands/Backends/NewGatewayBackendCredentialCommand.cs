using System.Collections;
using System.Management.Automation;
using System.Security;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Backends;

/// <summary>
/// <c>New-GatewayBackendCredential</c>, as New-AzApiManagementBackendCredential: what a backend receives from the
/// gateway (client certificates, headers, query parameters, an Authorization header). It only builds the object
/// for <c>New-/Set-GatewayBackend -Credential</c>; nothing is written. The authorization parameter is a
/// SecureString, stored encrypted when the backend is saved.
/// </summary>
[Cmdlet(VerbsCommon.New, "GatewayBackendCredential", DefaultParameterSetName = ParameterSets.CertificateId)]
[OutputType(typeof(GatewayBackendCredential))]
public sealed class NewGatewayBackendCredentialCommand : GatewayCmdlet
{
    /// <summary>Ids of client certificates (with private keys) presented to the backend.</summary>
    [Parameter(ParameterSetName = ParameterSets.CertificateId)]
    [ValidateNotNullOrEmpty]
    public string[]? CertificateId { get; set; }

    /// <summary>Thumbprints of uploaded client certificates (the older APIM form; they do not follow a rotation).</summary>
    [Parameter(ParameterSetName = ParameterSets.CertificateThumbprint)]
    [ValidateNotNullOrEmpty]
    public string[]? CertificateThumbprint { get; set; }

    /// <summary>Headers to add: @{ name = value or values }.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Header { get; set; }

    /// <summary>Query parameters to add: @{ name = value or values }.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Query { get; set; }

    /// <summary>Authorization scheme, e.g. Basic or Bearer.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AuthorizationHeaderScheme { get; set; }

    /// <summary>Authorization parameter (the secret after the scheme).</summary>
    [Parameter]
    [ValidateNotNull]
    public SecureString? AuthorizationHeaderParameter { get; set; }

    protected override void ProcessRecord()
    {
        if (TryInvoke(() => Build(Unwrap), out var credential))
            WriteObject(credential);
    }

    private static object? Unwrap(object? value) => value is PSObject wrapped ? wrapped.BaseObject : value;

    /// <summary>The credential object (plain C#; <paramref name="unwrap"/> removes PowerShell wrappers from hashtable values).</summary>
    internal GatewayBackendCredential Build(Func<object?, object?> unwrap)
    {
        if (AuthorizationHeaderParameter is not null && string.IsNullOrWhiteSpace(AuthorizationHeaderScheme))
            throw new ArgumentException("An authorization parameter needs a scheme: give -AuthorizationHeaderScheme (e.g. Basic or Bearer) too.");
        return new GatewayBackendCredential
        {
            CertificateIds = CertificateId ?? [],
            CertificateThumbprints = CertificateThumbprint ?? [],
            // Az's .Certificate; ids can only be resolved to thumbprints once the credential is stored with a backend.
            Certificate = CertificateThumbprint ?? [],
            Header = MultiValueMap.From(Header, unwrap, "header"),
            Query = MultiValueMap.From(Query, unwrap, "query parameter"),
            AuthorizationHeaderScheme = AuthorizationHeaderScheme,
            AuthorizationHeaderParameter = AuthorizationHeaderParameter,
        };
    }
}
