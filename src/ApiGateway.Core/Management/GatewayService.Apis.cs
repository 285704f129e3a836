using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Management;

/// <summary>What New-/Set-GatewayApi give: null means "not given".</summary>
public sealed record ApiDefinition
{
    public string? ApiId { get; init; }
    public string? DisplayName { get; init; }

    /// <summary>URL suffix; empty string is the root.</summary>
    public string? Path { get; init; }

    /// <summary>Absolute backend URL; setting it clears <see cref="BackendId"/>.</summary>
    public string? ServiceUrl { get; init; }

    /// <summary>Backend id; setting it clears <see cref="ServiceUrl"/>.</summary>
    public string? BackendId { get; init; }
}

public sealed partial class GatewayService
{
    private const string ListApis = "Get-GatewayApi";

    /// <summary>Creates an API with the default policy (everything from the global policy through <c>&lt;base /&gt;</c>).</summary>
    public GatewayApi NewApi(ApiDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        RequireValidId("Api", definition.ApiId, "API id");
        if (definition.Path is null)
        {
            throw new GatewayException("Api", "InvalidPath", GatewayErrorCategory.InvalidArgument,
                "An API needs a path (-Path): the URL suffix it is reached under, e.g. 'orders'; '' is the root.", definition.ApiId);
        }
        var path = RequirePath(definition.Path, definition.ApiId ?? "new");
        RequireOneTarget(definition, definition.ApiId ?? path, creating: true);
        string id = definition.ApiId ?? string.Empty;
        ApiEntry entry = null!;
        var change = Change("Api", before =>
        {
            if (definition.ApiId is not null && before.Apis.ContainsKey(definition.ApiId))
            {
                throw new GatewayException("Api", "Exists", GatewayErrorCategory.AlreadyExists,
                    $"API '{definition.ApiId}' already exists. Choose another id, or change it with Set-GatewayApi -ApiId {definition.ApiId}.", definition.ApiId);
            }
            id = definition.ApiId ?? Ids.Generate(definition.DisplayName ?? (path.Length == 0 ? "root" : path), "api", before.Apis.ContainsKey);
            RequireFreePath(before, path, id);
            RequireBackend(before, definition.BackendId, id);
            entry = new ApiEntry
            {
                DisplayName = string.IsNullOrWhiteSpace(definition.DisplayName) ? id : definition.DisplayName.Trim(),
                Path = path,
                BackendId = definition.BackendId is { } b ? before.Backends.Keys.First(k => Ids.Comparer.Equals(k, b)) : null,
                ServiceUrl = definition.ServiceUrl?.Trim(),
            };
            return before with { Apis = before.Apis.Add(id, entry) };
        });
        return ToOutput(id, entry);
    }

    /// <summary>APIs whose id matches <paramref name="apiId"/> (wildcards allowed; null: all).</summary>
    public IReadOnlyList<GatewayApi> GetApis(string? apiId = null)
    {
        var result = Match(Read().Apis, apiId).Select(p => ToOutput(p.Key, p.Value)).ToList();
        RequireFound(result.Count, apiId, "Api", "API", ListApis);
        return result;
    }

    /// <summary>Changes what <paramref name="definition"/> gives of API <paramref name="apiId"/>.</summary>
    public GatewayApi SetApi(string apiId, ApiDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var path = definition.Path is null ? null : RequirePath(definition.Path, apiId);
        RequireOneTarget(definition, apiId, creating: false);
        string id = apiId;
        ApiEntry entry = null!;
        Change("Api", before =>
        {
            (id, var old) = Existing(before.Apis, apiId, "Api", "API", ListApis);
            if (path is not null)
                RequireFreePath(before, path, id);
            RequireBackend(before, definition.BackendId, id);
            entry = old with
            {
                DisplayName = string.IsNullOrWhiteSpace(definition.DisplayName) ? old.DisplayName : definition.DisplayName.Trim(),
                Path = path ?? old.Path,
                BackendId = definition.BackendId is { } b ? before.Backends.Keys.First(k => Ids.Comparer.Equals(k, b))
                    : definition.ServiceUrl is not null ? null : old.BackendId,
                ServiceUrl = definition.ServiceUrl is { } s ? s.Trim()
                    : definition.BackendId is not null ? null : old.ServiceUrl,
            };
            return before with { Apis = before.Apis.SetItem(id, entry) };
        });
        return ToOutput(id, entry);
    }

