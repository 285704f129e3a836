using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary>
/// A parsed APIM policy document: <c>&lt;policies&gt;</c> with its inbound, backend, outbound and on-error sections.
/// <see cref="Parse"/> collects every problem (unknown elements and attributes, misplaced elements, bad literals,
/// XML that is not well-formed) with the line and column the author wrote, instead of stopping at the first.
/// </summary>
public sealed class PolicyDocument
{
    private static readonly string[] SectionNames = ["inbound", "backend", "outbound", "on-error"];

    private PolicyDocument(string text, PolicyScope scope, IReadOnlyDictionary<PolicySectionKind, PolicySection> sections)
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
    public static string SectionName(PolicySectionKind kind) => SectionNames[(int)kind];

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
        var parser = new Parser(pre, scope);
        var doc = parser.Run(xml, text);
        return new PolicyParseResult(parser.Errors.Count == 0 ? doc : null, parser.Errors);
    }

    /// <summary>Parses <paramref name="text"/> or throws <see cref="GatewayException"/> <c>PolicyInvalid</c> listing every error.</summary>
    public static PolicyDocument ParseOrThrow(string text, PolicyScope scope, string owner)
    {
        var result = Parse(text, scope);
        if (result.Document is { } doc)
            return doc;
        var details = result.Errors.Select(e => e.ToString()).ToList();
        var list = string.Join(Environment.NewLine, details.Select(d => "  " + d));
        throw new GatewayException("PolicyInvalid", "Invalid", GatewayErrorCategory.InvalidData,
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
            var children = node switch
            {
                ChoosePolicy c => c.Whens.SelectMany(w => w.Body).Concat(c.Otherwise ?? []),
                ReturnResponsePolicy r => r.Body,
                _ => [],
            };
            foreach (var child in Walk(children))
                yield return child;
        }
    }

    /// <summary>Every expression in the document with the node that holds it.</summary>
    public IEnumerable<(PolicyNode Node, PolicyExpression Expression)> Expressions()
    {
        foreach (var node in Descendants())
        {
            foreach (var value in ValuesOf(node))
            {
                if (value?.Expression is { } e)
                    yield return (node, e);
            }
        }
    }

    private static IEnumerable<PolicyValue?> ValuesOf(PolicyNode node) => node switch
    {
        ChoosePolicy c => c.Whens.Select(w => (PolicyValue?)w.Condition),
        SetStatusPolicy s => new[] { s.Code, s.Reason },
        SetHeaderPolicy h => h.Values.Prepend(h.Name),
        SetBodyPolicy b => new[] { b.Body },
        SetVariablePolicy v => new[] { v.Value },
        AuthenticationCertificatePolicy a => new[] { a.CertificateId, a.Thumbprint },
        SetBackendServicePolicy b => new[] { b.BackendId, b.BaseUrl },
        _ => Array.Empty<PolicyValue?>(),
    };

    private sealed class Parser(PolicyXmlPreprocessor pre, PolicyScope scope)
    {
        public List<PolicyError> Errors { get; } = [];

        public PolicyDocument Run(XDocument xml, string text)
        {
            var sections = new Dictionary<PolicySectionKind, PolicySection>();
            var root = xml.Root!;
            if (root.Name.LocalName != "policies" || root.Name.NamespaceName.Length != 0)
            {
                Error(root, $"the root element must be <policies>, not <{root.Name}>");
                return new PolicyDocument(text, scope, sections);
            }
            NoAttributes(root);
            foreach (var child in ElementsOf(root))
            {
                var index = Array.IndexOf(SectionNames, child.Name.LocalName);
                if (index < 0)
                {
                    Error(child, $"unknown section <{child.Name.LocalName}>; a policy has the sections <inbound>, <backend>, <outbound> and <on-error>");
                    continue;
                }
                var kind = (PolicySectionKind)index;
                if (sections.ContainsKey(kind))
                {
                    Error(child, $"the section <{child.Name.LocalName}> appears twice");
                    continue;
                }
                NoAttributes(child);
                var (line, column) = Position(child);
                sections[kind] = new PolicySection(kind, ParseBody(child, kind, topLevel: true), line, column);
            }
            return new PolicyDocument(text, scope, sections);
        }

        private List<PolicyNode> ParseBody(XElement parent, PolicySectionKind section, bool topLevel)
        {
            var nodes = new List<PolicyNode>();
            var bases = 0;
            foreach (var element in ElementsOf(parent))
            {
                var node = ParseElement(element, section, topLevel);
                if (node is null)
                    continue;
                if (node is BasePolicy && ++bases == 2)
                    Error(element, $"<base /> appears more than once in <{SectionName(section)}>");
                nodes.Add(node);
            }
            return nodes;
        }

        private PolicyNode? ParseElement(XElement e, PolicySectionKind section, bool topLevel)
        {
            var (line, column) = Position(e);
            var name = e.Name.LocalName;
            if (e.Name.NamespaceName.Length != 0)
            {
                Error(e, $"unknown element <{e.Name}>: policy elements have no XML namespace");
                return null;
            }
            switch (name)
            {
                case "base":
                    NoAttributes(e);
                    NoChildren(e);
                    if (scope == PolicyScope.Global)
                        Error(e, "<base /> has no meaning in the global policy: there is no enclosing scope. Remove it");
                    else if (!topLevel)
                        Error(e, $"<base /> must be a direct child of <{SectionName(section)}>, not inside another element");
                    return new BasePolicy(line, column);

                case "choose":
                    return ParseChoose(e, section, line, column);

                case "return-response":
                {
                    Attributes(e, "response-variable-name");
                    if (e.Attribute("response-variable-name") is { } rv)
                        Error(rv, "response-variable-name is not supported; set the response with <set-status>, <set-header> and <set-body> inside <return-response>");
                    var body = new List<PolicyNode>();
                    foreach (var child in ElementsOf(e))
                    {
                        if (child.Name.LocalName is "set-status" or "set-header" or "set-body")
                        {
                            if (ParseElement(child, section, topLevel: false) is { } n)
                                body.Add(n);
                        }
                        else
                        {
                            Error(child, $"<{child.Name.LocalName}> is not allowed in <return-response>; use <set-status>, <set-header> and <set-body>");
                        }
                    }
                    return new ReturnResponsePolicy(body, line, column);
                }

                case "set-status":
                {
                    Attributes(e, "code", "reason");
                    NoChildren(e);
                    var code = Required(e, "code");
                    if (code?.Literal is { } literal && (!int.TryParse(literal, NumberStyles.None, CultureInfo.InvariantCulture, out var status) || status is < 100 or > 599))
                        Error(e.Attribute("code")!, $"code=\"{literal}\" is not an HTTP status code (100-599)");
                    return code is null ? null : new SetStatusPolicy(code, Optional(e, "reason"), line, column);
                }

                case "set-header":
                {
                    Attributes(e, "name", "exists-action");
                    var headerName = Required(e, "name");
                    var action = HeaderExistsAction.Override;
                    if (e.Attribute("exists-action") is { } ea)
                    {
                        action = ea.Value switch
                        {
                            "override" => HeaderExistsAction.Override,
                            "skip" => HeaderExistsAction.Skip,
                            "append" => HeaderExistsAction.Append,
                            "delete" => HeaderExistsAction.Delete,
                            _ => Invalid(ea, HeaderExistsAction.Override, $"exists-action=\"{ea.Value}\" must be override, skip, append or delete"),
                        };
                    }
                    var values = new List<PolicyValue>();
                    foreach (var child in ElementsOf(e))
                    {
                        if (child.Name.LocalName != "value")
                        {
                            Error(child, $"<{child.Name.LocalName}> is not allowed in <set-header>; give each value in a <value> element");
                            continue;
                        }
                        NoAttributes(child);
                        NoChildren(child);
                        values.Add(TextValue(child));
                    }
                    if (action != HeaderExistsAction.Delete && values.Count == 0)
                        Error(e, "<set-header> needs at least one <value> unless exists-action=\"delete\"");
                    return headerName is null ? null : new SetHeaderPolicy(headerName, action, values, line, column);
                }

                case "set-body":
                    Attributes(e);
                    NoChildren(e);
                    return new SetBodyPolicy(TextValue(e), line, column);

                case "set-variable":
                {
                    Attributes(e, "name", "value");
                    NoChildren(e);
                    var variable = e.Attribute("name")?.Value;
                    var value = Required(e, "value");
                    if (string.IsNullOrWhiteSpace(variable))
                    {
                        Error(e, "<set-variable> needs a name=\"...\" attribute");
                        return null;
                    }
                    return value is null ? null : new SetVariablePolicy(variable, value, line, column);
                }

                case "validate-client-certificate":
                    AllowedIn(e, section, PolicySectionKind.Inbound);
                    return ParseValidateClientCertificate(e, line, column);

                case "authentication-certificate":
                {
                    AllowedIn(e, section, PolicySectionKind.Inbound);
                    Attributes(e, "certificate-id", "thumbprint");
                    NoChildren(e);
                    var id = Optional(e, "certificate-id");
                    var thumbprint = Optional(e, "thumbprint");
                    if ((id is null) == (thumbprint is null))
                        Error(e, "<authentication-certificate> needs exactly one of certificate-id=\"...\" and thumbprint=\"...\"");
                    return new AuthenticationCertificatePolicy(id, thumbprint, line, column);
                }

                case "set-backend-service":
                {
                    AllowedIn(e, section, PolicySectionKind.Inbound, PolicySectionKind.Backend);
                    Attributes(e, "backend-id", "base-url");
                    NoChildren(e);
                    var backend = Optional(e, "backend-id");
                    var baseUrl = Optional(e, "base-url");
                    if ((backend is null) == (baseUrl is null))
                        Error(e, "<set-backend-service> needs exactly one of backend-id=\"...\" and base-url=\"...\"");
                    if (baseUrl?.Literal is { } url && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
                        Error(e.Attribute("base-url")!, $"base-url=\"{url}\" must be an absolute http or https URL");
                    return new SetBackendServicePolicy(backend, baseUrl, line, column);
                }

                case "forward-request":
                {
                    AllowedIn(e, section, PolicySectionKind.Backend);
                    Attributes(e, "timeout", "follow-redirects");
                    NoChildren(e);
                    var node = new ForwardRequestPolicy(line, column);
                    if (e.Attribute("timeout") is { } t)
                    {
                        if (int.TryParse(t.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= 240 * 60)
                            node = node with { TimeoutSeconds = seconds };
                        else
                            Error(t, $"timeout=\"{t.Value}\" must be a whole number of seconds from 1 to 14400");
                    }
                    if (e.Attribute("follow-redirects") is { } f)
                        node = node with { FollowRedirects = Bool(f) };
                    return node;
                }

                default:
                    Error(e, $"unknown policy element <{name}>. Known elements: base, choose, return-response, set-status, set-header, set-body, set-variable, validate-client-certificate, authentication-certificate, set-backend-service, forward-request");
                    return null;
            }
        }

        private ChoosePolicy? ParseChoose(XElement e, PolicySectionKind section, int line, int column)
        {
            NoAttributes(e);
            var whens = new List<WhenClause>();
            List<PolicyNode>? otherwise = null;
            foreach (var child in ElementsOf(e))
            {
                var (cl, cc) = Position(child);
                switch (child.Name.LocalName)
                {
                    case "when" when otherwise is not null:
                        Error(child, "<when> must come before <otherwise> in <choose>");
                        break;
                    case "when":
                        Attributes(child, "condition");
                        var condition = Required(child, "condition");
                        if (condition is { Literal: { } lit } && !bool.TryParse(lit, out _))
                            Error(child.Attribute("condition")!, $"condition=\"{lit}\" must be a policy expression such as @(context.Request.Certificate == null), or true or false");
                        var body = ParseBody(child, section, topLevel: false);
                        if (condition is not null)
                            whens.Add(new WhenClause(condition, body, cl, cc));
                        break;
                    case "otherwise" when otherwise is not null:
                        Error(child, "<choose> has more than one <otherwise>");
                        break;
                    case "otherwise":
                        NoAttributes(child);
                        otherwise = ParseBody(child, section, topLevel: false);
                        break;
                    default:
                        Error(child, $"<{child.Name.LocalName}> is not allowed in <choose>; it holds <when condition=\"...\"> elements and at most one <otherwise>");
                        break;
                }
            }
            if (whens.Count == 0)
                Error(e, "<choose> needs at least one <when condition=\"...\">");
            return new ChoosePolicy(whens, otherwise, line, column);
        }

        private ValidateClientCertificatePolicy ParseValidateClientCertificate(XElement e, int line, int column)
        {
            Attributes(e, "validate-revocation", "validate-trust", "validate-not-before", "validate-not-after", "ignore-error");
            var node = new ValidateClientCertificatePolicy(line, column)
            {
                ValidateRevocation = BoolAttribute(e, "validate-revocation", true),
                ValidateTrust = BoolAttribute(e, "validate-trust", true),
                ValidateNotBefore = BoolAttribute(e, "validate-not-before", true),
                ValidateNotAfter = BoolAttribute(e, "validate-not-after", true),
                IgnoreError = BoolAttribute(e, "ignore-error", false),
            };
            var identities = new List<CertificateIdentity>();
            var seenIdentities = false;
            foreach (var child in ElementsOf(e))
            {
                if (child.Name.LocalName != "identities" || seenIdentities)
                {
                    Error(child, child.Name.LocalName == "identities"
                        ? "<validate-client-certificate> has more than one <identities>"
                        : $"<{child.Name.LocalName}> is not allowed in <validate-client-certificate>; it holds one <identities> element");
                    continue;
                }
                seenIdentities = true;
                NoAttributes(child);
                foreach (var identity in ElementsOf(child))
                {
                    if (identity.Name.LocalName != "identity")
                    {
                        Error(identity, $"<{identity.Name.LocalName}> is not allowed in <identities>; use <identity ... />");
                        continue;
                    }
                    identities.Add(ParseIdentity(identity));
                }
            }
            return node with { Identities = identities };
        }

        private CertificateIdentity ParseIdentity(XElement e)
        {
            string[] names = ["thumbprint", "serial-number", "common-name", "subject", "dns-name", "issuer-subject", "issuer-thumbprint", "issuer-certificate-id", "certificate-id"];
            Attributes(e, names);
            NoChildren(e);
            var (line, column) = Position(e);
            string? Literal(string name)
            {
                if (e.Attribute(name) is not { } a)
                    return null;
                if (IsExpression(a.Value))
                    Error(a, $"{name} must be a literal value: identities are compared as written, expressions are not allowed here");
                if (a.Value.Length == 0)
                    Error(a, $"{name}=\"\" is empty");
                return a.Value;
            }
            var identity = new CertificateIdentity(line, column)
            {
                Thumbprint = Literal("thumbprint"),
                SerialNumber = Literal("serial-number"),
                CommonName = Literal("common-name"),
                Subject = Literal("subject"),
                DnsName = Literal("dns-name"),
                IssuerSubject = Literal("issuer-subject"),
                IssuerThumbprint = Literal("issuer-thumbprint"),
                IssuerCertificateId = Literal("issuer-certificate-id"),
                CertificateId = Literal("certificate-id"),
            };
            if (!e.Attributes().Any())
                Error(e, "<identity> needs at least one attribute (thumbprint, serial-number, common-name, subject, dns-name, issuer-subject, issuer-thumbprint, issuer-certificate-id or certificate-id)");
            return identity;
        }

        private void AllowedIn(XElement e, PolicySectionKind section, params PolicySectionKind[] allowed)
        {
            if (!allowed.Contains(section))
            {
                var where = string.Join(" or ", allowed.Select(k => $"<{SectionName(k)}>"));
                Error(e, $"<{e.Name.LocalName}> is allowed only in {where}, not in <{SectionName(section)}>");
            }
        }

        private PolicyValue? Required(XElement e, string attribute)
        {
            var value = Optional(e, attribute);
            if (value is null)
                Error(e, $"<{e.Name.LocalName}> needs a {attribute}=\"...\" attribute");
            return value;
        }

        private PolicyValue? Optional(XElement e, string attribute) =>
            e.Attribute(attribute) is { } a ? ValueOf(a.Value, a) : null;

        private PolicyValue TextValue(XElement e)
        {
            var text = string.Concat(e.Nodes().OfType<XText>().Select(t => t.Value));
            var trimmed = text.Trim();
            if (IsExpression(trimmed))
            {
                var firstText = e.Nodes().OfType<XText>().FirstOrDefault();
                var (line, column) = firstText is null ? Position(e) : Position(firstText);
                var (lead, leadColumns) = LeadingWhiteSpace(text);
                line += lead;
                column = lead > 0 ? leadColumns + 1 : column + leadColumns;
                return FromExpression(trimmed, line, column);
            }
            return PolicyValue.FromLiteral(text);
        }

        private static (int Lines, int Columns) LeadingWhiteSpace(string text)
        {
            int lines = 0, columns = 0;
            foreach (var c in text)
            {
                if (!char.IsWhiteSpace(c))
                    break;
                if (c == '\n')
                {
                    lines++;
                    columns = 0;
                }
                else if (c != '\r')
                {
                    columns++;
                }
            }
            return (lines, columns);
        }

        private PolicyValue ValueOf(string text, XObject where)
        {
            if (!IsExpression(text))
                return PolicyValue.FromLiteral(text);
            var (line, column) = Position(where);
            // An attribute's line info points at its name; the '@' is after name="
            if (where is XAttribute a)
                column += a.Name.LocalName.Length + 2;
            return FromExpression(text, line, column);
        }

        private static PolicyValue FromExpression(string text, int line, int column) =>
            PolicyValue.FromExpression(new PolicyExpression(text[2..^1], text[1] == '{', line, column));

        private static bool IsExpression(string text) =>
            text.Length >= 3 && text[0] == '@' && ((text[1] == '(' && text[^1] == ')') || (text[1] == '{' && text[^1] == '}'));

        private bool BoolAttribute(XElement e, string name, bool fallback) =>
            e.Attribute(name) is { } a ? Bool(a) : fallback;

        private bool Bool(XAttribute a)
        {
            if (bool.TryParse(a.Value, out var b))
                return b;
            Error(a, IsExpression(a.Value)
                ? $"{a.Name.LocalName} must be true or false; expressions are not allowed here"
                : $"{a.Name.LocalName}=\"{a.Value}\" must be true or false");
            return false;
        }

        private T Invalid<T>(XObject where, T fallback, string message)
        {
            Error(where, message);
            return fallback;
        }

        private void Attributes(XElement e, params string[] allowed)
        {
            foreach (var a in e.Attributes())
            {
                if (a.IsNamespaceDeclaration)
                    continue;
                if (!allowed.Contains(a.Name.LocalName) || a.Name.NamespaceName.Length != 0)
                {
                    Error(a, allowed.Length == 0
                        ? $"<{e.Name.LocalName}> takes no attributes; remove {a.Name}"
                        : $"unknown attribute {a.Name} on <{e.Name.LocalName}>; it takes {string.Join(", ", allowed)}");
                }
            }
        }

        private void NoAttributes(XElement e) => Attributes(e);

        private void NoChildren(XElement e)
        {
            foreach (var child in e.Elements())
                Error(child, $"<{child.Name.LocalName}> is not allowed inside <{e.Name.LocalName}>");
        }

        /// <summary>Child elements; stray text (other than white space and comments) is reported.</summary>
        private IEnumerable<XElement> ElementsOf(XElement parent)
        {
            foreach (var node in parent.Nodes())
            {
                switch (node)
                {
                    case XElement child:
                        yield return child;
                        break;
                    case XText text when !string.IsNullOrWhiteSpace(text.Value):
                        Error(text, $"unexpected text \"{Shorten(text.Value.Trim())}\" in <{parent.Name.LocalName}>");
                        break;
                }
            }
        }

        private static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";

        private (int Line, int Column) Position(XObject o)
        {
            var info = (IXmlLineInfo)o;
            return info.HasLineInfo() ? pre.Map(info.LineNumber, info.LinePosition) : (0, 0);
        }

        private void Error(XObject where, string message)
        {
            var (line, column) = Position(where);
            // Element line info points after '<'; report the '<' itself.
            if (where is XElement && column > 1)
                column--;
            Errors.Add(new PolicyError(line, column, message));
        }
    }
}

/// <summary>The outcome of <see cref="PolicyDocument.Parse"/>: the document, or null and the errors.</summary>
public sealed record PolicyParseResult(PolicyDocument? Document, IReadOnlyList<PolicyError> Errors);
