using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Certificates;

/// <summary>
/// What the store says when its files are missing, unreadable, too short, swapped or not writable: each a precise
/// error id naming the file and the fix, never a crash. Store entries are read the way the gateway reads them
/// (<see cref="CertificateStore.LoadCertificate"/>, <see cref="CertificateStore.LoadCaCertificate"/>).
/// </summary>
public sealed class CertificateStoreDamageTests : ServiceTestBase
{
    private CertificateStore Store => Service.CertificateStore;

    private (string Id, CertificateEntry Entry) Uploaded(string id = "client")
    {
        Upload(id);
        var certificate = Service.GetCertificate(id);
        return (id, new CertificateEntry { Thumbprint = certificate.Thumbprint, Subject = certificate.Subject, Issuer = certificate.Issuer, SerialNumber = certificate.SerialNumber });
    }

    private string BlobPath(string thumbprint) => Path.Combine(Store.Directory, CertificateStore.CertificateBlob(thumbprint));

    private GatewayException LoadFails(string id, CertificateEntry entry) => Fails(() => Store.LoadCertificate(id, entry).Dispose());

    [Fact]
    public void AMissingEntry_SaysTheStoreWasMovedOrCleaned()
    {
        var (id, entry) = Uploaded();
        File.Delete(BlobPath(entry.Thumbprint));

        var error = LoadFails(id, entry);

        Assert.Equal("CertificateStoreEntryMissing", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.NotFound, error.Category);
        Assert.Equal($"The certificate store has no 'certificates/{entry.Thumbprint}.bin' for 'client' (expected '{BlobPath(entry.Thumbprint)}'). The store folder was moved or cleaned apart from the configuration; add the certificate again.", error.Message);
    }

