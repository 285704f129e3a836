using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace ApiGateway.Host.Context;

/// <summary>
/// Headers as APIM shows them: a read-only dictionary of name → values, looked up without regard to case, over
/// the live request or response headers (nothing is copied until a value array is asked for).
/// </summary>
public sealed class PolicyHeaderDictionary : IReadOnlyDictionary<string, string[]>
{
    private HttpRequest? _request;
    private HttpResponse? _response;

    // Looked up when an expression reads headers, not when a request starts: most requests never do.
    private IHeaderDictionary? HeaderSource => _request is { } request ? request.Headers : _response?.Headers;

    internal PolicyHeaderDictionary()
    {
    }

    /// <summary>The values of header <paramref name="key"/>; throws when it is not present.</summary>
    public string[] this[string key] =>
        TryGetValue(key, out var values) ? values : throw new KeyNotFoundException($"The header '{key}' is not present.");

    public IEnumerable<string> Keys => HeaderSource?.Keys ?? (IEnumerable<string>)[];

    public IEnumerable<string[]> Values => this.Select(p => p.Value);

    public int Count => HeaderSource?.Count ?? 0;

    public bool ContainsKey(string key) => HeaderSource is { } headers && headers.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string[] value)
    {
        if (HeaderSource is { } headers && headers.TryGetValue(key, out var values))
        {
            value = ToArray(values);
            return true;
        }
        value = null;
        return false;
    }

    /// <summary>The header's values joined with commas, or <paramref name="defaultValue"/> when it is not present (APIM's GetValueOrDefault).</summary>
    public string GetValueOrDefault(string headerName, string defaultValue)
    {
        if (HeaderSource is { } headers && headers.TryGetValue(headerName, out var values) && values.Count > 0)
            return values.Count == 1 ? values[0] ?? string.Empty : string.Join(',', values.ToArray());
        return defaultValue;
    }

    /// <summary>The header's values joined with commas, or null when it is not present.</summary>
    public string? GetValueOrDefault(string headerName)
    {
        if (HeaderSource is { } headers && headers.TryGetValue(headerName, out var values) && values.Count > 0)
            return values.Count == 1 ? values[0] : string.Join(',', values.ToArray());
        return null;
    }

    public IEnumerator<KeyValuePair<string, string[]>> GetEnumerator()
    {
        // A positive pattern rather than "is not ... yield break": the same, in a form whose mutants compile (Stryker).
        if (HeaderSource is { } headers)
        {
            foreach (var pair in headers)
                yield return new KeyValuePair<string, string[]>(pair.Key, ToArray(pair.Value));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Attach(HttpRequest? request)
    {
        _request = request;
        _response = null;
    }

    internal void Attach(HttpResponse? response)
    {
        _response = response;
        _request = null;
    }

    private static string[] ToArray(StringValues values)
    {
        var array = new string[values.Count];
        for (var i = 0; i < array.Length; i++)
            array[i] = values[i] ?? string.Empty;
        return array;
    }
}

/// <summary>Query parameters as APIM shows them: name → values.</summary>
public sealed class PolicyQueryDictionary : IReadOnlyDictionary<string, string[]>
{
    private HttpRequest? _request;

    internal PolicyQueryDictionary()
    {
    }

    private IQueryCollection? Query => _request?.Query;

    /// <summary>The values of parameter <paramref name="key"/>; throws when it is not present.</summary>
    public string[] this[string key] =>
        TryGetValue(key, out var values) ? values : throw new KeyNotFoundException($"The query parameter '{key}' is not present.");

    public IEnumerable<string> Keys => Query?.Keys ?? (IEnumerable<string>)[];

    public IEnumerable<string[]> Values => this.Select(p => p.Value);

    public int Count => Query?.Count ?? 0;

    public bool ContainsKey(string key) => Query is { } q && q.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string[] value)
    {
        if (Query is { } q && q.TryGetValue(key, out var values))
        {
            value = values.Select(v => v ?? string.Empty).ToArray();
            return true;
        }
        value = null;
        return false;
    }

    /// <summary>The parameter's values joined with commas, or <paramref name="defaultValue"/>.</summary>
    public string GetValueOrDefault(string parameterName, string defaultValue) =>
        Query is { } q && q.TryGetValue(parameterName, out var values) && values.Count > 0 ? values.ToString() : defaultValue;

    /// <summary>The parameter's values joined with commas, or null.</summary>
    public string? GetValueOrDefault(string parameterName) =>
        Query is { } q && q.TryGetValue(parameterName, out var values) && values.Count > 0 ? values.ToString() : null;

    public IEnumerator<KeyValuePair<string, string[]>> GetEnumerator()
    {
        if (Query is { } q)
        {
            foreach (var pair in q)
                yield return new KeyValuePair<string, string[]>(pair.Key, pair.Value.Select(v => v ?? string.Empty).ToArray());
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Attach(HttpRequest? request) => _request = request;
}

/// <summary>
/// The certificates of the configuration by id (APIM <c>context.Deployment.Certificates</c>). <see cref="Any(Func{KeyValuePair{string, X509Certificate2}, bool})"/>
/// and the struct enumerator avoid the allocations of the LINQ equivalents on the request path.
/// </summary>
public sealed class CertificateDictionary : IReadOnlyDictionary<string, X509Certificate2>
{
    internal static readonly CertificateDictionary Empty = new([]);

    private readonly KeyValuePair<string, X509Certificate2>[] _items;
    private readonly Dictionary<string, X509Certificate2> _byId;
    private readonly HashSet<string> _thumbprints;

    internal CertificateDictionary(IEnumerable<KeyValuePair<string, X509Certificate2>> items)
    {
        _items = items.OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase).ToArray();
        _byId = new Dictionary<string, X509Certificate2>(_items, StringComparer.OrdinalIgnoreCase);
        _thumbprints = new HashSet<string>(_items.Select(p => ExpressionRuntime.Thumbprint(p.Value)), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Whether a certificate has the thumbprint <paramref name="thumbprint"/> (hexadecimal, any case; null: no).</summary>
    public bool ContainsThumbprint(string? thumbprint) => thumbprint is not null && _thumbprints.Contains(thumbprint);

    public X509Certificate2 this[string key] =>
        _byId.TryGetValue(key, out var certificate) ? certificate : throw new KeyNotFoundException($"There is no certificate '{key}'.");

    public IEnumerable<string> Keys => _items.Select(p => p.Key);

    public IEnumerable<X509Certificate2> Values => _items.Select(p => p.Value);

    public int Count => _items.Length;

    public bool ContainsKey(string key) => _byId.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out X509Certificate2 value) => _byId.TryGetValue(key, out value);

    /// <summary>Whether there is any certificate.</summary>
    public bool Any() => _items.Length > 0;

    /// <summary>Whether any certificate satisfies <paramref name="predicate"/> (as LINQ's Any, without its allocations).</summary>
    public bool Any(Func<KeyValuePair<string, X509Certificate2>, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        foreach (var item in _items)
        {
            if (predicate(item))
                return true;
        }
        return false;
    }

    /// <summary>Whether any certificate satisfies <paramref name="predicate"/>, given <paramref name="state"/> (lets a predicate be a static lambda).</summary>
    public bool Any<TState>(TState state, Func<KeyValuePair<string, X509Certificate2>, TState, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        foreach (var item in _items)
        {
            if (predicate(item, state))
                return true;
        }
        return false;
    }

    /// <summary>Whether every certificate satisfies <paramref name="predicate"/>.</summary>
    public bool All(Func<KeyValuePair<string, X509Certificate2>, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        foreach (var item in _items)
        {
            if (!predicate(item))
                return false;
        }
        return true;
    }

    /// <summary>Whether every certificate satisfies <paramref name="predicate"/>, given <paramref name="state"/>.</summary>
    public bool All<TState>(TState state, Func<KeyValuePair<string, X509Certificate2>, TState, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        foreach (var item in _items)
        {
            if (!predicate(item, state))
                return false;
        }
        return true;
    }

    /// <summary>An allocation-free enumerator (used by <c>foreach</c>).</summary>
    public Enumerator GetEnumerator() => new(_items);

    IEnumerator<KeyValuePair<string, X509Certificate2>> IEnumerable<KeyValuePair<string, X509Certificate2>>.GetEnumerator() =>
        ((IEnumerable<KeyValuePair<string, X509Certificate2>>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    /// <summary>Enumerates the certificates in id order.</summary>
    public struct Enumerator
    {
        private readonly KeyValuePair<string, X509Certificate2>[] _items;
        private int _index;

        internal Enumerator(KeyValuePair<string, X509Certificate2>[] items)
        {
            _items = items;
            _index = -1;
        }

        public readonly KeyValuePair<string, X509Certificate2> Current => _items[_index];

        public bool MoveNext() => ++_index < _items.Length;
    }
}

/// <summary>Values set with <c>&lt;set-variable&gt;</c> (APIM <c>context.Variables</c>).</summary>
public sealed class PolicyVariableDictionary : IReadOnlyDictionary<string, object>
{
    private Dictionary<string, object>? _values;

    internal PolicyVariableDictionary()
    {
    }

    public object this[string key] =>
        _values is not null && _values.TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"There is no variable '{key}'. Set it with <set-variable name=\"{key}\" value=\"...\" /> first.");

    public IEnumerable<string> Keys => _values?.Keys ?? (IEnumerable<string>)[];

    public IEnumerable<object> Values => _values?.Values ?? (IEnumerable<object>)[];

    public int Count => _values?.Count ?? 0;

    public bool ContainsKey(string key) => _values is not null && _values.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object value)
    {
        if (_values is not null && _values.TryGetValue(key, out value))
            return true;
        value = null;
        return false;
    }

    /// <summary>The variable as <typeparamref name="T"/>, or <paramref name="defaultValue"/> when it is not set (APIM's GetValueOrDefault&lt;T&gt;).</summary>
    public T GetValueOrDefault<T>(string variableName, T defaultValue = default!)
    {
        if (_values is null || !_values.TryGetValue(variableName, out var value))
            return defaultValue;
        if (value is T typed)
            return typed;
        if (value is IConvertible && typeof(IConvertible).IsAssignableFrom(typeof(T)))
            return (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture);
        return defaultValue;
    }

    /// <summary>The variable, or null when it is not set.</summary>
    public object? GetValueOrDefault(string variableName) =>
        _values is not null && _values.TryGetValue(variableName, out var value) ? value : null;

    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() =>
        (_values ?? []).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Set(string name, object? value)
    {
        _values ??= new Dictionary<string, object>(StringComparer.Ordinal);
        if (value is null)
            _values.Remove(name);
        else
            _values[name] = value;
    }

    internal void Clear() => _values?.Clear();
}
