using System.Text;

namespace ApiGateway.Core.Policies;

/// <summary>
/// APIM policy documents are "XML with C# inside": published policies put raw <c>&lt;</c>, <c>&amp;&amp;</c> and even
/// double quotes inside attribute values that hold an expression, e.g.
/// <c>condition="@(context.Request.Certificate.Issuer != "trusted-issuer")"</c>. That is not well-formed XML, so before
/// parsing, every <c>@(...)</c> or <c>@{...}</c> that makes up a whole attribute value or element text is found with a
/// small C# lexer (balanced brackets, string and character literals, comments) and its <c>&lt;</c>, <c>&gt;</c>,
/// <c>&amp;</c> (when not already an entity) and delimiting quote are escaped. Already-escaped documents pass through
/// unchanged. <see cref="Map"/> turns positions in the escaped text back into the author's lines and columns.
/// </summary>
internal sealed class PolicyXmlPreprocessor
{
    private readonly string _source;
    private readonly bool _literalAmpersands;
    private readonly StringBuilder _output;
    private readonly List<int> _origin; // _origin[i] = index in _source of output character i

    private PolicyXmlPreprocessor(string source, bool literalAmpersands)
    {
        _source = source;
        _literalAmpersands = literalAmpersands;
        _output = new StringBuilder(source.Length + 64);
        _origin = new List<int>(source.Length + 64);
    }

    private string? _escaped;
    private int[]? _escapedLines;
    private int[]? _sourceLines;

    /// <summary>The well-formed text (made once: the parser maps a position per element through it).</summary>
    public string Escaped => _escaped ??= _output.ToString();

    /// <summary>
    /// Escapes the expressions of <paramref name="source"/>. With <paramref name="literalAmpersands"/> (APIM's
    /// rawxml format) an <c>&amp;</c> inside an expression is always the C# character, so <c>&amp;lt;</c> there
    /// stays the four characters; only numeric character references (<c>&amp;#10;</c>) keep their XML meaning.
    /// Without it, a named entity inside an expression is taken as already escaped (the xml format).
    /// </summary>
    public static PolicyXmlPreprocessor Run(string source, bool literalAmpersands = false)
    {
        var p = new PolicyXmlPreprocessor(source, literalAmpersands);
        p.Process();
        return p;
    }

    /// <summary>Index in the original text of the character at <paramref name="escapedIndex"/>.</summary>
    public int OriginalIndex(int escapedIndex) =>
        escapedIndex < 0 ? 0 : escapedIndex >= _origin.Count ? _source.Length : _origin[escapedIndex];

    /// <summary>Maps a 1-based (line, column) of the escaped text to the same of the original text.</summary>
    /// <remarks>
    /// Through the line starts of both texts, found once: the parser maps every element and attribute, and scanning
    /// the text from its start for each made a policy of many elements quadratic (a 1 MB policy took minutes).
    /// </remarks>
    public (int Line, int Column) Map(int line, int column)
    {
        var escapedLines = _escapedLines ??= LineStarts(Escaped);
        var sourceLines = _sourceLines ??= LineStarts(_source);
        var escaped = Escaped;
        // As IndexOf: the start of the line (past the end when there is no such line), then the column, not past the end.
        var index = line <= 1 ? 0 : line - 1 < escapedLines.Length ? escapedLines[line - 1] : -1;
        index = index < 0 ? escaped.Length : Math.Min(escaped.Length, index + Math.Max(0, column - 1));
        var original = Math.Min(OriginalIndex(index), _source.Length);
        var found = Array.BinarySearch(sourceLines, original);
        var lineIndex = found >= 0 ? found : ~found - 1;
        return (lineIndex + 1, original - sourceLines[lineIndex] + 1);
    }

    /// <summary>The index of the first character of every line of <paramref name="text"/> (lines end with '\n').</summary>
    private static int[] LineStarts(string text)
    {
        var starts = new List<int> { 0 };
        for (var i = text.IndexOf('\n'); i >= 0; i = text.IndexOf('\n', i + 1))
            starts.Add(i + 1);
        return [.. starts];
    }

    internal static int IndexOf(string text, int line, int column)
    {
        var index = 0;
        for (var l = 1; l < line && index < text.Length; l++)
        {
            var nl = text.IndexOf('\n', index);
            if (nl < 0)
                return text.Length;
            index = nl + 1;
        }
        return Math.Min(text.Length, index + Math.Max(0, column - 1));
    }

