using System.Xml;
using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary>
/// Edits a policy document as text, so that everything the author wrote (indentation, comments, expressions with
/// raw operators) stays as it was and only the edited element changes.
/// </summary>
internal static class PolicyEditor
{
    private const string Element = AuthenticationCertificatePolicy.XmlName;

    /// <summary>
    /// Writes, replaces or (with both arguments null) removes the API's gateway credential: the top-level
    /// <c>&lt;authentication-certificate certificate-id="..." /&gt;</c> (or <c>thumbprint="..."</c>) of the inbound
    /// section, placed right after <c>&lt;base /&gt;</c> as APIM's policy editor does. Throws
    /// <see cref="GatewayException"/> <c>PolicyInvalid</c> when <paramref name="text"/> does not parse.
    /// </summary>
    public static string SetAuthenticationCertificate(string text, string? certificateId, string? thumbprint, string owner)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (certificateId is not null && thumbprint is not null)
            throw new ArgumentException("Give a certificate id or a thumbprint, not both.", nameof(thumbprint));
        PolicyDocument.ParseOrThrow(text, PolicyScope.Api, owner);

        var pre = PolicyXmlPreprocessor.Run(text);
        var escaped = pre.Escaped;
        var xml = XDocument.Parse(escaped, LoadOptions.SetLineInfo | LoadOptions.PreserveWhitespace);
        var root = xml.Root!;
        var newElement = certificateId is not null
            ? $"<{Element} certificate-id=\"{XmlEscape(certificateId)}\" />"
            : thumbprint is not null ? $"<{Element} thumbprint=\"{XmlEscape(thumbprint)}\" />" : null;

        var rootSpan = Span(escaped, root);
        var inbound = root.Elements(PolicySectionKind.Inbound.XmlName()).FirstOrDefault();
        var unit = IndentUnit(escaped, root, inbound);

        var edits = new List<(int Start, int End, string Replacement)>(); // in original-text indices
        int O(int escapedIndex) => pre.OriginalIndex(escapedIndex);
        int OEnd(int escapedEnd) => pre.OriginalIndex(escapedEnd - 1) + 1;

        if (inbound is null)
        {
            if (newElement is null)
                return text;
            var rootIndent = IndentOf(escaped, rootSpan.Start);
            var inner = rootIndent + unit;
            var block = $"\n{inner}<inbound>\n{inner}{unit}<base />\n{inner}{unit}{newElement}\n{inner}</inbound>";
            edits.Add((OEnd(rootSpan.StartTagEnd), OEnd(rootSpan.StartTagEnd), block));
        }
        else
        {
            var inboundSpan = Span(escaped, inbound);
            var inboundIndent = IndentOf(escaped, inboundSpan.Start);
            var existing = inbound.Elements(Element).Select(e => Span(escaped, e)).ToList();
            if (existing.Count > 0)
            {
                var first = existing[0];
                if (newElement is not null)
                    edits.Add((O(first.Start), OEnd(first.End), newElement));
                else
                    edits.Add(RemovalOf(escaped, first, O, OEnd));
                foreach (var extra in existing.Skip(1))
                    edits.Add(RemovalOf(escaped, extra, O, OEnd));
            }
            else if (newElement is not null)
            {
                if (inboundSpan.SelfClosing)
                {
                    edits.Add((O(inboundSpan.Start), OEnd(inboundSpan.End),
                        $"<inbound>\n{inboundIndent}{unit}{newElement}\n{inboundIndent}</inbound>"));
                }
                else
                {
                    var anchor = inbound.Elements(BasePolicy.XmlName).Select(e => Span(escaped, e)).FirstOrDefault();
                    if (anchor is not null)
                    {
                        var indent = IndentOf(escaped, anchor.Start);
                        edits.Add((OEnd(anchor.End), OEnd(anchor.End), $"\n{indent}{newElement}"));
                    }
                    else
                    {
                        var child = inbound.Elements().Select(e => Span(escaped, e)).FirstOrDefault();
                        var indent = child is not null ? IndentOf(escaped, child.Start) : inboundIndent + unit;
                        edits.Add((OEnd(inboundSpan.StartTagEnd), OEnd(inboundSpan.StartTagEnd), $"\n{indent}{newElement}"));
                    }
                }
            }
        }

