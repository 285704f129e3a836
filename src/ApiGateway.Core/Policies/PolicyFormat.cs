using System.Globalization;
using System.Text;

namespace ApiGateway.Core.Policies;

/// <summary>
/// How the expressions of a policy document are written: APIM's policy content formats, as
/// Get-/Set-AzApiManagementPolicy <c>-Format</c> names them.
/// </summary>
internal enum PolicyFormat
{
    /// <summary>
    /// Well-formed XML (APIM <c>xml</c>, Az's default): inside an expression <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c>
    /// and the attribute's quote are entities, so any XML reader (<c>[xml]</c>) can load the document.
    /// </summary>
    Xml,

    /// <summary>
    /// Expressions as C# (APIM <c>rawxml</c>, what the portal's editor shows): raw <c>&lt;</c>, <c>&amp;&amp;</c> and
    /// quotes; an <c>&amp;</c> inside an expression is the C# character, never the start of an entity.
    /// </summary>
    RawXml,
}

/// <summary>
/// Reading and rendering policy documents in a <see cref="PolicyFormat"/>. The configuration keeps a document as its
/// author wrote it (expressions raw or escaped, both parse); these turn it into exactly one of the two forms, and
/// turn a rawxml document into the escaped form so that its <c>&amp;</c>s keep their rawxml meaning.
/// </summary>
internal static class PolicyFormats
{
    /// <summary>The media type Az and the APIM REST API use for <see cref="PolicyFormat.Xml"/>.</summary>
    public const string XmlMediaType = "application/vnd.ms-azure-apim.policy+xml";

    /// <summary>The media type Az and the APIM REST API use for <see cref="PolicyFormat.RawXml"/>.</summary>
    public const string RawXmlMediaType = "application/vnd.ms-azure-apim.policy.raw+xml";

    /// <summary>The values <see cref="Parse"/> accepts, as Az's completer offers them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["Xml", "RawXml", XmlMediaType, RawXmlMediaType];

    /// <summary>
    /// The format named by <paramref name="value"/>: <c>Xml</c>, <c>RawXml</c> (any case, so the REST API's
    /// <c>xml</c> and <c>rawxml</c> too) or one of the two media types; null or blank: none (the document as
    /// written). Anything else is refused with <c>PolicyInvalidFormat</c> (Az silently falls back to Xml).
    /// </summary>
    public static PolicyFormat? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var name = value.Trim();
        if (Is(name, nameof(PolicyFormat.Xml)) || Is(name, XmlMediaType))
            return PolicyFormat.Xml;
        if (Is(name, nameof(PolicyFormat.RawXml)) || Is(name, RawXmlMediaType))
            return PolicyFormat.RawXml;
        throw new GatewayException("Policy", "InvalidFormat", GatewayErrorCategory.InvalidArgument,
            $"'{value}' is not a policy format. Give Xml (or {XmlMediaType}) or RawXml (or {RawXmlMediaType}); policy links (xml-link, rawxml-link) are not supported.",
            value);

        static bool Is(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// <paramref name="policy"/> (a document as stored: it parses) written in <paramref name="format"/>; null
    /// gives it back as it is.
    /// </summary>
    public static string Render(string policy, PolicyFormat? format)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return format switch
        {
            null => policy,
            PolicyFormat.Xml => PolicyXmlPreprocessor.Run(policy).Escaped,
            PolicyFormat.RawXml => ToRaw(PolicyXmlPreprocessor.Run(policy).Escaped),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
        };
    }

    /// <summary>
    /// The document to store for <paramref name="text"/> given in <paramref name="format"/>. A rawxml document is
    /// escaped with every <c>&amp;</c> inside an expression taken literally; xml, or no format, is kept as given
    /// (named entities inside expressions are entities, raw operators are escaped when it is parsed).
    /// </summary>
    public static string Read(string text, PolicyFormat? format)
    {
        ArgumentNullException.ThrowIfNull(text);
        return format == PolicyFormat.RawXml ? PolicyXmlPreprocessor.Run(text, literalAmpersands: true).Escaped : text;
    }

