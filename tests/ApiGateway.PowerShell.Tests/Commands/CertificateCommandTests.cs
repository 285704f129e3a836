using System.Management.Automation;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Commands.Certificates;

namespace ApiGateway.PowerShell.Tests.Commands;

public sealed class CertificateCommandTests : CommandTestBase
{
    [Fact]
    public void Add_PfxFileWithSecurePassword_IsUploadedFromTheResolvedPath()
    {
        var (file, certificate) = Pfx("backend-2025");
        var resolved = new List<string>();
        var command = new AddGatewayCertificateCommand { Context = Context, CertificateId = "backend-2025", PfxFilePath = file, PfxPassword = Secure("Example-Pass-1") };

        var result = command.Add(Service, p =>
        {
            resolved.Add(p);
            return Resolve(p);
        });

        Assert.Equal([file], resolved);
        Assert.Equal("backend-2025", result.Value.CertificateId);
        Assert.Equal(certificate.Thumbprint, result.Value.Thumbprint);
        Assert.True(result.Value.HasPrivateKey);
        Assert.Equal(CertificateSource.Uploaded, result.Value.Source);
        Assert.Empty(result.Warnings);
        // Key material lives in the encrypted store, never in the configuration file.
        Assert.DoesNotContain("PRIVATE KEY", File.ReadAllText(Service.ConfigurationPath), StringComparison.Ordinal);
    }

    [Fact]
    public void Add_WrongPassword_IsASecurityErrorWithTheCmdletsId()
    {
        var (file, _) = Pfx("client");
        var command = new AddGatewayCertificateCommand { Context = Context, PfxFilePath = file, PfxPassword = Secure("wrong") };

        var mapped = Failure<AddGatewayCertificateCommand>(() => command.Add(Service, Resolve));

        Assert.Equal("AddGatewayCertificateWrongPassword", mapped.ErrorId);
        Assert.Equal(ErrorCategory.SecurityError, mapped.Category);
        Assert.False(mapped.Terminating);
        Assert.Empty(Service.GetCertificates());
    }

    [Fact]
    public void Add_ExistingId_IsResourceExists()
    {
        Upload("backend-2025");
        var (file, _) = Pfx("other");

        var mapped = Failure<AddGatewayCertificateCommand>(() =>
            new AddGatewayCertificateCommand { CertificateId = "backend-2025", PfxFilePath = file, PfxPassword = Secure("Example-Pass-1") }.Add(Service, Resolve));

        Assert.Equal("AddGatewayCertificateExists", mapped.ErrorId);
        Assert.Equal(ErrorCategory.ResourceExists, mapped.Category);
    }

    [Fact]
    public void Add_MissingFile_IsObjectNotFound()
    {
        var mapped = Failure<AddGatewayCertificateCommand>(() => new AddGatewayCertificateCommand { PfxFilePath = "missing.pfx" }.Add(Service, Resolve));

        Assert.Equal("AddGatewayCertificateFileNotFound", mapped.ErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, mapped.Category);
    }

    [Fact]
    public void Add_PfxBytesWithoutId_GetsAnIdFromTheCommonName()
    {
        using var certificate = Client("CN=api.contoso.com");

        var result = new AddGatewayCertificateCommand { PfxBytes = TestCertificates.Pfx(certificate) }.Add(Service, Resolve);

        Assert.Equal("api-contoso-com", result.Value.CertificateId);
    }

    [Fact]
    public void Add_CertificateObject_IsUploaded()
    {
        using var certificate = Client("CN=object");

        var result = new AddGatewayCertificateCommand { CertificateId = "object", Certificate = certificate }.Add(Service, Resolve);

        Assert.Equal(certificate.Thumbprint, result.Value.Thumbprint);
        Assert.True(result.Value.HasPrivateKey);
    }

    [Fact]
    public void Add_PemWithSeparateKey_ResolvesBothPaths()
    {
        using var certificate = Client("CN=pem");
        Temp.Write("pem.crt", TestCertificates.CertificatePem(certificate));
        Temp.Write("pem.key", TestCertificates.KeyPem(certificate));
        var resolved = new List<string>();

        var result = new AddGatewayCertificateCommand { CertificateId = "pem", PemFilePath = "pem.crt", KeyFilePath = "pem.key" }.Add(Service, p =>
        {
            resolved.Add(p);
            return Resolve(p);
        });

        Assert.Equal(["pem.crt", "pem.key"], resolved);
        Assert.True(result.Value.HasPrivateKey);
        Assert.Equal(certificate.Thumbprint, result.Value.Thumbprint);
    }

