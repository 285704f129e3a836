using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Runtime;

/// <summary>The outcome of building a snapshot: the snapshot, or every problem found (each a sentence).</summary>
internal sealed class SnapshotBuildResult
{
    public GatewaySnapshot? Snapshot { get; init; }
    /// <summary>Every problem found, errors and warnings, as <c>validate --format json</c> reports them.</summary>
    public IReadOnlyList<GatewayConfigurationProblem> Problems { get; init; } = [];

    /// <summary>The sentences of the errors (what a refused reload logs and /status shows).</summary>
    public IReadOnlyList<string> Errors => Problems.Where(p => p.Severity == GatewayProblemSeverity.Error).Select(p => p.Message).ToList();

    /// <summary>The sentences of the warnings (logged at every load).</summary>
    public IReadOnlyList<string> Warnings => Problems.Where(p => p.Severity == GatewayProblemSeverity.Warning).Select(p => p.Message).ToList();

    /// <summary>The revision read, when the file could be read.</summary>
    public long? Revision { get; init; }

    /// <summary>Expressions compiled for this build (the rest came from the cache).</summary>
    public int CompiledNow { get; init; }

    /// <summary>Files whose change should trigger a reload (linked certificates), known even when the build failed.</summary>
    public IReadOnlyList<string> WatchedFiles { get; init; } = [];

    /// <summary>The loaded certificates something uses, with their end of validity (expiry warnings), known even when the build failed.</summary>
    public IReadOnlyList<CertificateInUse> CertificatesInUse { get; init; } = [];

    public bool Succeeded => Snapshot is not null;
}

/// <summary>
/// Builds a <see cref="GatewaySnapshot"/> from the configuration file: read → validate → load certificates, CA
/// certificates, listeners and backends → parse policies and compile every expression → build routes (steps by
/// <see cref="StepFactory"/>), invokers and the snapshot. Every stage runs even when an earlier one found problems,
/// so one attempt reports all of them (with the API and line); any problem means no snapshot. Needs no server:
/// testable in-process.
/// </summary>
internal sealed class SnapshotBuilder
{
    private readonly string _configurationPath;
    private readonly GatewayServices _services;
    private readonly ExpressionCache _expressions;
    private readonly List<GatewayConfigurationProblem> _errors = [];
    private readonly List<GatewayConfigurationProblem> _warnings = [];
    private readonly Dictionary<string, ServedCertificate> _certificates = new(Ids.Comparer);
    private readonly Dictionary<string, string> _caThumbprints = new(Ids.Comparer);
    private readonly Dictionary<string, X509Certificate2> _caCertificates = new(Ids.Comparer);
    private readonly Dictionary<string, BackendTarget> _backends = new(Ids.Comparer);
    private readonly List<string> _watched = [];
    private readonly CancellationToken _cancellationToken;
    private readonly string? _storeDirectory;

    private SnapshotBuilder(string configurationPath, GatewayServices services, ExpressionCache expressions, CancellationToken cancellationToken, string? storeDirectory = null)
    {
        _storeDirectory = storeDirectory;
        _cancellationToken = cancellationToken;
        _configurationPath = Path.GetFullPath(configurationPath);
        _services = services;
        _expressions = expressions;
    }

    /// <summary>
    /// Builds the snapshot of the configuration at <paramref name="configurationPath"/>. <paramref name="cancellationToken"/>
    /// abandons the build (OperationCanceledException), as when a newer configuration supersedes this one.
    /// </summary>
    public static SnapshotBuildResult Build(string configurationPath, GatewayServices services, ExpressionCache expressions, CancellationToken cancellationToken = default) =>
        new SnapshotBuilder(configurationPath, services, expressions, cancellationToken).Run();

    /// <summary>
    /// Builds the snapshot of a candidate configuration at <paramref name="configurationPath"/> whose certificate store
    /// is <paramref name="storeDirectory"/> (<c>validate --store</c>: the module validates a change written to a
    /// temporary file beside the real one, whose store is the real one's).
    /// </summary>
    public static SnapshotBuildResult Build(string configurationPath, string? storeDirectory, GatewayServices services, ExpressionCache expressions, CancellationToken cancellationToken = default) =>
        new SnapshotBuilder(configurationPath, services, expressions, cancellationToken, storeDirectory).Run();

