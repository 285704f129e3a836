using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Commands.Apis;

namespace ApiGateway.PowerShell.Tests.Commands;

public sealed class ApiCommandTests : CommandTestBase
{
    [Fact]
    public void New_OnAServiceUrlOrABackend()
    {
        Service.NewBackend(new BackendDefinition { BackendId = "contoso-com", Url = "https://contoso.com/myapi" });

        var byUrl = new NewGatewayApiCommand { ApiId = "echo", DisplayName = "Echo", Path = "echo", ServiceUrl = "https://echo.internal/" }.Create(Service);
        var byBackend = new NewGatewayApiCommand { ApiId = "orders", Path = "orders", BackendId = "contoso-com" }.Create(Service);

        Assert.Equal("https://echo.internal/", byUrl.ServiceUrl);
        Assert.Equal("Echo", byUrl.DisplayName);
        Assert.Equal("contoso-com", byBackend.BackendId);
        Assert.Null(byBackend.ServiceUrl);
        Assert.Equal(Service.ConfigurationPath, byBackend.ConfigurationPath);
    }

    [Fact]
    public void New_UnknownBackend_NamesTheBackendInTheId()
    {
        var mapped = Failure<NewGatewayApiCommand>(() => new NewGatewayApiCommand { ApiId = "orders", Path = "orders", BackendId = "nope" }.Create(Service));

        Assert.Equal("NewGatewayApiBackendNotFound", mapped.ErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, mapped.Category);
    }

    [Fact]
    public void New_TakenPath_IsResourceExists()
    {
        new NewGatewayApiCommand { ApiId = "a", Path = "orders", ServiceUrl = "https://a.internal/" }.Create(Service);

        var mapped = Failure<NewGatewayApiCommand>(() => new NewGatewayApiCommand { ApiId = "b", Path = "orders", ServiceUrl = "https://b.internal/" }.Create(Service));

        Assert.Equal("NewGatewayApiPathInUse", mapped.ErrorId);
        Assert.Equal(ErrorCategory.ResourceExists, mapped.Category);
    }

    [Fact]
    public void Set_BackendReplacesServiceUrlAndOnlyGivenValuesChange()
    {
        Service.NewBackend(new BackendDefinition { BackendId = "b", Url = "https://b.internal/" });
        new NewGatewayApiCommand { ApiId = "orders", DisplayName = "Orders", Path = "orders", ServiceUrl = "https://o.internal/" }.Create(Service);

        var changed = new SetGatewayApiCommand { BackendId = "b" }.Change(Service, "orders");

        Assert.Equal("b", changed.BackendId);
        Assert.Null(changed.ServiceUrl);
        Assert.Equal("Orders", changed.DisplayName);
        Assert.Equal("orders", changed.Path);
    }

    [Fact]
    public void GetAndRemove()
    {
        new NewGatewayApiCommand { ApiId = "orders", Path = "orders", ServiceUrl = "https://o.internal/" }.Create(Service);

        Assert.Single(new GetGatewayApiCommand { ApiId = "ord*" }.Get(Service));
        Assert.Equal("orders", RemoveGatewayApiCommand.Remove(Service, "orders").ApiId);
        Assert.Equal("GetGatewayApiNotFound", Failure<GetGatewayApiCommand>(() => new GetGatewayApiCommand { ApiId = "orders" }.Get(Service)).ErrorId);
    }

    [Fact]
    public void SetCredential_ByIdByThumbprintAndNone()
    {
        var certificate = Upload("backend-2025");
        new NewGatewayApiCommand { ApiId = "orders", Path = "orders", ServiceUrl = "https://o.internal/" }.Create(Service);

        var byId = new SetApiGatewayCredentialCommand { ApiId = "orders", CertificateId = "backend-2025" }.Set(Service);
        Assert.Equal("backend-2025", byId.GatewayCredentialCertificateId);
        Assert.Contains("<authentication-certificate certificate-id=\"backend-2025\" />", Service.GetPolicy("orders")!.Policy, StringComparison.Ordinal);

        var byThumbprint = new SetApiGatewayCredentialCommand { ApiId = "orders", CertificateThumbprint = certificate.Thumbprint.ToLowerInvariant() }.Set(Service);
        Assert.Equal(certificate.Thumbprint, byThumbprint.GatewayCredentialThumbprint);
        Assert.Null(byThumbprint.GatewayCredentialCertificateId);

        var none = new SetApiGatewayCredentialCommand { ApiId = "orders" }.Set(Service);
        Assert.Null(none.GatewayCredentialCertificateId);
        Assert.Null(none.GatewayCredentialThumbprint);
        Assert.DoesNotContain("authentication-certificate", Service.GetPolicy("orders")!.Policy, StringComparison.Ordinal);
    }

    [Fact]
    public void SetCredential_MissingApiOrCertificate_HaveDistinctIds()
    {
        Upload("backend-2025");
        new NewGatewayApiCommand { ApiId = "orders", Path = "orders", ServiceUrl = "https://o.internal/" }.Create(Service);

        Assert.Equal("SetApiGatewayCredentialNotFound", Failure<SetApiGatewayCredentialCommand>(() => new SetApiGatewayCredentialCommand { ApiId = "nope", CertificateId = "backend-2025" }.Set(Service)).ErrorId);
        Assert.Equal("SetApiGatewayCredentialCertificateNotFound", Failure<SetApiGatewayCredentialCommand>(() => new SetApiGatewayCredentialCommand { ApiId = "orders", CertificateId = "nope" }.Set(Service)).ErrorId);
    }

    [Fact]
    public void SetCredential_CertificateWithoutPrivateKey_IsRefused()
    {
        using var certificate = Client("CN=public");
        using var publicOnly = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(certificate.RawData);
        Service.AddCertificate("public", ApiGateway.Core.Certificates.CertificateInput.FromCertificate(publicOnly));
        new NewGatewayApiCommand { ApiId = "orders", Path = "orders", ServiceUrl = "https://o.internal/" }.Create(Service);

        var mapped = Failure<SetApiGatewayCredentialCommand>(() => new SetApiGatewayCredentialCommand { ApiId = "orders", CertificateId = "public" }.Set(Service));

        Assert.Equal("SetApiGatewayCredentialCertificateNoPrivateKey", mapped.ErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, mapped.Category);
    }
}
