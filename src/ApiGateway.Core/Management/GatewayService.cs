using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Hosting;

namespace ApiGateway.Core.Management;

/// <summary>
/// The management operations behind the cmdlets, one per cmdlet behaviour, over one configuration file and its
/// certificate store. Every change is a locked read–modify–write (<see cref="ConfigurationStore.Update"/>): it
/// validates its input, refuses with a <see cref="GatewayException"/> whose id, category and message name the thing
/// and the fix, and otherwise returns the new state. A change never leaves the configuration with a problem it did
/// not have before (<see cref="ConfigurationValidator"/> is the safety net behind the specific checks).
/// </summary>
internal sealed partial class GatewayService
{
    private readonly ConfigurationStore _store;

    /// <summary>
    /// Opens the configuration at <paramref name="configurationPath"/> (it need not exist yet: see <see cref="Open"/>).
    /// The certificate store defaults to <see cref="CertificateStore.DirectoryFor"/>.
    /// </summary>
    /// <remarks>
    /// With an <paramref name="engine"/> (what the cmdlets pass), a change that alters a policy expression or the limits
    /// expressions compile under is also built by the gateway's own engine before it is saved, and refused with the
    /// gateway's message when the gateway would refuse it. Without one (unit tests that have no gateway host) only the
    /// Core checks run, which are the same code as the gateway's first stage.
    /// </remarks>
    public GatewayService(string configurationPath, string? storeDirectory = null, TimeSpan? lockTimeout = null, TimeProvider? timeProvider = null, ConfigurationEngine? engine = null)
    {
        _store = new ConfigurationStore(configurationPath, lockTimeout);
        CertificateStore = new CertificateStore(storeDirectory ?? CertificateStore.DirectoryFor(_store.Path));
        Time = timeProvider ?? TimeProvider.System;
        Engine = engine;
    }

    /// <summary>The gateway's engine that checks changes and Test-GatewayConfiguration runs; null: Core checks only.</summary>
    public ConfigurationEngine? Engine { get; }

    private long _lastWrittenRevision;

    /// <summary>The revision the last change through this service wrote (0 before any): the cmdlets wait for a running gateway to load it.</summary>
    public long LastWrittenRevision => Interlocked.Read(ref _lastWrittenRevision);

    /// <summary>Absolute path of the configuration file.</summary>
    public string ConfigurationPath => _store.Path;

    /// <summary>The configuration file.</summary>
    public ConfigurationStore Store => _store;

    /// <summary>The private material beside it.</summary>
    public CertificateStore CertificateStore { get; }

    /// <summary>The clock (expiry checks).</summary>
    public TimeProvider Time { get; }

    /// <summary>
    /// Opens the configuration file, creating it (with <paramref name="serviceName"/>) when it does not exist; the
    /// result says whether it was created. A file that exists but cannot be parsed is reported, never replaced.
    /// </summary>
    public OperationResult<GatewayContextInfo> Open(string? serviceName = null)
    {
        // The default global policy is written out, so that the file shows what every API inherits.
        var initial = new GatewayConfiguration
        {
            Service = new ServiceSettings { Name = string.IsNullOrWhiteSpace(serviceName) ? "apigateway" : serviceName.Trim() },
            Policy = PolicyTemplates.Global,
        };
        var (configuration, created) = _store.CreateIfMissing(initial);
        var warnings = new List<string>();
        if (!created && !string.IsNullOrWhiteSpace(serviceName) && !string.Equals(serviceName.Trim(), configuration.Service.Name, StringComparison.Ordinal))
            warnings.Add($"The configuration '{ConfigurationPath}' already exists for service '{configuration.Service.Name}'; -ServiceName '{serviceName}' was not applied.");
        if (configuration.SchemaVersion > GatewayConfiguration.CurrentSchemaVersion)
            warnings.Add($"The configuration '{ConfigurationPath}' has schema version {configuration.SchemaVersion}, newer than this module writes ({GatewayConfiguration.CurrentSchemaVersion}): it can be read but not changed. Update the ApiGateway module.");
        return new OperationResult<GatewayContextInfo>(new GatewayContextInfo
        {
            ConfigurationPath = ConfigurationPath,
            StorePath = CertificateStore.Directory,
            ServiceName = configuration.Service.Name,
            Revision = configuration.Revision,
            Created = created,
        }, warnings);
    }