    internal static (int Line, int Column) LineColumn(string text, int index)
    {
        int line = 1, column = 1;
        for (var i = 0; i < index && i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }
        return (line, column);
    }

    private void Emit(char c, int origin)
    {
        _output.Append(c);
        _origin.Add(origin);
    }

    private void Emit(string s, int origin)
    {
        foreach (var c in s)
            Emit(c, origin);
    }

    private void Process()
    {
        var s = _source;
        var i = 0;
        while (i < s.Length)
        {
            if (StartsWith(i, "<!--"))
            {
                i = Copy(i, EndOf(i, "-->"));
                continue;
            }
            if (StartsWith(i, "<![CDATA["))
            {
                i = Copy(i, EndOf(i, "]]>"));
                continue;
            }
            if (StartsWith(i, "<?") || StartsWith(i, "<!"))
            {
                i = Copy(i, EndOf(i, ">"));
                continue;
            }
            if (s[i] == '<')
            {
                i = ProcessTag(i);
                continue;
            }
            // Element text: an expression may follow leading white space.
            var j = i;
            while (j < s.Length && char.IsWhiteSpace(s[j]))
                j++;
            if (IsExpressionStart(j))
            {
                Copy(i, j);
                var end = ExpressionEnd(j);
                if (end > 0)
                {
                    EscapeRange(j, end, quote: '\0');
                    i = end;
                    continue;
                }
                i = j;
            }
            var next = s.IndexOf('<', i + 1);
            i = Copy(i, next < 0 ? s.Length : next);
        }
    }

    /// <summary>Copies a start or end tag, escaping expression attribute values. Returns the index after it.</summary>
    private int ProcessTag(int start)
    {
        var s = _source;
        var i = start;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '>')
            {
                Emit(c, i);
                return i + 1;
            }
            if (c is '"' or '\'')
            {
                var quote = c;
                Emit(c, i);
                i++;
                if (IsExpressionStart(i))
                {
                    var end = ExpressionEnd(i);
                    if (end > 0 && end < s.Length && s[end] == quote)
                    {
                        EscapeRange(i, end, quote);
                        Emit(quote, end);
                        i = end + 1;
                        continue;
                    }
                }
                var close = s.IndexOf(quote, i);
                if (close < 0)
                    return Copy(i, s.Length);
                i = Copy(i, close + 1);
                continue;
            }
            if (c == '<' && i > start)
                return i; // malformed tag: let the XML parser report it where it is
            Emit(c, i);
            i++;
        }
        return i;
    }

    private void EscapeRange(int from, int to, char quote)
    {
        for (var k = from; k < to; k++)
        {
            var c = _source[k];
            switch (c)
            {
                case '<':
                    Emit("&lt;", k);
                    break;
                case '>':
                    Emit("&gt;", k);
                    break;
                case '&' when !(_literalAmpersands ? IsCharacterReference(k) : IsEntity(k)):
                    Emit("&amp;", k);
                    break;
                case '"' when quote == '"':
                    Emit("&quot;", k);
                    break;
                case '\'' when quote == '\'':
                    Emit("&apos;", k);
                    break;
                default:
                    Emit(c, k);
                    break;
            }
        }
    }

    private bool IsEntity(int amp) =>
        TryEntityName(amp, out var name) && (name is "lt" or "gt" or "amp" or "quot" or "apos" || IsCharacterReference(name));

    /// <summary>Whether <c>&amp;</c> at <paramref name="amp"/> starts <c>&amp;#nn;</c> or <c>&amp;#xhh;</c>.</summary>
    private bool IsCharacterReference(int amp) => TryEntityName(amp, out var name) && IsCharacterReference(name);

    /// <summary>The text between <c>&amp;</c> at <paramref name="amp"/> and the next ';', when it is short enough to name an entity.</summary>
    private bool TryEntityName(int amp, out ReadOnlySpan<char> name)
    {
        var semi = _source.IndexOf(';', amp);
        name = semi < 0 || semi - amp > 10 ? default : _source.AsSpan(amp + 1, semi - amp - 1);
        return !name.IsEmpty;
    }

    private static bool IsCharacterReference(ReadOnlySpan<char> name)
    {
        if (name.Length < 2 || name[0] != '#')
            return false;
        var hex = name[1] is 'x' or 'X';
        var digits = hex ? name[2..] : name[1..];
        if (digits.IsEmpty)
            return false;
        foreach (var d in digits)
        {
            if (!(hex ? char.IsAsciiHexDigit(d) : char.IsAsciiDigit(d)))
                return false;
        }
        return true;
    }

    private bool IsExpressionStart(int i) =>
        i + 1 < _source.Length && _source[i] == '@' && _source[i + 1] is '(' or '{';

    /// <summary>The index just after the bracket that closes the expression at <paramref name="at"/>, or -1.</summary>
    private int ExpressionEnd(int at)
    {
        var end = CSharpScan.SkipBalanced(_source, at + 1);
        return end;
    }

    private bool StartsWith(int i, string value) => string.CompareOrdinal(_source, i, value, 0, value.Length) == 0;

    private int EndOf(int from, string terminator)
    {
        var k = _source.IndexOf(terminator, from + 1, StringComparison.Ordinal);
        return k < 0 ? _source.Length : k + terminator.Length;
    }

    private int Copy(int from, int to)
    {
        for (var k = from; k < to; k++)
            Emit(_source[k], k);
        return to;
    }
}

