using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// A chain that stops short of a root cannot have its certificate's revocation checked (RFC 5280 6.3 needs the
/// issuer's CRL, and the issuer is unknown), but .NET on Linux reports no revocation flag for it: the gateway reads
/// that as "unknown", so validate-revocation="true" with validate-trust="false" refuses a certificate of an unknown
/// issuer instead of passing it as not revoked.
/// </summary>
public sealed class PartialChainRevocationTests : IAsyncLifetime
{
    private const string Policy = """
        <policies>
          <inbound><validate-client-certificate validate-revocation="true" validate-trust="false" validate-not-before="true" validate-not-after="true" /></inbound>
          <backend><return-response><set-status code="200" reason="OK" /></return-response></backend>
          <outbound /><on-error />
        </policies>
        """;

    private readonly PipelineHarness _harness = PipelineHarness.Create();
    private readonly X509Certificate2 _strangerCa = TestCertificates.CreateCa($"CN=Stranger CA {Guid.NewGuid():N}");
    private X509Certificate2 _stranger = null!;

    public Task InitializeAsync()
    {
        // Issued by a CA the gateway has never seen, with no CRL distribution point and no issuer URL: the chain ends
        // at the certificate itself.
        _stranger = TestCertificates.Create("CN=stranger, O=Elsewhere", _strangerCa, clientAuth: true);
        _harness.AddApi("partial", Policy);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _stranger.Dispose();
        _strangerCa.Dispose();
        await _harness.DisposeAsync();
    }

    [Theory]
    [InlineData(X509ChainStatusFlags.PartialChain, X509ChainStatusFlags.RevocationStatusUnknown)]
    [InlineData(X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.Revoked, X509ChainStatusFlags.Revoked)]
    [InlineData(X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.RevocationStatusUnknown, X509ChainStatusFlags.RevocationStatusUnknown)]
    [InlineData(X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.OfflineRevocation, X509ChainStatusFlags.OfflineRevocation | X509ChainStatusFlags.RevocationStatusUnknown)]
    [InlineData(X509ChainStatusFlags.NoError, X509ChainStatusFlags.NoError)]
    [InlineData(X509ChainStatusFlags.UntrustedRoot, X509ChainStatusFlags.NoError)] // a complete chain: its CRLs answered
    [InlineData(X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.Revoked, X509ChainStatusFlags.Revoked)]
    public void TheRevocationAnswerOfAChain_IsUnknownWhenTheChainStopsShortOfARoot(X509ChainStatusFlags chain, X509ChainStatusFlags expected) =>
        Assert.Equal(expected, CertificateVerification.RevocationOf(chain));

    [Fact]
    public async Task ACertificateOfAnUnknownIssuer_IsRefusedAsRevocationUnknown_EvenWithoutTrustValidation()
    {
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/partial/x", h => h.Connection.ClientCertificate = _stranger));

        Assert.Equal(403, http.Response.StatusCode);
    }
}