    private SnapshotBuildResult Run()
    {
        GatewayConfiguration configuration;
        try
        {
            configuration = new ConfigurationStore(_configurationPath).Read();
        }
        catch (GatewayException ex)
        {
            return new SnapshotBuildResult { Problems = [GatewayConfigurationProblem.Error("Configuration" + ex.Condition, "the configuration", ex.Message, ProblemFix.Of(ex.Message))] };
        }

        _errors.AddRange(ConfigurationValidator.Problems(configuration));
        var store = new CertificateStore(_storeDirectory ?? CertificateStore.DirectoryFor(_configurationPath));
        LoadCertificates(configuration, store);
        var trust = LoadCaCertificates(configuration, store);
        var listeners = BuildListeners(configuration);
        BuildBackends(configuration, store);
        // Limits out of range are errors of the validator; the rest of the build goes on with their defaults.
        var limits = (configuration.Service.Limits ?? new GatewayLimits()).ResolveWithinRanges();
        var policies = ParsePolicies(configuration, limits);
        var expressions = CompileExpressions(policies, limits);
        var inUse = CertificatesInUse(configuration);

        if (_errors.Count > 0 || policies.Global is null)
            return Failed(configuration, expressions, _errors.DistinctBy(e => e.Message, StringComparer.Ordinal).ToList(), inUse);
        if (configuration.Service.Hostnames.Length == 0)
            Warn("ConfigurationNoHostname", "the configuration", $"'{_configurationPath}' has no hostname, so the gateway listens nowhere. Add one with Set-GatewayHostname -HostName <name> -Port <port> -CertificateId <server certificate>.");

        var invokers = new SnapshotInvokers(_services.Invokers);
        var routes = BuildRoutes(configuration, policies, expressions, invokers);
        if (_errors.Count > 0)
        {
            invokers.Release();
            return Failed(configuration, expressions, _errors, inUse);
        }
        var snapshot = new GatewaySnapshot(_configurationPath, configuration, _services, new RouteTable(routes), listeners, trust,
            _certificates, _backends, invokers, expressions.Keys, _watched)
        {
            CertificatesInUse = inUse,
        };
        return new SnapshotBuildResult
        {
            Snapshot = snapshot,
            Problems = _warnings,
            Revision = configuration.Revision,
            CompiledNow = expressions.CompiledNow,
            WatchedFiles = _watched,
            CertificatesInUse = inUse,
        };
    }

    private SnapshotBuildResult Failed(GatewayConfiguration configuration, CompiledPolicies expressions, IReadOnlyList<GatewayConfigurationProblem> errors, IReadOnlyList<CertificateInUse> inUse) => new()
    {
        CertificatesInUse = inUse,
        Problems = ProblemSections.Fill(configuration, [.. errors, .. _warnings]),
        Revision = configuration.Revision,
        CompiledNow = expressions.CompiledNow,
        WatchedFiles = _watched,
    };

    private void Error(string errorId, string subject, string message) =>
        _errors.Add(GatewayConfigurationProblem.Error(errorId, subject, message, ProblemFix.Of(message)));

    private void Warn(string errorId, string subject, string message, string? fix = null) =>
        _warnings.Add(GatewayConfigurationProblem.Warning(errorId, subject, message, fix ?? ProblemFix.Of(message)));

    // ------------------------------------------------------------------ routes

    // Linear, and the gateway's own: exempt from the process-wide default timeout that is there for policy expressions
    // (a reload on a starved machine must not fail because a regex was descheduled for 2 s).
    private static readonly System.Text.RegularExpressions.Regex VerifyCall = new(@"(?<![A-Za-z0-9_])Verify\s*\(", System.Text.RegularExpressions.RegexOptions.CultureInvariant, System.Text.RegularExpressions.Regex.InfiniteMatchTimeout);

