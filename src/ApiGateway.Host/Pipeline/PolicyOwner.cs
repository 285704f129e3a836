namespace ApiGateway.Host.Pipeline;

/// <summary>Where a policy element was written: the global policy, or the policy of one API.</summary>
internal readonly record struct PolicyOwner
{
    private PolicyOwner(string? apiId)
    {
        ApiId = apiId;
    }

    /// <summary>The global ("All APIs") policy.</summary>
    public static PolicyOwner Global => default;

    /// <summary>The policy of API <paramref name="apiId"/>.</summary>
    public static PolicyOwner Api(string apiId)
    {
        ArgumentNullException.ThrowIfNull(apiId);
        return new PolicyOwner(apiId);
    }

    /// <summary>The API, or null for the global policy.</summary>
    public string? ApiId { get; }

    /// <summary>How messages start: "The global policy" or "The policy of API 'orders'".</summary>
    /// <summary>The subject of a configuration problem: <c>API 'orders'</c> or <c>the global policy</c>, as the Core validator names them.</summary>
    public string Subject => ApiId is null ? "the global policy" : $"API '{ApiId}'";

    public string Describe() => ApiId is null ? "The global policy" : $"The policy of API '{ApiId}'";

    public override string ToString() => Describe();
}
