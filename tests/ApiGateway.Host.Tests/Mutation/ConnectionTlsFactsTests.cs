using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The identity facts of a connection's client certificate are "computed once per connection" (ConnectionTls.Facts):
/// the connection keeps its own, so they stay the same object for every request on it even when the trust set's
/// shared cache (bounded by ClientTrust.FactsCapacity) starts again because other certificates filled it.
/// </summary>
public sealed class ConnectionTlsFactsTests : IDisposable
{
    private readonly X509Certificate2 _root = TestCertificates.CreateCa("CN=Facts Root");
    private readonly X509Certificate2 _leaf;
    private readonly ClientTrust _trust;

    public ConnectionTlsFactsTests()
    {
        _leaf = TestCertificates.Create("CN=client, O=Contoso", _root, clientAuth: true);
        _trust = new ClientTrust([X509CertificateLoader.LoadCertificate(_root.RawData)], []);
    }

    public void Dispose()
    {
        _leaf.Dispose();
        _root.Dispose();
    }

    [Fact]
    public void Facts_AreTheConnectionsOwn_WhenTheTrustSetsCacheStartsAgain()
    {
        var tls = new ConnectionTls(ClientCertificateNegotiation.Negotiate, _trust, "api.contoso.example");
        using var chain = new X509Chain { ChainPolicy = _trust.CreateHandshakePolicy() };
        chain.Build(_leaf);
        Assert.True(tls.Validate(this, _leaf, chain, SslPolicyErrors.None));
        var facts = tls.Facts;
        Assert.Equal(_root.Thumbprint, facts.IssuerThumbprint);

        // Other entries fill the shared cache to its capacity: the next new one starts it again.
        for (var i = 0; i < ClientTrust.FactsCapacity; i++)
            _trust.FactsOf(_leaf, "filler-" + i);
        Assert.NotSame(facts, _trust.FactsOf(_leaf, _root.Thumbprint)); // the trust set forgot them

        Assert.Same(facts, tls.Facts); // the connection did not
    }
}
