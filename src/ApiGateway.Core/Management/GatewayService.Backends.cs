using System.Collections.Immutable;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Management;

/// <summary>What New-/Set-GatewayBackend give: null means "not given" (New: the default; Set: unchanged).</summary>
internal sealed record BackendDefinition
{
    public string? BackendId { get; init; }
    public string? Url { get; init; }
    public BackendProtocol? Protocol { get; init; }

    /// <summary>Empty string clears it on Set.</summary>
    public string? Title { get; init; }

    /// <summary>Empty string clears it on Set.</summary>
    public string? Description { get; init; }

    public bool? SkipCertificateChainValidation { get; init; }
    public bool? SkipCertificateNameValidation { get; init; }
    public GatewayBackendCredential? Credentials { get; init; }

    /// <summary>Set only: remove the backend's credentials.</summary>
    public bool RemoveCredentials { get; init; }
}

internal sealed partial class GatewayService
{
    private const string ListBackends = "Get-GatewayBackend";

    /// <summary>Creates a backend. The id defaults to one made from the URL's host.</summary>
    public GatewayBackend NewBackend(BackendDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        RequireValidId("Backend", definition.BackendId, "backend id");
        var url = RequireUrl(definition.Url, definition.BackendId ?? "new");
        var id = definition.BackendId ?? string.Empty;
        BackendEntry entry = null!;
        GatewayConfiguration configuration = null!;
        Change("Backend", before =>
        {
            configuration = before;
            if (definition.BackendId is not null && before.Backends.ContainsKey(definition.BackendId))
            {
                throw new GatewayException("Backend", "Exists", GatewayErrorCategory.AlreadyExists,
                    $"Backend '{definition.BackendId}' already exists. Choose another id, or change it with Set-GatewayBackend -BackendId {definition.BackendId}.", definition.BackendId);
            }
            id = definition.BackendId ?? Ids.Generate(new Uri(url).Host, "backend", before.Backends.ContainsKey);
            entry = new BackendEntry
            {
                Url = url,
                Protocol = definition.Protocol ?? BackendProtocol.Http,
                Title = Blank(definition.Title),
                Description = Blank(definition.Description),
                Tls = new BackendTls
                {
                    ValidateCertificateChain = !(definition.SkipCertificateChainValidation ?? false),
                    ValidateCertificateName = !(definition.SkipCertificateNameValidation ?? false),
                },
                Credentials = definition.Credentials is { } c ? ToCredentials(before, id, c) : null,
            };
            return before with { Backends = before.Backends.Add(id, entry) };
        });
        return ToOutput(id, entry, configuration);
    }

    /// <summary>Backends whose id matches <paramref name="backendId"/> (wildcards allowed; null: all).</summary>
    public IReadOnlyList<GatewayBackend> GetBackends(string? backendId = null)
    {
        var configuration = Read();
        var result = Match(configuration.Backends, backendId).Select(p => ToOutput(p.Key, p.Value, configuration)).ToList();
        RequireFound(result.Count, backendId, "Backend", "Backend", ListBackends);
        return result;
    }

    /// <summary>
    /// Changes what <paramref name="definition"/> gives of backend <paramref name="backendId"/>. The two TLS
    /// switches are independent: setting one never touches the other.
    /// </summary>
    public GatewayBackend SetBackend(string backendId, BackendDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var url = definition.Url is null ? null : RequireUrl(definition.Url, backendId);
        var id = backendId;
        BackendEntry entry = null!;
        GatewayConfiguration configuration = null!;
        Change("Backend", before =>
        {
            configuration = before;
            (id, var old) = Existing(before.Backends, backendId, "Backend", "Backend", ListBackends);
            entry = old with
            {
                Url = url ?? old.Url,
                Protocol = definition.Protocol ?? old.Protocol,
                Title = definition.Title is null ? old.Title : Blank(definition.Title),
                Description = definition.Description is null ? old.Description : Blank(definition.Description),
                Tls = old.Tls with
                {
                    ValidateCertificateChain = definition.SkipCertificateChainValidation is { } skipChain ? !skipChain : old.Tls.ValidateCertificateChain,
                    ValidateCertificateName = definition.SkipCertificateNameValidation is { } skipName ? !skipName : old.Tls.ValidateCertificateName,
                },
                Credentials = definition.RemoveCredentials ? null
                    : definition.Credentials is { } c ? ToCredentials(before, id, c)
                    : old.Credentials,
            };
            return before with { Backends = before.Backends.SetItem(id, entry) };
        });
        return ToOutput(id, entry, configuration);
    }

