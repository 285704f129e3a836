using System.Text.RegularExpressions;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Management;

/// <summary>What kind of thing refers to a certificate.</summary>
public enum ReferrerType
{
    /// <summary>A hostname's server certificate.</summary>
    Hostname,
    /// <summary>An API's policy.</summary>
    Api,
    /// <summary>A backend's credentials.</summary>
    Backend,
    /// <summary>The global policy.</summary>
    GlobalPolicy,
}

/// <summary>How a certificate is used where it is referred to.</summary>
public enum CertificateUsage
{
    /// <summary>Server certificate of a hostname.</summary>
    ServerCertificate,
    /// <summary><c>authentication-certificate</c> in a policy: presented to the backend.</summary>
    GatewayCredential,
    /// <summary>A backend's credential certificate.</summary>
    BackendCredential,
    /// <summary>A <c>validate-client-certificate</c> identity's certificate-id.</summary>
    ClientCertificateIdentity,
    /// <summary>A <c>validate-client-certificate</c> identity's issuer-certificate-id.</summary>
    IssuerIdentity,
}

/// <summary>One place that uses a certificate.</summary>
public sealed record CertificateReference
{
    /// <summary>The certificate referred to.</summary>
    public required string CertificateId { get; init; }

    public required ReferrerType ReferrerType { get; init; }

    /// <summary>Hostname, API id or backend id (empty for the global policy).</summary>
    public required string ReferrerId { get; init; }

    public required CertificateUsage Usage { get; init; }

    /// <summary>True when the reference is by thumbprint: it does not follow a replacement of the certificate.</summary>
    public bool ByThumbprint { get; init; }

    /// <summary>Path of the configuration file.</summary>
    public string? ConfigurationPath { get; init; }

    /// <summary>"API 'orders' (gateway credential)", as in messages.</summary>
    public string Describe()
    {
        var who = ReferrerType switch
        {
            ReferrerType.Hostname => $"hostname '{ReferrerId}'",
            ReferrerType.Api => $"API '{ReferrerId}'",
            ReferrerType.Backend => $"backend '{ReferrerId}'",
            _ => "the global policy",
        };
        var what = Usage switch
        {
            CertificateUsage.ServerCertificate => "server certificate",
            CertificateUsage.GatewayCredential => "gateway credential",
            CertificateUsage.BackendCredential => "credential certificate",
            CertificateUsage.ClientCertificateIdentity => "validate-client-certificate identity",
            _ => "validate-client-certificate issuer",
        };
        return $"{who} ({what}{(ByThumbprint ? ", by thumbprint" : string.Empty)})";
    }
}

/// <summary>
/// Every certificate reference in a configuration, found in one pass (policies parsed once), so that "is it in
/// use", "what uses it" and "remove unless used" stay fast with thousands of certificates.
/// </summary>
internal sealed partial class ReferenceIndex
{
    private readonly Dictionary<string, List<CertificateReference>> _byId = new(Ids.Comparer);
    private readonly Dictionary<string, List<CertificateReference>> _byThumbprint = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<string>> _backendUsers = new(Ids.Comparer);

    /// <summary>Indexes <paramref name="configuration"/>.</summary>
    public ReferenceIndex(GatewayConfiguration configuration, string? configurationPath = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ConfigurationPath = configurationPath;
        foreach (var host in configuration.Service.Hostnames)
            AddId(host.CertificateId, ReferrerType.Hostname, host.HostName, CertificateUsage.ServerCertificate);
        foreach (var (backendId, backend) in configuration.Backends)
        {
            // A positive pattern with a block rather than "is not ... continue": the same logic, and a form whose
            // mutants compile (removing the continue would leave the variable unassigned), so Stryker can test it.
            if (backend.Credentials is { } credentials)
            {
                foreach (var id in credentials.CertificateIds)
                    AddId(id, ReferrerType.Backend, backendId, CertificateUsage.BackendCredential);
                foreach (var thumbprint in credentials.CertificateThumbprints)
                    AddThumbprint(thumbprint, ReferrerType.Backend, backendId, CertificateUsage.BackendCredential);
            }
        }
        IndexPolicy(configuration.Policy, PolicyScope.Global, ReferrerType.GlobalPolicy, string.Empty);
        foreach (var (apiId, api) in configuration.Apis)
        {
            if (api.BackendId is { } b)
                AddBackendUser(b, $"API '{apiId}'");
            IndexPolicy(api.Policy, PolicyScope.Api, ReferrerType.Api, apiId);
        }
    }

    public string? ConfigurationPath { get; }