        var result = text;
        foreach (var (start, end, replacement) in edits.OrderByDescending(e => e.Start))
            result = string.Concat(result.AsSpan(0, start), replacement, result.AsSpan(end));
        PolicyDocument.ParseOrThrow(result, PolicyScope.Api, owner);
        return result;
    }

    /// <summary>Removal of an element and, when it sits alone on its line, of the whole line.</summary>
    private static (int, int, string) RemovalOf(string escaped, ElementSpan span, Func<int, int> o, Func<int, int> oEnd)
    {
        var lineStart = escaped.LastIndexOf('\n', Math.Max(0, span.Start - 1)) + 1;
        var before = escaped.AsSpan(lineStart, span.Start - lineStart);
        var lineEnd = escaped.IndexOf('\n', span.End);
        var after = lineEnd < 0 ? escaped.AsSpan(span.End) : escaped.AsSpan(span.End, lineEnd - span.End);
        if (before.IsWhiteSpace() && after.IsWhiteSpace() && lineStart > 0)
            return (o(lineStart - 1), oEnd(lineEnd < 0 ? escaped.Length : lineEnd), string.Empty);
        return (o(span.Start), oEnd(span.End), string.Empty);
    }

    private sealed record ElementSpan(int Start, int StartTagEnd, int End, bool SelfClosing);

    /// <summary>Where an element starts ('&lt;'), where its start tag ends, and where the element ends (exclusive).</summary>
    private static ElementSpan Span(string text, XElement element)
    {
        var info = (IXmlLineInfo)element;
        var start = PolicyXmlPreprocessor.IndexOf(text, info.LineNumber, info.LinePosition) - 1;
        var i = start + 1;
        var quote = '\0';
        while (i < text.Length)
        {
            var c = text[i];
            if (quote != '\0')
            {
                if (c == quote)
                    quote = '\0';
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '>')
            {
                break;
            }
            i++;
        }
        var startTagEnd = i + 1;
        var selfClosing = text[i - 1] == '/';
        if (selfClosing)
            return new ElementSpan(start, startTagEnd, startTagEnd, true);
        // Find the matching end tag, counting nested elements of the same name.
        var name = element.Name.LocalName;
        var depth = 1;
        var k = startTagEnd;
        while (k < text.Length)
        {
            var open = text.IndexOf("<" + name, k, StringComparison.Ordinal);
            var close = text.IndexOf("</" + name, k, StringComparison.Ordinal);
            if (close < 0)
                break;
            if (open >= 0 && open < close && open + name.Length + 1 < text.Length && text[open + name.Length + 1] is ' ' or '>' or '/' or '\n' or '\t' or '\r')
            {
                var tagEnd = text.IndexOf('>', open);
                if (text[tagEnd - 1] != '/')
                    depth++;
                k = tagEnd + 1;
                continue;
            }
            depth--;
            var end = text.IndexOf('>', close) + 1;
            if (depth == 0)
                return new ElementSpan(start, startTagEnd, end, false);
            k = end;
        }
        return new ElementSpan(start, startTagEnd, text.Length, false);
    }

    private static string IndentOf(string text, int index)
    {
        var lineStart = text.LastIndexOf('\n', Math.Max(0, index - 1)) + 1;
        var j = lineStart;
        while (j < index && text[j] is ' ' or '\t')
            j++;
        return text[lineStart..j];
    }

    private static string IndentUnit(string text, XElement root, XElement? inbound)
    {
        var child = inbound ?? root.Elements().FirstOrDefault();
        if (child is not null)
        {
            var rootIndent = IndentOf(text, Span(text, root).Start);
            var childIndent = IndentOf(text, Span(text, child).Start);
            if (childIndent.Length > rootIndent.Length && childIndent.StartsWith(rootIndent, StringComparison.Ordinal))
                return childIndent[rootIndent.Length..];
        }
        return "    ";
    }

    private static string XmlEscape(string value) =>
        value.Replace("&", "&amp;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
