using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Tests.Policies;

public class PolicyDocumentTests
{
    // The four policies of the APIM page "How to secure APIs using client certificate authentication", verbatim.
    public const string ExpiryPolicy = """
        <choose>
            <when condition="@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)" >
                <return-response>
                    <set-status code="403" reason="Invalid client certificate" />
                </return-response>
            </when>
        </choose>
        """;

    public const string IssuerSubjectPolicy = """
        <choose>
            <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Issuer != "trusted-issuer" || context.Request.Certificate.SubjectName != "expected-subject-name")" >
                <return-response>
                    <set-status code="403" reason="Invalid client certificate" />
                </return-response>
            </when>
        </choose>
        """;

    public const string ThumbprintPolicy = """
        <choose>
            <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != "desired-thumbprint")" >
                <return-response>
                    <set-status code="403" reason="Invalid client certificate" />
                </return-response>
            </when>
        </choose>
        """;

    public const string UploadedPolicy = """
        <choose>
            <when condition="@(context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))" >
                <return-response>
                    <set-status code="403" reason="Invalid client certificate" />
                </return-response>
            </when>
        </choose>
        """;

    public static string InInbound(string fragment) =>
        "<policies>\n  <inbound>\n    <base />\n" + fragment + "\n  </inbound>\n  <backend>\n    <base />\n  </backend>\n  <outbound>\n    <base />\n  </outbound>\n  <on-error>\n    <base />\n  </on-error>\n</policies>";

    public static TheoryData<string, string> PublishedPolicies => new()
    {
        { "expiry", ExpiryPolicy },
        { "issuer-subject", IssuerSubjectPolicy },
        { "thumbprint", ThumbprintPolicy },
        { "uploaded", UploadedPolicy },
    };

    [Theory]
    [MemberData(nameof(PublishedPolicies))]
    public void Parse_PublishedPolicyVerbatim_IsAccepted(string name, string fragment)
    {
        var result = PolicyDocument.Parse(InInbound(fragment), PolicyScope.Api);

        Assert.True(result.Errors.Count == 0, name + ": " + string.Join("; ", result.Errors));
        var choose = Assert.IsType<ChoosePolicy>(result.Document!.Sections[PolicySectionKind.Inbound].Policies[1]);
        var when = Assert.Single(choose.Whens);
        Assert.True(when.Condition.IsExpression);
        var ret = Assert.IsType<ReturnResponsePolicy>(Assert.Single(when.Body));
        var status = Assert.IsType<SetStatusPolicy>(Assert.Single(ret.Body));
        Assert.Equal("403", status.Code.Literal);
        Assert.Equal("Invalid client certificate", status.Reason!.Literal);
    }

    [Fact]
    public void Parse_ExpressionWithRawOperatorsAndQuotes_KeepsTheCSharpExactly()
    {
        var result = PolicyDocument.Parse(InInbound(IssuerSubjectPolicy), PolicyScope.Api);

        var (_, expression) = Assert.Single(result.Document!.Expressions());
        Assert.Equal("context.Request.Certificate == null || context.Request.Certificate.Issuer != \"trusted-issuer\" || context.Request.Certificate.SubjectName != \"expected-subject-name\"", expression.Code);
        Assert.False(expression.IsBlock);
        // <when> is on line 5 (after <policies>, <inbound>, <base />, <choose>), indented by 4.
        Assert.Equal(5, expression.Line);
        Assert.Equal(5 + "<when condition=\"".Length, expression.Column);
    }

    [Fact]
    public void Parse_EscapedAndUnescapedForms_GiveTheSameCode()
    {
        var raw = PolicyDocument.Parse(InInbound("<set-variable name=\"x\" value=\"@(1 < 2 && 3 > 2)\" />"), PolicyScope.Api);
        var escaped = PolicyDocument.Parse(InInbound("<set-variable name=\"x\" value=\"@(1 &lt; 2 &amp;&amp; 3 &gt; 2)\" />"), PolicyScope.Api);

        Assert.Equal("1 < 2 && 3 > 2", raw.Document!.Expressions().Single().Expression.Code);
        Assert.Equal("1 < 2 && 3 > 2", escaped.Document!.Expressions().Single().Expression.Code);
    }