    /// <summary>References to the certificate <paramref name="id"/> with <paramref name="thumbprint"/>: by id, and by thumbprint.</summary>
    public IReadOnlyList<CertificateReference> For(string id, string? thumbprint)
    {
        var result = new List<CertificateReference>();
        if (_byId.TryGetValue(id, out var byId))
            result.AddRange(byId.Select(r => r with { CertificateId = id }));
        if (thumbprint is not null && _byThumbprint.TryGetValue(thumbprint, out var byThumbprint))
            result.AddRange(byThumbprint.Select(r => r with { CertificateId = id }));
        return result;
    }

    /// <summary>Who uses the backend <paramref name="backendId"/>: "API 'orders'", "the global policy (set-backend-service)".</summary>
    public IReadOnlyList<string> BackendUsers(string backendId) =>
        _backendUsers.TryGetValue(backendId, out var users) ? users : [];

    private void IndexPolicy(string text, PolicyScope scope, ReferrerType type, string owner)
    {
        var document = PolicyDocument.Parse(text, scope).Document;
        var who = type == ReferrerType.Api ? $"API '{owner}' (set-backend-service)" : "the global policy (set-backend-service)";
        if (document is null)
        {
            // A policy that does not parse (edited by hand) still must not lose its references: read them from the text.
            foreach (Match m in ReferencePattern().Matches(text))
            {
                var attribute = m.Groups["attr"].Value;
                var value = m.Groups["value"].Value;
                switch (attribute)
                {
                    case "certificate-id":
                        AddId(value, type, owner, CertificateUsage.GatewayCredential);
                        break;
                    case "issuer-certificate-id":
                        AddId(value, type, owner, CertificateUsage.IssuerIdentity);
                        break;
                    case "thumbprint":
                        AddThumbprint(value, type, owner, CertificateUsage.GatewayCredential);
                        break;
                    case "backend-id":
                        AddBackendUser(value, who);
                        break;
                }
            }
            return;
        }
        foreach (var node in document.Descendants())
        {
            switch (node)
            {
                case AuthenticationCertificatePolicy { CertificateId.Literal: { } id }:
                    AddId(id, type, owner, CertificateUsage.GatewayCredential);
                    break;
                case AuthenticationCertificatePolicy { Thumbprint.Literal: { } thumbprint }:
                    AddThumbprint(thumbprint, type, owner, CertificateUsage.GatewayCredential);
                    break;
                case ValidateClientCertificatePolicy v:
                    foreach (var identity in v.Identities)
                    {
                        if (identity.CertificateId is { } cid)
                            AddId(cid, type, owner, CertificateUsage.ClientCertificateIdentity);
                        if (identity.IssuerCertificateId is { } iid)
                            AddId(iid, type, owner, CertificateUsage.IssuerIdentity);
                    }
                    break;
                case SetBackendServicePolicy { BackendId.Literal: { } backend }:
                    AddBackendUser(backend, who);
                    break;
            }
        }
    }

    private void AddId(string id, ReferrerType type, string owner, CertificateUsage usage) =>
        Add(_byId, id, new CertificateReference { CertificateId = id, ReferrerType = type, ReferrerId = owner, Usage = usage, ConfigurationPath = ConfigurationPath });

    private void AddThumbprint(string thumbprint, ReferrerType type, string owner, CertificateUsage usage)
    {
        var normalized = Certificates.CertificateMetadata.NormalizeThumbprint(thumbprint);
        Add(_byThumbprint, normalized, new CertificateReference { CertificateId = normalized, ReferrerType = type, ReferrerId = owner, Usage = usage, ByThumbprint = true, ConfigurationPath = ConfigurationPath });
    }

    private void AddBackendUser(string backendId, string who)
    {
        if (!_backendUsers.TryGetValue(backendId, out var list))
            _backendUsers[backendId] = list = [];
        if (!list.Contains(who))
            list.Add(who);
    }

    private static void Add(Dictionary<string, List<CertificateReference>> map, string key, CertificateReference reference)
    {
        if (!map.TryGetValue(key, out var list))
            map[key] = list = [];
        if (!list.Contains(reference))
            list.Add(reference);
    }

    // Linear; exempt from the default timeout the gateway process sets for policy expressions (REGEX_DEFAULT_MATCH_TIMEOUT).
    [GeneratedRegex("(?<attr>issuer-certificate-id|certificate-id|thumbprint|backend-id)\\s*=\\s*[\"'](?<value>[^\"'@]+)[\"']", RegexOptions.CultureInvariant, Timeout.Infinite)]
    private static partial Regex ReferencePattern();
}
