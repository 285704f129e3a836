using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tls;
using BenchmarkDotNet.Attributes;

namespace ApiGateway.Benchmarks.Suites;

/// <summary>
/// What the gateway adds to a full mutual-TLS handshake beside the TLS work itself: the chain SslStream builds for the
/// client certificate with the gateway's handshake policy (uploaded CA as the only trust anchor, no revocation, no
/// downloads), and the validation callback that records the connection's client-certificate state and decides.
/// </summary>
[Config(typeof(FastJobConfig))]
public class HandshakeBenchmarks
{
    private X509Certificate2 _ca = null!;
    private X509Certificate2 _client = null!;
    private ClientTrust _trust = null!;
    private X509Chain _chain = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ca = TestCertificates.CreateCa("CN=Bench CA, O=Contoso");
        using var client = TestCertificates.Create("CN=client, O=Contoso", _ca, clientAuth: true);
        _client = X509CertificateLoader.LoadCertificate(client.RawData);
        var roots = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(_ca.RawData) };
        _trust = new ClientTrust(roots, []);
        _chain = new X509Chain { ChainPolicy = _trust.CreateHandshakePolicy() };
        if (!_chain.Build(_client))
            throw new InvalidOperationException("The client certificate does not chain to the CA.");
    }

    /// <summary>The chain SslStream builds per handshake with the policy the listener gives it.</summary>
    [Benchmark]
    public bool ChainBuild()
    {
        using var chain = new X509Chain { ChainPolicy = _trust.CreateHandshakePolicy() };
        var built = chain.Build(_client);
        foreach (var element in chain.ChainElements)
            element.Certificate.Dispose();
        return built;
    }

    /// <summary>The gateway's validation callback on that chain (strict mode): state for the requests, then the decision.</summary>
    [Benchmark]
    public bool ValidationCallback()
    {
        var tls = new ConnectionTls(ClientCertificateNegotiation.Require, _trust, "localhost");
        return tls.Validate(this, _client, _chain, SslPolicyErrors.None);
    }
}