    [Fact]
    public void Parse_BlockExpressionInElementText_WithGenericsAndStrings()
    {
        var body = "<set-body>@{\n  var list = new List<string> { \"a)\", \"}\" };\n  return string.Join(\",\", list);\n}</set-body>";
        var result = PolicyDocument.Parse(InInbound(body), PolicyScope.Api);

        Assert.Empty(result.Errors);
        var (node, expression) = Assert.Single(result.Document!.Expressions());
        Assert.IsType<SetBodyPolicy>(node);
        Assert.True(expression.IsBlock);
        Assert.Contains("new List<string> { \"a)\", \"}\" }", expression.Code, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownElement_NamesItAndItsLine()
    {
        var result = PolicyDocument.Parse(InInbound("    <rate-limit calls=\"5\" renewal-period=\"60\" />"), PolicyScope.Api);

        var error = Assert.Single(result.Errors);
        Assert.Null(result.Document);
        Assert.Equal(4, error.Line);
        Assert.Equal(5, error.Column);
        Assert.Contains("unknown policy element <rate-limit>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NotWellFormed_GivesLineAndColumn()
    {
        var result = PolicyDocument.Parse("<policies>\n  <inbound>\n    <base />\n  </outbound>\n</policies>", PolicyScope.Api);

        var error = Assert.Single(result.Errors);
        Assert.Equal(4, error.Line);
        Assert.Contains("not well-formed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CollectsEveryError()
    {
        var text = """
            <policies>
              <inbound>
                <base />
                <forward-request />
                <set-status />
                <validate-client-certificate validate-trust="maybe" />
              </inbound>
              <backend>
                <authentication-certificate certificate-id="x" />
              </backend>
              <outbound />
              <on-fail />
            </policies>
            """;
        var errors = PolicyDocument.Parse(text, PolicyScope.Api).Errors;

        Assert.Collection(errors.OrderBy(e => e.Line),
            e => Assert.Contains("<forward-request> is allowed only in <backend>", e.Message, StringComparison.Ordinal),
            e => Assert.Contains("<set-status> needs a code", e.Message, StringComparison.Ordinal),
            e => Assert.Contains("validate-trust=\"maybe\" must be true or false", e.Message, StringComparison.Ordinal),
            e => Assert.Contains("<authentication-certificate> is allowed only in <inbound>", e.Message, StringComparison.Ordinal),
            e => Assert.Contains("unknown section <on-fail>", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_BaseInGlobalScope_IsAnError()
    {
        var result = PolicyDocument.Parse("<policies><inbound><base /></inbound></policies>", PolicyScope.Global);

        Assert.Contains("no meaning in the global policy", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ValidateClientCertificate_ReadsRulesAndIdentities()
    {
        var fragment = """
            <validate-client-certificate validate-revocation="false" validate-trust="true" validate-not-before="true" validate-not-after="false" ignore-error="false">
              <identities>
                <identity thumbprint="AA" />
                <identity subject="CN=client" issuer-certificate-id="root-ca" certificate-id="client-2025" />
              </identities>
            </validate-client-certificate>
            """;
        var node = PolicyDocument.Parse(InInbound(fragment), PolicyScope.Api).Document!
            .Descendants().OfType<ValidateClientCertificatePolicy>().Single();

        Assert.False(node.ValidateRevocation);
        Assert.True(node.ValidateTrust);
        Assert.False(node.ValidateNotAfter);
        Assert.Equal(2, node.Identities.Count);
        Assert.Equal("AA", node.Identities[0].Thumbprint);
        Assert.Equal("root-ca", node.Identities[1].IssuerCertificateId);
        Assert.Equal("client-2025", node.Identities[1].CertificateId);
    }

    [Fact]
    public void Parse_ExpressionInIdentity_IsRefused()
    {
        var fragment = "<validate-client-certificate><identities><identity thumbprint=\"@(context.Api.Id)\" /></identities></validate-client-certificate>";
        var error = Assert.Single(PolicyDocument.Parse(InInbound(fragment), PolicyScope.Api).Errors);

        Assert.Contains("thumbprint must be a literal value", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CommentsAndCdataOutsideExpressions_AreIgnored()
    {
        var fragment = "<!-- a < b && c -->\n<set-header name=\"x\" exists-action=\"append\"><value>@(\"<\" + \"&\")</value><value>plain</value></set-header>";
        var doc = PolicyDocument.Parse(InInbound(fragment), PolicyScope.Api).Document!;

        var header = doc.Descendants().OfType<SetHeaderPolicy>().Single();
        Assert.Equal(HeaderExistsAction.Append, header.ExistsAction);
        Assert.Equal("\"<\" + \"&\"", header.Values[0].Expression!.Code);
        Assert.Equal("plain", header.Values[1].Literal);
    }
}
