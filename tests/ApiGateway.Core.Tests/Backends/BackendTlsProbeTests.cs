using System.Diagnostics;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Backends;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Backends;

/// <summary>
/// Test-GatewayBackendTls's probe against real TLS servers on 127.0.0.1 (SslStream, certificates made here), in TLS
/// 1.2 and 1.3: the server-certificate verdict under the backend's switches (RFC 5280 chains to a system root, RFC
/// 6125 names), the client certificate asked for, presented, refused or accepted, and bounded failures.
/// </summary>
public sealed class BackendTlsProbeTests
{
    public static TheoryData<SslProtocols> Versions => new() { SslProtocols.Tls12, SslProtocols.Tls13 };

    private static X509Certificate2 SelfSigned(string name = "127.0.0.1") =>
        TestCertificates.Create("CN=" + name, serverAuth: true, dnsNames: [name]);

    private static BackendTlsProbeRequest Probe(string url, bool validateChain = true, bool validateName = true, TimeSpan? timeout = null, params ProbeCertificate[] certificates) => new()
    {
        BackendId = "orders",
        Url = url,
        ValidateChain = validateChain,
        ValidateName = validateName,
        Certificates = certificates,
        Timeout = timeout ?? TimeSpan.FromSeconds(10),
    };

    private static ProbeCertificate Credential(X509Certificate2 certificate, string id = "to-backend") => new(id, certificate, []);

