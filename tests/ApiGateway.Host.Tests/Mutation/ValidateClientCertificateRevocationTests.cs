using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Metrics;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// validate-revocation="true" judged from the operator's CRL files (revocation mode Offline): a certificate a CRL of
/// its issuer lists is refused as revoked, naming that CRL; one whose status the files cannot tell is refused as not
/// checkable, saying why and where to look (Get-GatewayRevocation). CRLs are made at test time with
/// CertificateRevocationListBuilder and signed by the gateway's client CA. Through the real snapshot and pipeline.
/// </summary>
public sealed class ValidateClientCertificateRevocationTests : IAsyncLifetime
{
    private readonly PipelineHarness _harness = PipelineHarness.Create();
    private X509Certificate2 _good = null!;
    private X509Certificate2 _revoked = null!;

    public Task InitializeAsync()
    {
        _good = _harness.Gateway.Client("CN=good, O=Contoso");
        _revoked = _harness.Gateway.Client("CN=revoked, O=Contoso");
        var folder = Directory.CreateDirectory(Path.Combine(_harness.Gateway.Folder.Path, "crls")).FullName;
        var builder = new CertificateRevocationListBuilder();
        builder.AddEntry(_revoked, DateTimeOffset.UtcNow.AddMinutes(-10), X509RevocationReason.KeyCompromise);
        File.WriteAllBytes(Path.Combine(folder, "client-ca.crl"),
            builder.Build(_harness.Gateway.Ca, 1, DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256, thisUpdate: DateTimeOffset.UtcNow.AddMinutes(-5)));
        _harness.Gateway.Service.SetRevocation(RevocationMode.Offline, folder);
        _harness.AddApi("revocation", Policy("""validate-not-before="false" validate-not-after="false" validate-trust="false" """));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _good.Dispose();
        _revoked.Dispose();
        await _harness.DisposeAsync();
    }

    internal static string Policy(string attributes) => $"""
        <policies>
          <inbound>
            <validate-client-certificate {attributes} />
            <return-response><set-status code="200" reason="OK" /></return-response>
          </inbound>
          <backend />
          <outbound />
          <on-error />
        </policies>
        """;

    internal static async Task<(int Status, string Body, ClientCertificateRefusal? Refusal)> SendAsync(PipelineHarness harness, string api, X509Certificate2 certificate)
    {
        ClientCertificateRefusal? refusal = null;
        var http = await harness.RunAsync(PipelineHarness.NewRequest($"/{api}/x", h => h.Connection.ClientCertificate = certificate), c => refusal = c.State.Refusal);
        return (http.Response.StatusCode, PipelineHarness.ReadBody(http), refusal);
    }

    [Fact]
    public async Task ListedInACrlOfItsIssuer_IsRefusedAsRevoked_NamingThatCrl()
    {
        var refused = await SendAsync(_harness, "revocation", _revoked);

        Assert.Equal(403, refused.Status);
        Assert.Equal(ClientCertificateRefusal.Revoked, refused.Refusal);
        Assert.Contains("\"The client certificate is not valid: it has been revoked (it is listed in the CRL of 'CN=Test Gateway CA, O=Contoso' ('client-ca.crl')).\"", refused.Body, StringComparison.Ordinal);
        Assert.Equal(200, (await SendAsync(_harness, "revocation", _good)).Status);
    }

    [Fact]
    public async Task AStatusTheCrlFilesCannotTell_IsRefusedAsUnknown_SayingWhyAndWhereToLook()
    {
        // Its issuer is no CA of the gateway's, so no CRL in the folder can speak for it.
        using var foreignCa = TestCertificates.CreateCa("CN=Foreign CA");
        using var foreign = TestCertificates.Create("CN=foreign", foreignCa, clientAuth: true);

        var refused = await SendAsync(_harness, "revocation", foreign);

        Assert.Equal(403, refused.Status);
        Assert.Equal(ClientCertificateRefusal.RevocationUnknown, refused.Refusal);
        Assert.Contains("The client certificate is not valid: its revocation status could not be checked: its chain ends at 'CN=foreign', whose issuer is not known, so its CRL cannot be checked (Get-GatewayRevocation shows the revocation mode and CRL folder).", refused.Body, StringComparison.Ordinal);
    }
}

/// <summary>
/// validate-revocation="true" in revocation mode Online without CRL files: the CRL is fetched from the certificate's
/// CRL distribution point (a one-file HTTP server on loopback here, answering at once), and a certificate it lists is
/// refused as revoked. No CRL file vouched, so there is no file to name.
/// </summary>
public sealed class ValidateClientCertificateOnlineRevocationTests : IAsyncLifetime
{
    private readonly PipelineHarness _harness = PipelineHarness.Create();
    private readonly X509Certificate2 _ca = TestCertificates.CreateCa($"CN=Online Revocation CA {Guid.NewGuid():N}, O=Contoso");
    private readonly LoopbackCrlServer _crls = LoopbackCrlServer.Start();

    public Task InitializeAsync()
    {
        _harness.Gateway.Service.AddCaCertificate("online-ca", CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(_ca.RawData)));
        _harness.AddApi("online", ValidateClientCertificateRevocationTests.Policy("""validate-not-before="false" validate-not-after="false" validate-trust="false" """));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _crls.DisposeAsync();
        _ca.Dispose();
        await _harness.DisposeAsync();
    }

    [Fact]
    public async Task ListedInTheFetchedCrl_IsRefusedAsRevoked()
    {
        using var revoked = _crls.Issue(_ca, "CN=revoked-online, O=Contoso");
        _crls.Publish(_ca, revoked);
        // As the request handler does before the pipeline of a policy that checks revocation.
        await _harness.Snapshot.ClientTrust.VerificationOf(revoked).PrefetchRevocationAsync();

        var refused = await ValidateClientCertificateRevocationTests.SendAsync(_harness, "online", revoked);

        Assert.Equal(403, refused.Status);
        Assert.Equal(ClientCertificateRefusal.Revoked, refused.Refusal);
        Assert.Contains("\"The client certificate is not valid: it has been revoked.\"", refused.Body, StringComparison.Ordinal);
    }
}
