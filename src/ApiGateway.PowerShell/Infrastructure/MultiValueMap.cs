using System.Collections;
using System.Globalization;
using ApiGateway.Core.Configuration;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>
/// Turns a hashtable such as <c>@{ 'x-api-key' = 'k1'; 'x-tag' = 'a','b' }</c> (New-GatewayBackendCredential
/// <c>-Header</c> and <c>-Query</c>, as in Az's New-AzApiManagementBackendCredential) into name → values. A value
/// may be a single value or a list; PowerShell's wrapper objects are removed by <c>unwrap</c>.
/// </summary>
internal static class MultiValueMap
{
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> From(IDictionary? table, Func<object?, object?> unwrap, string what)
    {
        ArgumentNullException.ThrowIfNull(unwrap);
        var result = new Dictionary<string, IReadOnlyList<string>>(Ids.Comparer);
        if (table is null)
            return result;
        foreach (DictionaryEntry entry in table)
        {
            var name = Convert.ToString(unwrap(entry.Key), CultureInfo.InvariantCulture);
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException($"A {what} name is empty. Give each {what} a name, e.g. @{{ 'x-api-key' = '...' }}.");
            var values = new List<string>();
            switch (unwrap(entry.Value))
            {
                case null:
                    throw new ArgumentException($"The {what} '{name}' has no value. Give a value or a list of values.");
                case string single:
                    values.Add(single);
                    break;
                case IEnumerable many:
                    foreach (var item in many)
                    {
                        var value = unwrap(item) ?? throw new ArgumentException($"The {what} '{name}' has an empty ($null) value in its list.");
                        values.Add(Convert.ToString(value, CultureInfo.InvariantCulture)!);
                    }
                    break;
                case var other:
                    values.Add(Convert.ToString(other, CultureInfo.InvariantCulture)!);
                    break;
            }
            if (result.ContainsKey(name))
                throw new ArgumentException($"The {what} '{name}' is given twice (names are compared without regard to case).");
            result[name] = values;
        }
        return result;
    }
}
