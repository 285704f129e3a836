using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Tests.Policies;

public class PolicyCompositionTests
{
    private static PolicyDocument Parse(string text, PolicyScope scope)
    {
        var result = PolicyDocument.Parse(text, scope);
        Assert.True(result.Document is not null, string.Join("; ", result.Errors));
        return result.Document!;
    }

    [Fact]
    public void Base_IsReplacedByTheGlobalSection_InPlace()
    {
        var global = Parse("<policies><inbound><set-header name=\"g\"><value>1</value></set-header></inbound><backend><forward-request /></backend></policies>", PolicyScope.Global);
        var api = Parse("<policies><inbound><set-variable name=\"before\" value=\"1\" /><base /><set-variable name=\"after\" value=\"2\" /></inbound></policies>", PolicyScope.Api);

        var effective = EffectivePolicy.Compose(global, api);

        Assert.Equal(["set-variable", "set-header", "set-variable"], effective[PolicySectionKind.Inbound].Select(n => n.ElementName));
        // The API leaves out <backend>: it inherits the global one.
        Assert.IsType<ForwardRequestPolicy>(Assert.Single(effective[PolicySectionKind.Backend]));
        Assert.Empty(effective[PolicySectionKind.Outbound]);
    }

    [Fact]
    public void SectionWithoutBase_ReplacesTheGlobalOne()
    {
        var global = Parse("<policies><inbound><set-header name=\"g\"><value>1</value></set-header></inbound></policies>", PolicyScope.Global);
        var api = Parse("<policies><inbound><set-variable name=\"only\" value=\"1\" /></inbound></policies>", PolicyScope.Api);

        Assert.Equal(["set-variable"], EffectivePolicy.Compose(global, api)[PolicySectionKind.Inbound].Select(n => n.ElementName));
    }
}