    [Fact]
    public void AnEntryThatCannotBeRead_SaysWhoMustRunTheGateway()
    {
        var (id, entry) = Uploaded();
        File.Delete(BlobPath(entry.Thumbprint));
        Directory.CreateDirectory(BlobPath(entry.Thumbprint));

        var error = LoadFails(id, entry);

        Assert.Equal("CertificateStoreUnreadable", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.ReadError, error.Category);
        Assert.StartsWith($"'{BlobPath(entry.Thumbprint)}' cannot be read: ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("The gateway and the cmdlets must run as the user that owns the store.", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    [InlineData(31)]
    public void AnEntryShorterThanItsHeader_IsNotAnEncryptedEntry(int length)
    {
        var (id, entry) = Uploaded();
        var blob = new byte[length];
        "AGW1"u8.ToArray().AsSpan(0, Math.Min(4, length)).CopyTo(blob);
        File.WriteAllBytes(BlobPath(entry.Thumbprint), blob);

        var error = LoadFails(id, entry);

        Assert.Equal("CertificateStoreDamaged", error.ErrorId);
        Assert.Equal($"The store entry 'certificates/{entry.Thumbprint}.bin' for 'client' is damaged: it is not an encrypted store entry. Add the certificate again.", error.Message);
    }

    [Fact]
    public void AnEntryOfExactlyItsHeader_IsTriedAndFailsItsIntegrityCheck()
    {
        var (id, entry) = Uploaded();
        var blob = new byte[4 + 12 + 16];
        "AGW1"u8.CopyTo(blob);
        File.WriteAllBytes(BlobPath(entry.Thumbprint), blob);

        var error = LoadFails(id, entry);

        Assert.Equal("CertificateStoreDamaged", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.SecurityError, error.Category);
        Assert.Contains("cannot be decrypted with", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AStoreKeyOfTheWrongLength_OrUnreadable_IsReported()
    {
        var (id, entry) = Uploaded();
        var keyFile = Path.Combine(Store.Directory, "store.key");
        File.WriteAllBytes(keyFile, new byte[31]);

        var shortKey = LoadFails(id, entry);
        Assert.Equal("CertificateStoreDamaged", shortKey.ErrorId);
        Assert.Equal("The store entry 'store.key' for 'client' is damaged: the store key is not 32 bytes long. Add the certificate again.", shortKey.Message);

        File.Delete(keyFile);
        Directory.CreateDirectory(keyFile);
        var unreadable = LoadFails(id, entry);
        Assert.Equal("CertificateStoreUnreadable", unreadable.ErrorId);
        Assert.StartsWith($"The store key '{keyFile}' cannot be read: ", unreadable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACaEntrySwappedForAnotherCertificate_OrDamaged_IsReported()
    {
        Service.AddCaCertificate("root", CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(Ca.RawData)));
        var ca = Service.GetCaCertificates().Single();
        var entry = new CaCertificateEntry { Thumbprint = ca.Thumbprint, Subject = ca.Subject, Issuer = ca.Subject, SerialNumber = "01" };
        var path = Path.Combine(Store.Directory, CertificateStore.CaBlob(ca.Thumbprint));
        using var other = TestCertificates.CreateCa("CN=Other");

        File.WriteAllBytes(path, other.RawData);
        var swapped = Fails(() => Store.LoadCaCertificate("root", entry).Dispose());
        Assert.Equal("CertificateStoreDamaged", swapped.ErrorId);
        Assert.Equal($"The store entry 'ca/{ca.Thumbprint}.cer' for 'root' is damaged: its content does not match the thumbprint in the configuration. Add the certificate again.", swapped.Message);

        File.WriteAllBytes(path, [0x30, 0x03, 0x30, 0x01, 0x00]);
        var damaged = Fails(() => Store.LoadCaCertificate("root", entry).Dispose());
        Assert.Equal("CertificateStoreDamaged", damaged.ErrorId);
        Assert.StartsWith($"The store entry 'ca/{ca.Thumbprint}.cer' for 'root' is damaged: ", damaged.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentNullException>(() => Store.LoadCaCertificate("root", null!));
        Assert.Throws<ArgumentNullException>(() => Store.LoadCertificate("root", null!));
    }

    [Fact]
    public void AStoreEntryWithoutLocationOrName_IsLookedForInCurrentUserMy()
    {
        var entry = new CertificateEntry
        {
            Thumbprint = new string('A', 40), Subject = "CN=x", Issuer = "CN=x", SerialNumber = "01",
            Source = CertificateSource.Store, StoreLocation = null, StoreName = null,
        };

        var error = LoadFails("store-entry", entry);

        Assert.Contains("Cert:\\CurrentUser\\My", error.Message, StringComparison.Ordinal);
        var lower = Fails(() => Store.LoadCertificate("store-entry", entry with { StoreLocation = "currentuser", StoreName = "My" }).Dispose());
        Assert.Contains("Cert:\\CurrentUser\\My", lower.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEntryThatCannotBeWritten_LeavesTheConfigurationUnchanged()
    {
        using var client = NewClient("CN=blocked");
        Directory.CreateDirectory(BlobPath(client.Thumbprint));
        var before = ConfigurationBytes();

        var error = Fails(() => Service.AddCertificate("blocked", CertificateInput.FromCertificate(client)));

        Assert.Equal("CertificateStoreWriteFailed", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.WriteError, error.Category);
        Assert.EndsWith("The configuration is unchanged.", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationBytes());
    }

    // AES-GCM must never use a nonce twice under one key (NIST SP 800-38D 8): every entry gets a fresh random one,
    // so the same secret stored twice gives different nonces (and neither is all zeros).
    [Fact]
    public void EveryEntry_IsEncryptedUnderAFreshRandomNonce()
    {
        var first = Store.SaveSecret(Secrets.ToSecureString("Example-Pass-1".AsSpan()));
        var second = Store.SaveSecret(Secrets.ToSecureString("Example-Pass-1".AsSpan()));

        var a = File.ReadAllBytes(Path.Combine(Store.Directory, CertificateStore.SecretBlob(first)))[4..16];
        var b = File.ReadAllBytes(Path.Combine(Store.Directory, CertificateStore.SecretBlob(second)))[4..16];
        Assert.NotEqual(a, b);
        Assert.Contains(a, x => x != 0);
        Assert.Contains(b, x => x != 0);
    }

    [Fact]
    public void AStoreEntryNamingALocationAndStore_IsLookedForThere_NotInCurrentUserMy()
    {
        var storeName = "NoSuchStore" + Guid.NewGuid().ToString("N");
        var entry = new CertificateEntry
        {
            Thumbprint = new string('A', 40), Subject = "CN=x", Issuer = "CN=x", SerialNumber = "01",
            Source = CertificateSource.Store, StoreLocation = "LocalMachine", StoreName = storeName,
        };

        var error = LoadFails("store-entry", entry);

        Assert.Contains($"Cert:\\LocalMachine\\{storeName}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AStoreWithoutAFolder_IsAnArgumentError()
    {
        Assert.Throws<ArgumentException>(() => new CertificateStore(" "));
        Assert.Throws<ArgumentException>(() => new CertificateStore(string.Empty));
    }

    [UnixFact("Unix file modes do not exist on Windows.")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void AnExistingStoreFolderOpenToOthersButNotItsOwner_BecomesOwnerOnly()
    {
        Directory.CreateDirectory(Service.CertificateStore.Directory);
        File.SetUnixFileMode(Service.CertificateStore.Directory, (UnixFileMode)0b000_111_111);
        using var client = NewClient("CN=tightened");

        Service.AddCertificate("tightened", CertificateInput.FromCertificate(client));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Service.CertificateStore.Directory));
    }

    [Fact]
    public void AStoreKeyOfTheWrongLength_MetWhileWriting_WritesNothing_AndSaysToRestoreTheKey()
    {
        Uploaded();
        var keyFile = Path.Combine(Store.Directory, "store.key");
        File.WriteAllBytes(keyFile, new byte[31]);
        var before = ConfigurationBytes();
        var blobs = Directory.GetFiles(Store.Directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        using var client = NewClient("CN=second");

        var error = Fails(() => Service.AddCertificate("second", CertificateInput.FromCertificate(client)));

        Assert.Equal("CertificateStoreDamaged", error.ErrorId);
        Assert.Equal($"The store key '{keyFile}' is damaged: it is not 32 bytes long. Nothing was written and the configuration is unchanged. Restore the store folder with its key from a backup.", error.Message);
        Assert.Equal(keyFile, error.Target);
        Assert.Equal(before, ConfigurationBytes());
        Assert.Equal(blobs, Directory.GetFiles(Store.Directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        Assert.Equal(31, new FileInfo(keyFile).Length);
    }

    [Fact]
    public void AStoreKeyThatCannotBeRead_MetWhileWriting_IsUnreadable_NamingTheKeyFile()
    {
        Uploaded();
        var keyFile = Path.Combine(Store.Directory, "store.key");
        File.Delete(keyFile);
        Directory.CreateDirectory(keyFile);
        var before = ConfigurationBytes();
        using var client = NewClient("CN=second");

        var error = Fails(() => Service.AddCertificate("second", CertificateInput.FromCertificate(client)));

        Assert.Equal("CertificateStoreUnreadable", error.ErrorId);
        Assert.StartsWith($"The store key '{keyFile}' cannot be read: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(keyFile, error.Target);
        Assert.Equal(before, ConfigurationBytes());
    }

    [UnixFact("Unix file modes do not exist on Windows.")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void AStoreFolderLoosenedAfterItsKeyWasMade_IsTightenedByTheNextWrite()
    {
        Uploaded();
        File.SetUnixFileMode(Store.Directory, (UnixFileMode)0b111_101_101);
        using var client = NewClient("CN=second");

        Service.AddCertificate("second", CertificateInput.FromCertificate(client));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Store.Directory));
    }
}
