using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Host.Metrics;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// validate-client-certificate's switches, each on its own, as the APIM reference describes them: validate-not-before
/// refuses a certificate before its NotBefore, validate-not-after one after its NotAfter, validate-trust one that does
/// not chain to an uploaded CA or a trusted root, validate-revocation one whose status is revoked or unknown; each
/// set to false lets exactly that case through. The refusal is recorded by kind (metrics, access log), and the
/// answer names what failed. Run through the real snapshot and pipeline (<see cref="PipelineHarness"/>).
/// </summary>
public sealed class ValidateClientCertificateRuleTests : IAsyncLifetime
{
    private readonly PipelineHarness _harness = PipelineHarness.Create();
    private X509Certificate2 _valid = null!;
    private X509Certificate2 _expired = null!;
    private X509Certificate2 _notYet = null!;
    private X509Certificate2 _foreign = null!;
    private X509Certificate2 _foreignCa = null!;

    public Task InitializeAsync()
    {
        _valid = _harness.Gateway.Client("CN=valid, O=Contoso");
        _expired = _harness.Gateway.Client("CN=expired", DateTimeOffset.UtcNow.AddDays(-20), DateTimeOffset.UtcNow.AddDays(-2));
        _notYet = _harness.Gateway.Client("CN=not-yet", DateTimeOffset.UtcNow.AddDays(2), DateTimeOffset.UtcNow.AddDays(20));
        _foreignCa = ApiGateway.Core.Tests.Support.TestCertificates.CreateCa("CN=Foreign CA");
        _foreign = ApiGateway.Core.Tests.Support.TestCertificates.Create("CN=foreign", _foreignCa, clientAuth: true);
        Api("dates-off", """validate-not-before="false" validate-not-after="false" validate-revocation="false" """);
        Api("not-before-only", """validate-not-after="false" validate-trust="false" validate-revocation="false" """);
        Api("not-after-only", """validate-not-before="false" validate-trust="false" validate-revocation="false" """);
        Api("trust-off", """validate-trust="false" validate-revocation="false" """);
        Api("trust-only", """validate-not-before="false" validate-not-after="false" validate-revocation="false" """);
        Api("revocation-only", """validate-not-before="false" validate-not-after="false" validate-trust="false" """);
        Api("nothing", """validate-not-before="false" validate-not-after="false" validate-trust="false" validate-revocation="false" """);
        Api("one-identity", """validate-revocation="false" """, """<identities><identity common-name="valid" /></identities>""");
        Api("two-identities", """validate-revocation="false" """, """<identities><identity common-name="nobody" /><identity common-name="valid" /></identities>""");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var c in new[] { _valid, _expired, _notYet, _foreign, _foreignCa })
            c.Dispose();
        await _harness.DisposeAsync();
    }

    private void Api(string id, string attributes, string identities = "") => _harness.AddApi(id, $"""
        <policies>
          <inbound>
            <validate-client-certificate {attributes}>{identities}</validate-client-certificate>
            <return-response><set-status code="200" reason="OK" /></return-response>
          </inbound>
          <backend />
          <outbound />
          <on-error />
        </policies>
        """);

    private async Task<(int Status, string Body, ClientCertificateRefusal? Refusal)> SendAsync(string api, X509Certificate2? certificate)
    {
        ClientCertificateRefusal? refusal = null;
        var http = await _harness.RunAsync(PipelineHarness.NewRequest($"/{api}/x", h => h.Connection.ClientCertificate = certificate), c => refusal = c.State.Refusal);
        return (http.Response.StatusCode, PipelineHarness.ReadBody(http), refusal);
    }

    private static string Utc(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    [Fact]
    public async Task NotBefore_AloneRefusesOnlyACertificateNotYetValid()
    {
        var refused = await SendAsync("not-before-only", _notYet);
        Assert.Equal(403, refused.Status);
        Assert.Equal(ClientCertificateRefusal.NotYetValid, refused.Refusal);
        Assert.Contains("it is not valid before " + Utc(_notYet.NotBefore), refused.Body, StringComparison.Ordinal);

        Assert.Equal(200, (await SendAsync("not-before-only", _expired)).Status);
        Assert.Equal(200, (await SendAsync("not-before-only", _valid)).Status);
    }

    [Fact]
    public async Task NotAfter_AloneRefusesOnlyAnExpiredCertificate()
    {
        var refused = await SendAsync("not-after-only", _expired);
        Assert.Equal(403, refused.Status);
        Assert.Equal(ClientCertificateRefusal.Expired, refused.Refusal);
        Assert.Contains("it expired on " + Utc(_expired.NotAfter), refused.Body, StringComparison.Ordinal);

        Assert.Equal(200, (await SendAsync("not-after-only", _notYet)).Status);
        Assert.Equal(200, (await SendAsync("not-after-only", _valid)).Status);
    }

    [Fact]
    public async Task WithoutDateChecks_ATrustedCertificateOutsideItsValidityPasses_TrustIgnoresTime()
    {
        Assert.Equal(200, (await SendAsync("dates-off", _expired)).Status);
        Assert.Equal(200, (await SendAsync("dates-off", _notYet)).Status);
        var foreign = await SendAsync("dates-off", _foreign);
        Assert.Equal(403, foreign.Status);
        Assert.Equal(ClientCertificateRefusal.Untrusted, foreign.Refusal);
    }

    [Fact]
    public async Task Trust_AloneRefusesOnlyACertificateThatDoesNotChain()
    {
        var refused = await SendAsync("trust-only", _foreign);
        Assert.Equal(403, refused.Status);
        Assert.Equal(ClientCertificateRefusal.Untrusted, refused.Refusal);
        Assert.Contains("it does not chain to an uploaded CA certificate or a trusted root (", refused.Body, StringComparison.Ordinal);

        Assert.Equal(200, (await SendAsync("trust-only", _valid)).Status);
        Assert.Equal(200, (await SendAsync("trust-off", _foreign)).Status);
        var missing = await SendAsync("trust-off", null);
        Assert.Equal(403, missing.Status);
        Assert.Equal(ClientCertificateRefusal.Missing, missing.Refusal);
    }

    [Fact]
    public async Task Revocation_AloneIsStillChecked_AndAnUnknownStatusRefuses()
    {
        // The test CA publishes no CRL and no OCSP responder: the status cannot be known, so the request is refused.
        var refused = await SendAsync("revocation-only", _valid);
        Assert.Equal(403, refused.Status);
        Assert.Equal(ClientCertificateRefusal.RevocationUnknown, refused.Refusal);
        Assert.Contains("its revocation status could not be checked (", refused.Body, StringComparison.Ordinal);
        Assert.Contains("set validate-revocation=", refused.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithEveryCheckOff_AnyCertificatePasses_ButOneIsStillNeeded()
    {
        foreach (var certificate in new[] { _valid, _expired, _notYet, _foreign })
        {
            var answer = await SendAsync("nothing", certificate);
            Assert.Equal(200, answer.Status);
            Assert.Null(answer.Refusal);
        }
        var none = await SendAsync("nothing", null);
        Assert.Equal(403, none.Status);
        Assert.Contains("none was presented", none.Body, StringComparison.Ordinal);
        Assert.Equal(ClientCertificateRefusal.Missing, none.Refusal);
    }

    [Fact]
    public async Task Identities_OneIsEnough_AndTheRefusalSaysHowManyThereWere()
    {
        Assert.Equal(200, (await SendAsync("one-identity", _valid)).Status);
        Assert.Equal(200, (await SendAsync("two-identities", _valid)).Status);
        using var stranger = _harness.Gateway.Client("CN=stranger, O=Contoso");

        var one = await SendAsync("one-identity", stranger);
        Assert.Equal(403, one.Status);
        Assert.Equal(ClientCertificateRefusal.IdentityMismatch, one.Refusal);
        Assert.Contains("it does not match the identity of the policy", one.Body, StringComparison.Ordinal);
        var two = await SendAsync("two-identities", stranger);
        Assert.Contains("it matches none of the 2 identities of the policy", two.Body, StringComparison.Ordinal);
    }
}
