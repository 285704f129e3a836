using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Context;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Runtime;

/// <summary>The outcome of building a snapshot: the snapshot, or every problem found (each a sentence).</summary>
internal sealed class SnapshotBuildResult
{
    public GatewaySnapshot? Snapshot { get; init; }
    public IReadOnlyList<string> Errors { get; init; } = [];
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The revision read, when the file could be read.</summary>
    public long? Revision { get; init; }

    /// <summary>Expressions compiled for this build (the rest came from the cache).</summary>
    public int CompiledNow { get; init; }

    /// <summary>Files whose change should trigger a reload (linked certificates), known even when the build failed.</summary>
    public IReadOnlyList<string> WatchedFiles { get; init; } = [];

    public bool Succeeded => Snapshot is not null;
}

/// <summary>
/// Builds a <see cref="GatewaySnapshot"/> from the configuration file: read → validate → load certificates, CA
/// certificates and secrets → parse and compose policies → compile every expression → build routes, backend targets,
/// invokers and listener TLS settings. Every stage runs even when an earlier one found problems, so one attempt
/// reports all of them (with the API and line); any problem means no snapshot. Needs no server: testable in-process.
/// </summary>
internal sealed class SnapshotBuilder
{
    private const string GlobalOwner = "the global policy";

    private readonly string _configurationPath;
    private readonly GatewayServices _services;
    private readonly ExpressionCache _expressions;
    private readonly List<string> _errors = [];
    private readonly List<string> _warnings = [];
    private readonly Dictionary<string, ServedCertificate> _certificates = new(Ids.Comparer);
    private readonly Dictionary<string, string> _caThumbprints = new(Ids.Comparer);
    private readonly Dictionary<string, BackendTarget> _backends = new(Ids.Comparer);
    private readonly List<string> _watched = [];
    private IReadOnlyDictionary<ExpressionKey, CompiledExpression> _compiled = new Dictionary<ExpressionKey, CompiledExpression>();

    private SnapshotBuilder(string configurationPath, GatewayServices services, ExpressionCache expressions)
    {
        _configurationPath = Path.GetFullPath(configurationPath);
        _services = services;
        _expressions = expressions;
    }

    public static SnapshotBuildResult Build(string configurationPath, GatewayServices services, ExpressionCache expressions) =>
        new SnapshotBuilder(configurationPath, services, expressions).Run();

