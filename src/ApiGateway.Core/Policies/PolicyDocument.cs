using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary>
/// A parsed APIM policy document: <c>&lt;policies&gt;</c> with its inbound, backend, outbound and on-error sections.
/// <see cref="Parse"/> collects every problem (unknown elements and attributes, misplaced elements, bad literals,
/// XML that is not well-formed) with the line and column the author wrote, instead of stopping at the first.
/// </summary>
internal sealed class PolicyDocument
{
    internal PolicyDocument(string text, PolicyScope scope, IReadOnlyDictionary<PolicySectionKind, PolicySection> sections)
    {
        Text = text;
        Scope = scope;
        Sections = sections;
    }

    /// <summary>The document as written.</summary>
    public string Text { get; }

    /// <summary>Global or API.</summary>
    public PolicyScope Scope { get; }

    /// <summary>The sections present in the document.</summary>
    public IReadOnlyDictionary<PolicySectionKind, PolicySection> Sections { get; }

    /// <summary>The section of <paramref name="kind"/>, or null when the document leaves it out.</summary>
    public PolicySection? this[PolicySectionKind kind] => Sections.TryGetValue(kind, out var s) ? s : null;

    /// <summary>The XML name of a section.</summary>
    public static string SectionName(PolicySectionKind kind) => kind.XmlName();

    /// <summary>
    /// Parses and checks <paramref name="text"/>. Returns the document, or null with every error found. Results are
    /// immutable and cached by text, since the same policies are parsed by every operation on a configuration.
    /// </summary>
    public static PolicyParseResult Parse(string text, PolicyScope scope)
    {
        ArgumentNullException.ThrowIfNull(text);
        var key = (text, scope);
        if (Cache.TryGetValue(key, out var cached))
            return cached;
        var result = ParseUncached(text, scope);
        if (Cache.Count >= MaxCached)
            Cache.Clear();
        Cache[key] = result;
        return result;
    }

    private const int MaxCached = 8192;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, PolicyScope), PolicyParseResult> Cache = new();

    private static PolicyParseResult ParseUncached(string text, PolicyScope scope)
    {
        var pre = PolicyXmlPreprocessor.Run(text);
        if (TooDeep(pre.Escaped) is { } deep)
        {
            var (line, column) = pre.Map(deep.Line, deep.Column);
            return new PolicyParseResult(null, [new PolicyError(line, Math.Max(1, column - 1),
                $"<{deep.Name}> nests more than {MaxElementDepth.ToString(CultureInfo.InvariantCulture)} elements deep; a policy may nest at most {MaxElementDepth.ToString(CultureInfo.InvariantCulture)} levels. Flatten the nested <choose> elements (combine their conditions)")]);
        }
        XDocument xml;
        try
        {
            xml = XDocument.Parse(pre.Escaped, LoadOptions.SetLineInfo | LoadOptions.PreserveWhitespace);
        }
        catch (XmlException ex)
        {
            var (line, column) = pre.Map(ex.LineNumber, ex.LinePosition);
            var message = ex.Message;
            var cut = message.IndexOf(" Line ", StringComparison.Ordinal);
            if (cut > 0)
                message = message[..cut];
            return new PolicyParseResult(null, [new PolicyError(line, column, $"the policy is not well-formed XML: {message.TrimEnd('.')}")]);
        }
        var parser = new PolicyParser(pre, scope);
        var doc = parser.Run(xml, text);
        return new PolicyParseResult(parser.Errors.Count == 0 ? doc : null, parser.Errors);
    }

    /// <summary>
    /// How deep elements may nest, <c>&lt;policies&gt;</c> being 1. Real policies need a handful of levels (a choose in
    /// a when in a choose). Loading XML into a tree costs time quadratic in its depth (10,000 nested elements, 0.5 MB:
    /// 14 s), and parsing, composing and running a policy follow its nesting, so a deeper document is refused after a
    /// streaming read that stops at the first element too deep (found by the fuzzer).
    /// </summary>
    public const int MaxElementDepth = 64;

    /// <summary>The first element deeper than <see cref="MaxElementDepth"/> (its name and escaped-text position), or null.</summary>
    private static (string Name, int Line, int Column)? TooDeep(string escaped)
    {
        try
        {
            using var reader = XmlReader.Create(new StringReader(escaped), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null });
            var info = (IXmlLineInfo)reader;
            while (reader.Read())
            {
                // Depth counts from 0 at the root element.
                if (reader.NodeType == XmlNodeType.Element && reader.Depth >= MaxElementDepth)
                    return (reader.LocalName, info.LineNumber, info.LinePosition);
            }
        }
        catch (XmlException)
        {
            // Not well-formed: the parse below reports where.
        }
        return null;
    }

    /// <summary>Parses <paramref name="text"/> or throws <see cref="GatewayException"/> <c>PolicyInvalid</c> listing every error.</summary>
    public static PolicyDocument ParseOrThrow(string text, PolicyScope scope, string owner)
    {
        var result = Parse(text, scope);
        if (result.Document is { } doc)
            return doc;
        var details = result.Errors.Select(e => e.ToString()).ToList();
        var list = string.Join(Environment.NewLine, details.Select(d => "  " + d));
        throw new GatewayException("Policy", "Invalid", GatewayErrorCategory.InvalidData,
            $"The policy of {owner} is not valid:{Environment.NewLine}{list}{Environment.NewLine}Correct the policy XML and set it again; the previous policy is unchanged.",
            owner)
        { Details = details };
    }

    /// <summary>Every node of the document, depth first (into choose/when/otherwise and return-response).</summary>
    public IEnumerable<PolicyNode> Descendants()
    {
        foreach (var section in Sections.Values)
        {
            foreach (var node in Walk(section.Policies))
                yield return node;
        }
    }

    internal static IEnumerable<PolicyNode> Walk(IEnumerable<PolicyNode> nodes)
    {
        foreach (var node in nodes)
        {
            yield return node;
            foreach (var child in Walk(node.Children))
                yield return child;
        }
    }

    /// <summary>Every expression in the document with the node that holds it.</summary>
    public IEnumerable<(PolicyNode Node, PolicyExpression Expression)> Expressions()
    {
        foreach (var node in Descendants())
        {
            foreach (var (value, _) in node.ValueUses)
            {
                if (value?.Expression is { } e)
                    yield return (node, e);
            }
        }
    }
}

/// <summary>The outcome of <see cref="PolicyDocument.Parse"/>: the document, or null and the errors.</summary>
internal sealed record PolicyParseResult(PolicyDocument? Document, IReadOnlyList<PolicyError> Errors);