    /// <summary>Whether a composed policy may check revocation (see <see cref="ApiRoute.ChecksRevocation"/>); erring on yes costs only an await.</summary>
    internal static bool ChecksRevocation(EffectivePolicy effective)
    {
        foreach (var kind in Enum.GetValues<PolicySectionKind>())
        {
            foreach (var node in PolicyDocument.Walk(effective[kind]))
            {
                if (node is ValidateClientCertificatePolicy { ValidateRevocation: true })
                    return true;
                foreach (var (value, _) in node.ValueUses)
                {
                    if (value?.Expression is { } expression && VerifyCall.IsMatch(expression.Code))
                        return true;
                }
            }
        }
        return false;
    }

    /// <summary>One route per API: its composed policy as steps, and where it forwards by default.</summary>
    private List<ApiRoute> BuildRoutes(GatewayConfiguration configuration, ParsedPolicies policies, CompiledPolicies expressions, SnapshotInvokers invokers)
    {
        var global = policies.Global!;
        var resources = new StepResources(_certificates, _backends, _caThumbprints);
        var globalNodes = new HashSet<PolicyNode>(global.Descendants(), ReferenceEqualityComparer.Instance);
        var routes = new List<ApiRoute>();
        foreach (var (id, api) in configuration.Apis)
        {
            var effective = EffectivePolicy.Compose(global, policies.Apis[id]);
            var owner = PolicyOwner.Api(id);
            var factory = new StepFactory(resources, expressions.Compiled, node => globalNodes.Contains(node) ? PolicyOwner.Global : owner);
            var pipeline = factory.BuildPipeline(effective);
            var target = api.BackendId is { } backendId && _backends.TryGetValue(backendId, out var backend)
                ? backend
                : api.ServiceUrl is { } url ? BackendTarget.ForUrl(url) : null;
            if (target is null)
            {
                Error("ApiBackendMissing", $"API '{id}'", $"API '{id}' has neither a backend nor a service URL. Give it one with Set-GatewayApi -ApiId {id} -BackendId <backend> (or -ServiceUrl <url>).");
                continue;
            }
            var forwards = PolicyDocument.Walk(effective[PolicySectionKind.Backend]).OfType<ForwardRequestPolicy>().ToList();
            if (forwards.Count == 0)
                Warn("ApiNeverForwards", $"API '{id}'", $"API '{id}' never forwards requests: its composed <backend> section has no <forward-request />, so clients get the response its policies build (or an empty 200).");
            routes.Add(new ApiRoute(id, api, pipeline, target, ChecksRevocation(effective)));
            foreach (var follow in forwards.Select(f => f.FollowRedirects).Distinct())
                invokers.Prepare(target, factory.LiteralCredential(effective[PolicySectionKind.Inbound]), follow);
        }
        return routes;
    }

    // ------------------------------------------------------------------ certificates

    /// <summary>
    /// The loaded certificates something refers to (hostnames, backends, policies: <see cref="Core.Management.ReferenceIndex"/>), and
    /// every loaded CA certificate (each decides which client chains are trusted): what expiry warnings are about.
    /// </summary>
    private List<CertificateInUse> CertificatesInUse(GatewayConfiguration configuration)
    {
        var index = new Core.Management.ReferenceIndex(configuration);
        var result = new List<CertificateInUse>();
        foreach (var (id, served) in _certificates)
        {
            var references = index.For(id, served.Thumbprint);
            if (references.Count == 0)
                continue;
            var certificate = served.Certificate;
            result.Add(new CertificateInUse(id, "Certificate", certificate.Subject, certificate.Thumbprint, new DateTimeOffset(certificate.NotAfter.ToUniversalTime()),
                references.Select(r => r.Describe()).Distinct(StringComparer.Ordinal).ToList()));
        }
        foreach (var (id, certificate) in _caCertificates)
        {
            result.Add(new CertificateInUse(id, "CaCertificate", certificate.Subject, certificate.Thumbprint, new DateTimeOffset(certificate.NotAfter.ToUniversalTime()),
                ["client certificate validation (trusted CA)"]));
        }
        return result;
    }

