using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Management;

internal sealed partial class GatewayService
{
    /// <summary>Every limit (or those whose name matches <paramref name="name"/>, wildcards allowed) with the value in force.</summary>
    public IReadOnlyList<GatewayLimit> GetLimits(string? name = null)
    {
        var result = LimitsOutput(Read().Service.Limits, name);
        if (result.Count == 0 && !string.IsNullOrEmpty(name) && !Wildcard.ContainsWildcard(name))
            throw UnknownLimit(Wildcard.Unescape(name));
        return result;
    }

    /// <summary>
    /// Sets the limits in <paramref name="values"/> (name → value) and returns those in <paramref name="reset"/> to their
    /// defaults, in one write. Names are those of <see cref="GatewayLimits.Catalog"/>, without regard to case. The
    /// warnings name the changed limits that a running gateway applies only after a restart.
    /// </summary>
    public OperationResult<IReadOnlyList<GatewayLimit>> SetLimits(IReadOnlyDictionary<string, double> values, IReadOnlyCollection<string>? reset = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        reset ??= [];
        var changes = new List<(GatewayLimitDescriptor Limit, double? Value)>();
        foreach (var (name, value) in values)
        {
            var limit = GatewayLimits.Find(name) ?? throw UnknownLimit(name);
            if (limit.Check(value) is { } problem)
                throw new GatewayException("Limit", "OutOfRange", GatewayErrorCategory.InvalidArgument, problem, limit.Name);
            changes.Add((limit, value));
        }
        foreach (var name in reset)
        {
            var limit = GatewayLimits.Find(name) ?? throw UnknownLimit(name);
            if (changes.Any(c => c.Limit == limit))
            {
                throw new GatewayException("Limit", "Conflict", GatewayErrorCategory.InvalidArgument,
                    $"The limit '{limit.Name}' is both set and reset. Give either -{limit.Name} <value> or -Reset {limit.Name}.", limit.Name);
            }
            changes.Add((limit, null));
        }

        var warnings = new List<string>();
        GatewayLimits? after = null;
        Change("Limit", before =>
        {
            var limits = before.Service.Limits ?? new GatewayLimits();
            var old = limits.Resolve();
            foreach (var (limit, value) in changes)
                limits = limit.With(limits, value);
            var resolved = limits.Resolve();
            var restart = changes.Select(c => c.Limit).Distinct()
                .Where(l => l.RequiresRestart && l.Get(old) != l.Get(resolved)).Select(l => l.Name).ToList();
            if (restart.Count > 0)
                warnings.Add($"A running gateway applies {JoinAnd(restart)} only when it restarts (Stop-Gateway, then Start-Gateway); the other limits apply to new connections within a second.");
            after = limits.IsEmpty ? null : limits;
            return before.Service.Limits == after ? before : before with { Service = before.Service with { Limits = after } };
        });
        return new OperationResult<IReadOnlyList<GatewayLimit>>(LimitsOutput(after, null), warnings);
    }

    private List<GatewayLimit> LimitsOutput(GatewayLimits? configured, string? name)
    {
        configured ??= new GatewayLimits();
        var wildcard = string.IsNullOrEmpty(name) ? null : new Wildcard(name);
        return GatewayLimits.Catalog
            .Where(l => wildcard is null || wildcard.IsMatch(l.Name))
            .Select(l => new GatewayLimit
            {
                Name = l.Name,
                Value = l.Get(configured) ?? l.Default,
                Default = l.Default,
                Unit = l.Unit,
                IsDefault = l.Get(configured) is null,
                RequiresRestart = l.RequiresRestart,
                Description = l.Reason,
                ConfigurationPath = ConfigurationPath,
            })
            .ToList();
    }

    private static GatewayException UnknownLimit(string name) =>
        new GatewayException("Limit", "NotFound", GatewayErrorCategory.NotFound,
            $"There is no limit '{name}'. The limits are {JoinAnd(GatewayLimits.Catalog.Select(l => l.Name).ToList())} (Get-GatewayLimit lists them).", name);
}
