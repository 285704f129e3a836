using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Tls;

/// <summary>
/// Revocation off the request path: client certificates whose CRL distribution point is a real HTTP server on
/// loopback that answers slowly. Requests of policies that check revocation wait for the answer (as APIM's online
/// check does) without holding a thread, one fetch serves every request for the certificate, a revoked certificate
/// is refused, and other connections are served at once while the CRL server dawdles.
/// </summary>
public sealed class RevocationTests
{
    private const string Hello = """
        <policies><inbound><return-response><set-status code="200" reason="OK" /></return-response></inbound></policies>
        """;

    private const string Validated = """
        <policies>
          <inbound>
            <validate-client-certificate validate-trust="true" validate-not-before="true" validate-not-after="true" />
            <return-response><set-status code="200" reason="OK" /></return-response>
          </inbound>
        </policies>
        """;

    private const string Verified = """
        <policies>
          <inbound>
            <choose>
              <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify())">
                <return-response><set-status code="403" reason="Forbidden" /></return-response>
              </when>
            </choose>
            <return-response><set-status code="200" reason="OK" /></return-response>
          </inbound>
        </policies>
        """;

    [Fact]
    public async Task ASlowCrlServer_DelaysOnlyTheRequestsThatNeedIt_OneFetchPerCertificate_AndARevokedCertificateIsRefused()
    {
        await using var gateway = TestGateway.Create();
        await using var crl = LoopbackCrlServer.Start(answerDelay: TimeSpan.FromSeconds(2.5));
        using var good = Issue(gateway.Ca, "CN=good", crl.Url);
        using var revoked = Issue(gateway.Ca, "CN=revoked", crl.Url);
        crl.Publish(gateway.Ca, revoked);
        gateway.AddApi("fast", "fast", policy: Hello);
        gateway.AddApi("validated", "validated", policy: Validated);
        gateway.AddApi("verified", "verified", policy: Verified);
        await gateway.StartAsync();

        // Twelve requests on twelve connections need the good certificate's status: none may block a thread for it.
        var waiting = Enumerable.Range(0, 12).Select(i => gateway.SendAsync(i % 2 == 0 ? "/validated" : "/verified", good)).ToList();
        await Task.Delay(300);
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < 10; i++)
        {
            var watch = Stopwatch.StartNew();
            Assert.Equal(200, (await gateway.SendAsync("/fast", good)).Status);
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
        }
        var fastDone = DateTime.UtcNow;
        var answers = await Task.WhenAll(waiting);

        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.True(slowest < TimeSpan.FromSeconds(1), $"A request that needs no revocation check waited {slowest.TotalMilliseconds:F0} ms while the CRL server was slow.");
        Assert.True(crl.FirstAnsweredAt > fastDone, "The other requests were all served before the CRL server answered.");
        Assert.Equal(1, crl.Requests); // one fetch for twelve requests
        // Now the CRL is known: the revoked certificate is refused by both forms of the check, without a new wait.
        var watchRevoked = Stopwatch.StartNew();
        var refused = await gateway.SendAsync("/validated", revoked);
        var refusedVerify = await gateway.SendAsync("/verified", revoked);
        Assert.Equal(403, refused.Status);
        Assert.Contains("revoked", refused.Body, StringComparison.Ordinal);
        Assert.Equal(403, refusedVerify.Status);
        Assert.True(watchRevoked.Elapsed < TimeSpan.FromSeconds(2), $"The cached CRL answered in {watchRevoked.Elapsed.TotalMilliseconds:F0} ms.");
        Assert.Equal(200, (await gateway.SendAsync("/validated", good)).Status);
    }

    [Fact]
    public async Task ADeadCrlServer_GivesUnknown_WhichValidateClientCertificateRefuses_AsBefore()
    {
        await using var gateway = TestGateway.Create();
        var port = FreePort.Next(); // nothing listens there
        using var orphan = Issue(gateway.Ca, "CN=orphan", $"http://127.0.0.1:{port}/gone-{Guid.NewGuid():N}.crl");
        gateway.AddApi("validated", "validated", policy: Validated);
        await gateway.StartAsync();

        var response = await gateway.SendAsync("/validated", orphan);

        Assert.Equal(403, response.Status);
        Assert.Contains("revocation status could not be checked", response.Body, StringComparison.Ordinal);
    }

    /// <summary>A client certificate issued by <paramref name="ca"/> whose CRL distribution point is <paramref name="crlUrl"/>.</summary>
    private static X509Certificate2 Issue(X509Certificate2 ca, string subject, string crlUrl)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(CertificateRevocationListBuilder.BuildCrlDistributionPointExtension([crlUrl]));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var caKey = ca.GetECDsaPrivateKey()!;
        using var signed = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        return signed.CopyWithPrivateKey(key);
    }
}
