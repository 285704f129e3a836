using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;

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
    public GatewayService(string configurationPath, string? storeDirectory = null, TimeSpan? lockTimeout = null, TimeProvider? timeProvider = null)
    {
        _store = new ConfigurationStore(configurationPath, lockTimeout);
        CertificateStore = new CertificateStore(storeDirectory ?? CertificateStore.DirectoryFor(_store.Path));
        Time = timeProvider ?? TimeProvider.System;
    }

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
    private ConfigurationChange Change(string subject, Func<GatewayConfiguration, GatewayConfiguration> change) =>
        _store.Update(
            before =>
            {
                var after = change(RefreshLinked(before));
                EnsureNoNewProblems(subject, before, after);
                return after;
            },
            afterWrite: CertificateStore.DeleteUnreferenced);

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
