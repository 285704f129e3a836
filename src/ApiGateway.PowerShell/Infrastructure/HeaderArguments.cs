using System.Collections;
using System.Management.Automation;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary><c>-Headers @{ Name = 'value'; Multi = 'a','b' }</c> as name/value pairs (a list value gives one pair per item).</summary>
internal static class HeaderArguments
{
    public static List<KeyValuePair<string, string>> ToList(IDictionary? headers)
    {
        var list = new List<KeyValuePair<string, string>>();
        if (headers is null)
            return list;
        foreach (DictionaryEntry entry in headers)
        {
            var name = LanguagePrimitives.ConvertTo<string>(entry.Key);
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException("-Headers has an empty header name.");
            var value = entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value;
            if (value is IEnumerable many and not string)
            {
                foreach (var item in many)
                    list.Add(new(name, LanguagePrimitives.ConvertTo<string>(item) ?? string.Empty));
            }
            else
            {
                list.Add(new(name, LanguagePrimitives.ConvertTo<string>(value) ?? string.Empty));
            }
        }
        return list;
    }

    /// <summary>As one value per name (repeated values joined with ",", as HTTP combines them).</summary>
    public static Dictionary<string, string> ToDictionary(IDictionary? headers)
    {
        var dictionary = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in ToList(headers))
            dictionary[name] = dictionary.TryGetValue(name, out var existing) ? existing + "," + value : value;
        return dictionary;
    }
}