    private void LoadCertificates(GatewayConfiguration configuration, CertificateStore store)
    {
        foreach (var (id, entry) in configuration.Certificates)
        {
            if (entry.Source == CertificateSource.LinkedFile)
            {
                // A path the validator refuses (a NUL in it) is reported by the load below, not thrown here.
                if (entry.Path is { } path && CertificateStore.IsUsablePath(path))
                    _watched.Add(Path.GetFullPath(path));
                if (entry.KeyPath is { } keyPath && CertificateStore.IsUsablePath(keyPath))
                    _watched.Add(Path.GetFullPath(keyPath));
            }
            try
            {
                _certificates[id] = new ServedCertificate(id, entry, store.LoadCertificate(id, entry));
            }
            catch (GatewayException ex)
            {
                Error("CertificateUnloadable", $"Certificate '{id}'", $"Certificate '{id}' cannot be loaded: {ex.Message}");
            }
            catch (CryptographicException ex)
            {
                Error("CertificateUnloadable", $"Certificate '{id}'", $"Certificate '{id}' cannot be loaded: {ex.Message}");
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
                _caCertificates[id] = certificate;
            }
            catch (GatewayException ex)
            {
                Error("CaCertificateUnloadable", $"CA certificate '{id}'", $"CA certificate '{id}' cannot be loaded: {ex.Message}");
            }
        }
        var revocation = configuration.Service.Revocation ?? new RevocationSettings();
        var crls = revocation.CrlFolder is { } folder && CertificateStore.IsUsablePath(folder) && Path.IsPathFullyQualified(folder) ? _services.Crls.For(folder) : null;
        return new ClientTrust(roots, intermediates, revocation.Mode, crls, _services.Time);
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
                Error("HostnameListenAddressClash", $"Hostname '{hostname.HostName}'", $"Hostname '{hostname.HostName}' listens on {key} but hostname '{clash.Hosts[0].HostName}' on {clash.Key}: hostnames that share port {key.Port.ToString(CultureInfo.InvariantCulture)} must share the listen address. Give them the same -ListenAddress.");
                continue;
            }
            if (!_certificates.TryGetValue(hostname.CertificateId, out var certificate))
                continue; // missing or unloadable: reported already
            if (!certificate.Certificate.HasPrivateKey)
            {
                Error("HostnameCertificateWithoutKey", $"Hostname '{hostname.HostName}'", $"Hostname '{hostname.HostName}' presents certificate '{hostname.CertificateId}', but what was loaded for it has no private key.");
                continue;
            }
            if (!TlsOffer.TryCreate(hostname, out var offer, out var offerError))
            {
                Error("HostnameTlsInvalid", $"Hostname '{hostname.HostName}'", offerError!);
                continue;
            }
            HostnameTls tls;
            try
            {
                tls = new HostnameTls(hostname.HostName, hostname.Port, HandshakeDecision.ModeOf(hostname.NegotiateClientCertificate, hostname.RequireClientCertificate), certificate, offer);
            }
            catch (Exception ex) when (ex is CryptographicException or NotSupportedException or ArgumentException)
            {
                Error("HostnameCertificateUnusable", $"Hostname '{hostname.HostName}'", $"Hostname '{hostname.HostName}' cannot use certificate '{hostname.CertificateId}' as its server certificate: {ex.Message}");
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
                    if (ServedCertificate.FindByThumbprint(_certificates.Values, thumbprint) is { } c)
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
                            Error("BackendSecretUnreadable", $"Backend '{id}'", $"Backend '{id}': the Authorization parameter cannot be read: {ex.Message}");
                        }
                    }
                }
            }
            _backends[id] = new BackendTarget(id, backend.Url, backend.Tls, certificates, headers, query, authorization);
        }
    }

    // ------------------------------------------------------------------ policies and expressions

    /// <summary>The parsed global policy and API policies (null where a policy has errors: the validator reported them).</summary>
    private sealed record ParsedPolicies(PolicyDocument? Global, Dictionary<string, PolicyDocument?> Apis);

    /// <summary>Every expression of the revision and its compiled delegate.</summary>
    private sealed record CompiledPolicies(HashSet<ExpressionKey> Keys, IReadOnlyDictionary<ExpressionKey, CompiledExpression> Compiled, int CompiledNow);

    /// <remarks>A policy over MaxPolicySize is not parsed at all (the validator reported it).</remarks>
    private static ParsedPolicies ParsePolicies(GatewayConfiguration configuration, GatewayLimits limits)
    {
        PolicyDocument? Parse(string text, PolicyScope scope) =>
            ExpressionText.PolicySizeProblem(text.Length, limits) is null ? PolicyDocument.Parse(text, scope).Document : null;
        var apis = new Dictionary<string, PolicyDocument?>(Ids.Comparer);
        foreach (var (id, api) in configuration.Apis)
            apis[id] = Parse(api.Policy, PolicyScope.Api);
        return new ParsedPolicies(Parse(configuration.Policy, PolicyScope.Global), apis);
    }

    /// <summary>Compiles the expressions no earlier revision compiled; each problem becomes an error at its policy line.</summary>
    /// <remarks>
    /// Expressions over MaxExpressionLength or MaxExpressionNesting never reach the compiler (the validator reported
    /// them), and compiling the rest is bounded by ExpressionCompileTimeoutSeconds: a change that takes longer is
    /// refused with every policy whose expressions were being compiled named, and the next change compiles as usual.
    /// </remarks>
    private CompiledPolicies CompileExpressions(ParsedPolicies policies, GatewayLimits limits)
    {
        var occurrences = new List<(ExpressionKey Key, PolicyExpression Expression, PolicyOwner Owner)>();
        if (policies.Global is { } global)
            Collect(global, PolicyOwner.Global, occurrences);
        foreach (var (id, document) in policies.Apis)
        {
            if (document is not null)
                Collect(document, PolicyOwner.Api(id), occurrences);
        }
        occurrences.RemoveAll(o => ExpressionText.LimitProblem(o.Expression, limits) is not null);
        var keys = occurrences.Select(o => o.Key).ToHashSet();
        var timeout = TimeSpan.FromSeconds(limits.ExpressionCompileTimeoutSeconds ?? GatewayLimits.Defaults.ExpressionCompileTimeoutSeconds!.Value);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_cancellationToken);
        deadline.CancelAfter(timeout);
        ExpressionResolution resolution;
        try
        {
            resolution = _expressions.Resolve(keys, deadline.Token);
        }
        catch (OperationCanceledException) when (!_cancellationToken.IsCancellationRequested)
        {
            var owners = string.Join(", ", occurrences.Select(o => o.Owner.Describe()).Distinct(StringComparer.Ordinal));
            Error("PolicyExpressionCompileTimeout", "the policies", $"Compiling the policy expressions took longer than ExpressionCompileTimeoutSeconds ({timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s), so this change is refused; they were in: {owners}. " +
                "Simplify the expressions, or raise the limit with Set-GatewayLimit -ExpressionCompileTimeoutSeconds <seconds>.");
            return new CompiledPolicies(keys, new Dictionary<ExpressionKey, CompiledExpression>(), 0);
        }
        foreach (var (key, expression, owner) in occurrences)
        {
            if (!resolution.Problems.TryGetValue(key, out var problems))
                continue;
            foreach (var problem in problems)
            {
                var line = expression.Line + problem.Line;
                var column = problem.Line == 0 ? expression.Column + 2 + problem.Column : problem.Column + 1;
                var message = $"{owner.Describe()}, line {line.ToString(CultureInfo.InvariantCulture)}, column {column.ToString(CultureInfo.InvariantCulture)}: {problem.Message}.";
                var id = problem.Message.StartsWith("the expression uses ", StringComparison.Ordinal) ? "PolicyExpressionNotAllowed" : "PolicyExpressionInvalid";
                _errors.Add(GatewayConfigurationProblem.Error(id, owner.Subject, message, ProblemFix.Of(message), line, column));
            }
        }
        return new CompiledPolicies(keys, resolution.Compiled, resolution.CompiledNow);
    }

    /// <summary>Every expression of <paramref name="document"/>, keyed by what its element's value must produce.</summary>
    private static void Collect(PolicyDocument document, PolicyOwner owner, List<(ExpressionKey, PolicyExpression, PolicyOwner)> into)
    {
        foreach (var node in document.Descendants())
        {
            foreach (var (value, role) in node.ValueUses)
            {
                if (value?.Expression is { } expression)
                    into.Add((ExpressionKey.Of(expression, role), expression, owner));
            }
        }
    }
}