    /// <summary>Removes an API (its policy goes with it).</summary>
    public GatewayApi RemoveApi(string apiId)
    {
        GatewayApi removed = null!;
        Change("Api", before =>
        {
            var (id, entry) = Existing(before.Apis, apiId, "Api", "API", ListApis);
            removed = ToOutput(id, entry);
            return before with { Apis = before.Apis.Remove(id) };
        });
        return removed;
    }

    /// <summary>
    /// Sets the client certificate API <paramref name="apiId"/> presents to its backend: writes, replaces or (both
    /// null) removes <c>&lt;authentication-certificate certificate-id="..." /&gt;</c> (or <c>thumbprint="..."</c>) in
    /// the API's inbound policy, the rest of the policy unchanged.
    /// </summary>
    public GatewayApi SetGatewayCredential(string apiId, string? certificateId, string? thumbprint)
    {
        if (certificateId is not null && thumbprint is not null)
            throw new ArgumentException("Give a certificate id or a thumbprint, not both.", nameof(thumbprint));
        string id = apiId;
        ApiEntry entry = null!;
        Change("ApiGatewayCredential", before =>
        {
            (id, var old) = Existing(before.Apis, apiId, "Api", "API", ListApis);
            string? value = null;
            string? normalizedThumbprint = null;
            if (certificateId is not null)
            {
                (value, var cert) = Existing(before.Certificates, certificateId, "Certificate", "Certificate", ListCertificates);
                if (!cert.HasPrivateKey)
                    throw NoPrivateKeyForCredential(id, $"certificate '{value}'", value);
            }
            else if (thumbprint is not null)
            {
                normalizedThumbprint = CertificateMetadata.NormalizeThumbprint(thumbprint);
                var match = before.Certificates.FirstOrDefault(p => string.Equals(p.Value.Thumbprint, normalizedThumbprint, StringComparison.OrdinalIgnoreCase));
                if (match.Key is null)
                {
                    throw new GatewayException("Certificate", "NotFound", GatewayErrorCategory.NotFound,
                        $"No uploaded certificate has thumbprint {normalizedThumbprint}. Add it with Add-GatewayCertificate first, or give -CertificateId.", normalizedThumbprint);
                }
                if (!match.Value.HasPrivateKey)
                    throw NoPrivateKeyForCredential(id, $"the certificate with thumbprint {normalizedThumbprint} ('{match.Key}')", match.Key);
            }
            var policy = PolicyEditor.SetAuthenticationCertificate(old.Policy, value, normalizedThumbprint, $"API '{id}'");
            entry = old with { Policy = policy };
            return before with { Apis = before.Apis.SetItem(id, entry) };
        });
        return ToOutput(id, entry);
    }

    private static GatewayException NoPrivateKeyForCredential(string apiId, string what, string certificateId) =>
        new GatewayException("Certificate", "NoPrivateKey", GatewayErrorCategory.InvalidArgument,
            $"API '{apiId}' cannot present {what} to its backend: it has no private key. Replace it with a PFX that holds the key (Set-GatewayCertificate -CertificateId {certificateId} -PfxFilePath ...).",
            certificateId);

    /// <summary>The policy of API <paramref name="apiId"/>, or the global policy when it is null.</summary>
    public GatewayPolicy GetPolicy(string? apiId = null)
    {
        var configuration = Read();
        if (apiId is null)
            return new GatewayPolicy { ApiId = null, Scope = PolicyScope.Global, Policy = configuration.Policy, ConfigurationPath = ConfigurationPath };
        var (id, api) = Existing(configuration.Apis, apiId, "Api", "API", ListApis);
        return new GatewayPolicy { ApiId = id, Scope = PolicyScope.Api, Policy = api.Policy, ConfigurationPath = ConfigurationPath };
    }