    /// <summary>
    /// The rawxml form of a well-formed document: every attribute value and element text that is a whole expression
    /// is written decoded (its C# as the compiler sees it); everything else, comments and CDATA included, as it is.
    /// </summary>
    private static string ToRaw(string xml)
    {
        var sb = new StringBuilder(xml.Length);
        var i = 0;
        while (i < xml.Length)
        {
            if (Starts(xml, i, "<!--"))
                i = Copy(xml, i, End(xml, i, "-->"), sb);
            else if (Starts(xml, i, "<![CDATA["))
                i = Copy(xml, i, End(xml, i, "]]>"), sb);
            else if (Starts(xml, i, "<?") || Starts(xml, i, "<!"))
                i = Copy(xml, i, End(xml, i, ">"), sb);
            else if (xml[i] == '<')
                i = Tag(xml, i, sb);
            else
                i = Text(xml, i, sb);
        }
        return sb.ToString();
    }

    /// <summary>Copies a tag whose quoted attribute values, when expressions, are decoded. Returns the index after it.</summary>
    private static int Tag(string xml, int i, StringBuilder sb)
    {
        while (i < xml.Length)
        {
            var c = xml[i];
            if (c is '"' or '\'')
            {
                // Well-formed: the value holds no raw quote of its own kind.
                var close = xml.IndexOf(c, i + 1);
                if (close < 0)
                    return Copy(xml, i, xml.Length, sb);
                var value = xml[(i + 1)..close];
                var decoded = Decode(value);
                sb.Append(c).Append(IsExpression(decoded) ? decoded : value).Append(c);
                i = close + 1;
                continue;
            }
            sb.Append(c);
            i++;
            if (c == '>')
                break;
        }
        return i;
    }

    /// <summary>Copies element text up to the next markup, decoded when (between its white space) it is an expression.</summary>
    private static int Text(string xml, int i, StringBuilder sb)
    {
        var next = xml.IndexOf('<', i);
        if (next < 0)
            next = xml.Length;
        var text = xml.AsSpan(i, next - i);
        var core = text.Trim();
        var decoded = Decode(core.ToString());
        if (core.Length > 0 && IsExpression(decoded))
        {
            var lead = text.Length - text.TrimStart().Length;
            sb.Append(text[..lead]).Append(decoded).Append(text[(lead + core.Length)..]);
        }
        else
        {
            sb.Append(text);
        }
        return next;
    }

    /// <summary>The policy document's own rule (an attribute value or trimmed text that is <c>@(...)</c> or <c>@{...}</c>).</summary>
    private static bool IsExpression(string text) =>
        text.Length >= 3 && text[0] == '@' && ((text[1] == '(' && text[^1] == ')') || (text[1] == '{' && text[^1] == '}'))
        && CSharpScan.SkipBalanced(text, 1) == text.Length;

    /// <summary>
    /// Decodes the XML entities of well-formed text. References to tab, line feed and carriage return stay: as raw
    /// characters inside an attribute value, any XML reader would turn them into spaces.
    /// </summary>
    private static string Decode(string text)
    {
        var amp = text.IndexOf('&', StringComparison.Ordinal);
        if (amp < 0)
            return text;
        var sb = new StringBuilder(text.Length);
        var i = 0;
        while (amp >= 0)
        {
            sb.Append(text, i, amp - i);
            var semi = text.IndexOf(';', amp);
            if (semi < 0)
            {
                i = amp;
                break;
            }
            var name = text.AsSpan(amp + 1, semi - amp - 1);
            var character = name switch
            {
                "lt" => "<",
                "gt" => ">",
                "amp" => "&",
                "quot" => "\"",
                "apos" => "'",
                _ => CharacterReference(name),
            };
            sb.Append(character ?? text[amp..(semi + 1)]);
            i = semi + 1;
            amp = text.IndexOf('&', i);
        }
        sb.Append(text, i, text.Length - i);
        return sb.ToString();
    }

    private static string? CharacterReference(ReadOnlySpan<char> name)
    {
        if (name.Length < 2 || name[0] != '#')
            return null;
        var hex = name[1] is 'x' or 'X';
        if (!int.TryParse(hex ? name[2..] : name[1..], hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out var code)
            || code is '\t' or '\n' or '\r' or (>= 0xD800 and <= 0xDFFF) or > 0x10FFFF)
        {
            return null;
        }
        return char.ConvertFromUtf32(code);
    }

    private static bool Starts(string s, int i, string value) => string.CompareOrdinal(s, i, value, 0, value.Length) == 0;

    private static int End(string s, int from, string terminator)
    {
        var k = s.IndexOf(terminator, from + 1, StringComparison.Ordinal);
        return k < 0 ? s.Length : k + terminator.Length;
    }

    private static int Copy(string s, int from, int to, StringBuilder sb)
    {
        sb.Append(s, from, to - from);
        return to;
    }
}
