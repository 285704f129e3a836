using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Management;

/// <summary>Linked certificates: the local counterpart of APIM's Key Vault references.</summary>
public sealed class LinkedCertificateTests : ServiceTestBase
{
    private string WritePem(string name, X509Certificate2 certificate, bool withKey = true) =>
        Temp.Write(name, TestCertificates.CertificatePem(certificate) + (withKey ? "\n" + TestCertificates.KeyPem(certificate) : string.Empty));

    [Fact]
    public void LinkedPem_IsReferredTo_NotCopied()
    {
        using var cert = NewClient("CN=tls.contoso.com");
        var path = WritePem("tls.pem", cert);

        var added = Service.AddCertificate("tls", CertificateInput.Linked(path)).Value;

        Assert.Equal(CertificateSource.LinkedFile, added.Source);
        Assert.Equal(path, added.LinkedPath);
        Assert.True(added.HasPrivateKey);
        var certificatesFolder = Path.Combine(Service.CertificateStore.Directory, "certificates");
        Assert.False(Directory.Exists(certificatesFolder) && Directory.EnumerateFiles(certificatesFolder).Any());
        using var loaded = Service.CertificateStore.LoadCertificate("tls", Service.Read().Certificates["tls"]);
        Assert.Equal(cert.Thumbprint, loaded.Leaf.Thumbprint);
    }

    [Fact]
    public void LinkedFile_RotatedByAnotherTool_ShowsTheNewMetadata_AndTheNextChangeRecordsIt()
    {
        using var first = NewClient("CN=tls-1");
        using var second = NewClient("CN=tls-2");
        var cert = Temp.Write("cert.pem", TestCertificates.CertificatePem(first));
        var key = Temp.Write("key.pem", TestCertificates.KeyPem(first));
        Service.AddCertificate("tls", CertificateInput.Linked(cert, key));

        // certbot renews: both files are rewritten.
        File.WriteAllText(cert, TestCertificates.CertificatePem(second));
        File.WriteAllText(key, TestCertificates.KeyPem(second));

        Assert.Equal(second.Thumbprint, Service.GetCertificate("tls").Thumbprint);
        Assert.Equal(first.Thumbprint, Service.Read().Certificates["tls"].Thumbprint);
        Service.NewBackend(new BackendDefinition { BackendId = "any-change", Url = "https://x.example.com/" });
        Assert.Equal(second.Thumbprint, Service.Read().Certificates["tls"].Thumbprint);
        Assert.Equal("CN=tls-2", Service.Read().Certificates["tls"].Subject);
    }

    [Fact]
    public void LinkedPfx_WithPassword_KeepsThePasswordEncryptedInTheStore()
    {
        using var cert = NewClient("CN=pfx");
        var path = Temp.Write("tls.pfx", TestCertificates.Pfx(cert, "linked-secret"));

        Service.AddCertificate("tls", CertificateInput.Linked(path, password: Secrets.ToSecureString("linked-secret")));

        var entry = Service.Read().Certificates["tls"];
        Assert.NotNull(entry.PasswordSecret);
        Assert.DoesNotContain("linked-secret", File.ReadAllText(Service.ConfigurationPath), StringComparison.Ordinal);
        using var loaded = Service.CertificateStore.LoadCertificate("tls", entry);
        Assert.True(loaded.Leaf.HasPrivateKey);
    }

    [Fact]
    public void LinkedFile_ThatIsMissing_IsRefusedAtAdd()
    {
        Assert.Equal("CertificateFileNotFound", Fails(() => Service.AddCertificate("tls", CertificateInput.Linked(Temp.File("absent.pem")))).ErrorId);
    }

    [Fact]
    public void LinkedFile_ThatLaterDisappears_StillListsWhatWasRecorded()
    {
        using var cert = NewClient("CN=gone");
        var path = WritePem("gone.pem", cert);
        Service.AddCertificate("gone", CertificateInput.Linked(path));
        File.Delete(path);

        Assert.Equal(cert.Thumbprint, Service.GetCertificate("gone").Thumbprint);
    }

    [Fact]
    public void StoreEntry_IsFoundByThumbprint_AndItsKeyStaysInTheStore()
    {
        using var cert = NewClient("CN=os-store-" + Guid.NewGuid().ToString("N")[..8]);
        using var pfxCopy = X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable | X509KeyStorageFlags.PersistKeySet);
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(pfxCopy);
        try
        {
            var added = Service.AddCertificate("os", CertificateInput.FromStore(cert.Thumbprint.ToLowerInvariant())).Value;

            Assert.Equal(CertificateSource.Store, added.Source);
            Assert.Equal("CurrentUser", added.StoreLocation);
            Assert.Equal("My", added.StoreName);
            Assert.True(added.HasPrivateKey);
            using var loaded = Service.CertificateStore.LoadCertificate("os", Service.Read().Certificates["os"]);
            Assert.Equal(cert.Thumbprint, loaded.Leaf.Thumbprint);
        }
        finally
        {
            store.Remove(pfxCopy);
        }
    }

    [Fact]
    public void StoreEntry_Missing_SaysWhereItLooked()
    {
        var error = Fails(() => Service.AddCertificate("os", CertificateInput.FromStore(new string('C', 40))));

        Assert.True(error.ErrorId is "CertificateStoreEntryNotFound" or "CertificateStoreUnavailable", error.ErrorId);
        Assert.Contains(@"Cert:\CurrentUser\My", error.Message, StringComparison.Ordinal);
    }
}
