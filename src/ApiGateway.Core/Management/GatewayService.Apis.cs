using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Management;

/// <summary>What New-/Set-GatewayApi give: null means "not given".</summary>
internal sealed record ApiDefinition
{
    public string? ApiId { get; init; }
    public string? DisplayName { get; init; }

    /// <summary>Free text for people; on Set an empty string clears it.</summary>
    public string? Description { get; init; }

    /// <summary>URL suffix; empty string is the root.</summary>
    public string? Path { get; init; }

    /// <summary>Absolute backend URL; setting it clears <see cref="BackendId"/>.</summary>
    public string? ServiceUrl { get; init; }

    /// <summary>Backend id; setting it clears <see cref="ServiceUrl"/>.</summary>
    public string? BackendId { get; init; }

    /// <summary>
    /// The protocols the API is offered over (Az's <c>-Protocols</c>). Only <see cref="ApiProtocol.Https"/> is
    /// possible; null: not given.
    /// </summary>
    public IReadOnlyList<ApiProtocol>? Protocols { get; init; }

    /// <summary>Which headers carry the client certificate to the backend; null: not given (New: none; Set: unchanged).</summary>
    public ClientCertificateForwarding? ForwardClientCertificate { get; init; }
}

internal sealed partial class GatewayService
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
        RequireHttpsOnly(definition.Protocols, definition.ApiId ?? path);
        var id = definition.ApiId ?? string.Empty;
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
                Description = Blank(definition.Description),
                Path = path,
                BackendId = definition.BackendId is { } b ? before.Backends.Keys.First(k => Ids.Comparer.Equals(k, b)) : null,
                ServiceUrl = definition.ServiceUrl?.Trim(),
                ForwardClientCertificate = RequireForwarding(definition.ForwardClientCertificate, id) ?? ClientCertificateForwarding.None,
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

    /// <summary>
    /// APIs whose display name matches <paramref name="displayName"/> (wildcards allowed, without regard to case), in
    /// id order, as Get-AzApiManagementApi -Name. A display name is not an identity (several APIs may share one), so
    /// this is a search: no match is an empty list, as in Az, not an error as for an id.
    /// </summary>
    public IReadOnlyList<GatewayApi> GetApisByDisplayName(string displayName)
    {
        ArgumentException.ThrowIfNullOrEmpty(displayName);
        var wildcard = new Wildcard(displayName);
        return Read().Apis.Where(p => wildcard.IsMatch(p.Value.DisplayName)).Select(p => ToOutput(p.Key, p.Value)).ToList();
    }

    /// <summary>Changes what <paramref name="definition"/> gives of API <paramref name="apiId"/>.</summary>
    public GatewayApi SetApi(string apiId, ApiDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var path = definition.Path is null ? null : RequirePath(definition.Path, apiId);
        RequireOneTarget(definition, apiId, creating: false);
        RequireHttpsOnly(definition.Protocols, apiId);
        var id = apiId;
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
                Description = definition.Description is null ? old.Description : Blank(definition.Description),
                Path = path ?? old.Path,
                BackendId = definition.BackendId is { } b ? before.Backends.Keys.First(k => Ids.Comparer.Equals(k, b))
                    : definition.ServiceUrl is not null ? null : old.BackendId,
                ServiceUrl = definition.ServiceUrl is { } s ? s.Trim()
                    : definition.BackendId is not null ? null : old.ServiceUrl,
                ForwardClientCertificate = RequireForwarding(definition.ForwardClientCertificate, id) ?? old.ForwardClientCertificate,
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
        var id = apiId;
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
            // Presenting nothing from an API without a policy of its own changes nothing: it stays without one.
            if (old.OwnPolicy is null && value is null && normalizedThumbprint is null)
            {
                entry = old;
                return before;
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

    /// <summary>
    /// The policy of API <paramref name="apiId"/>, or the global policy when it is null, in <paramref name="format"/>
    /// (null: as written). Null when it has none (a new API, or after <see cref="RemovePolicy"/>), as APIM answers:
    /// the gateway then applies the default (<see cref="PolicyTemplates"/>).
    /// </summary>
    public GatewayPolicy? GetPolicy(string? apiId = null, PolicyFormat? format = null)
    {
        var configuration = Read();
        if (apiId is null)
            return configuration.OwnPolicy is { } global ? PolicyOutput(null, global, format) : null;
        var (id, api) = Existing(configuration.Apis, apiId, "Api", "API", ListApis);
        return api.OwnPolicy is { } own ? PolicyOutput(id, own, format) : null;
    }

    /// <summary>
    /// Replaces the policy of API <paramref name="apiId"/> (null: the global policy) with <paramref name="policy"/>
    /// written in <paramref name="format"/> (null: raw or escaped expressions, as the author wrote them; see
    /// <see cref="PolicyFormats.Read"/>). The XML must be well-formed, use known sections and elements, and refer to
    /// certificates and backends that exist; every error is reported with its line and column, and the previous
    /// policy stays as it was.
    /// </summary>
    public GatewayPolicy SetPolicy(string? apiId, string policy, PolicyFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var text = PolicyFormats.Read(policy.ReplaceLineEndings("\n").Trim('\n', '\r', ' ', '\t', '\uFEFF'), format);
        var scope = apiId is null ? PolicyScope.Global : PolicyScope.Api;
        var id = apiId;
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
        return PolicyOutput(id, text, null);
    }

    /// <summary>
    /// Removes the policy of API <paramref name="apiId"/> (null: the global policy), as Remove-AzApiManagementPolicy:
    /// the gateway applies the default from then on (an API inherits everything through <c>&lt;base /&gt;</c>; the
    /// global default forwards every request) and <see cref="GetPolicy"/> returns null. The gateway credential that
    /// <see cref="SetGatewayCredential"/> wrote into the policy goes with it, with a warning that says how to set it
    /// again. The value is the policy as it was, or null when there was none (nothing is written then).
    /// </summary>
    public OperationResult<GatewayPolicy?> RemovePolicy(string? apiId = null)
    {
        GatewayPolicy? removed = null;
        Change("Policy", before =>
        {
            removed = null;
            if (apiId is null)
            {
                if (before.OwnPolicy is not { } global)
                    return before;
                removed = PolicyOutput(null, global, null);
                return before with { OwnPolicy = null };
            }
            var (id, old) = Existing(before.Apis, apiId, "Api", "API", ListApis);
            if (old.OwnPolicy is not { } own)
                return before;
            removed = PolicyOutput(id, own, null);
            return before with { Apis = before.Apis.SetItem(id, old with { OwnPolicy = null }) };
        });
        var warnings = new List<string>();
        if (removed is not null && GatewayCredentialOf(removed.Policy, removed.Scope) is var (byId, byThumbprint) && (byId ?? byThumbprint) is not null)
        {
            var owner = removed.ApiId is null ? "The global policy" : $"API '{removed.ApiId}'";
            var again = removed.ApiId is null
                ? "Put <authentication-certificate> back into the global policy with Set-GatewayPolicy, or set a credential per API with Set-ApiGatewayCredential."
                : byId is not null
                    ? $"Set it again with Set-ApiGatewayCredential -ApiId {removed.ApiId} -CertificateId {byId}."
                    : $"Set it again with Set-ApiGatewayCredential -ApiId {removed.ApiId} -CertificateThumbprint {byThumbprint}.";
            warnings.Add($"{owner} no longer presents {(byId is not null ? $"certificate '{byId}'" : $"the certificate with thumbprint {byThumbprint}")} to the backend: its gateway credential (<authentication-certificate>) was part of the removed policy. {again}");
        }
        return new OperationResult<GatewayPolicy?>(removed, warnings);
    }

    private GatewayPolicy PolicyOutput(string? apiId, string policy, PolicyFormat? format) => new()
    {
        ApiId = apiId,
        Scope = apiId is null ? PolicyScope.Global : PolicyScope.Api,
        Policy = PolicyFormats.Render(policy, format),
        Format = format?.ToString(),
        ConfigurationPath = ConfigurationPath,
    };

    /// <summary>The inbound section's top-level <c>&lt;authentication-certificate&gt;</c>: its certificate id or thumbprint.</summary>
    private static (string? CertificateId, string? Thumbprint) GatewayCredentialOf(string policy, PolicyScope scope)
    {
        if (PolicyDocument.Parse(policy, scope).Document is { } doc
            && doc[PolicySectionKind.Inbound]?.Policies.OfType<AuthenticationCertificatePolicy>().FirstOrDefault() is { } credential)
        {
            return (credential.CertificateId?.ToString(), credential.Thumbprint?.ToString());
        }
        return (null, null);
    }

    private static void RequireHttpsOnly(IReadOnlyList<ApiProtocol>? protocols, string apiId)
    {
        if (protocols is null || (protocols.Count > 0 && protocols.All(p => p == ApiProtocol.Https)))
            return;
        var asked = protocols.Count == 0 ? "no protocol" : string.Join(", ", protocols.Distinct().Select(p => p.ToString().ToLowerInvariant()));
        throw new GatewayException("Api", "ProtocolNotSupported", GatewayErrorCategory.InvalidArgument,
            $"API '{apiId}' cannot be offered over {asked}: the gateway serves APIs over https only (it listens on HTTPS hostnames, for mutual TLS). Give -Protocols https, or leave -Protocols out.",
            apiId);
    }

    private static ClientCertificateForwarding? RequireForwarding(ClientCertificateForwarding? forwarding, string apiId)
    {
        const ClientCertificateForwarding known = ClientCertificateForwarding.XArrClientCert | ClientCertificateForwarding.ClientCert;
        if (forwarding is not { } value || (value & ~known) == 0)
            return forwarding;
        throw new GatewayException("Api", "InvalidClientCertificateForwarding", GatewayErrorCategory.InvalidArgument,
            $"API '{apiId}' cannot forward the client certificate as '{value}': give None, XArrClientCert (X-ARR-ClientCert), ClientCert (RFC 9440 Client-Cert and Client-Cert-Chain), or XArrClientCert, ClientCert for both.",
            value.ToString());
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
        var (credentialId, credentialThumbprint) = entry.OwnPolicy is { } own ? GatewayCredentialOf(own, PolicyScope.Api) : (null, null);
        return new GatewayApi
        {
            ApiId = id,
            DisplayName = entry.DisplayName,
            Description = entry.Description,
            Path = entry.Path,
            BackendId = entry.BackendId,
            ServiceUrl = entry.ServiceUrl,
            GatewayCredentialCertificateId = credentialId,
            GatewayCredentialThumbprint = credentialThumbprint,
            ForwardClientCertificate = entry.ForwardClientCertificate,
            ConfigurationPath = ConfigurationPath,
        };
    }
}
