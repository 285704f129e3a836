using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Tests.Policies;

public sealed class PolicyTemplatesTests
{
    [Fact]
    public void Api_InheritsEverySection_AsWrittenBefore()
    {
        Assert.Equal("""
            <policies>
              <inbound>
                <base />
              </inbound>
              <backend>
                <base />
              </backend>
              <outbound>
                <base />
              </outbound>
              <on-error>
                <base />
              </on-error>
            </policies>
            """, PolicyTemplates.Api);
    }

    [Fact]
    public void Inheriting_PutsEachSnippetAfterTheBaseOfItsSection()
    {
        var text = PolicyTemplates.Inheriting(
            inbound: """
                <choose>
                  <when condition="@(context.Request.Certificate == null)"><return-response /></when>
                </choose>
                """,
            outbound: """<set-header name="x" exists-action="override"><value>1</value></set-header>""");

        var document = PolicyDocument.Parse(text, PolicyScope.Api).Document!;
        Assert.Equal([typeof(BasePolicy), typeof(ChoosePolicy)], document[PolicySectionKind.Inbound]!.Policies.Select(n => n.GetType()));
        Assert.Equal([typeof(BasePolicy)], document[PolicySectionKind.Backend]!.Policies.Select(n => n.GetType()));
        Assert.Equal([typeof(BasePolicy), typeof(SetHeaderPolicy)], document[PolicySectionKind.Outbound]!.Policies.Select(n => n.GetType()));
        Assert.Equal([typeof(BasePolicy)], document[PolicySectionKind.OnError]!.Policies.Select(n => n.GetType()));
        Assert.Contains("\n    <choose>\n      <when", text, StringComparison.Ordinal); // indented into the section
        Assert.Equal(4, document.Descendants().OfType<ChoosePolicy>().Single().Line);
    }
}