    /// <summary>The configuration as it is in the file now.</summary>
    public GatewayConfiguration Read() => _store.Read();

    /// <summary>
    /// One locked read–modify–write. <paramref name="subject"/> names what is changed ("Certificate", "Backend", …)
    /// for the id of the error raised when the change would leave the configuration invalid.
    /// </summary>
    private ConfigurationChange Change(string subject, Func<GatewayConfiguration, GatewayConfiguration> change)
    {
        var result = _store.Update(
            before =>
            {
                var after = change(RefreshLinked(before));
                EnsureNoNewProblems(subject, before, after);
                EnsureEngineAccepts(subject, before, after);
                return after;
            },
            afterWrite: CertificateStore.DeleteUnreferenced);
        if (result.Written)
            Interlocked.Exchange(ref _lastWrittenRevision, result.After.Revision);
        return result;
    }

    /// <summary>
    /// Runs the gateway's engine on the candidate when the change alters what only it can check (the C# expressions:
    /// a policy's text, or the limits they compile under) and there is an expression at all; refuses the change with
    /// the gateway's own messages for every error the current file does not already have. Runs under the
    /// configuration lock, before anything is written: a refused change leaves the file as it was.
    /// </summary>
    private void EnsureEngineAccepts(string subject, GatewayConfiguration before, GatewayConfiguration after)
    {
        if (Engine is null || ReferenceEquals(before, after) || !ExpressionsMayChange(before, after))
            return;
        var candidate = Engine.ValidateCandidate(after with { Revision = before.Revision + 1 }, ConfigurationPath, CertificateStore.Directory);
        var errors = candidate.Problems.Where(p => p.Severity == GatewayProblemSeverity.Error).ToList();
        if (errors.Count == 0)
            return;
        // Only what this change adds is refused: a file that already had a problem (written by hand, or by an older
        // module) can still be repaired one change at a time. Checking the current file costs a second run, paid only here.
        var existing = _store.Exists
            ? Engine.ValidateFile(ConfigurationPath, CertificateExpiry.DefaultDays, CertificateStore.Directory).Problems.Select(p => p.Message).ToHashSet(StringComparer.Ordinal)
            : [];
        var added = errors.Where(e => !existing.Contains(e.Message)).ToList();
        if (added.Count == 0)
            return;
        var condition = added.Any(e => e.ErrorId.StartsWith("PolicyExpression", StringComparison.Ordinal)) ? "InvalidExpression" : "Refused";
        var lines = added.Select(e => e.Message).ToList();
        throw new GatewayException(subject, condition, GatewayErrorCategory.InvalidData,
            "The change was not made because the gateway would refuse it with "
            + (lines.Count == 1 ? "this problem: " + lines[0] : "these problems:" + Environment.NewLine + string.Join(Environment.NewLine, lines.Select(a => "  " + a))),
            // The error record's target is the problem itself: a script reads $_.TargetObject.Subject, .Line, .Column.
            added[0])
        { Details = lines, Problems = added };
    }

