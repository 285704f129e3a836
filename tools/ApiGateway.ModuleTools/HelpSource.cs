using System.Text;

namespace ApiGateway.ModuleTools;

/// <summary>One example: a title, the code, and what it does.</summary>
public sealed record HelpExample(string Title, string Code, IReadOnlyList<string> Remarks);

/// <summary>A related link: text and an optional URI.</summary>
public sealed record HelpLink(string Text, string? Uri);

/// <summary>
/// The help of one cmdlet as written in <c>module/help/&lt;Verb-Noun&gt;.md</c> (a PlatyPS-like layout):
/// <code>
/// # Verb-Noun
/// ## SYNOPSIS            one paragraph
/// ## DESCRIPTION         paragraphs
/// ## EXAMPLES            ### Example 1: title, a ```powershell fence, then remarks
/// ## PARAMETERS          ### -Name, then paragraphs (metadata comes from the cmdlet class, not from here)
/// ## INPUTS / OUTPUTS    optional: ### TypeName, then paragraphs (the types come from the cmdlet class)
/// ## NOTES               optional paragraphs
/// ## RELATED LINKS       optional: - [text](uri) or - text
/// </code>
/// Only prose lives in markdown; syntax, types, positions and pipeline binding are read from the cmdlet class by
/// <see cref="CmdletCatalog"/>, so help cannot drift from the code.
/// </summary>
public sealed record HelpDocument(
    string CommandName,
    string Synopsis,
    IReadOnlyList<string> Description,
    IReadOnlyList<HelpExample> Examples,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Parameters,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Inputs,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Outputs,
    IReadOnlyList<string> Notes,
    IReadOnlyList<HelpLink> RelatedLinks,
    string SourcePath);