    private SnapshotBuildResult Run()
    {
        GatewayConfiguration configuration;
        try
        {
            configuration = new ConfigurationStore(_configurationPath).Read();
        }
        catch (GatewayException ex)
        {
            return new SnapshotBuildResult { Errors = [ex.Message] };
        }

        _errors.AddRange(ConfigurationValidator.Validate(configuration));
        var store = new CertificateStore(CertificateStore.DirectoryFor(_configurationPath));
        LoadCertificates(configuration, store);
        var trust = LoadCaCertificates(configuration, store);
        var listeners = BuildListeners(configuration);
        BuildBackends(configuration, store);

        var global = PolicyDocument.Parse(configuration.Policy, PolicyScope.Global).Document;
        var apiDocuments = new Dictionary<string, PolicyDocument?>(Ids.Comparer);
        foreach (var (id, api) in configuration.Apis)
            apiDocuments[id] = PolicyDocument.Parse(api.Policy, PolicyScope.Api).Document;
        var keys = CompileExpressions(global, apiDocuments, out var compiledNow);

        if (_errors.Count > 0 || global is null)
        {
            return new SnapshotBuildResult
            {
                Errors = _errors.Distinct(StringComparer.Ordinal).ToList(),
                Warnings = _warnings,
                Revision = configuration.Revision,
                CompiledNow = compiledNow,
                WatchedFiles = _watched,
            };
        }

        if (configuration.Service.Hostnames.Length == 0)
            _warnings.Add($"'{_configurationPath}' has no hostname, so the gateway listens nowhere. Add one with Set-GatewayHostname -HostName <name> -Port <port> -CertificateId <server certificate>.");
        var invokers = new SnapshotInvokers(_services.Invokers);
        var routes = new List<ApiRoute>();
        var globalNodes = new HashSet<PolicyNode>(global.Descendants(), ReferenceEqualityComparer.Instance);
        foreach (var (id, api) in configuration.Apis)
        {
            var effective = EffectivePolicy.Compose(global, apiDocuments[id]);
            var factory = new StepFactory(this, id, globalNodes);
            var pipeline = new PolicyPipeline(
                factory.Build(effective[PolicySectionKind.Inbound], PolicySectionKind.Inbound, inReturnResponse: false),
                factory.Build(effective[PolicySectionKind.Backend], PolicySectionKind.Backend, inReturnResponse: false),
                factory.Build(effective[PolicySectionKind.Outbound], PolicySectionKind.Outbound, inReturnResponse: false),
                factory.Build(effective[PolicySectionKind.OnError], PolicySectionKind.OnError, inReturnResponse: false));
            var target = api.BackendId is { } backendId && _backends.TryGetValue(backendId, out var backend)
                ? backend
                : api.ServiceUrl is { } url ? new BackendTarget(null, url, new BackendTls(), [], [], [], null) : null;
            if (target is null)
            {
                _errors.Add($"API '{id}' has neither a backend nor a service URL. Give it one with Set-GatewayApi -ApiId {id} -BackendId <backend> (or -ServiceUrl <url>).");
                continue;
            }
            if (!PolicyDocument.Walk(effective[PolicySectionKind.Backend]).OfType<ForwardRequestPolicy>().Any())
                _warnings.Add($"API '{id}' never forwards requests: its composed <backend> section has no <forward-request />, so clients get the response its policies build (or an empty 200).");
            routes.Add(new ApiRoute(id, api, pipeline, target));
            foreach (var follow in PolicyDocument.Walk(effective[PolicySectionKind.Backend]).OfType<ForwardRequestPolicy>().Select(f => f.FollowRedirects).Distinct())
                invokers.Prepare(target, factory.LiteralCredential(effective[PolicySectionKind.Inbound]), follow);
        }
        if (_errors.Count > 0)
        {
            invokers.Release();
            return new SnapshotBuildResult { Errors = _errors, Warnings = _warnings, Revision = configuration.Revision, CompiledNow = compiledNow, WatchedFiles = _watched };
        }

        var snapshot = new GatewaySnapshot(_configurationPath, configuration, _services, new RouteTable(routes), listeners, trust,
            _certificates, _backends, invokers, keys, _watched);
        return new SnapshotBuildResult
        {
            Snapshot = snapshot,
            Warnings = _warnings,
            Revision = configuration.Revision,
            CompiledNow = compiledNow,
            WatchedFiles = _watched,
        };
    }

    // ------------------------------------------------------------------ certificates

    private void LoadCertificates(GatewayConfiguration configuration, CertificateStore store)
    {
        foreach (var (id, entry) in configuration.Certificates)
        {
            if (entry.Source == CertificateSource.LinkedFile)
            {
                if (entry.Path is { } path)
                    _watched.Add(Path.GetFullPath(path));
                if (entry.KeyPath is { } keyPath)
                    _watched.Add(Path.GetFullPath(keyPath));
            }
            try
            {
                _certificates[id] = new ServedCertificate(id, entry, store.LoadCertificate(id, entry));
            }
            catch (GatewayException ex)
            {
                _errors.Add($"Certificate '{id}' cannot be loaded: {ex.Message}");
            }
            catch (CryptographicException ex)
            {
                _errors.Add($"Certificate '{id}' cannot be loaded: {ex.Message}");
            }
        }
    }

    private ClientTrust LoadCaCertificates(GatewayConfiguration configuration, CertificateStore store)
    {
        var roots = new X509Certificate2Collection();
        var intermediates = new X509Certificate2Collection();
        foreach (var (id, entry) in configuration.CaCertificates)
        {
            try
            {
                var certificate = store.LoadCaCertificate(id, entry);
                (entry.StoreName == CaStoreName.Root ? roots : intermediates).Add(certificate);
                _caThumbprints[id] = certificate.Thumbprint;
            }
            catch (GatewayException ex)
            {
                _errors.Add($"CA certificate '{id}' cannot be loaded: {ex.Message}");
            }
        }
        return new ClientTrust(roots, intermediates);
    }

