using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Certificates;

public sealed class CertificateStoreTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly X509Certificate2 _ca = TestCertificates.CreateCa();
    private readonly X509Certificate2 _client;
    private readonly GatewayService _service;

    public CertificateStoreTests()
    {
        _client = TestCertificates.Create("CN=gateway-client", _ca, clientAuth: true);
        _service = new GatewayService(_temp.File("gateway.json"));
        _service.Open();
    }

    public void Dispose()
    {
        _client.Dispose();
        _ca.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void StoreFolder_SitsBesideTheConfiguration()
    {
        Assert.Equal(_temp.File("gateway.store"), _service.CertificateStore.Directory);
        Assert.Equal(_temp.File("gateway.store"), CertificateStore.DirectoryFor(_temp.File("gateway.json")));
    }

    [Fact]
    public void UploadedKey_IsEncryptedAtRest_AndNeverInTheConfiguration()
    {
        _service.AddCertificate("client", CertificateInput.FromPfxBytes(TestCertificates.Pfx(_client, "pw"), "pw".AsSpan()));
        var pkcs8 = _client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKey();
        var privateScalar = _client.GetECDsaPrivateKey()!.ExportParameters(true).D!;

        var storeFiles = Directory.GetFiles(_service.CertificateStore.Directory, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "store.key").ToList();
        Assert.NotEmpty(storeFiles);
        foreach (var file in storeFiles.Append(_service.ConfigurationPath))
        {
            var bytes = File.ReadAllBytes(file);
            Assert.True(bytes.AsSpan().IndexOf(pkcs8) < 0, $"{file} holds the PKCS#8 key in plain text");
            Assert.True(bytes.AsSpan().IndexOf(privateScalar) < 0, $"{file} holds the private scalar in plain text");
            Assert.DoesNotContain("PRIVATE KEY", Encoding.ASCII.GetString(bytes), StringComparison.Ordinal);
        }
        var config = File.ReadAllText(_service.ConfigurationPath);
        Assert.DoesNotContain(Convert.ToBase64String(_client.RawData)[..40], config, StringComparison.Ordinal);
    }

    [Fact]
    public void UploadedCertificate_LoadsBackWithAUsableKey()
    {
        _service.AddCertificate("client", CertificateInput.FromCertificate(_client));
        var entry = _service.Read().Certificates["client"];

        using var loaded = _service.CertificateStore.LoadCertificate("client", entry);

        Assert.Equal(_client.Thumbprint, loaded.Leaf.Thumbprint);
        using var key = loaded.Leaf.GetECDsaPrivateKey()!;
        using var publicKey = _client.GetECDsaPublicKey()!;
        Assert.True(publicKey.VerifyData("proof"u8, key.SignData("proof"u8, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256));
    }

    [UnixFact("Unix file modes do not exist on Windows.")]

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void StoreFilesAndFolders_AreOwnerOnly_OnUnix()
    {
        _service.AddCertificate("client", CertificateInput.FromCertificate(_client));
        _service.AddCaCertificate("root", CertificateInput.FromCertificate(_ca));
        var folderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        var fileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

        Assert.Equal(folderMode, File.GetUnixFileMode(_service.CertificateStore.Directory));
        foreach (var folder in Directory.GetDirectories(_service.CertificateStore.Directory))
            Assert.Equal(folderMode, File.GetUnixFileMode(folder));
        var files = Directory.GetFiles(_service.CertificateStore.Directory, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => Path.GetFileName(f) == "store.key");
        foreach (var file in files)
            Assert.Equal(fileMode, File.GetUnixFileMode(file));
    }

    [UnixFact("Unix file modes do not exist on Windows.")]

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void ExistingStoreFolder_WithLooserPermissions_IsTightened()
    {
        Directory.CreateDirectory(_service.CertificateStore.Directory);
        File.SetUnixFileMode(_service.CertificateStore.Directory, (UnixFileMode)0b111_101_101);

        _service.AddCertificate("client", CertificateInput.FromCertificate(_client));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_service.CertificateStore.Directory));
    }

    [Fact]
    public void TamperedEntry_IsReportedAsDamaged()
    {
        _service.AddCertificate("client", CertificateInput.FromCertificate(_client));
        var entry = _service.Read().Certificates["client"];
        var blob = Path.Combine(_service.CertificateStore.Directory, "certificates", entry.Thumbprint + ".bin");
        var bytes = File.ReadAllBytes(blob);
        bytes[^5] ^= 0x40;
        File.WriteAllBytes(blob, bytes);

        var error = Assert.Throws<GatewayException>(() => _service.CertificateStore.LoadCertificate("client", entry));

        Assert.Equal("CertificateStoreDamaged", error.ErrorId);
        Assert.Contains("'client'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingStoreKey_SaysWhatIsMissing()
    {
        _service.AddCertificate("client", CertificateInput.FromCertificate(_client));
        File.Delete(Path.Combine(_service.CertificateStore.Directory, "store.key"));

        var error = Assert.Throws<GatewayException>(() => _service.CertificateStore.LoadCertificate("client", _service.Read().Certificates["client"]));

        var keyFile = Path.Combine(_service.CertificateStore.Directory, "store.key");
        Assert.Equal("CertificateStoreKeyMissing", error.ErrorId);
        Assert.Equal($"The store key '{keyFile}' is missing, so no entry of the store can be decrypted. Restore the store folder with its key, or add the certificates again.", error.Message);
        Assert.Equal(keyFile, error.Target);
    }

    [Fact]
    public void EntryCopiedFromAnotherStore_DoesNotDecrypt()
    {
        var other = new GatewayService(_temp.File("other.json"));
        other.Open();
        other.AddCertificate("client", CertificateInput.FromCertificate(_client));
        _service.AddCertificate("client", CertificateInput.FromCertificate(_client));
        var name = Path.Combine("certificates", _client.Thumbprint + ".bin");
        File.Copy(Path.Combine(other.CertificateStore.Directory, name), Path.Combine(_service.CertificateStore.Directory, name), overwrite: true);

        var error = Assert.Throws<GatewayException>(() => _service.CertificateStore.LoadCertificate("client", _service.Read().Certificates["client"]));

        Assert.Equal("CertificateStoreDamaged", error.ErrorId);
    }

    [Fact]
    public void RemovingACertificate_RemovesItsMaterial_ButNotWhatOthersShare()
    {
        _service.AddCertificate("a", CertificateInput.FromCertificate(_client));
        _service.AddCertificate("b", CertificateInput.FromCertificate(_client));
        var blob = Path.Combine(_service.CertificateStore.Directory, "certificates", _client.Thumbprint + ".bin");

        _service.RemoveCertificate("a");
        Assert.True(File.Exists(blob));

        _service.RemoveCertificate("b");
        Assert.False(File.Exists(blob));
    }

    [Fact]
    public void Secret_IsStoredEncrypted_AndReadsBack()
    {
        var secret = Secrets.ToSecureString("s3cr3t-parameter");
        _service.AddCertificate("client", CertificateInput.FromCertificate(_client));
        var backend = _service.NewBackend(new BackendDefinition
        {
            BackendId = "orders",
            Url = "https://orders.example.com/",
            Credentials = new GatewayBackendCredential { AuthorizationHeaderScheme = "Bearer", AuthorizationHeaderParameter = secret },
        });

        var name = _service.Read().Backends["orders"].Credentials!.Authorization!.ParameterSecret!;
        var all = Directory.GetFiles(_service.CertificateStore.Directory, "*", SearchOption.AllDirectories).Append(_service.ConfigurationPath);
        Assert.DoesNotContain(all, f => Encoding.UTF8.GetString(File.ReadAllBytes(f)).Contains("s3cr3t", StringComparison.Ordinal));
        using var read = _service.CertificateStore.ReadSecret(name);
        Assert.Equal("s3cr3t-parameter", Secrets.Use(read, (chars, _) => new string(chars)));
        Assert.True(backend.Credentials!.HasAuthorizationHeaderParameter);
    }
    // Found by the fuzzer: a hand-edited entry reached the loader (the snapshot build loads what it can, to list every
    // problem at once) and ended in an ArgumentException instead of a configuration error.
    [Theory]
    [InlineData("LinkedFile", null, null, "linked to a file but has no path")]
    [InlineData("LinkedFile", " ", null, "linked to a file but has no path")]
    [InlineData("LinkedFile", "/etc/ssl/a\0b.pem", null, "a NUL")]
    [InlineData("Store", null, "Nowhere", "store location 'Nowhere'")]
    [InlineData("Store", null, "1", "store location '1'")]
    public void LoadCertificate_AnEntryTheValidatorRefuses_IsATypedErrorNamingIt(string source, string? path, string? location, string expected)
    {
        var entry = new CertificateEntry
        {
            Thumbprint = "0123456789ABCDEF0123456789ABCDEF01234567",
            Subject = "CN=x",
            Issuer = "CN=x",
            SerialNumber = "01",
            Source = Enum.Parse<CertificateSource>(source),
            Path = path,
            StoreName = "My",
            StoreLocation = location,
        };

        var error = Assert.Throws<GatewayException>(() => _service.CertificateStore.LoadCertificate("edited", entry));
        Assert.Equal("CertificateUnusable", error.ErrorId);
        Assert.Contains("'edited'", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("CurrentUser", true)]
    [InlineData("localmachine", true)]
    [InlineData("Nowhere", false)]
    [InlineData("1", false)]
    [InlineData("CurrentUser, LocalMachine", false)]
    public void StoreLocation_IsOneOfTheTwoNames(string? value, bool valid) =>
        Assert.Equal(valid, CertificateStore.TryStoreLocation(value, out _));
    [Theory]
    [InlineData("certificates/0123456789ABCDEF0123456789ABCDEF01234567.bin", true)]
    [InlineData("ca/abcdef.cer", true)]
    [InlineData("secrets/00ff.bin", true)]
    [InlineData("certificates/../../etc/passwd.bin", false)]
    [InlineData("certificates/.bin", false)]
    [InlineData("ca/01\u0000.cer", false)]
    [InlineData("ca/0G.cer", false)]
    [InlineData("nothing", false)]
    [InlineData("/AB.bin", false)]
    [InlineData("certificates/AB", false)]
    // Up to 128 hex digits (a SHA-512 thumbprint); SHA-1's 40 and SHA-256's 64 fit, one digit more does not.
    [InlineData("certificates/" + Hex128 + ".bin", true)]
    [InlineData("certificates/" + Hex128 + "0.bin", false)]
    public void StoreEntryNames_AreHexadecimal_SoAnEditedThumbprintCannotReachOutside(string relative, bool valid) =>
        Assert.Equal(valid, CertificateStore.IsStoreEntryName(relative));

    private const string Hex128 = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

    [Theory]
    [InlineData("/etc/gateway/client.pem", true)]
    [InlineData("client.pem", true)]
    [InlineData("", false)]
    [InlineData("\u0000client.pem", false)]
    [InlineData("client\u0000.pem", false)]
    public void UsablePaths_AreNotEmpty_AndHoldNoNul(string path, bool usable) =>
        Assert.Equal(usable, CertificateStore.IsUsablePath(path));

    // Found by the fuzzer: a NUL in an uploaded certificate's thumbprint reached File.ReadAllBytes (ArgumentException).
    [Theory]
    [InlineData("../../../../etc/hostname")]
    [InlineData("01\u0000")]
    public void LoadCertificate_AThumbprintThatIsNoStoreName_IsATypedError(string thumbprint)
    {
        var entry = new CertificateEntry { Thumbprint = thumbprint, Subject = "CN=x", Issuer = "CN=x", SerialNumber = "01" };

        var error = Assert.Throws<GatewayException>(() => _service.CertificateStore.LoadCertificate("edited", entry));
        Assert.Equal("CertificateUnusable", error.ErrorId);
        Assert.Contains("not hexadecimal", error.Message, StringComparison.Ordinal);
    }
}