/// <summary>Parses help markdown; every problem is reported with its file and line.</summary>
public static class HelpSource
{
    private static readonly string[] Sections = ["SYNOPSIS", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS"];

    public static HelpDocument Parse(string text, string sourcePath, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(errors);
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var start = 0;
        if (lines.Length > 0 && lines[0].Trim() == "---")
        {
            // YAML front matter (PlatyPS writes one); nothing in it is needed.
            start = Array.FindIndex(lines, 1, l => l.Trim() == "---") + 1;
            if (start == 0)
            {
                errors.Add($"{sourcePath}(1): front matter '---' is not closed.");
                start = lines.Length;
            }
        }

        string? name = null;
        var sections = new Dictionary<string, List<(string Line, int Number)>>(StringComparer.Ordinal);
        List<(string, int)>? current = null;
        var inFence = false;
        for (var i = start; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
                inFence = !inFence;
            if (!inFence && line.StartsWith("# ", StringComparison.Ordinal) && name is null)
            {
                name = line[2..].Trim();
                continue;
            }
            if (!inFence && line.StartsWith("## ", StringComparison.Ordinal))
            {
                var section = line[3..].Trim().ToUpperInvariant();
                if (!Sections.Contains(section))
                    errors.Add($"{sourcePath}({i + 1}): unknown section '## {line[3..].Trim()}'; expected one of {string.Join(", ", Sections)}.");
                else if (sections.ContainsKey(section))
                    errors.Add($"{sourcePath}({i + 1}): section '## {section}' appears twice.");
                current = sections[section] = [];
                continue;
            }
            current?.Add((line, i + 1));
        }
        if (inFence)
            errors.Add($"{sourcePath}: a ``` code fence is not closed.");
        if (name is null)
            errors.Add($"{sourcePath}: no '# Verb-Noun' title.");

        var synopsis = Join(Paragraphs(Get(sections, "SYNOPSIS")));
        if (string.IsNullOrWhiteSpace(synopsis))
            errors.Add($"{sourcePath}: '## SYNOPSIS' is missing or empty.");
        var description = Paragraphs(Get(sections, "DESCRIPTION"));
        if (description.Count == 0)
            errors.Add($"{sourcePath}: '## DESCRIPTION' is missing or empty.");
        var examples = ParseExamples(Get(sections, "EXAMPLES"), sourcePath, errors);
        if (examples.Count == 0)
            errors.Add($"{sourcePath}: '## EXAMPLES' has no example ('### Example 1: ...' with a ```powershell block).");
        var parameters = Subsections(Get(sections, "PARAMETERS"), sourcePath, errors, requireDash: true);
        var inputs = Subsections(Get(sections, "INPUTS"), sourcePath, errors, requireDash: false);
        var outputs = Subsections(Get(sections, "OUTPUTS"), sourcePath, errors, requireDash: false);
        var notes = Paragraphs(Get(sections, "NOTES"));
        var links = Get(sections, "RELATED LINKS").Select(l => l.Line.Trim()).Where(l => l.Length > 0).Select(ParseLink).ToList();
        return new HelpDocument(name ?? string.Empty, synopsis, description, examples, parameters, inputs, outputs, notes, links, sourcePath);
    }

    private static List<(string Line, int Number)> Get(Dictionary<string, List<(string, int)>> sections, string name) =>
        sections.TryGetValue(name, out var lines) ? lines : [];

    private static List<HelpExample> ParseExamples(List<(string Line, int Number)> lines, string sourcePath, List<string> errors)
    {
        var examples = new List<HelpExample>();
        foreach (var (title, body, number) in Split(lines))
        {
            var code = new StringBuilder();
            var remarks = new List<(string, int)>();
            var fences = 0;
            var inFence = false;
            foreach (var (line, n) in body)
            {
                if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
                {
                    inFence = !inFence;
                    if (inFence)
                        fences++;
                    continue;
                }
                if (inFence)
                    code.Append(line).Append('\n');
                else
                    remarks.Add((line, n));
            }
            if (fences != 1)
                errors.Add($"{sourcePath}({number}): example '{title}' needs exactly one ```powershell code block (found {fences}).");
            var remarkParagraphs = Paragraphs(remarks);
            if (remarkParagraphs.Count == 0)
                errors.Add($"{sourcePath}({number}): example '{title}' needs a sentence after the code saying what it does.");
            examples.Add(new HelpExample(title, code.ToString().TrimEnd('\n'), remarkParagraphs));
        }
        return examples;
    }

    private static Dictionary<string, IReadOnlyList<string>> Subsections(List<(string Line, int Number)> lines, string sourcePath, List<string> errors, bool requireDash)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (title, body, number) in Split(lines))
        {
            var key = title;
            if (requireDash)
            {
                if (!title.StartsWith('-'))
                {
                    errors.Add($"{sourcePath}({number}): parameter heading '### {title}' must be '### -Name'.");
                    continue;
                }
                key = title[1..].Trim();
            }
            var paragraphs = Paragraphs(body);
            if (paragraphs.Count == 0)
                errors.Add($"{sourcePath}({number}): '### {title}' has no text.");
            if (!result.TryAdd(key, paragraphs))
                errors.Add($"{sourcePath}({number}): '### {title}' appears twice.");
        }
        return result;
    }

    /// <summary>Splits a section at its '### ' headings.</summary>
    private static IEnumerable<(string Title, List<(string Line, int Number)> Body, int Number)> Split(List<(string Line, int Number)> lines)
    {
        string? title = null;
        var number = 0;
        var body = new List<(string, int)>();
        var inFence = false;
        foreach (var (line, n) in lines)
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
                inFence = !inFence;
            if (!inFence && line.StartsWith("### ", StringComparison.Ordinal))
            {
                if (title is not null)
                    yield return (title, body, number);
                title = line[4..].Trim();
                number = n;
                body = [];
                continue;
            }
            body.Add((line, n));
        }
        if (title is not null)
            yield return (title, body, number);
    }

    /// <summary>
    /// Blank-line separated paragraphs. Lines of a paragraph are joined with a space (markdown soft wraps), except
    /// list items, which keep their own line; a fenced block stays one paragraph with its line breaks.
    /// </summary>
    internal static List<string> Paragraphs(List<(string Line, int Number)> lines)
    {
        var result = new List<string>();
        var current = new StringBuilder();
        var inFence = false;
        void Flush()
        {
            if (current.Length > 0)
                result.Add(current.ToString().Trim());
            current.Clear();
        }
        foreach (var (raw, _) in lines)
        {
            var line = raw.TrimEnd();
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                if (inFence)
                {
                    inFence = false;
                    Flush();
                }
                else
                {
                    Flush();
                    inFence = true;
                }
                continue;
            }
            if (inFence)
            {
                current.Append(line).Append('\n');
                continue;
            }
            if (line.Trim().Length == 0)
            {
                Flush();
                continue;
            }
            var trimmed = line.Trim();
            var listItem = trimmed.StartsWith("- ", StringComparison.Ordinal) || trimmed.StartsWith("* ", StringComparison.Ordinal);
            if (current.Length > 0)
                current.Append(listItem ? '\n' : ' ');
            current.Append(listItem ? "- " + trimmed[2..] : trimmed);
        }
        Flush();
        return result;
    }

    private static string Join(List<string> paragraphs) => string.Join(" ", paragraphs);

    private static HelpLink ParseLink(string line)
    {
        var text = line.TrimStart('-', '*', ' ');
        if (text.StartsWith('[') && text.IndexOf("](", StringComparison.Ordinal) is var close and > 0 && text.EndsWith(')'))
            return new HelpLink(text[1..close], text[(close + 2)..^1]);
        return new HelpLink(text, null);
    }
}
