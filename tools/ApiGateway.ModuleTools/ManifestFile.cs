using System.Text;
using System.Text.RegularExpressions;

namespace ApiGateway.ModuleTools;

/// <summary>
/// Reads and fills the module manifest (<c>ApiGateway.psd1</c>, a PowerShell data file) without PowerShell: the
/// build needs only its scalar strings and its <c>@('a', 'b')</c> string arrays, and writes only ModuleVersion.
/// </summary>
public sealed partial class ManifestFile
{
    private readonly string _text;

    public ManifestFile(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _text = text;
    }

    public string Text => _text;

    /// <summary>The value of <c>Key = 'value'</c>, or null.</summary>
    public string? Scalar(string key)
    {
        var match = Regex.Match(WithoutComments(_text), $@"(?im)^\s*{Regex.Escape(key)}\s*=\s*'(?<value>[^']*)'");
        return match.Success ? match.Groups["value"].Value : null;
    }

    /// <summary>The items of <c>Key = @('a', 'b')</c> (null when the key is missing; empty for <c>@()</c>).</summary>
    public IReadOnlyList<string>? Array(string key)
    {
        var match = Regex.Match(WithoutComments(_text), $@"(?ims)^\s*{Regex.Escape(key)}\s*=\s*@\((?<body>[^)]*)\)");
        if (!match.Success)
            return null;
        return QuotedItem().Matches(match.Groups["body"].Value).Select(m => m.Groups["value"].Value).ToList();
    }

    /// <summary>The manifest with <c>ModuleVersion</c> set to <paramref name="version"/>.</summary>
    public ManifestFile WithVersion(string version)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        if (!System.Version.TryParse(version, out _))
            throw new ArgumentException($"'{version}' is not a module version (major.minor[.build[.revision]]).", nameof(version));
        var pattern = ModuleVersionLine();
        if (!pattern.IsMatch(_text))
            throw new InvalidDataException("The manifest has no ModuleVersion = '...' line to fill.");
        return new ManifestFile(pattern.Replace(_text, m => m.Groups["head"].Value + version + "'", 1));
    }

    /// <summary>The manifest with <c>ReleaseNotes = '...'</c> set to <paramref name="notes"/> (quotes doubled, as a PowerShell single-quoted string).</summary>
    public ManifestFile WithReleaseNotes(string notes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(notes);
        var pattern = ReleaseNotesLine();
        if (!pattern.IsMatch(_text))
            throw new InvalidDataException("The manifest has no ReleaseNotes = '...' line (in PrivateData.PSData) to fill.");
        var quoted = notes.Replace("'", "''", StringComparison.Ordinal);
        return new ManifestFile(pattern.Replace(_text, m => m.Groups["head"].Value + quoted + "'", 1));
    }

    /// <summary>The section of <paramref name="version"/> in a changelog (<c>## [0.1.0]</c> up to the next <c>## </c>), or null.</summary>
    public static string? ChangelogSection(string changelog, string version)
    {
        ArgumentNullException.ThrowIfNull(changelog);
        var match = Regex.Match(changelog.Replace("\r\n", "\n", StringComparison.Ordinal), $@"(?ms)^## \[{Regex.Escape(version)}\][^\n]*\n(?<body>.*?)(?=^## |\z)");
        var body = match.Success ? match.Groups["body"].Value.Trim() : null;
        return string.IsNullOrEmpty(body) ? null : body;
    }

    /// <summary>Text with <c># comments</c> removed (outside quotes), so commented-out entries are not read.</summary>
    private static string WithoutComments(string text)
    {
        var sb = new StringBuilder(text.Length);
        var quote = '\0';
        var comment = false;
        foreach (var c in text)
        {
            if (comment)
            {
                if (c == '\n')
                {
                    comment = false;
                    sb.Append(c);
                }
                continue;
            }
            if (quote == '\0' && c == '#')
            {
                comment = true;
                continue;
            }
            if (c is '\'' or '"')
                quote = quote == '\0' ? c : quote == c ? '\0' : quote;
            sb.Append(c);
        }
        return sb.ToString();
    }

    [GeneratedRegex(@"(?<head>(?m)^\s*ModuleVersion\s*=\s*')[^']*'")]
    private static partial Regex ModuleVersionLine();

    [GeneratedRegex(@"(?<head>(?m)^\s*ReleaseNotes\s*=\s*')(?:[^']|'')*'")]
    private static partial Regex ReleaseNotesLine();

    [GeneratedRegex(@"'(?<value>[^']*)'")]
    private static partial Regex QuotedItem();
}
