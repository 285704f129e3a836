using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.Core.Policies;
using ApiGateway.PowerShell.Commands.Apis;
using ApiGateway.PowerShell.Commands.Backends;
using ApiGateway.PowerShell.Commands.Policies;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Commands;

/// <summary>
/// What an Az.ApiManagement script needs once its cmdlets are renamed: Remove-GatewayPolicy, Get-GatewayPolicy
/// -Format/-SaveAs/-Force, -Format on Set, the API's -Name/-Description/-Protocols and Get-GatewayApi -Name, and the
/// backend credential in Az's shape. The cmdlets' Core calls with real configurations and files.
/// </summary>
public sealed class AzPortingCommandTests : CommandTestBase
{
    private const string HeaderPolicy = """
        <policies>
          <inbound>
            <base />
            <set-header name="x-check" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("a", "") == "b" && 1 < 2 ? "yes" : "no")</value></set-header>
          </inbound>
        </policies>
        """;

    private void NewOrders() => new NewGatewayApiCommand { ApiId = "orders", Path = "orders", ServiceUrl = "https://o.internal/" }.Create(Service);

    [Fact]
    public void RemovePolicy_ThenGet_ReturnsNothing_AndAMissingApiHasItsId()
    {
        NewOrders();
        new SetGatewayPolicyCommand { ApiId = "orders", Policy = HeaderPolicy }.Set(Service, Resolve);

        var removed = RemoveGatewayPolicyCommand.Remove(Service, "orders");

        Assert.Equal("orders", removed.Value!.ApiId);
        Assert.Null(new GetGatewayPolicyCommand { ApiId = "orders" }.Get(Service));
        Assert.Null(RemoveGatewayPolicyCommand.Remove(Service, "orders").Value);
        Assert.Equal("RemoveGatewayPolicyApiNotFound", Failure<RemoveGatewayPolicyCommand>(() => RemoveGatewayPolicyCommand.Remove(Service, "nope")).ErrorId);
    }

    [Fact]
    public void PolicyTargets_NameTheGlobalPolicyOrTheApi()
    {
        Assert.Equal($"global policy in {Service.ConfigurationPath}", GatewayCmdlet.PolicyTarget(null, Service));
        Assert.Equal($"policy of API 'orders' in {Service.ConfigurationPath}", GatewayCmdlet.PolicyTarget("orders", Service));
    }

    [Fact]
    public void GetPolicy_Format_TakesAzsValues_AndRefusesOthersWithItsId()
    {
        NewOrders();
        new SetGatewayPolicyCommand { ApiId = "orders", Policy = HeaderPolicy }.Set(Service, Resolve);

        var xml = new GetGatewayPolicyCommand { ApiId = "orders", Format = "application/vnd.ms-azure-apim.policy+xml" }.Get(Service)!;
        var raw = new GetGatewayPolicyCommand { ApiId = "orders", Format = "rawxml" }.Get(Service)!;
        var mapped = Failure<GetGatewayPolicyCommand>(() => new GetGatewayPolicyCommand { ApiId = "orders", Format = "xml-link" }.Get(Service));

        Assert.Contains("&amp;&amp; 1 &lt; 2", xml.Policy, StringComparison.Ordinal);
        Assert.Equal("Xml", xml.Format);
        Assert.Contains("== \"b\" && 1 < 2", raw.Policy, StringComparison.Ordinal);
        Assert.Equal("GetGatewayPolicyInvalidFormat", mapped.ErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, mapped.Category);
    }

    [Fact]
    public void SetPolicy_Format_RawXml_KeepsTheMeaningOfAGetInThatFormat()
    {
        NewOrders();
        Service.NewApi(new ApiDefinition { ApiId = "copy", Path = "copy", ServiceUrl = "https://c.internal/" });
        new SetGatewayPolicyCommand { ApiId = "orders", Policy = HeaderPolicy.Replace("\"yes\"", "\"&lt;yes&gt;\"", StringComparison.Ordinal) }.Set(Service, Resolve);
        var raw = new GetGatewayPolicyCommand { ApiId = "orders", Format = "RawXml" }.Get(Service)!;

        var copied = new SetGatewayPolicyCommand { ApiId = "copy", Policy = raw.Policy, Format = raw.Format }.Set(Service, Resolve);

        Assert.Equal(Code(Service.GetPolicy("orders")!.Policy), Code(copied.Policy));
        Assert.Equal("SetGatewayPolicyInvalidFormat", Failure<SetGatewayPolicyCommand>(() => new SetGatewayPolicyCommand { ApiId = "copy", Policy = HeaderPolicy, Format = "json" }.Set(Service, Resolve)).ErrorId);
    }

    [Fact]
    public void SaveAs_WritesTheFile_RefusesToOverwriteWithoutForce_AndOverwritesWithIt()
    {
        NewOrders();
        new SetGatewayPolicyCommand { ApiId = "orders", Policy = HeaderPolicy }.Set(Service, Resolve);
        var get = new GetGatewayPolicyCommand { ApiId = "orders", SaveAs = "saved/orders.xml" };
        Directory.CreateDirectory(Temp.File("saved"));

        Assert.Null(get.Save(get.Get(Service), Resolve, force: false));
        Assert.Equal(HeaderPolicy + "\n", File.ReadAllText(Temp.File("saved/orders.xml")));

        File.WriteAllText(Temp.File("saved/orders.xml"), "keep me");
        var refused = Failure<GetGatewayPolicyCommand>(() => get.Save(get.Get(Service), Resolve, force: false));
        Assert.Equal("GetGatewayPolicyFileExists", refused.ErrorId);
        Assert.Equal(ErrorCategory.ResourceExists, refused.Category);
        Assert.Equal("keep me", File.ReadAllText(Temp.File("saved/orders.xml")));

        var forced = new GetGatewayPolicyCommand { ApiId = "orders", SaveAs = "saved/orders.xml", Format = "Xml" };
        forced.Save(forced.Get(Service), Resolve, force: true);
        Assert.Equal(Service.GetPolicy("orders", PolicyFormat.Xml)!.Policy + "\n", File.ReadAllText(Temp.File("saved/orders.xml")));
        Assert.Equal(["orders.xml"], Directory.GetFiles(Temp.File("saved")).Select(Path.GetFileName));
    }

