using System.Management.Automation;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Commands.CaCertificates;

namespace ApiGateway.PowerShell.Tests.Commands;

public sealed class CaCertificateCommandTests : CommandTestBase
{
    [Fact]
    public void Add_DerFile_IsTrustedAsRootWithoutItsKey()
    {
        Temp.Write("root.cer", Ca.Export(X509ContentType.Cert));

        var result = new AddGatewayCaCertificateCommand { CertificateId = "root", FilePath = "root.cer" }.Add(Service, Resolve);

        Assert.Equal(Ca.Thumbprint, result.Value.Thumbprint);
        Assert.Equal(CaStoreName.Root, result.Value.StoreName);
        Assert.Equal(Service.ConfigurationPath, result.Value.ConfigurationPath);
    }

    [Fact]
    public void Add_CertificateObjectAsIntermediate_KeepsTheRoleAndWarnsAboutTheDroppedKey()
    {
        using var intermediate = TestCertificates.CreateCa("CN=Issuing CA");

        var result = new AddGatewayCaCertificateCommand { Certificate = intermediate, StoreName = CaStoreName.CertificateAuthority }.Add(Service, Resolve);

        Assert.Equal(CaStoreName.CertificateAuthority, result.Value.StoreName);
        Assert.Equal("issuing-ca", result.Value.CertificateId);
        Assert.Contains(result.Warnings, w => w.Contains("private key", StringComparison.Ordinal));
    }

    [Fact]
    public void Add_SameCaTwice_IsResourceExists()
    {
        new AddGatewayCaCertificateCommand { CertificateId = "root", Certificate = Ca }.Add(Service, Resolve);

        var mapped = Failure<AddGatewayCaCertificateCommand>(() => new AddGatewayCaCertificateCommand { CertificateId = "root-again", Certificate = Ca }.Add(Service, Resolve));

        Assert.Equal("AddGatewayCaCertificateExists", mapped.ErrorId);
        Assert.Equal(ErrorCategory.ResourceExists, mapped.Category);
    }

    [Fact]
    public void GetAndRemove_WorkByIdAndWildcard()
    {
        new AddGatewayCaCertificateCommand { CertificateId = "root", Certificate = Ca }.Add(Service, Resolve);

        Assert.Single(new GetGatewayCaCertificateCommand { CertificateId = "r*" }.Get(Service));
        Assert.Equal("root", RemoveGatewayCaCertificateCommand.Remove(Service, "root").CertificateId);
        Assert.Empty(new GetGatewayCaCertificateCommand().Get(Service));
        Assert.Equal("RemoveGatewayCaCertificateNotFound", Failure<RemoveGatewayCaCertificateCommand>(() => RemoveGatewayCaCertificateCommand.Remove(Service, "root")).ErrorId);
    }

    [Fact]
    public void Remove_LastCaWhileAHostnameRequiresClientCertificates_IsInUse()
    {
        new AddGatewayCaCertificateCommand { CertificateId = "root", Certificate = Ca }.Add(Service, Resolve);
        Upload("server");
        Service.SetHostname(new HostnameDefinition { HostName = "localhost", CertificateId = "server", RequireClientCertificate = true });

        var mapped = Failure<RemoveGatewayCaCertificateCommand>(() => RemoveGatewayCaCertificateCommand.Remove(Service, "root"));

        Assert.Equal("RemoveGatewayCaCertificateInUse", mapped.ErrorId);
        Assert.Equal(ErrorCategory.ResourceBusy, mapped.Category);
    }
}
