using ApiGateway.Core.Management;
using ApiGateway.Core.Policies;
using ApiGateway.Core.Tests.Policies;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Management;

public sealed class ApiOperationsTests : ServiceTestBase
{
    [Fact]
    public void New_NormalizesThePath_AndHasNoPolicyOfItsOwn_SoItInheritsEverything()
    {
        var api = Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "/orders/v1/", ServiceUrl = "https://orders.example.com/api", DisplayName = "Orders" });

        Assert.Equal("orders/v1", api.Path);
        Assert.Equal("Orders", api.DisplayName);
        Assert.Equal("https://orders.example.com/api", api.ServiceUrl);
        Assert.Null(api.BackendId);
        // As in APIM: a new API has no policy resource (Get returns nothing) and the gateway applies <base /> everywhere.
        Assert.Null(Service.GetPolicy("orders"));
        var entry = Service.Read().Apis["orders"];
        Assert.Null(entry.OwnPolicy);
        Assert.Equal(ApiGateway.Core.Configuration.PolicyTemplates.Api, entry.Policy);
        using var file = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Service.ConfigurationPath));
        Assert.False(file.RootElement.GetProperty("apis").GetProperty("orders").TryGetProperty("policy", out _));
    }

    [Fact]
    public void New_WithoutId_MakesOneFromTheDisplayName()
    {
        Assert.Equal("billing-v2", Service.NewApi(new ApiDefinition { DisplayName = "Billing v2", Path = "billing", ServiceUrl = "https://b.example.com/" }).ApiId);
        Assert.Equal("root", Service.NewApi(new ApiDefinition { Path = "", ServiceUrl = "https://r.example.com/" }).ApiId);
    }

    [Fact]
    public void New_PathTakenByAnotherApi_IsRefused()
    {
        Service.NewApi(new ApiDefinition { ApiId = "a", Path = "orders", ServiceUrl = "https://a.example.com/" });

        var error = Fails(() => Service.NewApi(new ApiDefinition { ApiId = "b", Path = "ORDERS", ServiceUrl = "https://b.example.com/" }));

        Assert.Equal("ApiPathInUse", error.ErrorId);
        Assert.Contains("API 'a' already has the path 'orders'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a b")]
    [InlineData("a//b")]
    [InlineData("a/../b")]
    [InlineData("a?b")]
    public void New_InvalidPath_IsRefused(string path)
    {
        Assert.Equal("ApiInvalidPath", Fails(() => Service.NewApi(new ApiDefinition { ApiId = "a", Path = path, ServiceUrl = "https://a.example.com/" })).ErrorId);
    }

    [Fact]
    public void New_TargetRules()
    {
        Service.NewBackend(new ApiGateway.Core.Management.BackendDefinition { BackendId = "b", Url = "https://b.example.com/" });

        Assert.Equal("ApiInvalidTarget", Fails(() => Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a" })).ErrorId);
        Assert.Equal("ApiInvalidTarget", Fails(() => Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", BackendId = "b", ServiceUrl = "https://x.example.com/" })).ErrorId);
        Assert.Equal("ApiInvalidServiceUrl", Fails(() => Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", ServiceUrl = "x.example.com" })).ErrorId);
        Assert.Equal("BackendNotFound", Fails(() => Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", BackendId = "nope" })).ErrorId);
        Assert.Equal("b", Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", BackendId = "B" }).BackendId);
    }

    [Fact]
    public void Set_SwitchingBetweenBackendAndServiceUrl_ClearsTheOther()
    {
        Service.NewBackend(new ApiGateway.Core.Management.BackendDefinition { BackendId = "b", Url = "https://b.example.com/" });
        Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", ServiceUrl = "https://a.example.com/" });

        var toBackend = Service.SetApi("a", new ApiDefinition { BackendId = "b" });
        Assert.Equal(("b", (string?)null), (toBackend.BackendId, toBackend.ServiceUrl));

        var toUrl = Service.SetApi("a", new ApiDefinition { ServiceUrl = "https://c.example.com/" });
        Assert.Equal(((string?)null, "https://c.example.com/"), (toUrl.BackendId, toUrl.ServiceUrl));

        var renamed = Service.SetApi("a", new ApiDefinition { DisplayName = "A", Path = "a2" });
        Assert.Equal(("A", "a2", "https://c.example.com/"), (renamed.DisplayName, renamed.Path, renamed.ServiceUrl));
    }

    [Fact]
    public void Description_IsStored_ChangedByASet_AndClearedByAnEmptyOne()
    {
        var created = Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", ServiceUrl = "https://a.example.com/", Description = "Orders, v1" });
        Assert.Equal("Orders, v1", created.Description);
        Assert.Equal("Orders, v1", Service.Read().Apis["a"].Description);

        Assert.Equal("Orders, v1", Service.SetApi("a", new ApiDefinition { Path = "a2" }).Description);
        Assert.Equal("v2", Service.SetApi("a", new ApiDefinition { Description = "v2" }).Description);
        Assert.Null(Service.SetApi("a", new ApiDefinition { Description = "" }).Description);
        Assert.Null(Service.Read().Apis["a"].Description);
    }

    [Fact]
    public void Output_HasAzsNameAndProtocols()
    {
        var api = Service.NewApi(new ApiDefinition { ApiId = "a", DisplayName = "Echo API", Path = "echo", ServiceUrl = "https://a.example.com/" });

        Assert.Equal("Echo API", api.Name);
        Assert.Equal([ApiProtocol.Https], api.Protocols);
        Assert.Equal(api, Service.GetApis("a").Single());
    }

    [Fact]
    public void Protocols_OnlyHttpsIsOffered()
    {
        Assert.Equal("a", Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", ServiceUrl = "https://a.example.com/", Protocols = [ApiProtocol.Https, ApiProtocol.Https] }).ApiId);
        var before = ConfigurationBytes();

        var mixed = Fails(() => Service.NewApi(new ApiDefinition { ApiId = "b", Path = "b", ServiceUrl = "https://b.example.com/", Protocols = [ApiProtocol.Http, ApiProtocol.Https] }));
        var none = Fails(() => Service.SetApi("a", new ApiDefinition { Protocols = [] }));
        var http = Fails(() => Service.SetApi("a", new ApiDefinition { Protocols = [ApiProtocol.Http] }));

        Assert.Equal("ApiProtocolNotSupported", mixed.ErrorId);
        Assert.Equal(GatewayErrorCategory.InvalidArgument, mixed.Category);
        Assert.Equal("API 'b' cannot be offered over http, https: the gateway serves APIs over https only (it listens on HTTPS hostnames, for mutual TLS). Give -Protocols https, or leave -Protocols out.", mixed.Message);
        Assert.Contains("over no protocol", none.Message, StringComparison.Ordinal);
        Assert.Equal("ApiProtocolNotSupported", http.ErrorId);
        Assert.Equal(before, ConfigurationBytes());
    }

    [Fact]
    public void GetByDisplayName_MatchesWithoutRegardToCaseAndWithWildcards_AndFindingNoneIsNoError()
    {
        Service.NewApi(new ApiDefinition { ApiId = "b", DisplayName = "Orders [beta]", Path = "b", ServiceUrl = "https://b.example.com/" });
        Service.NewApi(new ApiDefinition { ApiId = "a", DisplayName = "Orders", Path = "a", ServiceUrl = "https://a.example.com/" });
        Service.NewApi(new ApiDefinition { ApiId = "c", DisplayName = "Billing", Path = "c", ServiceUrl = "https://c.example.com/" });

        Assert.Equal(["a"], Service.GetApisByDisplayName("orders").Select(a => a.ApiId));
        Assert.Equal(["a", "b"], Service.GetApisByDisplayName("Orders*").Select(a => a.ApiId));
        Assert.Equal(["b"], Service.GetApisByDisplayName("Orders `[beta`]").Select(a => a.ApiId));
        Assert.Empty(Service.GetApisByDisplayName("Nothing*"));
        // Az's -Name is a filter (name eq '...'): a script tests the result for $null, so no match is not an error.
        Assert.Empty(Service.GetApisByDisplayName("Orders v2"));
        Assert.Equal("ApiNotFound", Fails(() => Service.GetApis("orders-v2")).ErrorId);
    }

    [Fact]
    public void Remove_RemovesTheApiAndItsPolicy()
    {
        Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", ServiceUrl = "https://a.example.com/" });

        Service.RemoveApi("A");

        Assert.Empty(Service.GetApis());
        Assert.Equal("ApiNotFound", Fails(() => Service.GetPolicy("a")).ErrorId);
    }

    [Fact]
    public void GatewayCredential_WritesReplacesAndRemovesTheElement_LikeApimsEditor()
    {
        Upload("backend-2025");
        Upload("backend-2026", "CN=next");
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });

        Service.SetGatewayCredential("orders", "backend-2025", null);
        Assert.Equal(
            "<policies>\n  <inbound>\n    <base />\n    <authentication-certificate certificate-id=\"backend-2025\" />\n  </inbound>\n  <backend>\n    <base />\n  </backend>\n  <outbound>\n    <base />\n  </outbound>\n  <on-error>\n    <base />\n  </on-error>\n</policies>",
            Service.GetPolicy("orders")!.Policy);

        var replaced = Service.SetGatewayCredential("orders", "backend-2026", null);
        Assert.Equal("backend-2026", replaced.GatewayCredentialCertificateId);
        Assert.Single(Service.GetPolicy("orders")!.Policy.Split('\n'), l => l.Contains("authentication-certificate", StringComparison.Ordinal));

        var removed = Service.SetGatewayCredential("orders", null, null);
        Assert.Null(removed.GatewayCredentialCertificateId);
        Assert.Equal(ApiGateway.Core.Configuration.PolicyTemplates.Api, Service.GetPolicy("orders")!.Policy);
    }

    [Fact]
    public void GatewayCredential_ByThumbprint_IsWrittenNormalized()
    {
        using var cert = Upload("c");
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });

        var api = Service.SetGatewayCredential("orders", null, cert.Thumbprint.ToLowerInvariant());

        Assert.Equal(cert.Thumbprint, api.GatewayCredentialThumbprint);
    }

    [Fact]
    public void GatewayCredential_CertificateWithoutKeyOrMissing_IsRefused()
    {
        UploadPublic("public");
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });

        Assert.Equal("CertificateNoPrivateKey", Fails(() => Service.SetGatewayCredential("orders", "public", null)).ErrorId);
        Assert.Equal("CertificateNotFound", Fails(() => Service.SetGatewayCredential("orders", "nope", null)).ErrorId);
        Assert.Equal("CertificateNotFound", Fails(() => Service.SetGatewayCredential("orders", null, new string('B', 40))).ErrorId);
        Assert.Equal("ApiNotFound", Fails(() => Service.SetGatewayCredential("nope", null, null)).ErrorId);
    }

    [Fact]
    public void GatewayCredential_KeepsTheRestOfAHandWrittenPolicyAsItWas()
    {
        Upload("backend-2025");
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });
        var handWritten = "<policies>\n\t<inbound>\n\t\t<!-- who may call -->\n\t\t<base />\n" + PolicyDocumentTests.ExpiryPolicy.Replace("\n", "\n\t\t", StringComparison.Ordinal).Insert(0, "\t\t") + "\n\t</inbound>\n\t<backend>\n\t\t<base />\n\t</backend>\n</policies>";
        Service.SetPolicy("orders", handWritten);

        Service.SetGatewayCredential("orders", "backend-2025", null);
        var edited = Service.GetPolicy("orders")!.Policy;

        var at = handWritten.IndexOf("\t\t<base />\n", StringComparison.Ordinal) + "\t\t<base />\n".Length;
        Assert.Equal(handWritten.Insert(at, "\t\t<authentication-certificate certificate-id=\"backend-2025\" />\n"), edited);
        Assert.Contains("NotAfter < DateTime.Now", edited, StringComparison.Ordinal);

        Service.SetGatewayCredential("orders", null, null);
        Assert.Equal(handWritten, Service.GetPolicy("orders")!.Policy);
    }

    [Fact]
    public void GatewayCredential_InAPolicyWithoutInboundOrWithAnEmptyOne_IsAdded()
    {
        Upload("c");
        Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", ServiceUrl = "https://a.example.com/" });
        Service.NewApi(new ApiDefinition { ApiId = "b", Path = "b", ServiceUrl = "https://b.example.com/" });
        Service.SetPolicy("a", "<policies>\n  <backend>\n    <base />\n  </backend>\n</policies>");
        Service.SetPolicy("b", "<policies>\n  <inbound />\n</policies>");

        Service.SetGatewayCredential("a", "c", null);
        Service.SetGatewayCredential("b", "c", null);

        Assert.Equal("<policies>\n  <inbound>\n    <base />\n    <authentication-certificate certificate-id=\"c\" />\n  </inbound>\n  <backend>\n    <base />\n  </backend>\n</policies>", Service.GetPolicy("a")!.Policy);
        Assert.Equal("<policies>\n  <inbound>\n    <authentication-certificate certificate-id=\"c\" />\n  </inbound>\n</policies>", Service.GetPolicy("b")!.Policy);
    }

    [Fact]
    public void SetPolicy_Global_AndApi_RoundTrip()
    {
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });
        var api = PolicyDocumentTests.InInbound(PolicyDocumentTests.UploadedPolicy);

        Service.SetPolicy("orders", api.Replace("\n", "\r\n", StringComparison.Ordinal) + "\r\n");
        Service.SetPolicy(null, "<policies>\n  <inbound />\n  <backend>\n    <forward-request timeout=\"20\" />\n  </backend>\n</policies>");

        Assert.Equal(api, Service.GetPolicy("orders")!.Policy);
        Assert.Contains("timeout=\"20\"", Service.GetPolicy()!.Policy, StringComparison.Ordinal);
        Assert.Null(Service.GetPolicy()!.ApiId);
    }

    [Fact]
    public void SetPolicy_Invalid_ListsEveryErrorWithLineAndColumn_AndKeepsThePreviousPolicy()
    {
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.example.com/" });
        var before = ConfigurationBytes();

        var error = Fails(() => Service.SetPolicy("orders", "<policies>\n  <inbound>\n    <rate-limit calls=\"5\" />\n    <set-status />\n  </inbound>\n</policies>"));

        Assert.Equal("PolicyInvalid", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.InvalidData, error.Category);
        Assert.Contains("The policy of API 'orders' is not valid:", error.Message, StringComparison.Ordinal);
        Assert.Contains("line 3, column 5: unknown policy element <rate-limit>", error.Message, StringComparison.Ordinal);
        Assert.Contains("line 4, column 5: <set-status> needs a code", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, error.Details.Count);
        Assert.Equal(before, ConfigurationBytes());
    }

    [Fact]
    public void SetPolicy_NotWellFormed_GivesLineAndColumn()
    {
        var error = Fails(() => Service.SetPolicy(null, "<policies>\n  <inbound>\n</policies>"));

        Assert.Equal("PolicyInvalid", error.ErrorId);
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetPolicy_ReferringToAMissingCertificateOrBackend_IsRefused()
    {
        var error = Fails(() => Service.SetPolicy(null, "<policies><inbound><authentication-certificate certificate-id=\"ghost\" /><set-backend-service backend-id=\"nowhere\" /></inbound></policies>"));

        Assert.Equal("PolicyInvalid", error.ErrorId);
        Assert.Contains("uses certificate 'ghost', which does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains("uses backend 'nowhere', which does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetPolicy_ToAnApiThatDoesNotExist_IsNotFound()
    {
        Assert.Equal("ApiNotFound", Fails(() => Service.SetPolicy("nope", PolicyDocumentTests.InInbound(""))).ErrorId);
    }
}
