using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Certificates;

/// <summary>
/// The loader's content sniffing (X.690 DER: a PFX is SEQUENCE { INTEGER 3, ... } per RFC 7292, a certificate
/// SEQUENCE { SEQUENCE ... } per RFC 5280; lengths in short, long or BER indefinite form) and each failure's error id
/// and message, pinned where the first Stryker run found no test that failed (tests/MUTATION.md).
/// </summary>
public sealed class CertificateLoaderEdgeTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly X509Certificate2 _ca = TestCertificates.CreateCa("CN=Edge CA");
    private readonly X509Certificate2 _leaf;

    public CertificateLoaderEdgeTests()
    {
        _leaf = TestCertificates.Create("CN=edge.contoso.example", _ca, clientAuth: true);
    }

    public void Dispose()
    {
        _leaf.Dispose();
        _ca.Dispose();
        _temp.Dispose();
    }

    private static GatewayException Fails(CertificateInput input) => Assert.Throws<GatewayException>(() => CertificateLoader.Load(input).Dispose());

    [Theory]
    [InlineData(new byte[] { 0x30, 0x03, 0x02, 0x01, 0x03 }, "Pfx")]
    [InlineData(new byte[] { 0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03 }, "Pfx")]
    [InlineData(new byte[] { 0x30, 0x80, 0x02, 0x01, 0x03 }, "Pfx")]
    [InlineData(new byte[] { 0x30, 0x03, 0x02, 0x01, 0x04 }, "Unknown")]
    [InlineData(new byte[] { 0x30, 0x03, 0x02, 0x05, 0x03 }, "Unknown")]
    [InlineData(new byte[] { 0x30, 0x03, 0x30, 0x01, 0x00 }, "Der")]
    [InlineData(new byte[] { 0x30, 0x82, 0x01, 0x00, 0x30, 0x82, 0x00 }, "Der")]
    [InlineData(new byte[] { 0x30, 0x03, 0x04, 0x00, 0x00 }, "Unknown")]
    [InlineData(new byte[] { 0x31, 0x03, 0x02, 0x01, 0x03 }, "Unknown")]
    [InlineData(new byte[] { 0x30, 0x03, 0x02, 0x01 }, "Unknown")]
    [InlineData(new byte[] { 0x30, 0x84, 0x00, 0x00, 0x00, 0x10, 0x02 }, "Unknown")]
    [InlineData(new byte[] { 0x30, 0x03, 0x02 }, "Unknown")]
    [InlineData(new byte[0], "Unknown")]
    public void Sniff_TellsTheFormatFromTheFirstBytes_AndNeverReadsPastTheEnd(byte[] data, string expected) =>
        Assert.Equal(Enum.Parse<CertificateLoader.ContentKind>(expected), CertificateLoader.Sniff(data));

    [Fact]
    public void Sniff_FindsAPemHeaderAfterText_ButOnlyInTheFirst8KiB()
    {
        Assert.Equal(CertificateLoader.ContentKind.Pem, CertificateLoader.Sniff("Bag Attributes\n-----BEGIN CERTIFICATE-----\n"u8));
        var late = new byte[9000];
        "-----BEGIN CERTIFICATE-----"u8.CopyTo(late.AsSpan(8500));
        Assert.Equal(CertificateLoader.ContentKind.Unknown, CertificateLoader.Sniff(late));
    }

    [Fact]
    public void Garbage_IsNeitherPfxNorPem_AndTheMessageSaysWhatToExport()
    {
        var error = Fails(CertificateInput.FromPfxBytes([0x31, 0x03, 0x02, 0x01, 0x03]));

        Assert.Equal("CertificateUnrecognizedFormat", error.ErrorId);
        Assert.Equal("The PFX bytes is neither a PFX (PKCS#12) file nor a PEM or DER certificate. Export the certificate as .pfx (with its private key) or .pem and try again.", error.Message);
    }

    [Fact]
    public void PfxExpected_ButPemOrDerGiven_SaysWhichAndHowToGiveIt()
    {
        var pem = Fails(CertificateInput.FromPfxBytes(System.Text.Encoding.ASCII.GetBytes(_leaf.ExportCertificatePem())));
        Assert.Equal("CertificateNotPfx", pem.ErrorId);
        Assert.Equal("The PFX bytes is a PEM file, not a PFX. Give it with -PemFilePath (and the key with -KeyFilePath).", pem.Message);

        var der = Fails(CertificateInput.FromPfxBytes(_leaf.RawData));
        Assert.Equal("CertificateNotPfx", der.ErrorId);
        Assert.StartsWith("The PFX bytes is a DER certificate without private key (.cer), not a PFX.", der.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PemExpected_ButAPfxGiven_SaysToUsePfxFilePath()
    {
        var path = _temp.Write("edge.pfx", TestCertificates.Pfx(_leaf));

        var error = Fails(CertificateInput.FromPemFile(path));

        Assert.Equal("CertificateNotPem", error.ErrorId);
        Assert.Equal($"'{path}' is a PFX (PKCS#12) file, not PEM. Give it with -PfxFilePath.", error.Message);
    }

    [Fact]
    public void AFolderGivenAsTheFile_IsUnreadable_NotMissing()
    {
        var folder = Directory.CreateDirectory(_temp.File("a-folder")).FullName;

        var error = Fails(CertificateInput.FromPfxFile(folder));

        Assert.Equal("CertificateFileUnreadable", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.ReadError, error.Category);
        Assert.StartsWith($"The certificate file '{folder}' cannot be read: ", error.Message, StringComparison.Ordinal);
        var missing = Fails(CertificateInput.FromPfxFile(_temp.File("nothing.pfx")));
        Assert.Equal($"The certificate file '{_temp.File("nothing.pfx")}' does not exist. Check the path.", missing.Message);
    }

    [Fact]
    public void DamagedFiles_AreMalformed_NamingTheFormat()
    {
        var pem = _temp.Write("bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        var pemError = Fails(CertificateInput.FromPemFile(pem));
        Assert.Equal("CertificateMalformed", pemError.ErrorId);
        Assert.StartsWith($"'{pem}' looks like a PEM but cannot be read: ", pemError.Message, StringComparison.Ordinal);
        Assert.EndsWith("The file may be truncated or damaged; export it again.", pemError.Message, StringComparison.Ordinal);

        var der = _temp.Write("bad.cer", new byte[] { 0x30, 0x03, 0x30, 0x01, 0x00 });
        var derError = Fails(CertificateInput.FromFile(der));
        Assert.Equal("CertificateMalformed", derError.ErrorId);
        Assert.StartsWith($"'{der}' looks like a DER certificate but cannot be read: ", derError.Message, StringComparison.Ordinal);

        var pfxError = Fails(CertificateInput.FromPfxBytes([0x30, 0x03, 0x02, 0x01, 0x03]));
        Assert.Equal("CertificateMalformed", pfxError.ErrorId);
        Assert.StartsWith("The PFX bytes looks like a PFX but cannot be read: ", pfxError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APfxWithoutCertificates_IsMalformed_WithoutAnInnerReason()
    {
        var empty = new X509Certificate2Collection().Export(X509ContentType.Pkcs12)!;

        var error = Fails(CertificateInput.FromPfxBytes(empty));

        Assert.Equal("CertificateMalformed", error.ErrorId);
        Assert.Equal("The PFX bytes looks like a PFX but cannot be read. The file may be truncated or damaged; export it again.", error.Message);
    }

    [Fact]
    public void APemWithOnlyAKey_HoldsNoCertificate()
    {
        var path = _temp.Write("key-only.pem", TestCertificates.KeyPem(_leaf));

        var error = Fails(CertificateInput.FromPemFile(path));

        Assert.Equal("CertificateNoCertificateInPem", error.ErrorId);
        Assert.Equal($"'{path}' holds no '-----BEGIN CERTIFICATE-----' block. Give the certificate's PEM file (the key goes in -KeyFilePath).", error.Message);
    }

    [Fact]
    public void KeyProblems_NameTheKeyFile()
    {
        var certificate = _temp.Write("edge.pem", TestCertificates.CertificatePem(_leaf));
        var notAKey = _temp.Write("not-a-key.pem", TestCertificates.CertificatePem(_leaf));
        var damaged = _temp.Write("damaged.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        using var ecdsa = _leaf.GetECDsaPrivateKey()!;
        var encrypted = _temp.Write("encrypted.key", ecdsa.ExportEncryptedPkcs8PrivateKeyPem("Example-Pass-1".AsSpan(), new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)));

        var none = Fails(CertificateInput.FromPemFile(certificate, notAKey));
        Assert.Equal("CertificateKeyMalformed", none.ErrorId);
        Assert.Equal($"The key file '{notAKey}' holds no '-----BEGIN PRIVATE KEY-----' block. Give the PEM private key of the certificate.", none.Message);

        var bad = Fails(CertificateInput.FromPemFile(certificate, damaged));
        Assert.Equal("CertificateKeyMismatch", bad.ErrorId);
        Assert.StartsWith($"The private key in '{damaged}' cannot be used with the certificate 'CN=edge.contoso.example': ", bad.Message, StringComparison.Ordinal);

        var locked = Fails(CertificateInput.FromPemFile(certificate, encrypted));
        Assert.Equal("CertificatePasswordRequired", locked.ErrorId);
        Assert.Equal($"The private key in '{encrypted}' is encrypted. Give its password with -PfxPassword.", locked.Message);

        var wrong = Fails(CertificateInput.FromPemFile(certificate, encrypted, Secrets.ToSecureString("wrong".AsSpan())));
        Assert.Equal("CertificateWrongPassword", wrong.ErrorId);
        Assert.Equal($"The password for the encrypted private key in '{encrypted}' is wrong (or the key is damaged). Check it and try again.", wrong.Message);

        using var loaded = CertificateLoader.Load(CertificateInput.FromPemFile(certificate, encrypted, Secrets.ToSecureString("Example-Pass-1".AsSpan())));
        Assert.True(loaded.Leaf.HasPrivateKey);
    }

    [Fact]
    public void AnRsaPemCertificateWithItsKey_Loads()
    {
        using var rsa = TestCertificates.Create("CN=rsa.contoso.example", _ca, clientAuth: true, rsa: true);
        var certificate = _temp.Write("rsa.pem", TestCertificates.CertificatePem(rsa));
        var key = _temp.Write("rsa.key", TestCertificates.KeyPem(rsa));

        using var loaded = CertificateLoader.Load(CertificateInput.FromPemFile(certificate, key));

        Assert.True(loaded.Leaf.HasPrivateKey);
        using var privateKey = loaded.Leaf.GetRSAPrivateKey()!;
        Assert.NotNull(privateKey);
    }

    [Fact]
    public void APfxWithoutKeys_TakesAsLeafTheCertificateThatIssuedNoOther_InAnyOrder()
    {
        using var publicLeaf = X509CertificateLoader.LoadCertificate(_leaf.RawData);
        using var publicCa = X509CertificateLoader.LoadCertificate(_ca.RawData);

        foreach (var order in new[] { new[] { publicCa, publicLeaf }, new[] { publicLeaf, publicCa } })
        {
            var pfx = new X509Certificate2Collection(order).Export(X509ContentType.Pkcs12)!;
            using var loaded = CertificateLoader.Load(CertificateInput.FromPfxBytes(pfx));

            Assert.Equal(_leaf.Thumbprint, loaded.Leaf.Thumbprint);
            Assert.Equal(_ca.Thumbprint, Assert.Single(loaded.Chain).Thumbprint);
        }

        // A self-signed certificate alone is its own leaf.
        using var single = CertificateLoader.Load(CertificateInput.FromPfxBytes(new X509Certificate2Collection(publicCa).Export(X509ContentType.Pkcs12)!));
        Assert.Equal(_ca.Thumbprint, single.Leaf.Thumbprint);
        Assert.Empty(single.Chain);
    }

    [Fact]
    public void AStoreThatDoesNotExist_IsUnavailable_NotAMissingEntry()
    {
        var store = "NoSuchStore" + Guid.NewGuid().ToString("N");

        var error = Assert.Throws<GatewayException>(() => CertificateLoader.FromStore(_leaf.Thumbprint, StoreLocation.CurrentUser, store).Dispose());

        Assert.Equal("CertificateStoreUnavailable", error.ErrorId);
        Assert.Contains($"Cert:\\CurrentUser\\{store}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoInput_IsAnArgumentError() =>
        Assert.Throws<ArgumentNullException>(() => CertificateLoader.Load(null!));

    [Fact]
    public void AnEncryptedKeyInTheCertificatesOwnPem_WithoutPassword_NamesThatFile()
    {
        using var ecdsa = _leaf.GetECDsaPrivateKey()!;
        var key = ecdsa.ExportEncryptedPkcs8PrivateKeyPem("Example-Pass-1".AsSpan(), new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000));
        var both = _temp.Write("both.pem", TestCertificates.CertificatePem(_leaf) + "\n" + key + "\n");

        var error = Fails(CertificateInput.Linked(both));

        Assert.Equal("CertificatePasswordRequired", error.ErrorId);
        Assert.Equal($"The private key in '{both}' is encrypted. Give its password with -PfxPassword.", error.Message);
    }

    [Fact]
    public void APfxWhoseOnlyKeyIsTheIssuers_YieldsTheCertificateWithTheKey()
    {
        // "The first with a private key" comes before "the one that issued no other": a certificate without its key
        // cannot be presented, so the key-bearing one is what the PFX was exported to carry.
        using var publicLeaf = X509CertificateLoader.LoadCertificate(_leaf.RawData);
        var pfx = new X509Certificate2Collection { publicLeaf, _ca }.Export(X509ContentType.Pkcs12)!;

        using var loaded = CertificateLoader.Load(CertificateInput.FromPfxBytes(pfx));

        Assert.Equal(_ca.Thumbprint, loaded.Leaf.Thumbprint);
        Assert.True(loaded.Leaf.HasPrivateKey);
        Assert.Equal(_leaf.Thumbprint, Assert.Single(loaded.Chain).Thumbprint);
    }

    // A certificate for a public key the test makes itself, signed by the test CA (CertificateRequest signs with the
    // issuer's key whatever the subject's key algorithm is).
    private X509Certificate2 Issue(string subject, PublicKey publicKey)
    {
        var request = new CertificateRequest(new X500DistinguishedName(subject), publicKey, HashAlgorithmName.SHA256);
        using var caKey = _ca.GetECDsaPrivateKey()!;
        return request.Create(_ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), [0x01, 0x23]);
    }

    [Fact]
    public void ADsaCertificateWithItsPemKey_Loads()
    {
        using var dsa = DSA.Create(2048);
        using var certificate = Issue("CN=dsa.contoso.example", new PublicKey(dsa));
        var pem = _temp.Write("dsa.pem", TestCertificates.CertificatePem(certificate) + "\n" + dsa.ExportPkcs8PrivateKeyPem() + "\n");

        using var loaded = CertificateLoader.Load(CertificateInput.Linked(pem));

        Assert.Equal(certificate.Thumbprint, loaded.Leaf.Thumbprint);
        Assert.True(loaded.Leaf.HasPrivateKey);
    }

    [Fact]
    public void AKeyAlgorithmOtherThanEcdsaRsaOrDsa_IsUnsupported_NamingItsOid()
    {
        // Ed25519 (RFC 8410: id-Ed25519 1.3.101.112) in the certificate; the gateway's TLS stack cannot present it.
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { OID 1.3.101.112 } (no parameters), BIT STRING (32-byte key) }.
        byte[] spki = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00, .. new byte[32]];
        var ed25519 = PublicKey.CreateFromSubjectPublicKeyInfo(spki, out _);
        using var certificate = Issue("CN=ed25519.contoso.example", ed25519);
        var pem = _temp.Write("ed25519.pem", TestCertificates.CertificatePem(certificate) + "\n" + ec.ExportPkcs8PrivateKeyPem() + "\n");

        var error = Fails(CertificateInput.Linked(pem));

        Assert.Equal("CertificateUnsupportedKey", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.NotSupported, error.Category);
        Assert.Equal($"The certificate in '{pem}' uses a key algorithm (1.3.101.112) the gateway does not support. Use an ECDSA or RSA certificate.", error.Message);
    }

    [Fact]
    public void KeylessCertificatesThatNameEachOtherAsIssuer_YieldTheFirst()
    {
        // No key, and every certificate issued another (A names B as issuer, B names A): no end entity can be told
        // apart, so the file's first certificate is the leaf (certbot's fullchain.pem order) rather than an exception.
        using var keyB = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var keyA = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        using var a = new CertificateRequest("CN=Cycle A", keyA, HashAlgorithmName.SHA256)
            .Create(new X500DistinguishedName("CN=Cycle B"), X509SignatureGenerator.CreateForECDsa(keyB), now.AddDays(-1), now.AddDays(30), [0x0A]);
        using var b = new CertificateRequest("CN=Cycle B", keyB, HashAlgorithmName.SHA256)
            .Create(new X500DistinguishedName("CN=Cycle A"), X509SignatureGenerator.CreateForECDsa(keyA), now.AddDays(-1), now.AddDays(30), [0x0B]);
        var pem = _temp.Write("cycle.pem", TestCertificates.CertificatePem(a) + "\n" + TestCertificates.CertificatePem(b) + "\n");

        using var loaded = CertificateLoader.Load(CertificateInput.Linked(pem));

        Assert.Equal(a.Thumbprint, loaded.Leaf.Thumbprint);
        Assert.Equal(b.Thumbprint, Assert.Single(loaded.Chain).Thumbprint);
    }
}
