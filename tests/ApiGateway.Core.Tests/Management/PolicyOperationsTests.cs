using System.Text.Json;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Policies;
using ApiGateway.Core.Tests.Policies;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Management;

/// <summary>
/// Removing and reading policies as Az's Remove-/Get-AzApiManagementPolicy do: a removed policy is gone (the next
/// get returns nothing, as APIM answers 404) and the default applies; the gateway credential is part of the policy.
/// </summary>
public sealed class PolicyOperationsTests : ServiceTestBase
{
    private static readonly string HeaderPolicy = PolicyDocumentTests.InInbound("<set-header name=\"x-api\" exists-action=\"override\"><value>orders</value></set-header>");

    private void NewOrders() => Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });

    [Fact]
    public void RemovePolicy_Api_ResetsToTheInheritedDefault_AndTheNextGetReturnsNothing()
    {
        NewOrders();
        Service.SetPolicy("orders", HeaderPolicy);
        var revision = Service.Read().Revision;

        var result = Service.RemovePolicy("ORDERS");

        Assert.Equal("orders", result.Value!.ApiId);
        Assert.Equal(PolicyScope.Api, result.Value.Scope);
        Assert.Equal(HeaderPolicy, result.Value.Policy);
        Assert.Empty(result.Warnings);
        Assert.Null(Service.GetPolicy("orders"));
        var after = Service.Read();
        Assert.Equal(revision + 1, after.Revision);
        Assert.Null(after.Apis["orders"].OwnPolicy);
        // What the gateway builds its pipeline from: the template that inherits every section.
        Assert.Equal(PolicyTemplates.Api, after.Apis["orders"].Policy);
        Assert.True(PolicyDocument.Parse(after.Apis["orders"].Policy, PolicyScope.Api).Document!.Sections.Values.All(s => s.Policies.Single() is BasePolicy));
        using var file = JsonDocument.Parse(ConfigurationBytes());
        Assert.False(file.RootElement.GetProperty("apis").GetProperty("orders").TryGetProperty("policy", out _));
    }

    [Fact]
    public void RemovePolicy_Global_LeavesTheDefaultThatForwards_AndTheNextGetReturnsNothing()
    {
        Service.SetPolicy(null, "<policies>\n  <inbound />\n  <backend>\n    <forward-request timeout=\"20\" />\n  </backend>\n</policies>");

        var result = Service.RemovePolicy();

        Assert.Null(result.Value!.ApiId);
        Assert.Equal(PolicyScope.Global, result.Value.Scope);
        Assert.Contains("timeout=\"20\"", result.Value.Policy, StringComparison.Ordinal);
        Assert.Null(Service.GetPolicy());
        var after = Service.Read();
        Assert.Null(after.OwnPolicy);
        Assert.Equal(PolicyTemplates.Global, after.Policy);
        Assert.IsType<ForwardRequestPolicy>(PolicyDocument.Parse(after.Policy, PolicyScope.Global).Document![PolicySectionKind.Backend]!.Policies.Single());
        using var file = JsonDocument.Parse(ConfigurationBytes());
        Assert.False(file.RootElement.TryGetProperty("policy", out _));
    }

    [Fact]
    public void RemovePolicy_ThatIsNotThere_ChangesNothing_AndIsNoError()
    {
        NewOrders();
        var before = ConfigurationBytes();

        var result = Service.RemovePolicy("orders");

        Assert.Null(result.Value);
        Assert.Empty(result.Warnings);
        Assert.Equal(before, ConfigurationBytes());

        Service.RemovePolicy();
        var withoutGlobal = ConfigurationBytes();
        Assert.Null(Service.RemovePolicy().Value);
        Assert.Equal(withoutGlobal, ConfigurationBytes());
    }

    [Fact]
    public void RemovePolicy_OfAnApiThatDoesNotExist_IsNotFound_AndWritesNothing()
    {
        var before = ConfigurationBytes();

        var error = Fails(() => Service.RemovePolicy("nope"));

        Assert.Equal("ApiNotFound", error.ErrorId);
        Assert.Contains("API 'nope' does not exist", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationBytes());
    }

    [Fact]
    public void RemovePolicy_TakesTheGatewayCredentialWithIt_AndTheWarningSaysHowToSetItAgain()
    {
        Upload("backend-2025");
        NewOrders();
        Service.SetGatewayCredential("orders", "backend-2025", null);
        Assert.True(Service.GetCertificates(new CertificateQuery { CertificateId = "backend-2025" }).Single().InUse);

        var result = Service.RemovePolicy("orders");

        var warning = Assert.Single(result.Warnings);
        Assert.Equal(
            "API 'orders' no longer presents certificate 'backend-2025' to the backend: its gateway credential (<authentication-certificate>) was part of the removed policy. Set it again with Set-ApiGatewayCredential -ApiId orders -CertificateId backend-2025.",
            warning);
        Assert.Null(Service.GetApis("orders").Single().GatewayCredentialCertificateId);
        Assert.False(Service.GetCertificates(new CertificateQuery { CertificateId = "backend-2025" }).Single().InUse);
        // Removing the certificate is possible now: nothing refers to it any more.
        Service.RemoveCertificate("backend-2025");
    }

    [Fact]
    public void RemovePolicy_WithACredentialByThumbprint_NamesTheThumbprintToSetAgain()
    {
        using var certificate = Upload("c");
        NewOrders();
        Service.SetGatewayCredential("orders", null, certificate.Thumbprint);

        var warning = Assert.Single(Service.RemovePolicy("orders").Warnings);

        Assert.Contains($"the certificate with thumbprint {certificate.Thumbprint}", warning, StringComparison.Ordinal);
        Assert.EndsWith($"Set-ApiGatewayCredential -ApiId orders -CertificateThumbprint {certificate.Thumbprint}.", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void GatewayCredentialNone_OnAnApiWithoutAPolicy_LeavesItWithout()
    {
        NewOrders();
        var before = ConfigurationBytes();

        Service.SetGatewayCredential("orders", null, null);

        Assert.Equal(before, ConfigurationBytes());
        Assert.Null(Service.GetPolicy("orders"));
    }

    [Fact]
    public void GatewayCredential_OnAnApiWithoutAPolicy_StartsFromTheInheritingTemplate()
    {
        Upload("backend-2025");
        NewOrders();

        Service.SetGatewayCredential("orders", "backend-2025", null);

        Assert.Equal(
            PolicyTemplates.Api.Replace("    <base />\n  </inbound>", "    <base />\n    <authentication-certificate certificate-id=\"backend-2025\" />\n  </inbound>", StringComparison.Ordinal),
            Service.GetPolicy("orders")!.Policy);
    }

    [Fact]
    public void GetPolicy_InAFormat_RendersIt_AndSaysWhichFormat()
    {
        NewOrders();
        Service.SetPolicy("orders", PolicyDocumentTests.InInbound(PolicyDocumentTests.IssuerSubjectPolicy));

        var asStored = Service.GetPolicy("orders")!;
        var xml = Service.GetPolicy("orders", PolicyFormat.Xml)!;
        var raw = Service.GetPolicy("orders", PolicyFormat.RawXml)!;

        Assert.Null(asStored.Format);
        Assert.Equal("Xml", xml.Format);
        Assert.Equal("RawXml", raw.Format);
        Assert.Contains("!= &quot;trusted-issuer&quot;", xml.Policy, StringComparison.Ordinal);
        Assert.Equal(asStored.Policy, raw.Policy);
        Assert.Equal(xml.Policy, xml.ToString());
    }

    [Fact]
    public void SetPolicy_RawXml_IsStoredEscaped_WithItsAmpersandsLiteral()
    {
        NewOrders();

        var stored = Service.SetPolicy("orders", PolicyDocumentTests.InInbound("<set-variable name=\"x\" value=\"@(\"&lt;\" + (1 < 2))\" />"), PolicyFormat.RawXml);

        Assert.Contains("value=\"@(&quot;&amp;lt;&quot; + (1 &lt; 2))\"", stored.Policy, StringComparison.Ordinal);
        Assert.Equal(stored.Policy, Service.GetPolicy("orders")!.Policy);
        Assert.Equal("\"&lt;\" + (1 < 2)", PolicyDocument.Parse(stored.Policy, PolicyScope.Api).Document!.Expressions().Single().Expression.Code);
    }

    [Fact]
    public void AFileWrittenBeforePoliciesCouldBeRemoved_KeepsItsExplicitTemplate()
    {
        // Earlier versions wrote every API's policy out, the template included: it is the API's own policy then.
        NewOrders();
        Service.SetPolicy("orders", PolicyTemplates.Api);

        Assert.Equal(PolicyTemplates.Api, Service.GetPolicy("orders")!.Policy);
        Assert.Equal(PolicyTemplates.Api, Service.RemovePolicy("orders").Value!.Policy);
        Assert.Null(Service.GetPolicy("orders"));
    }
}