    [Fact]
    public void SaveAs_WithoutAPolicy_WritesNothing_AndSaysWhy()
    {
        NewOrders();
        var get = new GetGatewayPolicyCommand { ApiId = "orders", SaveAs = "orders.xml" };

        var warning = get.Save(get.Get(Service), Resolve, force: false);

        Assert.Equal($"API 'orders' has no policy of its own (the default applies), so nothing was written to '{Temp.File("orders.xml")}'.", warning);
        Assert.False(File.Exists(Temp.File("orders.xml")));
    }

    [Fact]
    public void SaveAs_IntoAMissingFolderOrOntoAFolder_IsUnwritable()
    {
        var get = new GetGatewayPolicyCommand { SaveAs = "missing/global.xml" };
        Directory.CreateDirectory(Temp.File("folder"));
        var onFolder = new GetGatewayPolicyCommand { SaveAs = "folder" };

        var missing = Failure<GetGatewayPolicyCommand>(() => get.Save(get.Get(Service), Resolve, force: false));
        var folder = Failure<GetGatewayPolicyCommand>(() => onFolder.Save(onFolder.Get(Service), Resolve, force: true));

        Assert.Equal("GetGatewayPolicyFileUnwritable", missing.ErrorId);
        Assert.Equal(ErrorCategory.WriteError, missing.Category);
        Assert.Equal("GetGatewayPolicyFileUnwritable", folder.ErrorId);
        Assert.True(Directory.Exists(Temp.File("folder")));
    }

    [Fact]
    public void PolicyFormatCompleter_OffersAzsNames()
    {
        Assert.Equal(["RawXml"], PolicyFormatCompleter.Complete("r"));
        Assert.Equal(PolicyFormats.Names, PolicyFormatCompleter.Complete(""));
        Assert.Equal(["application/vnd.ms-azure-apim.policy.raw+xml"], PolicyFormatCompleter.Complete("'application/vnd.ms-azure-apim.policy.r"));
    }

    [Fact]
    public void Api_NameDescriptionAndProtocols_AsNewAndSetAzApiManagementApi()
    {
        var created = new NewGatewayApiCommand { ApiId = "echo", DisplayName = "Echo API", Description = "Echoes", Protocols = [ApiProtocol.Https], Path = "echo", ServiceUrl = "https://echo.internal/" }.Create(Service);
        var changed = new SetGatewayApiCommand { DisplayName = "Echo v2", Description = "" }.Change(Service, "echo");

        Assert.Equal(("Echo API", "Echo API", "Echoes"), (created.Name, created.DisplayName, created.Description));
        Assert.Equal(("Echo v2", null), (changed.Name, changed.Description));
        Assert.Equal("NewGatewayApiProtocolNotSupported", Failure<NewGatewayApiCommand>(() => new NewGatewayApiCommand { ApiId = "plain", Path = "plain", ServiceUrl = "https://p.internal/", Protocols = [ApiProtocol.Http] }.Create(Service)).ErrorId);
        Assert.Equal("SetGatewayApiProtocolNotSupported", Failure<SetGatewayApiCommand>(() => new SetGatewayApiCommand { Protocols = [ApiProtocol.Http, ApiProtocol.Https] }.Change(Service, "echo")).ErrorId);
    }

    [Fact]
    public void GetApi_ByDisplayName()
    {
        new NewGatewayApiCommand { ApiId = "a", DisplayName = "Orders", Path = "a", ServiceUrl = "https://a.internal/" }.Create(Service);
        new NewGatewayApiCommand { ApiId = "b", DisplayName = "Billing", Path = "b", ServiceUrl = "https://b.internal/" }.Create(Service);

        Assert.Equal(["a"], new GetGatewayApiCommand { DisplayName = "ord*" }.Get(Service).Select(a => a.ApiId));
        Assert.Empty(new GetGatewayApiCommand { DisplayName = "Shipping" }.Get(Service));
    }

    [Fact]
    public void BackendCredential_BuiltLikeNewAzApiManagementBackendCredential_HasAzsShape()
    {
        var credential = new NewGatewayBackendCredentialCommand
        {
            CertificateThumbprint = ["8E989652CABCF585ACBFCB9C2C91F1D174FDB3A2"],
            AuthorizationHeaderScheme = "basic",
            AuthorizationHeaderParameter = Secure("opensesame"),
        }.Build(v => v);

        Assert.Equal(["8E989652CABCF585ACBFCB9C2C91F1D174FDB3A2"], credential.Certificate);
        Assert.Equal("basic", credential.Authorization!.Scheme);
        Assert.Same(credential.AuthorizationHeaderParameter, credential.Authorization.Parameter);
        Assert.True(credential.Authorization.HasParameter);
    }

    private static string Code(string policy) => PolicyDocument.Parse(policy, PolicyScope.Api).Document!.Expressions().Single().Expression.Code;
}
