using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Benchmarks.Tools;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using BenchmarkDotNet.Attributes;

namespace ApiGateway.Benchmarks.Suites;

/// <summary>
/// The Core operations behind Add-, Get- and Remove-GatewayCertificate on a configuration that already holds 100,
/// 1,000 or 10,000 uploaded certificates (each with its encrypted blob in the store folder): each one a locked
/// read–validate–write of the whole file with an atomic rename, as a cmdlet runs it. Target: ≤ 200 ms at 10,000.
/// </summary>
[Config(typeof(SlowJobConfig))]
public class StoreBenchmarks
{
    private GatewayService _service = null!;
    private string _newCertificate = null!;
    private int _next;

    [Params(100, 1000, 10000)]
    public int Certificates { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_, _service, _newCertificate) = Seeded.GetOrAdd(Certificates, Seed);
    }

    // The seeded configurations live for the whole (in-process) run: BenchmarkDotNet calls GlobalSetup once per
    // benchmark, and Add and Remove leave the configuration as they found it.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, (BenchFolder, GatewayService, string)> Seeded = new();

    static StoreBenchmarks()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var (folder, _, _) in Seeded.Values)
                folder.Dispose();
        };
    }

    private static (BenchFolder, GatewayService, string) Seed(int count)
    {
        var folder = new BenchFolder("store");
        var service = new GatewayService(folder.File("gateway.json"));
        service.Open("bench");
        using var ca = TestCertificates.CreateCa("CN=Bench CA, O=Contoso");
        // Seeding 10,000 certificates one operation at a time would take most of an hour (each writes the whole
        // file), so they are stored the way AddCertificate stores them (encrypted blob, metadata entry) and the
        // entries written in one change. Blobs are written in parallel: each is flushed to disk on its own.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var entries = new CertificateEntry[count];
        void SeedOne(int i)
        {
            using var certificate = Issue(ca, key, "CN=" + Id(i) + ", O=Contoso");
            using var loaded = CertificateLoader.Load(CertificateInput.FromCertificate(certificate));
            service.CertificateStore.SaveCertificate(loaded);
            entries[i] = CertificateMetadata.ToEntry(loaded.Leaf, CertificateSource.Uploaded);
        }
        SeedOne(0); // creates the store key
        Parallel.For(1, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, SeedOne);
        var map = ImmutableSortedDictionary.CreateBuilder<string, CertificateEntry>(Ids.Comparer);
        for (var i = 0; i < count; i++)
            map[Id(i)] = entries[i];
        service.Store.Update(c => c with { Certificates = map.ToImmutable() });
        using var added = Issue(ca, key, "CN=new-partner, O=Contoso");
        var pem = folder.File("new-partner.pem");
        File.WriteAllText(pem, added.ExportCertificatePem());
        return (folder, service, pem);
    }

    private static string Id(int i) => "partner-" + i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture);

    [Benchmark]
    [Target(200_000_000, Where = "Certificates=10000")]
    public string Add() => _service.AddCertificate("new-partner", CertificateInput.FromPemFile(_newCertificate)).Value.Thumbprint;

    [IterationCleanup(Target = nameof(Add))]
    public void RemoveAdded() => _service.RemoveCertificate("new-partner");

    [Benchmark]
    [Target(200_000_000, Where = "Certificates=10000")]
    public string Get() => _service.GetCertificate(Id(_next++ % Certificates)).Thumbprint;

    [IterationSetup(Target = nameof(Remove))]
    public void AddToRemove() => _service.AddCertificate("new-partner", CertificateInput.FromPemFile(_newCertificate));

    [Benchmark]
    [Target(200_000_000, Where = "Certificates=10000")]
    public string Remove() => _service.RemoveCertificate("new-partner").Thumbprint;

    private static X509Certificate2 Issue(X509Certificate2 ca, ECDsa key, string subject)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        return request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(365), serial);
    }
}
