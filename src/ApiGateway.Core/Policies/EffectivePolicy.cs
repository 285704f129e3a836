namespace ApiGateway.Core.Policies;

/// <summary>
/// An API's policy with the global policy composed in: each <c>&lt;base /&gt;</c> of the API's sections replaced by
/// the global section. A section the API leaves out counts as <c>&lt;base /&gt;</c> alone, so the global policy still
/// applies; a section that has no <c>&lt;base /&gt;</c> replaces the global one (as in APIM).
/// </summary>
internal sealed class EffectivePolicy
{
    private readonly IReadOnlyList<PolicyNode>[] _sections;

    private EffectivePolicy(IReadOnlyList<PolicyNode>[] sections)
    {
        _sections = sections;
    }

    /// <summary>The composed elements of a section, in execution order.</summary>
    public IReadOnlyList<PolicyNode> this[PolicySectionKind kind] => _sections[(int)kind];

    /// <summary>Composes <paramref name="api"/> (null: an API without policy) with <paramref name="global"/>.</summary>
    public static EffectivePolicy Compose(PolicyDocument global, PolicyDocument? api)
    {
        ArgumentNullException.ThrowIfNull(global);
        var sections = new IReadOnlyList<PolicyNode>[4];
        foreach (var kind in Enum.GetValues<PolicySectionKind>())
        {
            var inherited = global[kind]?.Policies ?? [];
            if (api?[kind] is not { } own)
            {
                sections[(int)kind] = inherited;
                continue;
            }
            var composed = new List<PolicyNode>(own.Policies.Count + inherited.Count);
            foreach (var node in own.Policies)
            {
                if (node is BasePolicy)
                    composed.AddRange(inherited);
                else
                    composed.Add(node);
            }
            sections[(int)kind] = composed;
        }
        return new EffectivePolicy(sections);
    }
}
