namespace ApiGateway.Host.Expressions;

/// <summary>
/// Compiled expressions by kind and code, kept across reloads: a new revision compiles only the expressions it
/// does not share with the revision before (all of them in one compilation), and drops the ones no longer used.
/// The gateway's cache always instruments expressions with their budget; <c>budget</c> false is for the benchmark
/// that measures its cost.
/// </summary>
internal sealed class ExpressionCache(bool budget = true)
{
    private readonly Dictionary<ExpressionKey, CompiledExpression> _compiled = [];
    private readonly Lock _lock = new();

    /// <summary>Expressions held now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _compiled.Count;
        }
    }

    /// <summary>The compiled delegate of each key (compiling the missing ones together), or its problems.</summary>
    public ExpressionResolution Resolve(IReadOnlyCollection<ExpressionKey> keys, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var missing = keys.Where(k => !_compiled.ContainsKey(k)).ToList();
            var result = ExpressionCompiler.Compile(missing, budget, cancellationToken);
            foreach (var (key, compiled) in result.Compiled)
                _compiled[key] = compiled;
            var resolved = new Dictionary<ExpressionKey, CompiledExpression>();
            foreach (var key in keys)
            {
                if (_compiled.TryGetValue(key, out var compiled))
                    resolved[key] = compiled;
            }
            return new ExpressionResolution(resolved, result.Problems, result.Compiled.Count);
        }
    }

    /// <summary>Keeps only <paramref name="keys"/> (those of the revision now serving).</summary>
    public void Retain(IReadOnlyCollection<ExpressionKey> keys)
    {
        lock (_lock)
        {
            var keep = keys as ISet<ExpressionKey> ?? keys.ToHashSet();
            foreach (var key in _compiled.Keys.Where(k => !keep.Contains(k)).ToList())
                _compiled.Remove(key);
        }
    }
}

/// <summary>The outcome of <see cref="ExpressionCache.Resolve"/>.</summary>
internal sealed record ExpressionResolution(
    IReadOnlyDictionary<ExpressionKey, CompiledExpression> Compiled,
    IReadOnlyDictionary<ExpressionKey, List<ExpressionProblem>> Problems,
    int CompiledNow);
