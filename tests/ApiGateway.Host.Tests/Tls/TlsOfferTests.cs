using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Tls;

/// <summary>
/// What the gateway offers in the handshake, probed the way testssl.sh probes: raw ClientHellos with one protocol
/// version and exactly the suites asked for (<see cref="TlsProbe"/>). One gateway serves four hostnames on one port,
/// chosen by SNI: the default (intermediate) profile with an ECDSA and with an RSA certificate, the modern profile,
/// and a custom profile that offers a CBC suite, which proves the probe sees a suite when one is offered.
/// </summary>
public sealed class TlsOfferTests : IAsyncLifetime
{
    private const string Rsa = "rsa.localhost";
    private const string Modern = "modern.localhost";
    private const string Custom = "custom.localhost";

    private static readonly TlsCipherSuite[] Tls13Suites = [TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256];

    /// <summary>Every suite .NET knows (some 340: CBC, RC4, 3DES, NULL, EXPORT, anonymous, static RSA, PSK, …), less the TLS 1.3 ones.</summary>
    private static readonly TlsCipherSuite[] AllTls12Suites = Enum.GetValues<TlsCipherSuite>().Distinct().Except(Tls13Suites).ToArray();

    private readonly TestGateway _gateway = TestGateway.Create(negotiate: false);

    public async Task InitializeAsync()
    {
        var service = _gateway.Service;
        service.AddCertificate("rsa-server", CertificateInput.FromCertificate(
            TestCertificates.Create("CN=" + Rsa, _gateway.Ca, serverAuth: true, dnsNames: [Rsa], rsa: true)));
        service.SetHostname(new HostnameDefinition { HostName = Rsa, Port = _gateway.Port, ListenAddress = "127.0.0.1", CertificateId = "rsa-server" });
        service.SetHostname(new HostnameDefinition { HostName = Modern, Port = _gateway.Port, ListenAddress = "127.0.0.1", CertificateId = "gateway-server", TlsProfile = TlsProfile.Modern });
        service.SetHostname(new HostnameDefinition
        {
            HostName = Custom, Port = _gateway.Port, ListenAddress = "127.0.0.1", CertificateId = "gateway-server",
            CipherSuites = ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_AES_128_GCM_SHA256"],
        });
        await _gateway.StartAsync();
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Theory]
    [InlineData("localhost", new[] { TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 })]
    [InlineData(Rsa, new[] { TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 })]
    public async Task Intermediate_Tls12_AcceptsExactlyTheEcdheAeadSuitesOfItsKeyType(string host, TlsCipherSuite[] expected)
    {
        // Offering every suite and removing each one accepted enumerates what the server offers: any CBC (LUCKY13),
        // static-RSA, DHE, 3DES, RC4, NULL, EXPORT or anonymous suite would show up here.
        var accepted = await TlsProbe.AcceptedSuitesAsync(_gateway.Port, host, TlsProbe.Tls12, AllTls12Suites);

        Assert.Equal(expected.OrderBy(s => s), accepted.OrderBy(s => s));
    }

    [Theory]
    [InlineData("localhost", TlsProbe.Ssl30)]
    [InlineData("localhost", TlsProbe.Tls10)]
    [InlineData("localhost", TlsProbe.Tls11)]
    [InlineData(Rsa, TlsProbe.Ssl30)]
    [InlineData(Rsa, TlsProbe.Tls10)]
    [InlineData(Rsa, TlsProbe.Tls11)]
    [InlineData(Modern, TlsProbe.Tls12)]
    public async Task ProtocolsBelowTheProfile_AreRefusedWhateverTheSuites(string host, ushort version)
    {
        var answer = await TlsProbe.HelloAsync(_gateway.Port, host, version, AllTls12Suites);

        Assert.False(answer.Accepted, $"{host} accepted protocol 0x{version:X4}: {answer}");
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData(Rsa)]
    [InlineData(Modern)]
    public async Task Tls13_IsNegotiatedWithAnAeadSuite(string host)
    {
        var (protocol, suite) = await HandshakeAsync(host, SslProtocols.Tls13);

        Assert.Equal(SslProtocols.Tls13, protocol);
        Assert.Contains(suite, Tls13Suites);
    }

    [Fact]
    public async Task Intermediate_AnOrdinaryClient_GetsTls13()
    {
        var (protocol, _) = await HandshakeAsync("localhost", SslProtocols.None);

        Assert.Equal(SslProtocols.Tls13, protocol);
    }

    [Fact]
    public async Task Custom_OffersExactlyItsSuites_SoTheProbeSeesACbcSuiteWhenOneIsOffered()
    {
        var accepted = await TlsProbe.AcceptedSuitesAsync(_gateway.Port, Custom, TlsProbe.Tls12, AllTls12Suites);

        Assert.Equal([TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA], accepted);
    }

    private async Task<(SslProtocols Protocol, TlsCipherSuite Suite)> HandshakeAsync(string host, SslProtocols protocols)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _gateway.Port);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = host,
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = (_, certificate, _, _) => TlsClient.ChainsTo(certificate, _gateway.Ca),
        });
        return (ssl.SslProtocol, ssl.NegotiatedCipherSuite);
    }
}