    /// <summary>
    /// Replaces the policy of API <paramref name="apiId"/> (null: the global policy). The XML must be well-formed,
    /// use known sections and elements, and refer to certificates and backends that exist; every error is reported
    /// with its line and column, and the previous policy stays as it was.
    /// </summary>
    public GatewayPolicy SetPolicy(string? apiId, string policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var text = policy.ReplaceLineEndings("\n").Trim('\n', '\r', ' ', '\t', '\uFEFF');
        var scope = apiId is null ? PolicyScope.Global : PolicyScope.Api;
        string? id = apiId;
        Change("Policy", before =>
        {
            if (apiId is null)
            {
                PolicyDocument.ParseOrThrow(text, scope, "the global policy");
                return before with { Policy = text };
            }
            (id, var old) = Existing(before.Apis, apiId, "Api", "API", ListApis);
            PolicyDocument.ParseOrThrow(text, scope, $"API '{id}'");
            return before with { Apis = before.Apis.SetItem(id, old with { Policy = text }) };
        });
        return new GatewayPolicy { ApiId = id, Scope = scope, Policy = text, ConfigurationPath = ConfigurationPath };
    }

    private static string RequirePath(string path, string apiId)
    {
        var normalized = ApiPaths.Normalize(path);
        if (!ApiPaths.IsValid(normalized))
        {
            throw new GatewayException("Api", "InvalidPath", GatewayErrorCategory.InvalidArgument,
                $"API '{apiId}' cannot have the path '{path}': {ApiPaths.Rule}. For example 'orders' or 'billing/v2'.", path);
        }
        return normalized;
    }

    private static void RequireOneTarget(ApiDefinition definition, string apiId, bool creating)
    {
        if (definition.ServiceUrl is not null && definition.BackendId is not null)
        {
            throw new GatewayException("Api", "InvalidTarget", GatewayErrorCategory.InvalidArgument,
                $"API '{apiId}' forwards either to a service URL or to a backend: give -ServiceUrl or -BackendId, not both.", apiId);
        }
        if (creating && definition.ServiceUrl is null && definition.BackendId is null)
        {
            throw new GatewayException("Api", "InvalidTarget", GatewayErrorCategory.InvalidArgument,
                $"API '{apiId}' needs somewhere to forward to: give -ServiceUrl <absolute URL> or -BackendId <backend>.", apiId);
        }
        if (definition.ServiceUrl is { } url && !ConfigurationValidator.IsHttpUrl(url))
        {
            throw new GatewayException("Api", "InvalidServiceUrl", GatewayErrorCategory.InvalidArgument,
                $"API '{apiId}' must have an absolute https or http service URL, not '{url}'. For example https://contoso.com/orders.", url);
        }
    }

    private static void RequireFreePath(GatewayConfiguration configuration, string path, string apiId)
    {
        var other = configuration.Apis.FirstOrDefault(p => !Ids.Comparer.Equals(p.Key, apiId) && string.Equals(p.Value.Path, path, StringComparison.OrdinalIgnoreCase));
        if (other.Key is not null)
        {
            throw new GatewayException("Api", "PathInUse", GatewayErrorCategory.AlreadyExists,
                $"API '{other.Key}' already has the path '{other.Value.Path}'. Give API '{apiId}' another -Path; paths are unique (without regard to case).", path);
        }
    }

    private static void RequireBackend(GatewayConfiguration configuration, string? backendId, string apiId)
    {
        if (backendId is not null && !configuration.Backends.ContainsKey(backendId))
        {
            throw new GatewayException("Backend", "NotFound", GatewayErrorCategory.NotFound,
                $"API '{apiId}' cannot use backend '{backendId}': it does not exist. Create it with New-GatewayBackend -BackendId {backendId} -Url <url>, or see {ListBackends}.", backendId);
        }
    }

    private GatewayApi ToOutput(string id, ApiEntry entry)
    {
        string? credentialId = null, credentialThumbprint = null;
        if (PolicyDocument.Parse(entry.Policy, PolicyScope.Api).Document is { } doc
            && doc[PolicySectionKind.Inbound]?.Policies.OfType<AuthenticationCertificatePolicy>().FirstOrDefault() is { } credential)
        {
            credentialId = credential.CertificateId?.ToString();
            credentialThumbprint = credential.Thumbprint?.ToString();
        }
        return new GatewayApi
        {
            ApiId = id,
            DisplayName = entry.DisplayName,
            Path = entry.Path,
            BackendId = entry.BackendId,
            ServiceUrl = entry.ServiceUrl,
            GatewayCredentialCertificateId = credentialId,
            GatewayCredentialThumbprint = credentialThumbprint,
            ConfigurationPath = ConfigurationPath,
        };
    }
}