    [Fact]
    public void Add_LinkedFile_RecordsTheAbsolutePathAndFollowsTheFile()
    {
        using var first = Client("CN=linked");
        Temp.Write("linked.crt", TestCertificates.CertificatePem(first) + "\n" + TestCertificates.KeyPem(first));

        var added = new AddGatewayCertificateCommand { CertificateId = "linked", LinkedPath = "linked.crt" }.Add(Service, Resolve);
        using var second = Client("CN=linked-renewed");
        Temp.Write("linked.crt", TestCertificates.CertificatePem(second) + "\n" + TestCertificates.KeyPem(second));

        Assert.Equal(CertificateSource.LinkedFile, added.Value.Source);
        Assert.Equal(Temp.File("linked.crt"), added.Value.LinkedPath);
        Assert.Equal(second.Thumbprint, new GetGatewayCertificateCommand { CertificateId = "linked" }.Get(Service, inUse: null).Single().Thumbprint);
    }

    [Fact]
    public void Add_StoreThumbprintThatIsNotThere_IsObjectNotFound()
    {
        var command = new AddGatewayCertificateCommand { StoreThumbprint = "00112233445566778899AABBCCDDEEFF00112233", StoreLocation = StoreLocation.CurrentUser, StoreName = "My" };

        var input = command.ToInput(Resolve);
        var mapped = Failure<AddGatewayCertificateCommand>(() => command.Add(Service, Resolve));

        Assert.Equal(CertificateInputKind.StoreEntry, input.Kind);
        Assert.Equal("00112233445566778899AABBCCDDEEFF00112233", input.Thumbprint);
        Assert.Equal(ErrorCategory.ObjectNotFound, mapped.Category);
        Assert.StartsWith("AddGatewayCertificate", mapped.ErrorId, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_ExpiredCertificate_IsAcceptedWithAWarning()
    {
        using var expired = Client("CN=old", DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(-1));

        var result = new AddGatewayCertificateCommand { CertificateId = "old", Certificate = expired }.Add(Service, Resolve);

        Assert.Contains(result.Warnings, w => w.Contains("expired", StringComparison.Ordinal));
    }

    [Fact]
    public void ToInput_EachSource_MakesTheMatchingCoreInput()
    {
        Assert.Equal(CertificateInputKind.PfxFile, new AddGatewayCertificateCommand { PfxFilePath = "a.pfx" }.ToInput(Resolve).Kind);
        Assert.Equal(CertificateInputKind.PfxBytes, new AddGatewayCertificateCommand { PfxBytes = [1] }.ToInput(Resolve).Kind);
        Assert.Equal(CertificateInputKind.PemFile, new AddGatewayCertificateCommand { PemFilePath = "a.pem" }.ToInput(Resolve).Kind);
        Assert.Equal(CertificateInputKind.LinkedFile, new SetGatewayCertificateCommand { LinkedPath = "a.pem" }.ToInput(Resolve).Kind);
        Assert.Equal(Temp.File("a.pfx"), new AddGatewayCertificateCommand { PfxFilePath = "a.pfx" }.ToInput(Resolve).Path);
        Assert.Throws<ArgumentException>(() => new AddGatewayCertificateCommand().ToInput(Resolve));
    }

    [Fact]
    public void Set_ReplacesTheContentUnderTheSameIdAndReferencesFollow()
    {
        Upload("backend");
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.internal/" });
        Service.SetGatewayCredential("orders", "backend", null);
        var (file, renewed) = Pfx("backend-renewed");

        var result = new SetGatewayCertificateCommand { CertificateId = "backend", PfxFilePath = file, PfxPassword = Secure("Example-Pass-1") }.Replace(Service, Resolve);

        Assert.Equal(renewed.Thumbprint, result.Value.Thumbprint);
        Assert.True(result.Value.InUse);
        Assert.Equal("backend", Service.GetApis("orders").Single().GatewayCredentialCertificateId);
    }

    [Fact]
    public void Set_UnknownId_IsNotFound()
    {
        var (file, _) = Pfx("x");

        var mapped = Failure<SetGatewayCertificateCommand>(() =>
            new SetGatewayCertificateCommand { CertificateId = "nope", PfxFilePath = file, PfxPassword = Secure("Example-Pass-1") }.Replace(Service, Resolve));

        Assert.Equal("SetGatewayCertificateNotFound", mapped.ErrorId);
    }

    [Fact]
    public void Get_FiltersByWildcardExpiryAndUse()
    {
        Upload("backend-2025");
        Upload("backend-2026");
        using var soon = Client("CN=soon", notAfter: DateTimeOffset.UtcNow.AddDays(10));
        Service.AddCertificate("soon", CertificateInput.FromCertificate(soon));
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.internal/" });
        Service.SetGatewayCredential("orders", "backend-2026", null);

        Assert.Equal(["backend-2025", "backend-2026"], new GetGatewayCertificateCommand { CertificateId = "backend-*" }.Get(Service, null).Select(c => c.CertificateId));
        Assert.Equal(["soon"], new GetGatewayCertificateCommand { ExpiringInDays = 30 }.Get(Service, null).Select(c => c.CertificateId));
        Assert.Equal(["backend-2026"], new GetGatewayCertificateCommand().Get(Service, inUse: true).Select(c => c.CertificateId));
        Assert.Equal(["backend-2025", "soon"], new GetGatewayCertificateCommand().Get(Service, inUse: false).Select(c => c.CertificateId));
        Assert.All(new GetGatewayCertificateCommand().Get(Service, null), c => Assert.Equal(Service.ConfigurationPath, c.ConfigurationPath));
    }

    [Fact]
    public void Get_NameWithoutWildcardThatMatchesNothing_IsNotFound()
    {
        var mapped = Failure<GetGatewayCertificateCommand>(() => new GetGatewayCertificateCommand { CertificateId = "missing" }.Get(Service, null));

        Assert.Equal("GetGatewayCertificateNotFound", mapped.ErrorId);
        Assert.Empty(new GetGatewayCertificateCommand { CertificateId = "missing*" }.Get(Service, null));
    }

    [Fact]
    public void Get_MissingConfiguration_IsATerminatingConfigurationError()
    {
        var missing = new GatewayService(Temp.File("other.json"));

        var mapped = Failure<GetGatewayCertificateCommand>(() => new GetGatewayCertificateCommand().Get(missing, null));

        Assert.Equal("GetGatewayCertificateConfigurationNotFound", mapped.ErrorId);
        Assert.True(mapped.Terminating);
    }

    [Fact]
    public void Remove_UnusedCertificate_IsRemoved()
    {
        Upload("old");

        var removed = RemoveGatewayCertificateCommand.Remove(Service, "OLD");

        Assert.Equal("old", removed.CertificateId);
        Assert.Empty(Service.GetCertificates());
    }

    [Fact]
    public void Remove_CertificateInUse_IsResourceBusyNamingTheUserAndTheFileIsUnchanged()
    {
        Upload("backend-2025");
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.internal/" });
        Service.SetGatewayCredential("orders", "backend-2025", null);
        var before = File.ReadAllBytes(Service.ConfigurationPath);

        var ex = Assert.Throws<ApiGateway.Core.GatewayException>(() => RemoveGatewayCertificateCommand.Remove(Service, "backend-2025"));
        var mapped = Failure<RemoveGatewayCertificateCommand>(() => RemoveGatewayCertificateCommand.Remove(Service, "backend-2025"));

        Assert.Equal("RemoveGatewayCertificateInUse", mapped.ErrorId);
        Assert.Equal(ErrorCategory.ResourceBusy, mapped.Category);
        Assert.Equal("backend-2025", mapped.Target);
        Assert.Contains("API 'orders'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Set-ApiGatewayCredential", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Service.ConfigurationPath));
    }

    [Fact]
    public void GetReference_ListsEveryUse()
    {
        Upload("shared");
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://orders.internal/" });
        Service.SetGatewayCredential("orders", "shared", null);
        Service.NewBackend(new BackendDefinition { BackendId = "billing", Url = "https://billing.internal/", Credentials = new GatewayBackendCredential { CertificateIds = ["shared"] } });

        var references = new GetGatewayCertificateReferenceCommand { CertificateId = "shared" }.Get(Service);

        Assert.Contains(references, r => r is { ReferrerType: ReferrerType.Api, ReferrerId: "orders", Usage: CertificateUsage.GatewayCredential });
        Assert.Contains(references, r => r is { ReferrerType: ReferrerType.Backend, ReferrerId: "billing", Usage: CertificateUsage.BackendCredential });
        Assert.All(references, r => Assert.Equal(Service.ConfigurationPath, r.ConfigurationPath));
        Assert.Equal("GetGatewayCertificateReferenceNotFound", Failure<GetGatewayCertificateReferenceCommand>(() => new GetGatewayCertificateReferenceCommand { CertificateId = "x" }.Get(Service)).ErrorId);
    }
}