    private List<ListenerGroup> BuildListeners(GatewayConfiguration configuration)
    {
        var groups = new List<(EndpointKey Key, List<HostnameTls> Hosts)>();
        foreach (var hostname in configuration.Service.Hostnames)
        {
            EndpointKey key;
            try
            {
                key = EndpointKey.Of(hostname.ListenAddress, hostname.Port);
            }
            catch (FormatException)
            {
                continue; // reported by the validator
            }
            var clash = groups.FirstOrDefault(g => g.Key.Port == key.Port && g.Key.Address != key.Address);
            if (clash.Hosts is not null)
            {
                _errors.Add($"Hostname '{hostname.HostName}' listens on {key} but hostname '{clash.Hosts[0].HostName}' on {clash.Key}: hostnames that share port {key.Port.ToString(CultureInfo.InvariantCulture)} must share the listen address. Give them the same -ListenAddress.");
                continue;
            }
            if (!_certificates.TryGetValue(hostname.CertificateId, out var certificate))
                continue; // missing or unloadable: reported already
            if (!certificate.Certificate.HasPrivateKey)
            {
                _errors.Add($"Hostname '{hostname.HostName}' presents certificate '{hostname.CertificateId}', but what was loaded for it has no private key.");
                continue;
            }
            if (!TlsOffer.TryCreate(hostname, out var offer, out var offerError))
            {
                _errors.Add(offerError!);
                continue;
            }
            HostnameTls tls;
            try
            {
                tls = new HostnameTls(hostname.HostName, hostname.Port, HandshakeDecision.ModeOf(hostname.NegotiateClientCertificate, hostname.RequireClientCertificate), certificate, offer);
            }
            catch (Exception ex) when (ex is CryptographicException or NotSupportedException or ArgumentException)
            {
                _errors.Add($"Hostname '{hostname.HostName}' cannot use certificate '{hostname.CertificateId}' as its server certificate: {ex.Message}");
                continue;
            }
            var index = groups.FindIndex(g => g.Key == key);
            if (index < 0)
                groups.Add((key, [tls]));
            else
                groups[index].Hosts.Add(tls);
        }
        return groups.Select(g => new ListenerGroup(g.Key, g.Hosts)).ToList();
    }

    // ------------------------------------------------------------------ backends

    private void BuildBackends(GatewayConfiguration configuration, CertificateStore store)
    {
        foreach (var (id, backend) in configuration.Backends)
        {
            if (!ConfigurationValidator.IsHttpUrl(backend.Url))
                continue; // reported by the validator
            var certificates = new List<ServedCertificate>();
            var headers = new List<KeyValuePair<string, string[]>>();
            var query = new List<KeyValuePair<string, string[]>>();
            string? authorization = null;
            if (backend.Credentials is { } credentials)
            {
                foreach (var certificateId in credentials.CertificateIds)
                {
                    if (_certificates.TryGetValue(certificateId, out var c))
                        certificates.Add(c);
                }
                foreach (var thumbprint in credentials.CertificateThumbprints)
                {
                    var normalized = CertificateMetadata.NormalizeThumbprint(thumbprint);
                    if (_certificates.Values.FirstOrDefault(c => string.Equals(c.Thumbprint, normalized, StringComparison.OrdinalIgnoreCase)) is { } c)
                        certificates.Add(c);
                }
                headers.AddRange(credentials.Header.Select(p => new KeyValuePair<string, string[]>(p.Key, [.. p.Value])));
                query.AddRange(credentials.Query.Select(p => new KeyValuePair<string, string[]>(p.Key, [.. p.Value])));
                if (credentials.Authorization is { } auth)
                {
                    authorization = auth.Scheme;
                    if (auth.ParameterSecret is { } secret)
                    {
                        try
                        {
                            using var parameter = store.ReadSecret(secret);
                            authorization = Secrets.Use(parameter, (chars, _) => auth.Scheme + " " + new string(chars));
                        }
                        catch (GatewayException ex)
                        {
                            _errors.Add($"Backend '{id}': the Authorization parameter cannot be read: {ex.Message}");
                        }
                    }
                }
            }
            _backends[id] = new BackendTarget(id, backend.Url, backend.Tls, certificates, headers, query, authorization);
        }
    }

    // ------------------------------------------------------------------ expressions

    private HashSet<ExpressionKey> CompileExpressions(PolicyDocument? global, Dictionary<string, PolicyDocument?> apis, out int compiledNow)
    {
        var occurrences = new List<(ExpressionKey Key, PolicyExpression Expression, string Owner)>();
        if (global is not null)
            Collect(global, GlobalOwner, occurrences);
        foreach (var (id, document) in apis)
        {
            if (document is not null)
                Collect(document, $"API '{id}'", occurrences);
        }
        var keys = occurrences.Select(o => o.Key).ToHashSet();
        var resolution = _expressions.Resolve(keys);
        _compiled = resolution.Compiled;
        compiledNow = resolution.CompiledNow;
        foreach (var (key, expression, owner) in occurrences)
        {
            if (!resolution.Problems.TryGetValue(key, out var problems))
                continue;
            foreach (var problem in problems)
            {
                var line = expression.Line + problem.Line;
                var column = problem.Line == 0 ? expression.Column + 2 + problem.Column : problem.Column + 1;
                _errors.Add($"{OwnerSentence(owner)}, line {line.ToString(CultureInfo.InvariantCulture)}, column {column.ToString(CultureInfo.InvariantCulture)}: {problem.Message}.");
            }
        }
        return keys;
    }