    /// <summary>Whether the expressions the gateway compiles, or the limits they compile under, differ, and there is any expression in the candidate.</summary>
    internal static bool ExpressionsMayChange(GatewayConfiguration before, GatewayConfiguration after)
    {
        static bool HasExpression(string policy) => policy.Contains("@(", StringComparison.Ordinal) || policy.Contains("@{", StringComparison.Ordinal);
        if (!HasExpression(after.Policy) && !after.Apis.Values.Any(a => HasExpression(a.Policy)))
            return false;
        if (before.Service.Limits != after.Service.Limits || !string.Equals(before.Policy, after.Policy, StringComparison.Ordinal))
            return true;
        if (before.Apis.Count != after.Apis.Count)
            return true;
        foreach (var (id, api) in after.Apis)
        {
            if (!before.Apis.TryGetValue(id, out var old) || !string.Equals(old.Policy, api.Policy, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    /// <summary>
    /// Every problem of the configuration as it is in the file, as the gateway's engine reports them (Test-GatewayConfiguration):
    /// errors the gateway refuses, and warnings, among them certificates in use that expire within <paramref name="expiringInDays"/> days.
    /// </summary>
    public ValidationReport Test(int expiringInDays = CertificateExpiry.DefaultDays)
    {
        if (Engine is null)
        {
            throw new GatewayException("Gateway", "EngineMissing", GatewayErrorCategory.InvalidOperation,
                "This configuration was opened without the gateway engine, which Test-GatewayConfiguration needs.", ConfigurationPath);
        }
        ArgumentOutOfRangeException.ThrowIfNegative(expiringInDays);
        return Engine.ValidateFile(ConfigurationPath, expiringInDays, CertificateStore.Directory);
    }

    private static void EnsureNoNewProblems(string subject, GatewayConfiguration before, GatewayConfiguration after)
    {
        if (ReferenceEquals(before, after))
            return;
        var old = new HashSet<string>(ConfigurationValidator.Validate(before), StringComparer.Ordinal);
        var added = ConfigurationValidator.Validate(after).Where(e => !old.Contains(e)).ToList();
        if (added.Count == 0)
            return;
        throw new GatewayException(subject, "Invalid", GatewayErrorCategory.InvalidData,
            "The change was not made because it would leave the configuration with "
            + (added.Count == 1 ? "this problem: " + added[0] : "these problems:" + Environment.NewLine + string.Join(Environment.NewLine, added.Select(a => "  " + a))),
            subject)
        { Details = added };
    }

    private static void RequireValidId(string subject, string? id, string parameter)
    {
        if (id is not null && !Ids.IsValid(id))
        {
            throw new GatewayException(subject, "InvalidId", GatewayErrorCategory.InvalidArgument,
                $"'{id}' is not a valid {parameter}: it must be {Ids.Rule}.", id);
        }
    }

    /// <summary>Entries whose id matches <paramref name="pattern"/> (wildcards allowed; null or empty: all).</summary>
    private static IEnumerable<KeyValuePair<string, T>> Match<T>(IEnumerable<KeyValuePair<string, T>> map, string? pattern)
    {
        if (string.IsNullOrEmpty(pattern) || pattern == "*")
            return map;
        var wildcard = new Wildcard(pattern);
        return map.Where(p => wildcard.IsMatch(p.Key));
    }

    /// <summary>Throws <c>&lt;subject&gt;NotFound</c> when a pattern without wildcards matched nothing (PowerShell's Get-* convention).</summary>
    private static void RequireFound(int found, string? pattern, string subject, string what, string listCommand)
    {
        if (found == 0 && !string.IsNullOrEmpty(pattern) && !Wildcard.ContainsWildcard(pattern))
            throw NotFound(subject, what, Wildcard.Unescape(pattern), listCommand);
    }

    /// <summary>
    /// The entry of <paramref name="id"/> in <paramref name="items"/> and the id as the configuration spells it (ids
    /// compare without regard to case); <c>&lt;subject&gt;NotFound</c>, naming <paramref name="listCommand"/>, otherwise.
    /// </summary>
    private static (string Id, T Entry) Existing<T>(IReadOnlyDictionary<string, T> items, string id, string subject, string what, string listCommand)
    {
        if (!items.TryGetValue(id, out var entry))
            throw NotFound(subject, what, id, listCommand);
        return (items.Keys.First(k => Ids.Comparer.Equals(k, id)), entry);
    }

    private static GatewayException NotFound(string subject, string what, string id, string listCommand) =>
        new GatewayException(subject, "NotFound", GatewayErrorCategory.NotFound,
            $"{what} '{id}' does not exist. {listCommand} lists the ones there are.", id);

    private static DateTime Local(DateTimeOffset value) => value.LocalDateTime;

    internal static string JoinAnd(IReadOnlyList<string> items) => items.Count switch
    {
        0 => string.Empty,
        1 => items[0],
        _ => string.Join(", ", items.Take(items.Count - 1)) + " and " + items[^1],
    };
}