    private static string Describe(GatewayBackendTlsResult r) =>
        $"Succeeded={r.Succeeded} Connected={r.Connected} Error={r.Error} Requested={r.ClientCertificateRequested} Accepted={r.ClientCertificateAccepted} Advice={string.Join(" | ", r.Advice)}";

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task TrustedChain_AndMatchingName_Succeeds(SslProtocols version)
    {
        using var root = TestCertificates.CreateCa("CN=Probe Test Root " + Guid.NewGuid().ToString("N"));
        using var trust = new TrustedRoot(root);
        using var certificate = TestCertificates.Create("CN=127.0.0.1", root, serverAuth: true, dnsNames: ["127.0.0.1"]);
        await using var server = TlsTestServer.Start(certificate, version);

        var result = await BackendTlsProbe.RunAsync(Probe(server.Url));

        Assert.True(result.Succeeded, Describe(result));
        Assert.Equal(version, result.Protocol);
        Assert.False(result.ChainErrors);
        Assert.Equal(X509ChainStatusFlags.NoError, result.ChainStatus);
        Assert.False(result.NameErrors);
        Assert.True(result.ServerCertificateAccepted);
        Assert.Equal(certificate.Thumbprint, result.ServerCertificate!.Thumbprint);
        Assert.Equal(200, result.HttpStatus);
        Assert.False(result.ClientCertificateRequested);
        Assert.Null(result.ClientCertificateAccepted);
        Assert.NotNull(result.CipherSuite);
        Assert.Empty(result.Advice);
        Assert.Null(result.Error);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task SelfSigned_IsAChainError_WhoseAdviceNamesTheSkipSwitch_AndWithTheSwitchItSucceeds(SslProtocols version)
    {
        using var certificate = SelfSigned();
        await using var server = TlsTestServer.Start(certificate, version);

        var strict = await BackendTlsProbe.RunAsync(Probe(server.Url));
        var lenient = await BackendTlsProbe.RunAsync(Probe(server.Url, validateChain: false));

        Assert.False(strict.Succeeded);
        Assert.True(strict.Connected);
        Assert.True(strict.ChainErrors);
        Assert.True(strict.ChainStatus.HasFlag(X509ChainStatusFlags.UntrustedRoot), strict.ChainStatus.ToString());
        Assert.False(strict.NameErrors);
        Assert.False(strict.ServerCertificateAccepted);
        Assert.Contains("500 BackendCertificateInvalid", strict.Error, StringComparison.Ordinal);
        Assert.Contains(strict.Advice, a => a.Contains("Set-GatewayBackend -BackendId orders -SkipCertificateChainValidation", StringComparison.Ordinal));
        Assert.DoesNotContain(strict.Advice, a => a.Contains("-SkipCertificateNameValidation", StringComparison.Ordinal));

        Assert.True(lenient.Succeeded, Describe(lenient));
        Assert.True(lenient.ChainErrors, "the error is still reported; the switch only stops it from counting");
        Assert.True(lenient.ServerCertificateAccepted);
        Assert.True(lenient.SkipCertificateChainValidation);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task WrongName_IsANameError_WhoseAdviceNamesTheCertificatesNamesAndTheSkipSwitch(SslProtocols version)
    {
        using var certificate = TestCertificates.Create("CN=elsewhere", serverAuth: true, dnsNames: ["elsewhere.example"]);
        await using var server = TlsTestServer.Start(certificate, version);

        var strict = await BackendTlsProbe.RunAsync(Probe(server.Url, validateChain: false));
        var lenient = await BackendTlsProbe.RunAsync(Probe(server.Url, validateChain: false, validateName: false));

        Assert.False(strict.Succeeded);
        Assert.True(strict.NameErrors);
        Assert.Equal(["elsewhere.example"], strict.ServerCertificateNames);
        var advice = Assert.Single(strict.Advice, a => a.Contains("-SkipCertificateNameValidation", StringComparison.Ordinal));
        Assert.Contains("elsewhere.example", advice, StringComparison.Ordinal);
        Assert.Contains("'127.0.0.1'", advice, StringComparison.Ordinal);
        Assert.Contains("RemoteCertificateNameMismatch", strict.Error, StringComparison.Ordinal);
        Assert.True(lenient.Succeeded, Describe(lenient));
    }

    [Fact]
    public async Task AnUnneededSkipSwitch_IsPointedOut()
    {
        using var certificate = SelfSigned();
        await using var server = TlsTestServer.Start(certificate);

        var result = await BackendTlsProbe.RunAsync(Probe(server.Url, validateChain: false, validateName: false));

        Assert.True(result.Succeeded, Describe(result));
        Assert.Contains(result.Advice, a => a.Contains("SkipCertificateNameValidation is not needed", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Advice, a => a.Contains("SkipCertificateChainValidation is not needed", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task BackendRequiringAClientCertificate_WhenTheGatewayHasNone_SaysHowToGiveItOne(SslProtocols version)
    {
        using var certificate = SelfSigned();
        await using var server = TlsTestServer.Start(certificate, version, ClientCertificateDemand.Required, "00");

        var result = await BackendTlsProbe.RunAsync(Probe(server.Url, validateChain: false));

        Assert.False(result.Succeeded);
        Assert.True(result.ClientCertificateRequested, Describe(result));
        Assert.False(result.ClientCertificatePresented);
        Assert.False(result.ClientCertificateAccepted);
        Assert.Null(result.HttpStatus);
        Assert.True(result.ServerCertificateAccepted);
        Assert.Contains("asked for a client certificate, got none", result.Error, StringComparison.Ordinal);
        Assert.Contains(result.Advice, a => a.Contains("-Credential (New-GatewayBackendCredential -CertificateId <id>)", StringComparison.Ordinal)
            && a.Contains("Set-ApiGatewayCredential", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task BackendRefusingTheGatewaysCertificate_IsReportedWithItsIssuer(SslProtocols version)
    {
        using var certificate = SelfSigned();
        using var untrusted = TestCertificates.Create("CN=gateway-client", TestCertificates.CreateCa("CN=Unknown Issuer"), clientAuth: true);
        await using var server = TlsTestServer.Start(certificate, version, ClientCertificateDemand.Required, "00");

        var result = await BackendTlsProbe.RunAsync(Probe(server.Url, validateChain: false, certificates: Credential(untrusted)));

        Assert.False(result.Succeeded);
        Assert.True(result.ClientCertificateRequested, Describe(result));
        Assert.True(result.ClientCertificatePresented);
        Assert.Equal("to-backend", result.ClientCertificateId);
        Assert.Equal(untrusted.Thumbprint, result.ClientCertificate!.Thumbprint);
        Assert.False(result.ClientCertificateAccepted);
        Assert.Contains(untrusted.Thumbprint, server.ClientCertificatesSeen);
        Assert.Contains("refused the client certificate 'CN=gateway-client'", result.Error, StringComparison.Ordinal);
        Assert.Contains(result.Advice, a => a.Contains("'to-backend'", StringComparison.Ordinal) && a.Contains("CN=Unknown Issuer", StringComparison.Ordinal)
            && a.Contains("-CertificateId <id>", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task BackendAcceptingTheGatewaysCertificate_Succeeds(SslProtocols version)
    {
        using var certificate = SelfSigned();
        using var client = TestCertificates.Create("CN=gateway-client", clientAuth: true);
        await using var server = TlsTestServer.Start(certificate, version, ClientCertificateDemand.Required, client.Thumbprint);

        var result = await BackendTlsProbe.RunAsync(Probe(server.Url, validateChain: false, certificates: Credential(client)));

        Assert.True(result.Succeeded, Describe(result));
        Assert.True(result.ClientCertificateRequested);
        Assert.True(result.ClientCertificatePresented);
        Assert.True(result.ClientCertificateAccepted);
        Assert.Equal(200, result.HttpStatus);
    }

    [Fact]
    public async Task ACertificateTheBackendDoesNotAskFor_IsPointedOut()
    {
        using var certificate = SelfSigned();
        using var client = TestCertificates.Create("CN=gateway-client", clientAuth: true);
        await using var server = TlsTestServer.Start(certificate);

        var result = await BackendTlsProbe.RunAsync(Probe(server.Url, validateChain: false, certificates: Credential(client)));

        Assert.True(result.Succeeded, Describe(result));
        Assert.False(result.ClientCertificateRequested);
        Assert.False(result.ClientCertificatePresented);
        Assert.Null(result.ClientCertificateAccepted);
        Assert.Contains(result.Advice, a => a.Contains("did not ask for a client certificate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnOptionalClientCertificateRequest_IsAnsweredWithoutOne()
    {
        using var certificate = SelfSigned();
        await using var server = TlsTestServer.Start(certificate, demand: ClientCertificateDemand.Optional);

        var result = await BackendTlsProbe.RunAsync(Probe(server.Url, validateChain: false));

        Assert.True(result.Succeeded, Describe(result));
        Assert.True(result.ClientCertificateRequested);
        Assert.False(result.ClientCertificatePresented);
        Assert.True(result.ClientCertificateAccepted);
    }

    [Fact]
    public async Task RefusedConnection_IsAClearError_NamingTheEndpointAndTheUrlFix()
    {
        var port = TlsTestServer.ClosedPort();

        var result = await BackendTlsProbe.RunAsync(Probe($"https://127.0.0.1:{port}/api"));

        Assert.False(result.Succeeded);
        Assert.False(result.Connected);
        Assert.Contains($"127.0.0.1:{port}", result.Error, StringComparison.Ordinal);
        Assert.Contains("connection refused", result.Error, StringComparison.Ordinal);
        Assert.Contains(result.Advice, a => a.Contains("Set-GatewayBackend -BackendId orders -Url <url>", StringComparison.Ordinal));
        Assert.Null(result.ClientCertificateRequested);
    }

    [Fact]
    public async Task ASilentPort_TimesOutWithinTheBound()
    {
        await using var server = TlsTestServer.StartSilent();
        var clock = Stopwatch.StartNew();

        var result = await BackendTlsProbe.RunAsync(Probe(server.Url, timeout: TimeSpan.FromSeconds(1)));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.False(result.Succeeded);
        Assert.False(result.Connected);
        Assert.Contains("handshake", result.Error, StringComparison.Ordinal);
        Assert.Contains("within 1 s", result.Error, StringComparison.Ordinal);
        Assert.Contains(result.Advice, a => a.Contains("-TimeoutSec", StringComparison.Ordinal));
    }

    [Fact]
    public async Task APlainHttpPort_IsRecognised_AndTheAdviceIsAnHttpUrl()
    {
        await using var server = TlsTestServer.StartPlainHttp();

        var result = await BackendTlsProbe.RunAsync(Probe(server.Url + "api"));

        Assert.False(result.Succeeded);
        Assert.False(result.Connected);
        Assert.Contains("does not speak TLS", result.Error, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 400", result.Error, StringComparison.Ordinal);
        Assert.Contains(result.Advice, a => a.Contains($"-Url http://127.0.0.1:{server.Port}/api", StringComparison.Ordinal));
    }

    [Fact]
    public void Rules_ChainAndNameSwitchesAreIndependent_AndAMissingCertificateAlwaysCounts()
    {
        const SslPolicyErrors all = SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable;

        Assert.Equal(all, BackendTlsRules.Remaining(all, validateChain: true, validateName: true));
        Assert.Equal(SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable, BackendTlsRules.Remaining(all, validateChain: false, validateName: true));
        Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNotAvailable, BackendTlsRules.Remaining(all, validateChain: true, validateName: false));
        Assert.Equal(SslPolicyErrors.RemoteCertificateNotAvailable, BackendTlsRules.Remaining(all, validateChain: false, validateName: false));
    }

    [Fact]
    public void Rules_SelectTheCertificateWhoseIssuerTheBackendNames_ElseTheFirst()
    {
        using var caA = TestCertificates.CreateCa("CN=A");
        using var caB = TestCertificates.CreateCa("CN=B");
        using var fromA = TestCertificates.Create("CN=a", caA, clientAuth: true);
        using var fromB = TestCertificates.Create("CN=b", caB, clientAuth: true);
        X509Certificate2[] both = [fromA, fromB];
        static bool Same(string x, string y) => string.Equals(x, y, StringComparison.OrdinalIgnoreCase);

        Assert.Same(fromB, BackendTlsRules.SelectClientCertificate(both, ["CN=B"], Same));
        Assert.Same(fromA, BackendTlsRules.SelectClientCertificate(both, ["CN=C"], Same));
        Assert.Same(fromA, BackendTlsRules.SelectClientCertificate(both, [], Same));
        Assert.Null(BackendTlsRules.SelectClientCertificate([], ["CN=B"], Same));
    }

    /// <summary>
    /// A root in the current user's trust store for the test's duration: on Linux .NET trusts it as it does the
    /// system's roots, which is what a backend's chain must build to.
    /// </summary>
    private sealed class TrustedRoot : IDisposable
    {
        private readonly X509Certificate2 _root;

        public TrustedRoot(X509Certificate2 root)
        {
            _root = X509CertificateLoader.LoadCertificate(root.RawData);
            using var store = new X509Store(StoreName.Root, StoreLocation.CurrentUser);
            store.Open(OpenFlags.ReadWrite);
            store.Add(_root);
        }

        public void Dispose()
        {
            using var store = new X509Store(StoreName.Root, StoreLocation.CurrentUser);
            store.Open(OpenFlags.ReadWrite);
            store.Remove(_root);
            _root.Dispose();
        }
    }
}
