using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;

namespace ApiGateway.Core.Configuration;

/// <summary>Rules for the ids of certificates, backends and APIs, and the maps keyed by them.</summary>
internal static partial class Ids
{
    /// <summary>Ids compare without regard to case (as in APIM), and maps are sorted by that comparer.</summary>
    public static StringComparer Comparer { get; } = StringComparer.OrdinalIgnoreCase;

    /// <summary>Longest id accepted (APIM's limit).</summary>
    public const int MaxLength = 80;

    /// <summary>The id rule, as quoted in error messages.</summary>
    public const string Rule = "1 to 80 letters, digits, '-', '_' or '.', starting with a letter or digit";

    public static ImmutableSortedDictionary<string, T> EmptyMap<T>() => ImmutableSortedDictionary.Create<string, T>(Comparer);

    internal static ImmutableSortedDictionary<string, ImmutableArray<string>> EmptyHeaderMap() => EmptyMap<ImmutableArray<string>>();

    /// <summary>Whether <paramref name="id"/> follows <see cref="Rule"/>. Ids are also file names in the certificate store.</summary>
    public static bool IsValid([NotNullWhen(true)] string? id) => id is not null && IdPattern().IsMatch(id);

    /// <summary>
    /// Makes an id from a hint (a certificate's common name, a URL's host) that is valid and not yet in
    /// <paramref name="taken"/>: <c>CN=api.contoso.com</c> gives <c>api-contoso-com</c>, then <c>api-contoso-com-2</c>.
    /// </summary>
    public static string Generate(string? hint, string fallback, Func<string, bool> taken)
    {
        var sb = new StringBuilder();
        foreach (var ch in hint ?? string.Empty)
        {
            if (char.IsAsciiLetterOrDigit(ch))
                sb.Append(char.ToLowerInvariant(ch));
            else if (sb.Length > 0 && sb[^1] != '-')
                sb.Append('-');
        }
        var stem = sb.ToString().Trim('-');
        if (stem.Length == 0)
            stem = fallback;
        if (stem.Length > MaxLength - 4)
            stem = stem[..(MaxLength - 4)].TrimEnd('-');
        if (!taken(stem))
            return stem;
        for (var n = 2; ; n++)
        {
            var candidate = $"{stem}-{n}";
            if (!taken(candidate))
                return candidate;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}
