using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Tls;

public sealed class HandshakeDecisionTests
{
    private static readonly ClientCertificateEvidence None = new(false, X509ChainStatusFlags.NoError, false);
    private static readonly ClientCertificateEvidence Trusted = new(true, X509ChainStatusFlags.NoError, true);
    private static readonly ClientCertificateEvidence Untrusted = new(true, X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain, true);
    private static readonly ClientCertificateEvidence Expired = new(true, X509ChainStatusFlags.NotTimeValid, true);
    private static readonly ClientCertificateEvidence ServerOnly = new(true, X509ChainStatusFlags.NoError, false);

    [Theory]
    [InlineData("Off")]
    [InlineData("Negotiate")]
    public void NotStrict_AcceptsAnything(string mode)
    {
        foreach (var evidence in new[] { None, Trusted, Untrusted, Expired, ServerOnly })
            Assert.True(HandshakeDecision.Accept(Enum.Parse<ClientCertificateNegotiation>(mode), evidence, out _));
    }

    [Fact]
    public void Strict_AcceptsOnlyATrustedValidClientCertificate()
    {
        Assert.True(HandshakeDecision.Accept(ClientCertificateNegotiation.Require, Trusted, out var reason));
        Assert.Null(reason);

        Assert.False(HandshakeDecision.Accept(ClientCertificateNegotiation.Require, None, out reason));
        Assert.Contains("no certificate", reason, StringComparison.Ordinal);
        Assert.False(HandshakeDecision.Accept(ClientCertificateNegotiation.Require, Untrusted, out reason));
        Assert.Contains("does not chain to an uploaded CA", reason, StringComparison.Ordinal);
        Assert.False(HandshakeDecision.Accept(ClientCertificateNegotiation.Require, Expired, out reason));
        Assert.Contains("expired", reason, StringComparison.Ordinal);
        Assert.False(HandshakeDecision.Accept(ClientCertificateNegotiation.Require, ServerOnly, out reason));
        Assert.Contains("clientAuth", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, false, "Off")]
    [InlineData(true, false, "Negotiate")]
    [InlineData(true, true, "Require")]
    [InlineData(false, true, "Require")]
    public void Mode_FollowsTheHostnameSwitches(bool negotiate, bool require, string expected) =>
        Assert.Equal(Enum.Parse<ClientCertificateNegotiation>(expected), HandshakeDecision.ModeOf(negotiate, require));

    [Fact]
    public void ExtendedKeyUsage_DecidesClientAuthentication()
    {
        using var client = TestCertificates.Create("CN=c", clientAuth: true);
        using var server = TestCertificates.Create("CN=s", serverAuth: true);
        using var any = TestCertificates.Create("CN=a");

        Assert.True(HandshakeDecision.AllowsClientAuthentication(client));
        Assert.False(HandshakeDecision.AllowsClientAuthentication(server));
        Assert.True(HandshakeDecision.AllowsClientAuthentication(any));
        Assert.False(HandshakeDecision.Evaluate(null, X509ChainStatusFlags.NoError).Presented);
    }
}