    private static void Collect(PolicyDocument document, string owner, List<(ExpressionKey, PolicyExpression, string)> into)
    {
        foreach (var node in document.Descendants())
        {
            foreach (var (value, kind) in ValuesOf(node))
            {
                if (value?.Expression is { } expression)
                    into.Add((KeyOf(expression, kind), expression, owner));
            }
        }
    }

    internal static ExpressionKey KeyOf(PolicyExpression expression, ExpressionKind kind) => new(kind, expression.IsBlock, expression.Code);

    /// <summary>The values of an element and what each must produce.</summary>
    internal static IEnumerable<(PolicyValue? Value, ExpressionKind Kind)> ValuesOf(PolicyNode node)
    {
        switch (node)
        {
            case ChoosePolicy choose:
                foreach (var when in choose.Whens)
                    yield return (when.Condition, ExpressionKind.Condition);
                break;
            case SetStatusPolicy status:
                yield return (status.Code, ExpressionKind.StatusCode);
                yield return (status.Reason, ExpressionKind.Text);
                break;
            case SetHeaderPolicy header:
                yield return (header.Name, ExpressionKind.Text);
                foreach (var value in header.Values)
                    yield return (value, ExpressionKind.Text);
                break;
            case SetBodyPolicy body:
                yield return (body.Body, ExpressionKind.Text);
                break;
            case SetVariablePolicy variable:
                yield return (variable.Value, ExpressionKind.Value);
                break;
            case AuthenticationCertificatePolicy credential:
                yield return (credential.CertificateId, ExpressionKind.Text);
                yield return (credential.Thumbprint, ExpressionKind.Text);
                break;
            case SetBackendServicePolicy backend:
                yield return (backend.BackendId, ExpressionKind.Text);
                yield return (backend.BaseUrl, ExpressionKind.Text);
                break;
        }
    }

    private static string OwnerSentence(string owner) => owner == GlobalOwner ? "The global policy" : "The policy of " + owner;

    /// <summary>Turns composed policy elements into steps for one API.</summary>
    private sealed class StepFactory(SnapshotBuilder builder, string apiId, HashSet<PolicyNode> globalNodes)
    {
        private string OwnerOf(PolicyNode node) => globalNodes.Contains(node) ? GlobalOwner : $"API '{apiId}'";

        public Step[] Build(IReadOnlyList<PolicyNode> nodes, PolicySectionKind section, bool inReturnResponse)
        {
            var steps = new List<Step>(nodes.Count);
            foreach (var node in nodes)
            {
                if (Build(node, section, inReturnResponse) is { } step)
                    steps.Add(step);
            }
            return [.. steps];
        }

        /// <summary>The certificate of a literal top-level authentication-certificate of the inbound section (to prepare its invoker).</summary>
        public ServedCertificate? LiteralCredential(IReadOnlyList<PolicyNode> inbound)
        {
            foreach (var node in inbound)
            {
                if (node is AuthenticationCertificatePolicy credential)
                    return Credential(credential);
            }
            return null;
        }

        private ServedCertificate? Credential(AuthenticationCertificatePolicy credential)
        {
            if (credential.CertificateId?.Literal is { } id)
                return builder._certificates.GetValueOrDefault(id);
            if (credential.Thumbprint?.Literal is { } thumbprint)
            {
                var normalized = CertificateMetadata.NormalizeThumbprint(thumbprint);
                return builder._certificates.Values.FirstOrDefault(c => string.Equals(c.Thumbprint, normalized, StringComparison.OrdinalIgnoreCase));
            }
            return null;
        }

