using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Management;

public sealed class BackendOperationsTests : ServiceTestBase
{
    [Fact]
    public void New_TheDocumentedExample_SkipsChainValidationOnly()
    {
        // New-GatewayBackend -Context $context -Url 'https://contoso.com/myapi' -Protocol http -SkipCertificateChainValidation $true
        var backend = Service.NewBackend(new BackendDefinition { Url = "https://contoso.com/myapi", Protocol = BackendProtocol.Http, SkipCertificateChainValidation = true });

        Assert.Equal("contoso-com", backend.BackendId);
        Assert.Equal("https://contoso.com/myapi", backend.Url);
        Assert.True(backend.SkipCertificateChainValidation);
        Assert.False(backend.SkipCertificateNameValidation);
        var tls = Service.Read().Backends["contoso-com"].Tls;
        Assert.False(tls.ValidateCertificateChain);
        Assert.True(tls.ValidateCertificateName);
    }

    [Fact]
    public void TlsSwitches_AreIndependent_SettingOneNeverNeedsOrTouchesTheOther()
    {
        // azure-powershell #29209: the Az cmdlets require the name switch whenever the chain switch is set.
        Service.NewBackend(new BackendDefinition { BackendId = "b", Url = "https://b.example.com/", SkipCertificateNameValidation = true });

        var afterChain = Service.SetBackend("b", new BackendDefinition { SkipCertificateChainValidation = true });
        Assert.True(afterChain.SkipCertificateChainValidation);
        Assert.True(afterChain.SkipCertificateNameValidation);

        var afterName = Service.SetBackend("b", new BackendDefinition { SkipCertificateNameValidation = false });
        Assert.True(afterName.SkipCertificateChainValidation);
        Assert.False(afterName.SkipCertificateNameValidation);
    }

    [Theory]
    [InlineData("contoso.com/myapi")]
    [InlineData("ftp://contoso.com/")]
    [InlineData("/relative")]
    [InlineData("https://user:pass@contoso.com/")]
    [InlineData("https://contoso.com/#frag")]
    [InlineData("")]
    public void New_UrlThatIsNotAbsoluteHttp_IsRefused(string url)
    {
        var error = Fails(() => Service.NewBackend(new BackendDefinition { BackendId = "b", Url = url }));

        Assert.Equal("BackendInvalidUrl", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.InvalidArgument, error.Category);
    }