    /// <summary>Removes a backend; refused (<c>BackendInUse</c>) while an API or a policy uses it.</summary>
    public GatewayBackend RemoveBackend(string backendId)
    {
        GatewayBackend removed = null!;
        Change("Backend", before =>
        {
            var (id, entry) = Existing(before.Backends, backendId, "Backend", "Backend", ListBackends);
            var users = new ReferenceIndex(before, ConfigurationPath).BackendUsers(id);
            if (users.Count > 0)
            {
                var firstApi = before.Apis.FirstOrDefault(a => a.Value.BackendId is { } b && Ids.Comparer.Equals(b, id)).Key;
                var example = firstApi is not null ? $" e.g. Set-GatewayApi -ApiId {firstApi} -BackendId <other>," : string.Empty;
                throw new GatewayException("Backend", "InUse", GatewayErrorCategory.InUse,
                    $"Backend '{id}' is used by {JoinAnd(users)}. Point {(users.Count == 1 ? "it" : "them")} at another backend first,{example} then remove it.", id)
                { Details = users };
            }
            removed = ToOutput(id, entry, before);
            return before with { Backends = before.Backends.Remove(id) };
        });
        return removed;
    }

    private static string RequireUrl(string? url, string backendId)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            throw new GatewayException("Backend", "InvalidUrl", GatewayErrorCategory.InvalidArgument,
                $"Backend '{backendId}' needs a URL: give -Url with an absolute http or https URL, e.g. https://contoso.com/myapi.", backendId);
        }
        if (!ConfigurationValidator.IsHttpUrl(url))
        {
            var hint = Uri.TryCreate(url, UriKind.Absolute, out var u) && u.UserInfo.Length > 0
                ? " Do not put credentials in the URL; use -Credential (New-GatewayBackendCredential)."
                : " For example https://contoso.com/myapi.";
            throw new GatewayException("Backend", "InvalidUrl", GatewayErrorCategory.InvalidArgument,
                $"Backend '{backendId}' must have an absolute https or http URL, not '{url}'.{hint}", url);
        }
        return url.Trim();
    }

    private BackendCredentials ToCredentials(GatewayConfiguration configuration, string backendId, GatewayBackendCredential input)
    {
        foreach (var certificateId in input.CertificateIds)
        {
            if (!configuration.Certificates.TryGetValue(certificateId, out var cert))
            {
                throw new GatewayException("Backend", "CertificateNotFound", GatewayErrorCategory.NotFound,
                    $"Backend '{backendId}' credentials name certificate '{certificateId}', which does not exist. Add it with Add-GatewayCertificate first.", certificateId);
            }
            if (!cert.HasPrivateKey)
            {
                throw new GatewayException("Backend", "CertificateNoPrivateKey", GatewayErrorCategory.InvalidArgument,
                    $"Backend '{backendId}' would present certificate '{certificateId}', which has no private key. Replace it with one that has (Set-GatewayCertificate -CertificateId {certificateId} -PfxFilePath ...).", certificateId);
            }
        }
        var thumbprints = NormalizeThumbprints(input.CertificateThumbprints);
        foreach (var thumbprint in thumbprints)
        {
            if (!configuration.Certificates.Values.Any(c => c.HasPrivateKey && string.Equals(c.Thumbprint, thumbprint, StringComparison.OrdinalIgnoreCase)))
            {
                throw new GatewayException("Backend", "CertificateNotFound", GatewayErrorCategory.NotFound,
                    $"Backend '{backendId}' credentials name thumbprint {thumbprint}, which is not an uploaded certificate with a private key. Add it with Add-GatewayCertificate first.", thumbprint);
            }
        }
        BackendAuthorization? authorization = null;
        if (!string.IsNullOrWhiteSpace(input.AuthorizationHeaderScheme))
        {
            if (!IsToken(input.AuthorizationHeaderScheme))
            {
                throw new GatewayException("Backend", "InvalidCredential", GatewayErrorCategory.InvalidArgument,
                    $"'{input.AuthorizationHeaderScheme}' is not an authorization scheme (a single word such as Basic or Bearer).", input.AuthorizationHeaderScheme);
            }
            if (input.AuthorizationHeaderParameter is not { Length: > 0 } && input.StoredParameterSecret is { } stored && !CertificateStore.HasSecret(stored))
            {
                throw new GatewayException("Backend", "InvalidCredential", GatewayErrorCategory.InvalidArgument,
                    $"The credential's stored authorization parameter belongs to another configuration. Give it again with -AuthorizationHeaderParameter.", backendId);
            }
            var secret = input.AuthorizationHeaderParameter is { Length: > 0 } parameter ? CertificateStore.SaveSecret(parameter) : input.StoredParameterSecret;
            authorization = new BackendAuthorization { Scheme = input.AuthorizationHeaderScheme.Trim(), ParameterSecret = secret };
        }
        else if (input.AuthorizationHeaderParameter is { Length: > 0 })
        {
            throw new GatewayException("Backend", "InvalidCredential", GatewayErrorCategory.InvalidArgument,
                "An authorization parameter needs a scheme: give -AuthorizationHeaderScheme (e.g. Basic or Bearer) too.", backendId);
        }
        return new BackendCredentials
        {
            CertificateIds = [.. input.CertificateIds.Select(id => configuration.Certificates.Keys.First(k => Ids.Comparer.Equals(k, id)))],
            CertificateThumbprints = thumbprints,
            Header = ToMultiMap(input.Header, "header"),
            Query = ToMultiMap(input.Query, "query parameter"),
            Authorization = authorization,
        };
    }

    private static ImmutableSortedDictionary<string, ImmutableArray<string>> ToMultiMap(IReadOnlyDictionary<string, IReadOnlyList<string>> input, string what)
    {
        var builder = ImmutableSortedDictionary.CreateBuilder<string, ImmutableArray<string>>(Ids.Comparer);
        foreach (var (name, values) in input)
        {
            if (!IsToken(name))
            {
                throw new GatewayException("Backend", "InvalidCredential", GatewayErrorCategory.InvalidArgument,
                    $"'{name}' is not a valid {what} name (letters, digits and !#$%&'*+-.^_`|~ only).", name);
            }
            if (values.Any(v => v.Contains('\r', StringComparison.Ordinal) || v.Contains('\n', StringComparison.Ordinal)))
            {
                throw new GatewayException("Backend", "InvalidCredential", GatewayErrorCategory.InvalidArgument,
                    $"The value of {what} '{name}' contains a line break, which HTTP does not allow.", name);
            }
            builder[name] = [.. values];
        }
        return builder.ToImmutable();
    }

    private static bool IsToken(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal));

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    /// <summary>The backend as the cmdlets show it; <paramref name="configuration"/> resolves certificate ids to thumbprints.</summary>
    private GatewayBackend ToOutput(string id, BackendEntry entry, GatewayConfiguration configuration) => new()
    {
        BackendId = id,
        Url = entry.Url,
        Protocol = entry.Protocol,
        Title = entry.Title,
        Description = entry.Description,
        SkipCertificateChainValidation = !entry.Tls.ValidateCertificateChain,
        SkipCertificateNameValidation = !entry.Tls.ValidateCertificateName,
        Credentials = entry.Credentials is { } c ? new GatewayBackendCredential
        {
            CertificateIds = c.CertificateIds,
            CertificateThumbprints = c.CertificateThumbprints,
            Header = c.Header.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, Ids.Comparer),
            Query = c.Query.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, Ids.Comparer),
            AuthorizationHeaderScheme = c.Authorization?.Scheme,
            HasAuthorizationHeaderParameter = c.Authorization?.ParameterSecret is not null,
            StoredParameterSecret = c.Authorization?.ParameterSecret,
            Certificate = [.. c.CertificateIds
                .Select(certificateId => configuration.Certificates.TryGetValue(certificateId, out var certificate) ? certificate.Thumbprint : null)
                .OfType<string>()
                .Concat(c.CertificateThumbprints)
                .Distinct(StringComparer.OrdinalIgnoreCase)],
        } : null,
        ConfigurationPath = ConfigurationPath,
    };
}