/// <summary>Just enough of a C# lexer to find where a bracketed expression ends.</summary>
internal static class CSharpScan
{
    /// <summary>
    /// <paramref name="open"/> is the index of '(' or '{'. Returns the index after its matching bracket, skipping
    /// string, verbatim, interpolated and character literals and comments; -1 when it is never closed.
    /// </summary>
    public static int SkipBalanced(string s, int open)
    {
        var depth = 0;
        var i = open;
        while (i < s.Length)
        {
            var c = s[i];
            switch (c)
            {
                case '(' or '{' or '[':
                    depth++;
                    i++;
                    break;
                case ')' or '}' or ']':
                    depth--;
                    i++;
                    if (depth == 0)
                        return i;
                    break;
                case '"' or '\'' or '@' or '$':
                    var after = SkipLiteral(s, i);
                    i = after > i ? after : i + 1;
                    break;
                case '/' when i + 1 < s.Length && s[i + 1] == '/':
                    var nl = s.IndexOf('\n', i);
                    i = nl < 0 ? s.Length : nl + 1;
                    break;
                case '/' when i + 1 < s.Length && s[i + 1] == '*':
                    var close = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                    i = close < 0 ? s.Length : close + 2;
                    break;
                default:
                    i++;
                    break;
            }
        }
        return -1;
    }

    /// <summary>Skips a literal starting at <paramref name="i"/>; returns <paramref name="i"/> when there is none.</summary>
    private static int SkipLiteral(string s, int i)
    {
        var verbatim = false;
        var interpolated = false;
        var k = i;
        while (k < s.Length && (s[k] == '@' || s[k] == '$'))
        {
            if (s[k] == '@')
                verbatim = true;
            else
                interpolated = true;
            k++;
            if (k - i > 2)
                return i;
        }
        if (k >= s.Length)
            return i;
        if (s[k] == '\'' && k == i)
            return SkipCharLiteral(s, k);
        if (s[k] != '"')
            return i;
        if (string.CompareOrdinal(s, k, "\"\"\"", 0, 3) == 0)
        {
            var close = s.IndexOf("\"\"\"", k + 3, StringComparison.Ordinal);
            return close < 0 ? s.Length : close + 3;
        }
        k++;
        while (k < s.Length)
        {
            var c = s[k];
            if (!verbatim && c == '\\')
            {
                k += 2;
                continue;
            }
            if (c == '"')
            {
                if (verbatim && k + 1 < s.Length && s[k + 1] == '"')
                {
                    k += 2;
                    continue;
                }
                return k + 1;
            }
            if (interpolated && c == '{')
            {
                if (k + 1 < s.Length && s[k + 1] == '{')
                {
                    k += 2;
                    continue;
                }
                var end = SkipBalanced(s, k);
                if (end < 0)
                    return s.Length;
                k = end;
                continue;
            }
            if (!verbatim && c == '\n')
                return k; // unterminated: let the compiler say so
            k++;
        }
        return s.Length;
    }

    private static int SkipCharLiteral(string s, int k)
    {
        var j = k + 1;
        if (j < s.Length && s[j] == '\\')
            j += 2;
        else
            j++;
        while (j < s.Length && s[j] != '\'' && s[j] != '\n' && j - k < 12)
            j++;
        return j < s.Length && s[j] == '\'' ? j + 1 : k + 1;
    }
}
