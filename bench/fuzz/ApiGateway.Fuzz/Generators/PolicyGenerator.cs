using System.Security;
using ApiGateway.Core.Policies;
using FsCheck;
using FsCheck.Fluent;

namespace ApiGateway.Fuzz.Generators;

/// <summary>
/// Policy documents from the parser's own element table (<see cref="PolicyElements"/>: every element it knows, so a
/// new element is fuzzed with random attributes at once) and what each element takes: sections in order or not,
/// elements nested through choose/when/otherwise and return-response, attributes right, unknown, missing or doubled,
/// values literal (good and bad) or expressions written as APIM authors write them (raw quotes and &lt; inside an
/// attribute) or escaped; then character edits with XML's own tokens (entities, CDATA, comments, DTDs, stray tags).
/// </summary>
internal static class PolicyGenerator
{
    private static readonly Dictionary<ExpressionPlace, string[]> Pool = Enum.GetValues<ExpressionPlace>().ToDictionary(
        p => p,
        p => ExpressionGenerator.ForPlace(p, 2).Sample(12, new Rnd(0x5eed + (ulong)p), 20));

    private static readonly string[] SectionNames = ["inbound", "backend", "outbound", "on-error"];

    private static readonly Dictionary<string, string[]> AttributesOf = new(StringComparer.Ordinal)
    {
        ["set-status"] = ["code", "reason"],
        ["set-header"] = ["name", "exists-action"],
        ["set-variable"] = ["name", "value"],
        ["validate-client-certificate"] = ["validate-revocation", "validate-trust", "validate-not-before", "validate-not-after", "ignore-error"],
        ["authentication-certificate"] = ["certificate-id", "thumbprint"],
        ["set-backend-service"] = ["backend-id", "base-url"],
        ["forward-request"] = ["timeout", "follow-redirects"],
        ["return-response"] = ["response-variable-name"],
    };

    private static readonly Dictionary<string, string[]> Literals = new(StringComparer.Ordinal)
    {
        ["code"] = ["200", "403", "100", "599", "600", "99", "0", "-1", "abc", "", "2147483648", "401 "],
        ["reason"] = ["OK", "Invalid client certificate", "", "\u00e9\u4e2d", "a\tb"],
        ["name"] = ["x-fuzz", "Authorization", "", "bad name", "x:y", "\u00e9", "v", "Content-Length", "Host"],
        ["exists-action"] = ["override", "skip", "append", "delete", "Override", "", "replace"],
        ["value"] = ["1", "", "text", "true"],
        ["certificate-id"] = [FuzzWorld.ServerCertificateId, FuzzWorld.CaCertificateId, "missing", "", "Server"],
        ["thumbprint"] = ["0123456789ABCDEF0123456789ABCDEF01234567", "zz", "", "01 23"],
        ["backend-id"] = ["orders", "missing", ""],
        ["base-url"] = ["https://127.0.0.1:9/", "http://x", "ftp://x", "not a url", "", "https://[::1]:0/"],
        ["timeout"] = ["1", "300", "0", "14401", "-5", "1.5", "x", "99999999999"],
        ["follow-redirects"] = ["true", "false", "yes", ""],
        ["validate-revocation"] = ["true", "false", "TRUE", "1"],
        ["validate-trust"] = ["true", "false", "maybe"],
        ["validate-not-before"] = ["true", "false"],
        ["validate-not-after"] = ["true", "false"],
        ["ignore-error"] = ["true", "false", "no"],
        ["response-variable-name"] = ["r"],
        ["condition"] = ["true", "false", "True", "yes", ""],
    };

    private static readonly string[] IdentityAttributes =
        ["thumbprint", "serial-number", "common-name", "subject", "dns-name", "issuer-subject", "issuer-thumbprint", "issuer-certificate-id", "certificate-id", "san-uri", "san-email", "san-ip", "spki-sha256", "thumbprint-sha256", "unknown"];

    private static readonly string[] Tokens =
    [
        "<", ">", "/>", "</", "&", "&amp;", "&lt;", "&#0;", "&#x110000;", "&nope;", "\"", "'", "=", "@(", "@{", ")", "}",
        "<![CDATA[", "]]>", "<!--", "-->", "<?xml version=\"1.0\"?>", "<?pi x?>", "<base />", "<choose>", "</choose>", "<when condition=\"true\">",
        "</when>", "<otherwise>", "<inbound>", "</inbound>", "<x:y xmlns:x=\"urn:x\"/>", " xmlns=\"urn:x\"", "\n", "\r", "\t", "\u0001", "\ud800",
        "<!DOCTYPE policies [<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>",
        "&d;", "<!DOCTYPE policies SYSTEM \"file:///etc/passwd\">", "<!ENTITY e SYSTEM \"file:///etc/hostname\">",
    ];

