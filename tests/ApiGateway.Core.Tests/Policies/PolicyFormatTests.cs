using System.Xml.Linq;
using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Tests.Policies;

/// <summary>
/// APIM's two policy content formats (Az's Get-/Set-AzApiManagementPolicy -Format): "xml", a well-formed document
/// whose expressions are XML-escaped, and "rawxml", expressions written as C#. The published policies of the APIM
/// page on client certificates are in the raw form (quotes and operators inside attribute values).
/// </summary>
public sealed class PolicyFormatTests
{
    private static readonly string IssuerSubject = PolicyDocumentTests.InInbound(PolicyDocumentTests.IssuerSubjectPolicy);

    [Theory]
    [InlineData("Xml", PolicyFormat.Xml)]
    [InlineData("xml", PolicyFormat.Xml)]
    [InlineData("application/vnd.ms-azure-apim.policy+xml", PolicyFormat.Xml)]
    [InlineData("RawXml", PolicyFormat.RawXml)]
    [InlineData("rawxml", PolicyFormat.RawXml)]
    [InlineData(" application/vnd.ms-azure-apim.policy.raw+xml ", PolicyFormat.RawXml)]
    // object: PolicyFormat is internal to Core, and a public test method cannot take it.
    public void Parse_AcceptsAzsNamesAndMediaTypes_InAnyCase(string value, object expected)
    {
        Assert.Equal((PolicyFormat)expected, PolicyFormats.Parse(value));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Parse_NothingGiven_IsNoFormat(string? value)
    {
        Assert.Null(PolicyFormats.Parse(value));
    }

    [Theory]
    [InlineData("xml-link")]
    [InlineData("rawxml-link")]
    [InlineData("json")]
    [InlineData("application/xml")]
    public void Parse_AnythingElse_IsRefusedWithTheChoices(string value)
    {
        // Az silently falls back to Xml here; a typo should not change what a script gets.
        var error = Assert.Throws<GatewayException>(() => PolicyFormats.Parse(value));

        Assert.Equal("PolicyInvalidFormat", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.InvalidArgument, error.Category);
        Assert.Contains($"'{value}' is not a policy format", error.Message, StringComparison.Ordinal);
        Assert.Contains("RawXml (or application/vnd.ms-azure-apim.policy.raw+xml)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_NoFormat_IsTheDocumentAsWritten()
    {
        Assert.Same(IssuerSubject, PolicyFormats.Render(IssuerSubject, null));
    }

    [Fact]
    public void Render_Xml_OfThePublishedRawPolicy_IsWellFormedAndMeansTheSame()
    {
        var xml = PolicyFormats.Render(IssuerSubject, PolicyFormat.Xml);

        var condition = XDocument.Parse(xml).Descendants("when").Single().Attribute("condition")!.Value;
        Assert.Equal("@(" + Code(IssuerSubject) + ")", condition);
        Assert.Contains("condition=\"@(context.Request.Certificate == null || context.Request.Certificate.Issuer != &quot;trusted-issuer&quot; ||", xml, StringComparison.Ordinal);
        Assert.Equal(Code(IssuerSubject), Code(xml));
    }

    [Fact]
    public void Render_RawXml_OfTheEscapedForm_IsThePublishedPolicyVerbatim()
    {
        var xml = PolicyFormats.Render(IssuerSubject, PolicyFormat.Xml);

        Assert.Equal(IssuerSubject, PolicyFormats.Render(xml, PolicyFormat.RawXml));
    }

    [Fact]
    public void Render_RawXml_DecodesElementTextExpressions_AndKeepsTheirWhiteSpace()
    {
        var escaped = PolicyDocumentTests.InInbound("<set-body>\n  @{ return 1 &lt; 2 &amp;&amp; \"a\" != \"b\" ? \"&lt;x/&gt;\" : \"\"; }\n</set-body>");

        var raw = PolicyFormats.Render(escaped, PolicyFormat.RawXml);

        Assert.Contains("<set-body>\n  @{ return 1 < 2 && \"a\" != \"b\" ? \"<x/>\" : \"\"; }\n</set-body>", raw, StringComparison.Ordinal);
        Assert.Equal(Code(escaped), Code(raw));
    }

    [Fact]
    public void Render_RawXml_LeavesLiteralsCommentsAndCDataAsTheyAre()
    {
        var escaped = PolicyDocumentTests.InInbound(
            "<!-- a &amp; b -->\n<set-header name=\"x-a\" exists-action=\"override\"><value>fish &amp; chips &lt;3</value></set-header>\n"
            + "<set-header name=\"x-b\" exists-action=\"override\"><value><![CDATA[@(\"a < b\")]]></value></set-header>");

        var raw = PolicyFormats.Render(escaped, PolicyFormat.RawXml);

        Assert.Equal(escaped, raw);
    }

    [Fact]
    public void Read_RawXml_TakesAnAmpersandInsideAnExpressionLiterally()
    {
        // In rawxml "&lt;" inside an expression is four C# characters; the xml reading makes it '<'.
        var text = PolicyDocumentTests.InInbound("<set-variable name=\"x\" value=\"@(&quot;&lt;&quot; + &quot;a&amp;b&quot;)\" />");

        Assert.Equal("\"<\" + \"a&b\"", Code(PolicyFormats.Read(text, PolicyFormat.Xml)));
        Assert.Equal("\"<\" + \"a&b\"", Code(PolicyFormats.Read(text, null)));
        Assert.Equal("&quot;&lt;&quot; + &quot;a&amp;b&quot;", Code(PolicyFormats.Read(text, PolicyFormat.RawXml)));
    }

    [Fact]
    public void Read_RawXml_OfThePublishedPolicy_GivesItsCSharp_InTheEscapedForm()
    {
        var stored = PolicyFormats.Read(IssuerSubject, PolicyFormat.RawXml);

        Assert.Equal(PolicyFormats.Render(IssuerSubject, PolicyFormat.Xml), stored);
        Assert.Equal(Code(IssuerSubject), Code(stored));
    }

    public static TheoryData<string> RoundTripDocuments => new()
    {
        IssuerSubject,
        PolicyDocumentTests.InInbound(PolicyDocumentTests.UploadedPolicy),
        PolicyDocumentTests.InInbound("<set-variable name=\"x\" value=\"@(&quot;a&amp;lt;b&quot; + (1 &lt; 2))\" />"),
        PolicyDocumentTests.InInbound("<set-variable name=\"x\" value='@(\"it&apos;s\" + \"a)\")' />"),
        PolicyDocumentTests.InInbound("<set-variable name=\"x\" value=\"@(&quot;line&#10;break&quot;)\" />"),
        PolicyDocumentTests.InInbound("<set-body>@{\n  var list = new List<string> { \"a)\", \"}\" };\n  return string.Join(\",\", list);\n}</set-body>"),
    };

    [Theory]
    [MemberData(nameof(RoundTripDocuments))]
    public void RawXml_RoundTrip_KeepsEveryExpressionsCode(string document)
    {
        var raw = PolicyFormats.Render(document, PolicyFormat.RawXml);
        var back = PolicyFormats.Read(raw, PolicyFormat.RawXml);

        Assert.Equal(Codes(document), Codes(back));
        Assert.Equal(Codes(document), Codes(PolicyFormats.Read(PolicyFormats.Render(document, PolicyFormat.Xml), PolicyFormat.Xml)));
        // Both renderings are fixed points of their own format.
        Assert.Equal(raw, PolicyFormats.Render(back, PolicyFormat.RawXml));
        Assert.Equal(back, PolicyFormats.Render(back, PolicyFormat.Xml));
    }

    [Fact]
    public void RawXml_KeepsLineBreakReferencesInAttributes_WhichAnXmlReaderWouldTurnIntoSpaces()
    {
        var document = PolicyDocumentTests.InInbound("<set-variable name=\"x\" value=\"@(&quot;line&#10;break&quot;)\" />");

        var raw = PolicyFormats.Render(document, PolicyFormat.RawXml);

        Assert.Contains("value=\"@(\"line&#10;break\")\"", raw, StringComparison.Ordinal);
        Assert.Equal("\"line\nbreak\"", Code(PolicyFormats.Read(raw, PolicyFormat.RawXml)));
    }

    private static string Code(string document) => Codes(document).Single();

    private static List<string> Codes(string document)
    {
        var result = PolicyDocument.Parse(document, PolicyScope.Api);
        Assert.True(result.Errors.Count == 0, string.Join("; ", result.Errors));
        return [.. result.Document!.Expressions().Select(e => e.Expression.Code)];
    }
}