        private Step? Build(PolicyNode node, PolicySectionKind section, bool inReturnResponse)
        {
            var owner = OwnerOf(node);
            var target = inReturnResponse || section is PolicySectionKind.Outbound or PolicySectionKind.OnError ? StepTarget.Response : StepTarget.Request;
            switch (node)
            {
                case ChoosePolicy choose:
                {
                    var conditions = new Func<PolicyContext, bool>?[choose.Whens.Count];
                    var literals = new bool[choose.Whens.Count];
                    var bodies = new Step[choose.Whens.Count][];
                    for (var i = 0; i < choose.Whens.Count; i++)
                    {
                        var when = choose.Whens[i];
                        if (when.Condition.Expression is { } expression)
                            conditions[i] = Compiled(expression, ExpressionKind.Condition).Condition;
                        else
                            literals[i] = bool.Parse(when.Condition.Literal!);
                        bodies[i] = Build(when.Body, section, inReturnResponse);
                    }
                    return new ChooseStep(choose, owner, conditions, literals, bodies, choose.Otherwise is null ? [] : Build(choose.Otherwise, section, inReturnResponse));
                }
                case ReturnResponsePolicy returnResponse:
                    return new ReturnResponseStep(returnResponse, owner, Build(returnResponse.Body, section, inReturnResponse: true));
                case SetStatusPolicy status:
                {
                    var literalCode = 0;
                    Func<PolicyContext, int>? code = null;
                    if (status.Code.Expression is { } expression)
                        code = Compiled(expression, ExpressionKind.StatusCode).StatusCode;
                    else
                        literalCode = int.Parse(status.Code.Literal!, NumberStyles.None, CultureInfo.InvariantCulture);
                    return new SetStatusStep(status, owner, literalCode, code, Text(status.Reason));
                }
                case SetHeaderPolicy header:
                    return new SetHeaderStep(header, owner, target, Text(header.Name)!, header.ExistsAction, header.Values.Select(v => Text(v)!).ToArray());
                case SetBodyPolicy body:
                    return new SetBodyStep(body, owner, target, Text(body.Body)!);
                case SetVariablePolicy variable:
                    return new SetVariableStep(variable, owner, variable.Name, variable.Value.Literal,
                        variable.Value.Expression is { } e ? Compiled(e, ExpressionKind.Value).Value : null);
                case ValidateClientCertificatePolicy validate:
                    return new ValidateClientCertificateStep(validate, owner, validate.Identities.Select(Identity).ToArray());
                case AuthenticationCertificatePolicy credential:
                    return new AuthenticationCertificateStep(credential, owner, Credential(credential), Text(credential.CertificateId), Text(credential.Thumbprint));
                case SetBackendServicePolicy backend:
                {
                    BackendTarget? resolved = null;
                    if (backend.BackendId?.Literal is { } id)
                        resolved = builder._backends.GetValueOrDefault(id);
                    else if (backend.BaseUrl?.Literal is { } url)
                        resolved = new BackendTarget(null, url, new BackendTls(), [], [], [], null);
                    return new SetBackendServiceStep(backend, owner, resolved, Text(backend.BackendId), Text(backend.BaseUrl));
                }
                case ForwardRequestPolicy forward:
                    return new ForwardRequestStep(forward, owner, new ForwardSettings(TimeSpan.FromSeconds(forward.TimeoutSeconds), forward.FollowRedirects));
                default:
                    return null; // <base /> is gone after composition
            }
        }

        private IdentityMatcher Identity(CertificateIdentity identity) => new()
        {
            Thumbprint = identity.Thumbprint is { } t ? CertificateMetadata.NormalizeThumbprint(t) : null,
            SerialNumber = identity.SerialNumber,
            CommonName = identity.CommonName,
            Subject = identity.Subject,
            DnsName = identity.DnsName,
            IssuerSubject = identity.IssuerSubject,
            IssuerThumbprint = identity.IssuerThumbprint is { } it ? CertificateMetadata.NormalizeThumbprint(it) : null,
            CertificateThumbprint = identity.CertificateId is { } cid ? builder._certificates.GetValueOrDefault(cid)?.Thumbprint ?? "-" : null,
            IssuerCertificateThumbprint = identity.IssuerCertificateId is { } iid
                ? builder._certificates.GetValueOrDefault(iid)?.Thumbprint ?? builder._caThumbprints.GetValueOrDefault(iid) ?? "-"
                : null,
        };

        private TextValue? Text(PolicyValue? value) => value switch
        {
            null => null,
            { Expression: { } expression } => new TextValue(null, Compiled(expression, ExpressionKind.Text).Text),
            _ => new TextValue(value.Literal, null),
        };

        private CompiledExpression Compiled(PolicyExpression expression, ExpressionKind kind) => builder._compiled[KeyOf(expression, kind)];
    }
}
