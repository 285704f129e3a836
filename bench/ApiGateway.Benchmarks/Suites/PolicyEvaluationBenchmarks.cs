using System.Security.Cryptography.X509Certificates;
using ApiGateway.Benchmarks.Tools;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Context;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Runtime;
using ApiGateway.Host.Tls;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Forwarder;

namespace ApiGateway.Benchmarks.Suites;

/// <summary>
/// The per-request cost of the client-certificate policies: for each of the four policies of APIM's page "How to
/// secure APIs using client certificate authentication" (verbatim) and validate-client-certificate with 10
/// identities, what the gateway does for one request of an accepted client on a kept-alive connection: take a
/// pooled context, begin it, run the API's composed inbound steps (compiled expressions, the real snapshot built by
/// the host from a configuration written through the Core operations, a real X509Certificate2 from the handshake
/// state and the real deployment-certificate dictionary), end it and return it to the pool.
/// Target: ≤ 100 ns and no allocation per request.
/// <para>
/// <see cref="Request"/> and <see cref="PolicyOnly"/> are a warm kept-alive connection: the connection's answers
/// (the certificate's facts, which identity of validate-client-certificate matched, the verification) are cached on
/// the connection after its first request. <see cref="FirstRequest"/> is the first request on a new connection, where
/// nothing is cached and every identity is matched; it includes the handshake's validation callback (the chain itself
/// is built once, as SslStream would have built it), whose cost alone HandshakeBenchmarks gives.
/// </para>
/// <para>
/// <see cref="Budget"/> false compiles the same policies without the expression budget's instrumentation (the
/// gateway never does that): the difference is what the budget costs. The four published policies and
/// validate-client-certificate contain no loop, lambda or size argument the budget counts, so they are compiled
/// identically either way; "allow-list" (a lambda over ten thumbprints) and "loop" (a foreach over them) are
/// instrumented. Target for the budget: at most 5 % or 20 ns per evaluation, whichever is larger, and no allocation.
/// </para>
/// </summary>
[Config(typeof(BudgetCostConfig))]
public class PolicyEvaluationBenchmarks
{
    private const string Subject = "CN=expected-subject-name, O=Contoso";

    private BenchFolder _folder = null!;
    private GatewaySnapshot _snapshot = null!;
    private ConnectionTls _tls = null!;
    private DefaultHttpContext _http = null!;
    private ApiRoute _route = null!;
    private int _consumed;
    private PolicyContext _begun = null!;
    private X509Certificate2 _presented = null!;
    private X509Chain _chain = null!;

    /// <summary>The API (one per policy; "none": no inbound policy, the cost of the request context alone) the request goes to.</summary>
    [Params("none", "expiry", "issuer-subject", "thumbprint", "uploaded", "validate-10", "allow-list", "loop")]
    public string Policy { get; set; } = "expiry";

    /// <summary>Whether expressions are compiled with the budget's instrumentation (the gateway always does).</summary>
    [Params(true, false)]
    public bool Budget { get; set; } = true;

