using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Certificates;

public sealed class CertificateLoaderTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly X509Certificate2 _ca = TestCertificates.CreateCa();
    private readonly X509Certificate2 _leaf;

    public CertificateLoaderTests()
    {
        _leaf = TestCertificates.Create("CN=client.contoso.com", _ca, clientAuth: true, dnsNames: ["client.contoso.com"]);
    }

    public void Dispose()
    {
        _leaf.Dispose();
        _ca.Dispose();
        _temp.Dispose();
    }

    private static GatewayException Fails(CertificateInput input) => Assert.Throws<GatewayException>(() => CertificateLoader.Load(input).Dispose());

    [Fact]
    public void PfxFile_WithPassword_LoadsCertificateAndKey()
    {
        var path = _temp.Write("client.pfx", TestCertificates.Pfx(_leaf, "Example-Pass-1"));

        using var loaded = CertificateLoader.Load(CertificateInput.FromPfxFile(path, "Example-Pass-1".AsSpan()));

        Assert.Equal(_leaf.Thumbprint, loaded.Leaf.Thumbprint);
        Assert.True(loaded.Leaf.HasPrivateKey);
        using var key = loaded.Leaf.GetECDsaPrivateKey()!;
        Assert.True(key.VerifyData("x"u8, key.SignData("x"u8, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256));
    }

    [Fact]
    public void PfxBytes_WithoutPassword_Loads()
    {
        using var loaded = CertificateLoader.Load(CertificateInput.FromPfxBytes(TestCertificates.Pfx(_leaf)));

        Assert.True(loaded.Leaf.HasPrivateKey);
    }

    [Fact]
    public void Pfx_WithChain_KeepsTheLeafAndTheIntermediates()
    {
        var collection = new X509Certificate2Collection { _leaf, X509CertificateLoader.LoadCertificate(_ca.RawData) };
        var pfx = collection.Export(X509ContentType.Pkcs12, "pw")!;

        using var loaded = CertificateLoader.Load(CertificateInput.FromPfxBytes(pfx, "pw".AsSpan()));

        Assert.Equal(_leaf.Thumbprint, loaded.Leaf.Thumbprint);
        Assert.Equal(_ca.Thumbprint, Assert.Single(loaded.Chain).Thumbprint);
    }

    [Fact]
    public void Pfx_WrongPassword_IsASecurityError()
    {
        var path = _temp.Write("client.pfx", TestCertificates.Pfx(_leaf, "right"));

        var error = Fails(CertificateInput.FromPfxFile(path, "wrong".AsSpan()));

        Assert.Equal("CertificateWrongPassword", error.ErrorId);
        Assert.Equal("WrongPassword", error.Condition);
        Assert.Equal(GatewayErrorCategory.SecurityError, error.Category);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", error.Message.Replace("is wrong", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Pfx_PasswordMissing_SaysToGiveOne()
    {
        var error = Fails(CertificateInput.FromPfxBytes(TestCertificates.Pfx(_leaf, "right")));

        Assert.Equal("CertificatePasswordRequired", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.SecurityError, error.Category);
        Assert.Contains("-PfxPassword", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PfxFile_GivenAPemFile_SaysItIsPem()
    {
        var path = _temp.Write("client.pem", TestCertificates.CertificatePem(_leaf));

        var error = Fails(CertificateInput.FromPfxFile(path));

        Assert.Equal("CertificateNotPfx", error.ErrorId);
        Assert.Contains("-PemFilePath", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PfxFile_GivenADerCertificate_SaysItHasNoKey()
    {
        var path = _temp.Write("client.cer", _leaf.RawData);

        var error = Fails(CertificateInput.FromPfxFile(path));

        Assert.Equal("CertificateNotPfx", error.ErrorId);
        Assert.Contains("without private key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_IsNeitherPfxNorPem()
    {
        var path = _temp.Write("notes.txt", "hello, this is not a certificate");

        var error = Fails(CertificateInput.FromPfxFile(path));

        Assert.Equal("CertificateUnrecognizedFormat", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.InvalidData, error.Category);
    }

    [Fact]
    public void TruncatedPfx_IsMalformed()
    {
        var pfx = TestCertificates.Pfx(_leaf, "pw");
        var path = _temp.Write("cut.pfx", pfx[..(pfx.Length / 2)]);

        var error = Fails(CertificateInput.FromPfxFile(path, "pw".AsSpan()));

        Assert.Equal("CertificateMalformed", error.ErrorId);
        Assert.Contains("truncated or damaged", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFile_IsNotFound()
    {
        var error = Fails(CertificateInput.FromPfxFile(_temp.File("nope.pfx")));

        Assert.Equal("CertificateFileNotFound", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.NotFound, error.Category);
    }

    [Fact]
    public void Pem_CertificateAndSeparateKey_Load()
    {
        var cert = _temp.Write("client.crt", TestCertificates.CertificatePem(_leaf));
        var key = _temp.Write("client.key", TestCertificates.KeyPem(_leaf));

        using var loaded = CertificateLoader.Load(CertificateInput.FromPemFile(cert, key));

        Assert.Equal(_leaf.Thumbprint, loaded.Leaf.Thumbprint);
        Assert.True(loaded.Leaf.HasPrivateKey);
    }

    [Fact]
    public void Pem_FullChainWithKeyInOneFile_LoadsLeafAndChain()
    {
        var path = _temp.Write("fullchain.pem", TestCertificates.CertificatePem(_leaf) + "\n" + TestCertificates.CertificatePem(_ca) + "\n" + TestCertificates.KeyPem(_leaf));

        using var loaded = CertificateLoader.Load(CertificateInput.FromPemFile(path));

        Assert.Equal(_leaf.Thumbprint, loaded.Leaf.Thumbprint);
        Assert.True(loaded.Leaf.HasPrivateKey);
        Assert.Equal(_ca.Thumbprint, Assert.Single(loaded.Chain).Thumbprint);
    }

    [Fact]
    public void Pem_WithoutKey_LoadsAPublicCertificate()
    {
        var path = _temp.Write("client.crt", TestCertificates.CertificatePem(_leaf));

        using var loaded = CertificateLoader.Load(CertificateInput.FromPemFile(path));

        Assert.False(loaded.Leaf.HasPrivateKey);
    }

    [Fact]
    public void Pem_KeyOfAnotherCertificate_IsAMismatch()
    {
        using var other = TestCertificates.Create("CN=other", _ca);
        var cert = _temp.Write("client.crt", TestCertificates.CertificatePem(_leaf));
        var key = _temp.Write("other.key", TestCertificates.KeyPem(other));

        var error = Fails(CertificateInput.FromPemFile(cert, key));

        Assert.Equal("CertificateKeyMismatch", error.ErrorId);
        Assert.Contains("does not belong", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pem_EncryptedKey_NeedsAndUsesItsPassword()
    {
        var cert = _temp.Write("client.crt", TestCertificates.CertificatePem(_leaf));
        var encrypted = _leaf.GetECDsaPrivateKey()!.ExportEncryptedPkcs8PrivateKeyPem("key-pass".AsSpan(), new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000));
        var key = _temp.Write("client.key", encrypted);

        Assert.Equal("CertificatePasswordRequired", Fails(CertificateInput.FromPemFile(cert, key)).ErrorId);
        Assert.Equal("CertificateWrongPassword", Fails(CertificateInput.FromPemFile(cert, key, Secrets.ToSecureString("nope"))).ErrorId);
        using var loaded = CertificateLoader.Load(CertificateInput.FromPemFile(cert, key, Secrets.ToSecureString("key-pass")));
        Assert.True(loaded.Leaf.HasPrivateKey);
    }

    [Fact]
    public void PemFile_GivenAPfx_SaysItIsAPfx()
    {
        var path = _temp.Write("client.pfx", TestCertificates.Pfx(_leaf));

        Assert.Equal("CertificateNotPem", Fails(CertificateInput.FromPemFile(path)).ErrorId);
    }

    [Fact]
    public void KeyFile_WithoutAKey_IsReported()
    {
        var cert = _temp.Write("client.crt", TestCertificates.CertificatePem(_leaf));
        var notKey = _temp.Write("client.key", TestCertificates.CertificatePem(_leaf));

        Assert.Equal("CertificateKeyMalformed", Fails(CertificateInput.FromPemFile(cert, notKey)).ErrorId);
    }

    [Fact]
    public void AnyFile_TellsPfxPemAndDerApartByContent()
    {
        var der = _temp.Write("ca.cer", _ca.RawData);
        var pem = _temp.Write("ca.txt", TestCertificates.CertificatePem(_ca));
        var pfx = _temp.Write("ca.bin", TestCertificates.Pfx(_ca));

        foreach (var path in new[] { der, pem, pfx })
        {
            using var loaded = CertificateLoader.Load(CertificateInput.FromFile(path));
            Assert.Equal(_ca.Thumbprint, loaded.Leaf.Thumbprint);
        }
    }

    [Fact]
    public void CertificateObject_WithKey_IsCopiedWithItsKey()
    {
        using var loaded = CertificateLoader.Load(CertificateInput.FromCertificate(_leaf));

        Assert.True(loaded.Leaf.HasPrivateKey);
        Assert.NotSame(_leaf, loaded.Leaf);
    }

    [Fact]
    public void CertificateObject_WithoutKey_IsPublicOnly()
    {
        using var publicOnly = X509CertificateLoader.LoadCertificate(_leaf.RawData);

        using var loaded = CertificateLoader.Load(CertificateInput.FromCertificate(publicOnly));

        Assert.False(loaded.Leaf.HasPrivateKey);
    }

    [Fact]
    public void RsaPfx_Loads()
    {
        using var rsa = TestCertificates.Create("CN=rsa", _ca, rsa: true);

        using var loaded = CertificateLoader.Load(CertificateInput.FromPfxBytes(TestCertificates.Pfx(rsa, "p"), "p".AsSpan()));

        Assert.NotNull(loaded.Leaf.GetRSAPrivateKey());
    }

    [Theory]
    [InlineData("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01", "ABCDEF0123456789ABCDEF0123456789ABCDEF01")]
    [InlineData("\u200eab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01", "ABCDEF0123456789ABCDEF0123456789ABCDEF01")]
    public void Thumbprints_AsPeoplePasteThem_AreNormalized(string pasted, string expected)
    {
        Assert.True(CertificateMetadata.IsThumbprint(pasted));
        Assert.Equal(expected, CertificateMetadata.NormalizeThumbprint(pasted));
    }

    [Fact]
    public void Metadata_RecordsSansDatesAndKeyPresence()
    {
        var entry = CertificateMetadata.ToEntry(_leaf, ApiGateway.Core.Configuration.CertificateSource.Uploaded);

        Assert.Equal(_leaf.Thumbprint, entry.Thumbprint);
        Assert.Equal(_leaf.SerialNumber, entry.SerialNumber);
        Assert.Equal(["DNS:client.contoso.com"], entry.SubjectAlternativeNames.ToArray());
        Assert.Equal(_leaf.NotAfter.ToUniversalTime(), entry.NotAfter.UtcDateTime);
        Assert.True(entry.HasPrivateKey);
        Assert.Equal(TimeSpan.Zero, entry.NotAfter.Offset);
    }

    [Fact]
    public void Passwords_NeverBecomeStrings_InTheInputApi()
    {
        var stringPasswordParameters = typeof(CertificateInput).GetMethods()
            .SelectMany(m => m.GetParameters())
            .Where(p => p.Name!.Contains("password", StringComparison.OrdinalIgnoreCase) && p.ParameterType == typeof(string));

        Assert.Empty(stringPasswordParameters);
        _ = Encoding.UTF8; // keep the using for readers comparing with the PEM tests
    }
}
