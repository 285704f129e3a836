using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;
using ApiGateway.Host.Tls;
using Microsoft.Extensions.Logging.Abstractions;

namespace ApiGateway.Host.Tests.Tls;

/// <summary>
/// Revocation from the operator's CRL files over real mTLS: CRLs made at test time with
/// CertificateRevocationListBuilder and signed by the gateway's client CA, written into the CRL folder; the gateway
/// decides from them (Offline), from them first (Online), or not at all (NoCheck).
/// </summary>
public sealed class CrlFileRevocationTests
{
    private const string Validated = """
        <policies>
          <inbound>
            <validate-client-certificate validate-revocation="true" />
            <return-response><set-status code="200" reason="OK" /></return-response>
          </inbound>
        </policies>
        """;

    private const string Verified = """
        <policies>
          <inbound>
            <return-response><set-status code="@(context.Request.Certificate.Verify() ? 200 : 403)" reason="Checked" /></return-response>
          </inbound>
        </policies>
        """;

    private static byte[] Crl(X509Certificate2 ca, IEnumerable<X509Certificate2> revoked, DateTimeOffset? nextUpdate = null, DateTimeOffset? thisUpdate = null, int number = 1)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var certificate in revoked)
            builder.AddEntry(certificate, DateTimeOffset.UtcNow.AddMinutes(-10), X509RevocationReason.KeyCompromise);
        return builder.Build(ca, number, nextUpdate ?? DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256, thisUpdate: thisUpdate ?? DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    /// <summary>Writes a CRL as an operator's tool should: a finished file renamed into place.</summary>
    private static void Publish(string folder, string name, byte[] crl)
    {
        var temporary = Path.Combine(folder, "." + name + ".tmp");
        File.WriteAllBytes(temporary, crl);
        File.Move(temporary, Path.Combine(folder, name), overwrite: true);
    }

    private static async Task<(TestGateway Gateway, string Folder)> StartAsync(RevocationMode mode, Action<string, TestGateway>? before = null)
    {
        var gateway = TestGateway.Create();
        var folder = Directory.CreateDirectory(Path.Combine(gateway.Folder.Path, "crls")).FullName;
        before?.Invoke(folder, gateway);
        gateway.Service.SetRevocation(mode, folder);
        gateway.AddApi("validated", "validated", policy: Validated);
        gateway.AddApi("verified", "verified", policy: Verified);
        await gateway.StartAsync();
        return (gateway, folder);
    }

    [Fact]
    public async Task Offline_RevokedIs403_GoodIs200_AndAReplacedCrlRefusesWithinTheRefreshBound()
    {
        X509Certificate2 good = null!, revoked = null!;
        var (gateway, folder) = await StartAsync(RevocationMode.Offline, (folder, g) =>
        {
            good = g.Client("CN=good, O=Contoso");
            revoked = g.Client("CN=revoked, O=Contoso");
            Publish(folder, "client-ca.crl", Crl(g.Ca, [revoked]));
        });
        await using var _ = gateway;

        Assert.Equal(200, (await gateway.SendAsync("/validated", good)).Status);
        Assert.Equal(200, (await gateway.SendAsync("/verified", good)).Status);
        var refused = await gateway.SendAsync("/validated", revoked);
        Assert.Equal(403, refused.Status);
        Assert.Contains("it has been revoked (it is listed in the CRL of 'CN=Test Gateway CA, O=Contoso' ('client-ca.crl'))", refused.Body, StringComparison.Ordinal);
        Assert.Equal(403, (await gateway.SendAsync("/verified", revoked)).Status);

        // The CA revokes "good" too: the new CRL replaces the file, and the gateway refuses it without a reload.
        Publish(folder, "client-ca.crl", Crl(gateway.Ca, [revoked, good], number: 2));
        var watch = Stopwatch.StartNew();
        var status = 200;
        while (status == 200 && watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            status = (await gateway.SendAsync("/validated", good)).Status;
            if (status == 200)
                await Task.Delay(100);
        }
        Assert.Equal(403, status);
        Assert.True(watch.Elapsed < CrlStore.PollInterval + TimeSpan.FromSeconds(2), $"The replaced CRL took {watch.Elapsed.TotalSeconds:F1} s to apply.");
        // A kept connection's earlier "good" is not reused either: Verify() refuses now too.
        Assert.Equal(403, (await gateway.SendAsync("/verified", good)).Status);
    }

    [Fact]
    public async Task Offline_WithoutACurrentCrlSignedByTheIssuer_Refuses_NamingWhy()
    {
        using var other = TestCertificates.CreateCa("CN=Test Gateway CA, O=Contoso"); // same name, another key
        X509Certificate2 fresh = null!;
        var (gateway, folder) = await StartAsync(RevocationMode.Offline, (_, g) => fresh = g.Client("CN=fresh, O=Contoso"));
        await using var _ = gateway;

        var none = await gateway.SendAsync("/validated", fresh);
        Assert.Equal(403, none.Status);
        Assert.Contains("no CRL of its issuer 'CN=Test Gateway CA, O=Contoso' is in the CRL folder", none.Body, StringComparison.Ordinal);
        Assert.Equal(403, (await gateway.SendAsync("/verified", fresh)).Status);

        // A forged CRL (right name, wrong key) vouches for nothing.
        Publish(folder, "forged.crl", Crl(other, []));
        var forged = await WaitForBodyAsync(gateway, fresh, "not signed by that issuer's key");
        Assert.Equal(403, forged.Status);

        // A CRL past its nextUpdate vouches for nothing either (RFC 5280 §5.1.2.5).
        File.Delete(Path.Combine(folder, "forged.crl"));
        Publish(folder, "stale.crl", Crl(gateway.Ca, [], nextUpdate: DateTimeOffset.UtcNow.AddMinutes(-1), thisUpdate: DateTimeOffset.UtcNow.AddDays(-1)));
        var stale = await WaitForBodyAsync(gateway, fresh, "a stale CRL vouches for nothing");
        Assert.Equal(403, stale.Status);

        // A current one, as PEM: good again.
        Publish(folder, "stale.crl", System.Text.Encoding.ASCII.GetBytes(PemEncoding.WriteString("X509 CRL", Crl(gateway.Ca, []))));
        var current = await WaitForStatusAsync(gateway, fresh, 200);
        Assert.Equal(200, current.Status);
    }

    [Fact]
    public async Task NoCheck_PassesValidateRevocationAndVerify_ForACertificateNoCrlKnows()
    {
        X509Certificate2 client = null!;
        var (gateway, _) = await StartAsync(RevocationMode.NoCheck, (_, g) => client = g.Client("CN=unchecked, O=Contoso"));
        await using var __ = gateway;

        Assert.Equal(200, (await gateway.SendAsync("/validated", client)).Status);
        Assert.Equal(200, (await gateway.SendAsync("/verified", client)).Status);
    }

    [Fact]
    public async Task Online_AsksTheCrlFilesFirst_SoACertificateWithoutDistributionPointIsChecked()
    {
        X509Certificate2 good = null!, revoked = null!;
        var (gateway, _) = await StartAsync(RevocationMode.Online, (folder, g) =>
        {
            good = g.Client("CN=good, O=Contoso");
            revoked = g.Client("CN=revoked, O=Contoso");
            Publish(folder, "client-ca.crl", Crl(g.Ca, [revoked]));
        });
        await using var _ = gateway;

        // Without the folder these certificates (no CRL distribution point) would be "could not be checked".
        Assert.Equal(200, (await gateway.SendAsync("/validated", good)).Status);
        var refused = await gateway.SendAsync("/validated", revoked);
        Assert.Equal(403, refused.Status);
        Assert.Contains("revoked", refused.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void CrlFiles_ThatAreNoCrls_AreLeftOut_AndTheRestRead()
    {
        using var folder = new TempFolder();
        using var ca = TestCertificates.CreateCa("CN=Files CA");
        using var leaf = TestCertificates.Create("CN=leaf", ca, clientAuth: true);
        folder.Write("garbage.crl", "not a CRL");
        folder.Write("two.pem", PemEncoding.WriteString("X509 CRL", Crl(ca, [])) + "\n" + PemEncoding.WriteString("X509 CRL", Crl(ca, [leaf], number: 2, thisUpdate: DateTimeOffset.UtcNow.AddMinutes(-1))));
        folder.Write("notes.txt", "ignored");
        using var store = new CrlStore(folder.Path, NullLogger.Instance);

        Assert.Equal(2, store.Count);
        // The newest CRL (thisUpdate) decides: it lists the leaf.
        Assert.Equal(X509ChainStatusFlags.Revoked, store.Check(leaf, ca, DateTimeOffset.UtcNow).Flags);
        // The same CRLs read at a time past their nextUpdate no longer vouch.
        Assert.False(store.Check(leaf, ca, DateTimeOffset.UtcNow.AddDays(8)).IsConclusive);
    }

    /// <summary>
    /// The trust set judges the CRL files on the gateway's clock (GatewayServices.Time), not the machine's: on a clock
    /// past the CRL's nextUpdate the files vouch for nothing, on one inside its validity they answer.
    /// </summary>
    [Fact]
    public void TheCrlFiles_AreReadOnTheGatewaysClock()
    {
        using var folder = new TempFolder();
        using var ca = TestCertificates.CreateCa("CN=Clock CA");
        using var leaf = TestCertificates.Create("CN=leaf", ca, clientAuth: true);
        folder.Write("ca.crl", PemEncoding.WriteString("X509 CRL", Crl(ca, [leaf])));
        using var store = new CrlStore(folder.Path, NullLogger.Instance);
        var inAWeekAndADay = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(8));
        var now = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);

        var late = new ClientTrust([X509CertificateLoader.LoadCertificate(ca.RawData)], [], RevocationMode.Online, store, inAWeekAndADay);
        var current = new ClientTrust([X509CertificateLoader.LoadCertificate(ca.RawData)], [], RevocationMode.Online, store, now);

        Assert.False(late.FromFiles(leaf, null, systemTrust: false).IsConclusive);
        Assert.Equal(X509ChainStatusFlags.Revoked, current.FromFiles(leaf, null, systemTrust: false).Flags);
    }

    [Theory]
    [InlineData("2.5.29.27", true, "delta CRL")]
    [InlineData("2.5.29.28", true, "issuing distribution point")]
    [InlineData("1.3.6.1.4.1.99999.1", true, "critical extension 1.3.6.1.4.1.99999.1")]
    [InlineData("1.3.6.1.4.1.99999.1", false, null)]
    public void CrlsWithCriticalExtensionsTheGatewayDoesNotProcess_AreRefused(string oid, bool critical, string? refusal)
    {
        using var ca = TestCertificates.CreateCa("CN=Extension CA");
        var crl = HandMadeCrl(ca, oid, critical);

        if (refusal is null)
        {
            var list = Assert.Single(RevocationList.Read("x.crl", crl));
            Assert.True(list.IsSignedBy(ca));
        }
        else
        {
            var ex = Assert.Throws<CryptographicException>(() => RevocationList.Read("x.crl", crl));
            Assert.Contains(refusal, ex.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>A v2 CRL of <paramref name="ca"/> with one CRL extension, encoded and signed by hand (the builder adds only its own).</summary>
    private static byte[] HandMadeCrl(X509Certificate2 ca, string oid, bool critical)
    {
        var tbs = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (tbs.PushSequence())
        {
            tbs.WriteInteger(1);
            using (tbs.PushSequence())
                tbs.WriteObjectIdentifier("1.2.840.10045.4.3.2");
            tbs.WriteEncodedValue(ca.SubjectName.RawData);
            tbs.WriteUtcTime(DateTimeOffset.UtcNow.AddMinutes(-5));
            tbs.WriteUtcTime(DateTimeOffset.UtcNow.AddDays(1));
            using (tbs.PushSequence(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 0, isConstructed: true)))
            using (tbs.PushSequence())
            using (tbs.PushSequence())
            {
                tbs.WriteObjectIdentifier(oid);
                if (critical)
                    tbs.WriteBoolean(true);
                tbs.WriteOctetString([0x02, 0x01, 0x01]);
            }
        }
        var signed = tbs.Encode();
        using var key = ca.GetECDsaPrivateKey()!;
        var signature = key.SignData(signed, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var crl = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (crl.PushSequence())
        {
            crl.WriteEncodedValue(signed);
            using (crl.PushSequence())
                crl.WriteObjectIdentifier("1.2.840.10045.4.3.2");
            crl.WriteBitString(signature);
        }
        return crl.Encode();
    }

    [Fact]
    public void ARevokedIntermediate_RevokesItsLeaves_AndEachLinkNeedsItsIssuersCrl()
    {
        using var folder = new TempFolder();
        using var root = TestCertificates.CreateCa("CN=Chain Root");
        using var intermediate = Intermediate(root, "CN=Chain Issuing CA");
        using var leaf = TestCertificates.Create("CN=leaf", intermediate, clientAuth: true);
        using var rootPublic = X509CertificateLoader.LoadCertificate(root.RawData);
        using var intermediatePublic = X509CertificateLoader.LoadCertificate(intermediate.RawData);
        folder.Write("issuing.crl", Crl(intermediate, []));
        using (var onlyIssuing = new CrlStore(folder.Path, NullLogger.Instance))
        {
            var answer = new ClientTrust(new X509Certificate2Collection(rootPublic), new X509Certificate2Collection(intermediatePublic), RevocationMode.Offline, onlyIssuing).FromFiles(leaf, null, false);
            // The leaf is good by its issuer's CRL, but nothing says whether the issuing CA itself is revoked.
            Assert.False(answer.IsConclusive);
            Assert.Contains("its issuing CA certificate 'CN=Chain Issuing CA'", answer.Problem, StringComparison.Ordinal);
        }
        folder.Write("root.crl", Crl(root, []));
        using (var both = new CrlStore(folder.Path, NullLogger.Instance))
            Assert.Equal(X509ChainStatusFlags.NoError, new ClientTrust(new X509Certificate2Collection(rootPublic), new X509Certificate2Collection(intermediatePublic), RevocationMode.Offline, both).FromFiles(leaf, null, false).Flags);
        folder.Write("root.crl", Crl(root, [intermediate], number: 2));
        using var revoked = new CrlStore(folder.Path, NullLogger.Instance);
        var refused = new ClientTrust(new X509Certificate2Collection(rootPublic), new X509Certificate2Collection(intermediatePublic), RevocationMode.Offline, revoked).FromFiles(leaf, null, false);
        Assert.Equal(X509ChainStatusFlags.Revoked, refused.Flags);
        Assert.Contains("its issuing CA certificate 'CN=Chain Issuing CA': it is listed in the CRL of 'CN=Chain Root'", refused.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChangingTheMode_AppliesOnReload()
    {
        X509Certificate2 client = null!;
        var (gateway, _) = await StartAsync(RevocationMode.Offline, (_, g) => client = g.Client("CN=later, O=Contoso"));
        await using var __ = gateway;
        Assert.Equal(403, (await gateway.SendAsync("/validated", client)).Status);

        gateway.Service.SetRevocation(RevocationMode.NoCheck, null);
        await gateway.WaitForRevisionAsync(gateway.Service.Read().Revision);

        Assert.Equal(200, (await gateway.SendAsync("/validated", client)).Status);
    }

    private static X509Certificate2 Intermediate(X509Certificate2 root, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, true, false));
        using var rootKey = root.GetECDsaPrivateKey()!;
        var serial = RandomNumberGenerator.GetBytes(10);
        serial[0] &= 0x7f;
        using var signed = request.Create(root.SubjectName, X509SignatureGenerator.CreateForECDsa(rootKey), DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddYears(1), serial);
        return signed.CopyWithPrivateKey(key);
    }

    private static async Task<RawResponse> WaitForBodyAsync(TestGateway gateway, X509Certificate2 client, string text)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var response = await gateway.SendAsync("/validated", client);
            if (response.Body.Contains(text, StringComparison.Ordinal) || watch.Elapsed > TimeSpan.FromSeconds(20))
                return response.Body.Contains(text, StringComparison.Ordinal) ? response : throw new Xunit.Sdk.XunitException($"No answer with '{text}' in 20 s; last: {response}");
            await Task.Delay(100);
        }
    }

    private static async Task<RawResponse> WaitForStatusAsync(TestGateway gateway, X509Certificate2 client, int status)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var response = await gateway.SendAsync("/validated", client);
            if (response.Status == status || watch.Elapsed > TimeSpan.FromSeconds(20))
                return response;
            await Task.Delay(100);
        }
    }
}