    [GlobalSetup]
    public void Setup()
    {
        _folder = new BenchFolder("policy");
        using var ca = TestCertificates.CreateCa("CN=Bench CA, O=Contoso");
        var client = TestCertificates.Create(Subject, ca, clientAuth: true);
        var service = new GatewayService(_folder.File("gateway.json"));
        service.Open("bench");
        service.AddCaCertificate("ca", CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(ca.RawData)));
        // A realistic deployment dictionary: nine other partners, then the client (so Any() walks most of it).
        for (var i = 0; i < 9; i++)
        {
            using var other = TestCertificates.Create($"CN=partner-{i}, O=Contoso", ca, clientAuth: true);
            service.AddCertificate($"partner-{i}", CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(other.RawData)));
        }
        service.AddCertificate("partner-z", CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(client.RawData)));
        service.NewBackend(new BackendDefinition { BackendId = "echo", Url = "https://127.0.0.1:9/", SkipCertificateChainValidation = true });

        AddApi(service, "none", string.Empty);
        AddApi(service, "expiry", """
            <choose>
                <when condition="@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)" >
                    <return-response>
                        <set-status code="403" reason="Invalid client certificate" />
                    </return-response>
                </when>
            </choose>
            """);
        AddApi(service, "issuer-subject", """
            <choose>
                <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Issuer != "CN=Bench CA, O=Contoso" || context.Request.Certificate.SubjectName.Name != "CN=expected-subject-name, O=Contoso")" >
                    <return-response>
                        <set-status code="403" reason="Invalid client certificate" />
                    </return-response>
                </when>
            </choose>
            """);
        AddApi(service, "thumbprint", $$"""
            <choose>
                <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != "{{client.Thumbprint}}")" >
                    <return-response>
                        <set-status code="403" reason="Invalid client certificate" />
                    </return-response>
                </when>
            </choose>
            """);
        AddApi(service, "uploaded", """
            <choose>
                <when condition="@(context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))" >
                    <return-response>
                        <set-status code="403" reason="Invalid client certificate" />
                    </return-response>
                </when>
            </choose>
            """);
        // Ten identities; the client matches the last one, so every identity is compared.
        var identities = string.Concat(Enumerable.Range(0, 9).Select(i => $"\n        <identity subject=\"CN=partner-{i}, O=Contoso\" issuer-subject=\"CN=Bench CA, O=Contoso\" />"))
            + $"\n        <identity thumbprint=\"{client.Thumbprint}\" />";
        AddApi(service, "validate-10", $"""
            <validate-client-certificate validate-revocation="false" validate-trust="true" validate-not-before="true" validate-not-after="true" ignore-error="false">
                <identities>{identities}
                </identities>
            </validate-client-certificate>
            """);

        // Ten allowed thumbprints, the client's last: an allow-list as an operator writes it with a lambda, and with a loop.
        var allowed = string.Join(", ", Enumerable.Range(0, 9).Select(i => $"\"{Convert.ToHexString(BitConverter.GetBytes((long)i)).PadLeft(40, '0')}\"").Append($"\"{client.Thumbprint}\""));
        AddApi(service, "allow-list", $$"""
            <choose>
                <when condition="@(context.Request.Certificate == null || !new[] { {{allowed}} }.Any(t => t == context.Request.Certificate.Thumbprint))" >
                    <return-response>
                        <set-status code="403" reason="Invalid client certificate" />
                    </return-response>
                </when>
            </choose>
            """);
        AddApi(service, "loop", $$"""
            <choose>
                <when condition="@{ var certificate = context.Request.Certificate; if (certificate == null) { return true; } foreach (var t in new[] { {{allowed}} }) { if (t == certificate.Thumbprint) { return false; } } return true; }" >
                    <return-response>
                        <set-status code="403" reason="Invalid client certificate" />
                    </return-response>
                </when>
            </choose>
            """);

        var build = SnapshotBuilder.Build(service.ConfigurationPath, CreateServices(), new Host.Expressions.ExpressionCache(Budget));
        _snapshot = build.Snapshot ?? throw new InvalidOperationException(string.Join(Environment.NewLine, build.Errors));

        // The connection's TLS state as the handshake leaves it: the client certificate and the chain SslStream built
        // against the uploaded CA (the same policy the listener gives SslStream).
        var presented = X509CertificateLoader.LoadCertificate(client.RawData);
        _presented = presented;
        _chain = new X509Chain { ChainPolicy = _snapshot.ClientTrust.CreateHandshakePolicy() };
        _chain.Build(presented);
        _tls = NewConnection();

        _http = new DefaultHttpContext();
        _http.Request.Method = "GET";
        _http.Request.Scheme = "https";
        _http.Request.Host = new HostString("localhost", 8443);
        _http.Request.Path = "/" + Policy + "/orders/1";
        if (!_snapshot.Routes.TryMatch(_http.Request.Path.Value!, out _route, out _consumed))
            throw new InvalidOperationException("No route for " + Policy);
        if (Request() != (int)Flow.Continue)
            throw new InvalidOperationException($"Policy '{Policy}' refused the client it should accept.");
        _begun = new PolicyContext();
        _begun.Begin(_http, _snapshot, _route, _consumed, _tls);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _chain.Dispose();
        _snapshot.Retire();
        _folder.Dispose();
    }

    /// <summary>One accepted request's inbound policy, as <c>GatewayRequestHandler</c> and <c>PolicyPipeline</c> run it.</summary>
    [Benchmark(Baseline = true)]
    [Target(100)]
    public int Request() => Request(_tls);

    /// <summary>
    /// The first request on a new connection: the connection's TLS state as the handshake's callback leaves it, then
    /// the request, with nothing cached on the connection yet.
    /// </summary>
    [Benchmark]
    public int FirstRequest() => Request(NewConnection());

    private int Request(ConnectionTls tls)
    {
        var pool = _snapshot.Services.Contexts;
        var context = pool.Get();
        context.Begin(_http, _snapshot, _route, _consumed, tls);
        var flow = StepRunner.Run(_route.Pipeline.Inbound, context);
        context.End();
        pool.Return(context);
        return (int)flow;
    }

    private ConnectionTls NewConnection()
    {
        var tls = new ConnectionTls(ClientCertificateNegotiation.Require, _snapshot.ClientTrust, "localhost");
        if (!tls.Validate(this, _presented, _chain, System.Net.Security.SslPolicyErrors.None))
            throw new InvalidOperationException("The handshake would refuse the client: " + tls.RejectReason);
        return tls;
    }

    /// <summary>
    /// The policy alone: the API's inbound steps on a context begun once (what <see cref="Request"/> costs less the
    /// request context's own start and end).
    /// </summary>
    [Benchmark]
    public int PolicyOnly() => (int)StepRunner.Run(_route.Pipeline.Inbound, _begun);

    private static void AddApi(GatewayService service, string id, string inbound)
    {
        service.NewApi(new ApiDefinition { ApiId = id, DisplayName = id, Path = id, BackendId = "echo" });
        service.SetPolicy(id, PolicyTemplates.Inheriting(inbound: inbound));
    }

    internal static GatewayServices CreateServices()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHttpForwarder();
        var provider = services.BuildServiceProvider();
        return new GatewayServices(NullLoggerFactory.Instance, provider.GetRequiredService<IHttpForwarder>(), TimeSpan.Zero);
    }
}
