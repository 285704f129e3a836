using System.Collections.Immutable;
using System.Security.Cryptography;
using ApiGateway.Benchmarks.Tools;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Runtime;
using BenchmarkDotNet.Attributes;

namespace ApiGateway.Benchmarks.Suites;

/// <summary>
/// Loading a configuration of 10, 100 and 1,000 APIs, each with a policy of its own (a thumbprint condition with
/// its own value, a set-header with an expression, a set-variable): read, validate, load certificates, parse and
/// compose policies, compile expressions, build routes and targets — what the host does on start and on every reload.
/// <list type="bullet">
/// <item><c>CompileAll</c>: a fresh expression cache, so every expression of every API is compiled (Roslyn itself is
/// warm: its start-up is paid once per process by the warm-up iterations, as by the first load of a gateway);</item>
/// <item><c>Reload</c>: the host's cache from the previous load, as for a change that leaves the expressions alone
/// (a certificate rotation, a new backend);</item>
/// <item><c>ReloadOneApiChanged</c>: one API's policy has a new expression: one compilation of one expression;</item>
/// <item><c>CompileAllDistinct</c>: as <c>CompileAll</c>, but every API's condition also differs in its code, not only in
/// its strings (a number of days of its own), so no two APIs share a compiled method: the worst case. In
/// <c>CompileAll</c> the APIs' expressions differ only in their string literals (a thumbprint, an API name), which the
/// compiler turns into slots of one shared method per shape.</item>
/// </list>
/// Target: ≤ 500 ms for a reload at 1,000 APIs.
/// </summary>
[Config(typeof(SlowJobConfig))]
public class ReloadBenchmarks
{
    private BenchFolder _folder = null!;
    private GatewayServices _services = null!;
    private ExpressionCache _warm = null!;
    private string _path = null!;
    private string _distinctPath = null!;
    private GatewayService _service = null!;
    private int _change;

    [Params(10, 100, 1000)]
    public int Apis { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _folder = new BenchFolder("reload");
        _path = _folder.File("gateway.json");
        _service = CreateConfiguration(_path, distinct: false);
        _distinctPath = _folder.File("distinct/gateway.json");
        Directory.CreateDirectory(Path.GetDirectoryName(_distinctPath)!);
        CreateConfiguration(_distinctPath, distinct: true);
        _services = PolicyEvaluationBenchmarks.CreateServices();
        _warm = new ExpressionCache();
        Build(_warm);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _services.Dispose();
        _folder.Dispose();
    }

    [Benchmark]
    [Target(500_000_000, Where = "Apis=1000")]
    public int CompileAll() => Build(new ExpressionCache());

    [Benchmark]
    [Target(500_000_000, Where = "Apis=1000")]
    public int CompileAllDistinct() => Build(new ExpressionCache(), _distinctPath);

    [Benchmark]
    [Target(500_000_000, Where = "Apis=1000")]
    public int Reload() => Build(_warm);

    [IterationSetup(Target = nameof(ReloadOneApiChanged))]
    public void ChangeOneApi()
    {
        _change++;
        _service.SetPolicy("api-0000", PolicyFor("api-0000", "C" + _change.ToString("D39", System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Benchmark]
    [Target(500_000_000, Where = "Apis=1000")]
    public int ReloadOneApiChanged() => Build(_warm);

    private GatewayService CreateConfiguration(string path, bool distinct)
    {
        var service = new GatewayService(path);
        service.Open("bench");
        using var ca = TestCertificates.CreateCa("CN=Bench CA, O=Contoso");
        using var server = TestCertificates.Create("CN=localhost", ca, serverAuth: true, dnsNames: ["localhost"]);
        service.AddCertificate("server", CertificateInput.FromPfxBytes(TestCertificates.Pfx(server)));
        service.AddCaCertificate("ca", CertificateInput.FromCertificate(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(ca.RawData)));
        service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = 18443, ListenAddress = "127.0.0.1", CertificateId = "server", NegotiateClientCertificate = true });
        service.NewBackend(new BackendDefinition { BackendId = "orders", Url = "https://127.0.0.1:9/", SkipCertificateChainValidation = true });
        // All APIs in one locked change (a Core operation like the rest); NewApi + SetPolicy per API would only make
        // the setup slower, not the measured load.
        var apis = ImmutableSortedDictionary.CreateBuilder<string, ApiEntry>(Ids.Comparer);
        for (var i = 0; i < Apis; i++)
        {
            var id = "api-" + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture);
            apis[id] = new ApiEntry { DisplayName = id, Path = id, BackendId = "orders", Policy = PolicyFor(id, Convert.ToHexString(RandomNumberGenerator.GetBytes(20)), distinct ? i + 1 : 0) };
        }
        service.Store.Update(c => c with { Apis = apis.ToImmutable() });
        return service;
    }

    private int Build(ExpressionCache cache, string? path = null)
    {
        var result = SnapshotBuilder.Build(path ?? _path, _services, cache);
        var snapshot = result.Snapshot ?? throw new InvalidOperationException(string.Join(Environment.NewLine, result.Errors));
        // As the host does on activation: the cache keeps what the serving revision uses.
        cache.Retain(snapshot.ExpressionKeys);
        snapshot.Retire();
        return snapshot.Routes.Routes.Count;
    }

    private static string PolicyFor(string id, string thumbprint, int days = 0) => PolicyTemplates.Inheriting(inbound: $"""
        <choose>
          <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != "{thumbprint}"{(days > 0 ? $" || context.Request.Certificate.NotAfter < DateTime.Now.AddDays({days})" : "")})">
            <return-response>
              <set-status code="403" reason="Invalid client certificate" />
            </return-response>
          </when>
        </choose>
        <set-variable name="caller" value="@(context.Request.Certificate.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, false))" />
        <set-header name="X-Api" exists-action="override">
          <value>@(context.Api.Name + "/{id}")</value>
        </set-header>
        """);
}