    [Fact]
    public void New_UrlWithCredentials_SaysToUseACredential()
    {
        var error = Fails(() => Service.NewBackend(new BackendDefinition { BackendId = "b", Url = "https://user:pass@contoso.com/" }));

        Assert.Contains("New-GatewayBackendCredential", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void New_ExistingId_IsRefused()
    {
        Service.NewBackend(new BackendDefinition { BackendId = "b", Url = "https://b.example.com/" });

        var error = Fails(() => Service.NewBackend(new BackendDefinition { BackendId = "B", Url = "https://c.example.com/" }));

        Assert.Equal("BackendExists", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.AlreadyExists, error.Category);
    }

    [Fact]
    public void Set_ChangesOnlyWhatIsGiven_AndEmptyStringsClear()
    {
        Service.NewBackend(new BackendDefinition { BackendId = "b", Url = "https://b.example.com/", Title = "B", Description = "the b", Protocol = BackendProtocol.Soap });

        var set = Service.SetBackend("b", new BackendDefinition { Url = "https://b2.example.com/", Description = "" });

        Assert.Equal("https://b2.example.com/", set.Url);
        Assert.Equal("B", set.Title);
        Assert.Null(set.Description);
        Assert.Equal(BackendProtocol.Soap, set.Protocol);
    }

    [Fact]
    public void Set_Missing_IsNotFound()
    {
        Assert.Equal("BackendNotFound", Fails(() => Service.SetBackend("nope", new BackendDefinition { Title = "x" })).ErrorId);
    }

    [Fact]
    public void Credentials_CertificatesHeadersQueryAndAuthorization_AreStored()
    {
        Upload("client");
        var backend = Service.NewBackend(new BackendDefinition
        {
            BackendId = "b",
            Url = "https://b.example.com/",
            Credentials = new GatewayBackendCredential
            {
                CertificateIds = ["CLIENT"],
                Header = new Dictionary<string, IReadOnlyList<string>> { ["x-api-key"] = ["k1"] },
                Query = new Dictionary<string, IReadOnlyList<string>> { ["code"] = ["a", "b"] },
                AuthorizationHeaderScheme = "Basic",
                AuthorizationHeaderParameter = Secrets.ToSecureString("dXNlcjpwYXNz"),
            },
        });

        var stored = Service.Read().Backends["b"].Credentials!;
        Assert.Equal(["client"], stored.CertificateIds.ToArray());
        Assert.Equal(["k1"], stored.Header["x-api-key"].ToArray());
        Assert.Equal(["a", "b"], stored.Query["code"].ToArray());
        Assert.Equal("Basic", stored.Authorization!.Scheme);
        Assert.Equal("Basic", backend.Credentials!.AuthorizationHeaderScheme);
        Assert.True(backend.Credentials.HasAuthorizationHeaderParameter);
        Assert.Null(backend.Credentials.AuthorizationHeaderParameter);
    }

    [Fact]
    public void Output_AlsoHasAzsShape_WithoutTheSecret()
    {
        using var byId = Upload("client");
        using var byThumbprint = Upload("other", "CN=other");
        Service.NewBackend(new BackendDefinition
        {
            BackendId = "b",
            Url = "https://b.example.com/",
            SkipCertificateChainValidation = true,
            Credentials = new GatewayBackendCredential
            {
                CertificateIds = ["client"],
                CertificateThumbprints = [byThumbprint.Thumbprint, byId.Thumbprint.ToLowerInvariant()],
                AuthorizationHeaderScheme = "Basic",
                AuthorizationHeaderParameter = Secrets.ToSecureString("opensesame"),
            },
        });

        var backend = Service.GetBackends("b").Single();

        // PsApiManagementBackendCredential: Certificate (thumbprints), Authorization.Scheme/.Parameter.
        Assert.Equal([byId.Thumbprint, byThumbprint.Thumbprint], backend.Credentials!.Certificate);
        Assert.Equal("Basic", backend.Credentials.Authorization!.Scheme);
        Assert.Null(backend.Credentials.Authorization.Parameter);
        Assert.True(backend.Credentials.Authorization.HasParameter);
        Assert.Equal("Basic", backend.Credentials.Authorization.ToString());
        // PsApiManagementBackend.Properties.
        Assert.Equal(true, backend.Properties["skipCertificateChainValidation"]);
        Assert.Equal(false, backend.Properties["SkipCertificateNameValidation"]);
    }

    [Fact]
    public void Output_Certificate_FollowsARotationOfTheCertificateNamedById()
    {
        Upload("client");
        Service.NewBackend(new BackendDefinition { BackendId = "b", Url = "https://b.example.com/", Credentials = new GatewayBackendCredential { CertificateIds = ["client"] } });
        using var renewed = NewClient("CN=renewed");

        Service.ReplaceCertificate("client", CertificateInput.FromCertificate(renewed));

        Assert.Equal([renewed.Thumbprint], Service.GetBackends("b").Single().Credentials!.Certificate);
        Assert.Null(Service.GetBackends("b").Single().Credentials!.Authorization);
    }

    [Fact]
    public void Credentials_ReadBackAndSetAgain_KeepTheStoredSecret()
    {
        Service.NewBackend(new BackendDefinition
        {
            BackendId = "b",
            Url = "https://b.example.com/",
            Credentials = new GatewayBackendCredential { AuthorizationHeaderScheme = "Bearer", AuthorizationHeaderParameter = Secrets.ToSecureString("token") },
        });
        var secret = Service.Read().Backends["b"].Credentials!.Authorization!.ParameterSecret;

        var read = Service.GetBackends("b").Single();
        Service.SetBackend("b", new BackendDefinition { Title = "again", Credentials = read.Credentials });

        Assert.Equal(secret, Service.Read().Backends["b"].Credentials!.Authorization!.ParameterSecret);
        Assert.True(Service.CertificateStore.HasSecret(secret!));
    }

    [Fact]
    public void Credentials_UnknownCertificate_IsRefused()
    {
        var error = Fails(() => Service.NewBackend(new BackendDefinition { BackendId = "b", Url = "https://b.example.com/", Credentials = new GatewayBackendCredential { CertificateIds = ["nope"] } }));

        Assert.Equal("BackendCertificateNotFound", error.ErrorId);
        Assert.Contains("Add-GatewayCertificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_CertificateWithoutKey_IsRefused()
    {
        UploadPublic("public");

        var error = Fails(() => Service.NewBackend(new BackendDefinition { BackendId = "b", Url = "https://b.example.com/", Credentials = new GatewayBackendCredential { CertificateIds = ["public"] } }));

        Assert.Equal("BackendCertificateNoPrivateKey", error.ErrorId);
    }

    [Fact]
    public void Credentials_ThumbprintNotUploaded_IsRefused()
    {
        var error = Fails(() => Service.NewBackend(new BackendDefinition { BackendId = "b", Url = "https://b.example.com/", Credentials = new GatewayBackendCredential { CertificateThumbprints = [new string('A', 40)] } }));

        Assert.Equal("BackendCertificateNotFound", error.ErrorId);
    }

    [Theory]
    [InlineData("bad header", "v")]
    [InlineData("x-ok", "line\nbreak")]
    public void Credentials_InvalidHeader_IsRefused(string name, string value)
    {
        var error = Fails(() => Service.NewBackend(new BackendDefinition
        {
            BackendId = "b",
            Url = "https://b.example.com/",
            Credentials = new GatewayBackendCredential { Header = new Dictionary<string, IReadOnlyList<string>> { [name] = [value] } },
        }));

        Assert.Equal("BackendInvalidCredential", error.ErrorId);
    }

    [Fact]
    public void Credentials_ParameterWithoutScheme_IsRefused()
    {
        var error = Fails(() => Service.NewBackend(new BackendDefinition
        {
            BackendId = "b",
            Url = "https://b.example.com/",
            Credentials = new GatewayBackendCredential { AuthorizationHeaderParameter = Secrets.ToSecureString("x") },
        }));

        Assert.Equal("BackendInvalidCredential", error.ErrorId);
        Assert.Contains("-AuthorizationHeaderScheme", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RemoveCredentials_DropsThemAndTheirSecret()
    {
        Service.NewBackend(new BackendDefinition
        {
            BackendId = "b",
            Url = "https://b.example.com/",
            Credentials = new GatewayBackendCredential { AuthorizationHeaderScheme = "Bearer", AuthorizationHeaderParameter = Secrets.ToSecureString("token") },
        });
        var secret = Service.Read().Backends["b"].Credentials!.Authorization!.ParameterSecret!;

        Service.SetBackend("b", new BackendDefinition { RemoveCredentials = true });

        Assert.Null(Service.Read().Backends["b"].Credentials);
        Assert.False(Service.CertificateStore.HasSecret(secret));
    }

    [Fact]
    public void Remove_UsedByAnApiOrAPolicy_IsRefused()
    {
        Service.NewBackend(new BackendDefinition { BackendId = "orders", Url = "https://orders.example.com/" });
        Service.NewApi(new ApiDefinition { ApiId = "orders-api", Path = "orders", BackendId = "orders" });
        Service.NewApi(new ApiDefinition { ApiId = "other", Path = "other", ServiceUrl = "https://other.example.com/" });
        Service.SetPolicy("other", "<policies><inbound><base /><set-backend-service backend-id=\"orders\" /></inbound></policies>");

        var error = Fails(() => Service.RemoveBackend("orders"));

        Assert.Equal("BackendInUse", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.InUse, error.Category);
        Assert.Equal("Backend 'orders' is used by API 'orders-api' and API 'other' (set-backend-service). Point them at another backend first, e.g. Set-GatewayApi -ApiId orders-api -BackendId <other>, then remove it.", error.Message);
    }

    [Fact]
    public void Remove_Unused_Removes()
    {
        Service.NewBackend(new BackendDefinition { BackendId = "b", Url = "https://b.example.com/" });

        Assert.Equal("b", Service.RemoveBackend("b").BackendId);
        Assert.Empty(Service.GetBackends());
        Assert.Equal("BackendNotFound", Fails(() => Service.RemoveBackend("b")).ErrorId);
    }

    [Fact]
    public void Get_Wildcards()
    {
        Service.NewBackend(new BackendDefinition { BackendId = "orders-eu", Url = "https://eu.example.com/" });
        Service.NewBackend(new BackendDefinition { BackendId = "orders-us", Url = "https://us.example.com/" });
        Service.NewBackend(new BackendDefinition { BackendId = "billing", Url = "https://billing.example.com/" });

        Assert.Equal(["orders-eu", "orders-us"], Service.GetBackends("orders-*").Select(b => b.BackendId));
        Assert.Equal(["orders-eu"], Service.GetBackends("orders-[e]?").Select(b => b.BackendId));
        Assert.Equal(3, Service.GetBackends().Count);
    }
}
