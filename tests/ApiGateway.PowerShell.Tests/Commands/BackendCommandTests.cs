using System.Collections;
using System.Management.Automation;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Commands.Backends;

namespace ApiGateway.PowerShell.Tests.Commands;

public sealed class BackendCommandTests : CommandTestBase
{
    [Fact]
    public void New_TheDocumentedExample_SkipsChainValidationOnly()
    {
        // New-GatewayBackend -Context $context -Url 'https://contoso.com/myapi' -Protocol http -SkipCertificateChainValidation $true
        var backend = new NewGatewayBackendCommand { Context = Context, Url = "https://contoso.com/myapi", Protocol = BackendProtocol.Http, SkipCertificateChainValidation = true }.Create(Service);

        Assert.Equal("contoso-com", backend.BackendId);
        Assert.Equal("https://contoso.com/myapi", backend.Url);
        Assert.True(backend.SkipCertificateChainValidation);
        Assert.False(backend.SkipCertificateNameValidation);
        Assert.Equal(Service.ConfigurationPath, backend.ConfigurationPath);
    }

    [Fact]
    public void New_InvalidUrl_IsInvalidArgumentNamingTheFix()
    {
        var mapped = Failure<NewGatewayBackendCommand>(() => new NewGatewayBackendCommand { BackendId = "b", Url = "contoso.com/myapi", Protocol = BackendProtocol.Http }.Create(Service));

        Assert.Equal("NewGatewayBackendInvalidUrl", mapped.ErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, mapped.Category);
    }

    [Fact]
    public void New_WithCredential_StoresTheAuthorizationParameterEncryptedOnly()
    {
        Upload("client");
        var credential = new NewGatewayBackendCredentialCommand
        {
            CertificateId = ["client"],
            Header = new Hashtable { ["x-tenant"] = "contoso", ["x-tag"] = new object[] { "a", "b" } },
            Query = new Hashtable { ["api-version"] = "2025-01-01" },
            AuthorizationHeaderScheme = "Bearer",
            AuthorizationHeaderParameter = Secure("top-secret-token-value"),
        }.Build(v => v);

        var backend = new NewGatewayBackendCommand { BackendId = "billing", Url = "https://billing.internal/", Protocol = BackendProtocol.Soap, Credential = credential }.Create(Service);

        Assert.Equal(BackendProtocol.Soap, backend.Protocol);
        Assert.Equal(["client"], backend.Credentials!.CertificateIds);
        Assert.Equal(["a", "b"], backend.Credentials.Header["x-tag"]);
        Assert.Equal(["2025-01-01"], backend.Credentials.Query["api-version"]);
        Assert.Equal("Bearer", backend.Credentials.AuthorizationHeaderScheme);
        Assert.True(backend.Credentials.HasAuthorizationHeaderParameter);
        Assert.DoesNotContain("top-secret-token-value", File.ReadAllText(Service.ConfigurationPath), StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Service.CertificateStore.Directory, "*", SearchOption.AllDirectories))
            Assert.DoesNotContain("top-secret-token-value", File.ReadAllText(file), StringComparison.Ordinal);
    }

    [Fact]
    public void NewCredential_ParameterWithoutScheme_IsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new NewGatewayBackendCredentialCommand { AuthorizationHeaderParameter = Secure("x") }.Build(v => v));

        Assert.Contains("-AuthorizationHeaderScheme", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void New_CredentialNamingAMissingCertificate_IsNotFound()
    {
        var credential = new NewGatewayBackendCredentialCommand { CertificateId = ["nope"] }.Build(v => v);

        var mapped = Failure<NewGatewayBackendCommand>(() => new NewGatewayBackendCommand { Url = "https://b.internal/", Protocol = BackendProtocol.Http, Credential = credential }.Create(Service));

        Assert.Equal("NewGatewayBackendCertificateNotFound", mapped.ErrorId);
    }

    [Fact]
    public void Set_OneTlsSwitch_LeavesTheOtherAndEverythingElse()
    {
        new NewGatewayBackendCommand { BackendId = "b", Url = "https://b.internal/", Protocol = BackendProtocol.Http, SkipCertificateChainValidation = true, Title = "B" }.Create(Service);

        var changed = new SetGatewayBackendCommand { SkipCertificateNameValidation = true }.Change(Service, "b", removeCredential: false);

        Assert.True(changed.SkipCertificateChainValidation);
        Assert.True(changed.SkipCertificateNameValidation);
        Assert.Equal("B", changed.Title);
        Assert.Equal("https://b.internal/", changed.Url);
    }

    [Fact]
    public void Set_RemoveCredential_DropsThemAndConflictsWithANewCredential()
    {
        Upload("client");
        var credential = new NewGatewayBackendCredentialCommand { CertificateId = ["client"] }.Build(v => v);
        new NewGatewayBackendCommand { BackendId = "b", Url = "https://b.internal/", Protocol = BackendProtocol.Http, Credential = credential }.Create(Service);

        Assert.Throws<ArgumentException>(() => new SetGatewayBackendCommand { Credential = credential }.Change(Service, "b", removeCredential: true));
        var changed = new SetGatewayBackendCommand().Change(Service, "b", removeCredential: true);

        Assert.Null(changed.Credentials);
    }

    [Fact]
    public void Set_CredentialReadBack_KeepsItsStoredSecret()
    {
        var credential = new NewGatewayBackendCredentialCommand { AuthorizationHeaderScheme = "Basic", AuthorizationHeaderParameter = Secure("dXNlcjpwYXNz") }.Build(v => v);
        new NewGatewayBackendCommand { BackendId = "b", Url = "https://b.internal/", Protocol = BackendProtocol.Http, Credential = credential }.Create(Service);
        var readBack = new GetGatewayBackendCommand { BackendId = "b" }.Get(Service).Single().Credentials!;

        var changed = new SetGatewayBackendCommand { Url = "https://b2.internal/", Credential = readBack }.Change(Service, "b", removeCredential: false);

        Assert.True(changed.Credentials!.HasAuthorizationHeaderParameter);
    }

    [Fact]
    public void Remove_BackendInUse_IsResourceBusyAndUnusedOneGoes()
    {
        new NewGatewayBackendCommand { BackendId = "used", Url = "https://u.internal/", Protocol = BackendProtocol.Http }.Create(Service);
        new NewGatewayBackendCommand { BackendId = "free", Url = "https://f.internal/", Protocol = BackendProtocol.Http }.Create(Service);
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", BackendId = "used" });

        var mapped = Failure<RemoveGatewayBackendCommand>(() => RemoveGatewayBackendCommand.Remove(Service, "used"));
        RemoveGatewayBackendCommand.Remove(Service, "free");

        Assert.Equal("RemoveGatewayBackendInUse", mapped.ErrorId);
        Assert.Equal(ErrorCategory.ResourceBusy, mapped.Category);
        Assert.Equal(["used"], new GetGatewayBackendCommand().Get(Service).Select(b => b.BackendId));
    }
}