    /// <summary>Any case for the policy target.</summary>
    public static Gen<FuzzCase> Cases { get; } = Gen.Frequency(
        (3, Documents(PolicyScope.Api, clean: true).Select(t => FuzzCase.OfText(FuzzTarget.Policy, t, "generated valid api"))),
        (1, Documents(PolicyScope.Global, clean: true).Select(t => FuzzCase.OfText(FuzzTarget.Policy, t, "generated valid global"))),
        (5, Documents(PolicyScope.Api).Select(t => FuzzCase.OfText(FuzzTarget.Policy, t, "generated api"))),
        (2, Documents(PolicyScope.Global).Select(t => FuzzCase.OfText(FuzzTarget.Policy, t, "generated global"))),
        (1, DeepCase),
        (5, Gen.OneOf(Documents(PolicyScope.Api), Documents(PolicyScope.Api, clean: true)).SelectMany(t =>
            from edits in Gen.Choose(1, 5)
            from seeds in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), edits * 3)
            select FuzzCase.OfText(FuzzTarget.Policy, Mutations.EditText(t, seeds, Tokens), "mutated api"))));

    /// <summary>
    /// The scope a policy case is parsed in: global when its text says so (the generator's first line), else API.
    /// </summary>
    public static PolicyScope ScopeOf(string text) => text.StartsWith("<!-- global -->", StringComparison.Ordinal) ? PolicyScope.Global : PolicyScope.Api;

    /// <summary>
    /// A whole document. <paramref name="clean"/>: a valid one (elements in their sections with good values and
    /// expressions of the right kind), what most configurations hold; else the four sections (sometimes one missing,
    /// doubled or out of order), each a body of any elements with any attributes.
    /// </summary>
    public static Gen<string> Documents(PolicyScope scope, bool clean) => clean ? Clean(scope) : Documents(scope);

    private static Gen<string> Clean(PolicyScope scope)
    {
        var inherit = scope == PolicyScope.Api ? "<base />" : string.Empty;
        var text = Gen.Frequency((2, Gen.Constant("fuzz")), (1, Gen.Elements(Pool[ExpressionPlace.Text]).Select(e => "@(" + e + ")")));
        var header = text.Select(v => $"<set-header name=\"x-fuzz\" exists-action=\"override\"><value>{SecurityElement.Escape(v)}</value></set-header>");
        var variable = Gen.Frequency((1, Gen.Constant("1")), (1, Gen.Elements(Pool[ExpressionPlace.Value]).Select(e => "@(" + e + ")")))
            .Select(v => $"<set-variable name=\"v\" value=\"{SecurityElement.Escape(v)}\" />");
        var choose = Gen.Elements(Pool[ExpressionPlace.Condition]).SelectMany(condition => variable.Select(body =>
            $"<choose><when condition=\"{SecurityElement.Escape("@(" + condition + ")")}\">{body}</when><otherwise>{body}</otherwise></choose>"));
        var answer = Gen.Elements("200", "403").SelectMany(code => text.Select(body =>
            $"<return-response><set-status code=\"{code}\" reason=\"Fuzz\" /><set-body>{SecurityElement.Escape(body)}</set-body></return-response>"));
        return from inbound in Gen.ListOf(Gen.OneOf(header, variable, choose), 3)
               from end in Gen.Frequency((2, Gen.Constant(string.Empty)), (1, answer))
               from outbound in Gen.Frequency((1, Gen.Constant(string.Empty)), (1, header))
               select $"{(scope == PolicyScope.Global ? "<!-- global -->\n" : string.Empty)}<policies>\n  <inbound>{inherit}{string.Concat(inbound)}{end}</inbound>\n" +
                      $"  <backend>{(scope == PolicyScope.Api ? "<base />" : "<forward-request />")}</backend>\n  <outbound>{inherit}{outbound}</outbound>\n  <on-error>{inherit}</on-error>\n</policies>";
    }

    /// <summary>A whole document: the four sections (sometimes one missing, doubled or out of order), each a body.</summary>
    public static Gen<string> Documents(PolicyScope scope) =>
        from order in Gen.Shuffle(SectionNames)
        from keep in Gen.ArrayOf(Gen.Frequency((9, Gen.Constant(1)), (1, Gen.Constant(0)), (1, Gen.Constant(2))), 4)
        from inOrder in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
        from bodies in Gen.ArrayOf(Gen.Sized(size => Body(scope, Math.Clamp(size / 25, 1, 3))), 4)
        select Assemble(scope, inOrder ? SectionNames : order, keep, bodies);

    private static string Assemble(PolicyScope scope, string[] sections, int[] keep, string[] bodies)
    {
        var text = new System.Text.StringBuilder(scope == PolicyScope.Global ? "<!-- global -->\n" : string.Empty);
        text.Append("<policies>\n");
        for (var i = 0; i < sections.Length; i++)
        {
            for (var k = 0; k < keep[i]; k++)
            {
                var body = sections[i] == "backend" && bodies[i].Length == 0 ? "<forward-request />" : bodies[i];
                var inherit = scope == PolicyScope.Api ? "<base />" : string.Empty;
                text.Append("  <").Append(sections[i]).Append(">\n    ").Append(inherit).Append(body).Append("\n  </").Append(sections[i]).Append(">\n");
            }
        }
        return text.Append("</policies>").ToString();
    }

    private static Gen<string> Body(PolicyScope scope, int depth) =>
        Gen.ListOf(Element(scope, depth), 4).Select(list => string.Join("\n    ", list));

    private static Gen<string> Element(PolicyScope scope, int depth)
    {
        var names = PolicyElements.All.Select(e => e.Name).Append("unknown-element").ToArray();
        return Gen.Elements(names).SelectMany(name => name switch
        {
            "choose" => Choose(scope, depth),
            "return-response" => ReturnResponse(depth),
            "set-header" => SetHeader(),
            "set-body" => Gen.OneOf(Value("value", ExpressionPlace.Text)).Select(v => $"<set-body>{TextContent(v)}</set-body>"),
            "validate-client-certificate" => ValidateClientCertificate(),
            "base" => Gen.Elements("<base />", "<base x=\"1\" />", "<base><base /></base>"),
            _ => Simple(name),
        });
    }

    private static Gen<string> Simple(string name) =>
        from attributes in Attributes(AttributesOf.TryGetValue(name, out var a) ? a : ["x"])
        from children in Gen.Frequency((6, Gen.Constant(string.Empty)), (1, Gen.Constant("<value>x</value>")))
        select children.Length == 0 ? $"<{name}{attributes} />" : $"<{name}{attributes}>{children}</{name}>";

    /// <summary>Each known attribute present (mostly), left out, or doubled; sometimes an unknown one.</summary>
    private static Gen<string> Attributes(string[] names) =>
        from values in Gen.CollectToArray(names, n => Gen.Frequency(
            (6, Value(n, PlaceOf(n)).Select(v => $" {n}={Quote(v)}")),
            (3, Gen.Constant(string.Empty)),
            (1, Value(n, PlaceOf(n)).Select(v => $" {n}={Quote(v)} {n}=\"again\""))))
        from extra in Gen.Frequency((8, Gen.Constant(string.Empty)), (1, Gen.Constant(" unknown=\"1\"")), (1, Gen.Constant(" x:y=\"1\"")))
        select string.Concat(values) + extra;

    private static ExpressionPlace PlaceOf(string attribute) => attribute switch
    {
        "condition" => ExpressionPlace.Condition,
        "code" => ExpressionPlace.StatusCode,
        "value" => ExpressionPlace.Value,
        _ => ExpressionPlace.Text,
    };

    /// <summary>
    /// A literal from the attribute's table, or an expression for its place (raw or escaped). The expressions come
    /// from a fixed pool drawn once from the grammar: the gateway compiles each once and keeps it (as across reloads),
    /// so documents cost parsing and loading, not a compiler run each; the expression target covers the grammar.
    /// </summary>
    private static Gen<AttributeValue> Value(string attribute, ExpressionPlace place) => Gen.Frequency(
        (3, Gen.Elements(Literals.TryGetValue(attribute, out var l) ? l : ["x", ""]).Select(v => new AttributeValue(v, Expression: false))),
        (2, Gen.Elements(Pool[place]).SelectMany(code =>
            Gen.Elements($"@({code})", $"@{{ return {code}; }}").Select(v => new AttributeValue(v, Expression: true)))));

    private readonly record struct AttributeValue(string Text, bool Expression);

    /// <summary>Escaped as XML, or (an expression, half the time) raw as APIM authors write it: the preprocessor's job.</summary>
    private static string Quote(AttributeValue value) =>
        value.Expression && value.Text.Length % 2 == 0 ? $"\"{value.Text}\"" : $"\"{SecurityElement.Escape(value.Text)}\"";

    private static string TextContent(AttributeValue value) =>
        value.Expression && value.Text.Length % 2 == 0 ? value.Text : SecurityElement.Escape(value.Text);

    private static Gen<string> Choose(PolicyScope scope, int depth) =>
        from whens in Gen.ListOf(
            from condition in Value("condition", ExpressionPlace.Condition)
            from body in depth > 1 ? Body(scope, depth - 1) : Gen.Constant("<set-variable name=\"v\" value=\"1\" />")
            select $"<when condition={Quote(condition)}>{body}</when>", 3)
        from otherwise in Gen.Frequency(
            (2, Gen.Constant(string.Empty)),
            (1, (depth > 1 ? Body(scope, depth - 1) : Gen.Constant(string.Empty)).Select(b => $"<otherwise>{b}</otherwise>")),
            (1, Gen.Constant("<otherwise /><otherwise />")),
            (1, Gen.Constant("<other />")))
        from order in Gen.Elements(true, true, false)
        select order ? $"<choose>{string.Concat(whens)}{otherwise}</choose>" : $"<choose>{otherwise}{string.Concat(whens)}</choose>";

    private static Gen<string> ReturnResponse(int depth) =>
        from status in Simple("set-status")
        from header in Gen.Frequency((2, Gen.Constant(string.Empty)), (1, SetHeader()))
        from body in Value("value", ExpressionPlace.Text)
        from extra in Gen.Frequency((6, Gen.Constant(string.Empty)), (1, Gen.Constant("<forward-request />")), (1, Gen.Constant("<set-variable name=\"a\" value=\"b\" />")))
        from attribute in Gen.Frequency((8, Gen.Constant(string.Empty)), (1, Gen.Constant(" response-variable-name=\"r\"")))
        select depth >= 0 ? $"<return-response{attribute}>{status}{header}<set-body>{TextContent(body)}</set-body>{extra}</return-response>" : string.Empty;

    private static Gen<string> SetHeader() =>
        from attributes in Attributes(AttributesOf["set-header"])
        from values in Gen.ListOf(Value("value", ExpressionPlace.Text).Select(v => $"<value>{TextContent(v)}</value>"), 3)
        from stray in Gen.Frequency((8, Gen.Constant(string.Empty)), (1, Gen.Constant("<valu>x</valu>")), (1, Gen.Constant("text")))
        select $"<set-header{attributes}>{string.Concat(values)}{stray}</set-header>";

    private static Gen<string> ValidateClientCertificate() =>
        from attributes in Attributes(AttributesOf["validate-client-certificate"])
        from identities in Gen.ListOf(
            from chosen in Gen.SubListOf(IdentityAttributes)
            from value in Gen.Elements("CN=client, O=Contoso", FuzzWorld.ServerCertificateId, FuzzWorld.CaCertificateId, "0123456789ABCDEF0123456789ABCDEF01234567", "", "@(true)", "localhost")
            select $"<identity{string.Concat(chosen.Select(c => $" {c}=\"{SecurityElement.Escape(value)}\""))} />", 3)
        from wrapper in Gen.Elements(true, true, false)
        select wrapper
            ? $"<validate-client-certificate{attributes}><identities>{string.Concat(identities)}</identities></validate-client-certificate>"
            : $"<validate-client-certificate{attributes}>{string.Concat(identities)}</validate-client-certificate>";

    /// <summary>Choose nested far deeper than any real policy, within MaxPolicySize: the parser must not run out of stack.</summary>
    private static Gen<FuzzCase> DeepCase =>
        from depth in Gen.Elements(100, 1_000, 5_000, 20_000)
        from element in Gen.Elements("choose", "otherwise", "unknown")
        select FuzzCase.OfText(FuzzTarget.Policy, Deep(depth, element), $"deep {element} {depth}");

    private static string Deep(int depth, string element)
    {
        var (open, close) = element switch
        {
            "choose" => ("<choose><when condition=\"true\">", "</when></choose>"),
            "otherwise" => ("<choose><when condition=\"false\" /><otherwise>", "</otherwise></choose>"),
            _ => ("<x>", "</x>"),
        };
        var text = new System.Text.StringBuilder("<policies><inbound><base />");
        for (var i = 0; i < depth; i++)
            text.Append(open);
        text.Append("<set-variable name=\"v\" value=\"1\" />");
        for (var i = 0; i < depth; i++)
            text.Append(close);
        return text.Append("</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>").ToString();
    }
}
