using System.Text;
using System.Text.RegularExpressions;

namespace ApiGateway.Core;

/// <summary>
/// PowerShell wildcard patterns (<c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[a-z]</c>, and <c>`</c> to escape), matched
/// without regard to case, as <c>-CertificateId 'backend-*'</c> expects. Implemented here because Core does not
/// load System.Management.Automation.
/// </summary>
internal sealed class Wildcard
{
    private readonly Regex _regex;

    public Wildcard(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        Pattern = pattern;
        _regex = new Regex(ToRegex(pattern), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }

    public string Pattern { get; }

    /// <summary>Whether the pattern has any wildcard character (an unescaped <c>*</c>, <c>?</c> or <c>[</c>).</summary>
    public static bool ContainsWildcard(string? pattern)
    {
        if (pattern is null)
            return false;
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '`')
            {
                i++;
                continue;
            }
            if (pattern[i] is '*' or '?' or '[')
                return true;
        }
        return false;
    }

    /// <summary>The pattern without escapes, for a pattern that has no wildcard: <c>a`[1`]</c> → <c>a[1]</c>.</summary>
    public static string Unescape(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var sb = new StringBuilder(pattern.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '`' && i + 1 < pattern.Length)
                i++;
            sb.Append(pattern[i]);
        }
        return sb.ToString();
    }

    public bool IsMatch(string value) => _regex.IsMatch(value);

    private static string ToRegex(string pattern)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '`' when i + 1 < pattern.Length:
                    sb.Append(Regex.Escape(pattern[++i].ToString()));
                    break;
                case '*':
                    sb.Append(".*");
                    break;
                case '?':
                    sb.Append('.');
                    break;
                case '[':
                    var close = pattern.IndexOf(']', i + 1);
                    if (close < 0)
                        throw new ArgumentException($"The wildcard pattern '{pattern}' has a '[' without ']'. Escape it as '`['.", nameof(pattern));
                    var set = pattern[(i + 1)..close];
                    sb.Append('[');
                    foreach (var ch in set)
                        sb.Append(ch is '\\' or '^' or '[' or ']' ? "\\" + ch : ch.ToString());
                    sb.Append(']');
                    i = close;
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        return sb.Append('$').ToString();
    }
}
