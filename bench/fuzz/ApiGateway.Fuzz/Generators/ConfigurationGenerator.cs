using System.Collections.Immutable;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;
using FsCheck;
using FsCheck.Fluent;

namespace ApiGateway.Fuzz.Generators;

/// <summary>
/// Configurations from the model (<see cref="GatewayConfiguration"/> and its records, written by the gateway's own
/// serializer), built on the world's real certificates so that many of them load: hostnames, limits (inside, at and
/// outside the catalog's ranges), backends with credentials, APIs with generated policies, a global policy. Then byte
/// edits of the file and structural edits of its JSON.
/// </summary>
internal static class ConfigurationGenerator
{
    private static readonly string[] HostNames = ["localhost", "api.contoso.com", "*.contoso.com", "LOCALHOST", "-bad", "a..b", "", "x_y", "\u00e9.com", "*", new string('a', 64)];
    private static readonly int[] Ports = [443, 8443, 1, 65535, 0, 65536, -1];
    private static readonly string[] ListenAddresses = ["*", "localhost", "127.0.0.1", "::1", "0.0.0.0", "bogus", "", "[::1]", "127.0.0.1:80"];
    private static readonly string[] CertificateIds = [FuzzWorld.ServerCertificateId, FuzzWorld.CaCertificateId, "missing", "SERVER", ""];
    private static readonly string[] CipherSuites = ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_RC4_128_MD5", "nope", ""];
    private static readonly string[] Ids = ["orders", "billing", "a", "A", "x-y_z.1", "bad id", "", "..", "\u00e9", new string('b', 300)];
    private static readonly string[] Urls = ["https://127.0.0.1:9/", "http://backend.internal/api", "https://user:pw@x/", "https://x/#f", "ftp://x/", "not a url", "", "https://[::1]:65535/a?b=c"];
    private static readonly string[] Paths = ["", "orders", "orders/v1", "/orders/", "a//b", "..", "x y", "ORDERS", "\u00e9"];

    /// <summary>Any case for the configuration target.</summary>
    public static Gen<FuzzCase> Cases(GatewayConfiguration world) => Gen.Frequency(
        (4, Valid(world).Select(b => new FuzzCase(FuzzTarget.Configuration, b, "generated"))),
        (3, Valid(world).SelectMany(b =>
            from edits in Gen.Choose(1, 4)
            from seeds in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), edits * 3)
            select new FuzzCase(FuzzTarget.Configuration, Mutations.EditBytes(b, seeds), "byte-mutated"))),
        (3, Valid(world).SelectMany(b =>
            from edits in Gen.Choose(1, 3)
            from seeds in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), edits * 3)
            select new FuzzCase(FuzzTarget.Configuration, Mutations.EditJson(b, seeds), "json-mutated"))));

    /// <summary>The canonical bytes of a configuration made from the model.</summary>
    public static Gen<byte[]> Valid(GatewayConfiguration world) =>
        from hostnames in Gen.ListOf(Hostname, 2)
        from limits in Gen.Frequency((3, Gen.Constant<GatewayLimits?>(null)), (2, Limits.Select(l => (GatewayLimits?)l)))
        from backends in Gen.ListOf(Gen.Zip(Pick(Ids, 5), Backend), 3)
        from apis in Gen.ListOf(Gen.Zip(Pick(Ids, 5), Api), 4)
        from global in Gen.Frequency((3, Gen.Constant<string?>(null)), (2, PolicyGenerator.Documents(PolicyScope.Global, clean: true).Select(p => (string?)p)))
        from name in Gen.Elements("fuzz", "", "\u4e2d\u6587", "a\nb")
        from revision in Gen.Elements(0L, 1L, 42L, long.MaxValue, -1L)
        select ConfigurationSerializer.Serialize(world with
        {
            Revision = revision,
            Service = world.Service with { Name = name, Hostnames = [.. hostnames], Limits = limits },
            Backends = ToMap(backends),
            Apis = ToMap(apis),
            OwnPolicy = global,
        });

    /// <summary>One of the first <paramref name="good"/> values (valid ones) nine times in ten, else any: so that a good share of the configurations is valid all through.</summary>
    private static Gen<T> Pick<T>(T[] values, int good) => Gen.Frequency((9, Gen.Elements(values[..good])), (1, Gen.Elements(values)));

    private static ImmutableSortedDictionary<string, T> ToMap<T>(IEnumerable<(string Id, T Value)> items)
    {
        var map = ApiGateway.Core.Configuration.Ids.EmptyMap<T>();
        foreach (var (id, value) in items)
            map = map.SetItem(id, value);
        return map;
    }

    private static Gen<HostnameEntry> Hostname =>
        from host in Pick(HostNames, 4)
        from port in Pick(Ports, 4)
        from address in Pick(ListenAddresses, 5)
        from certificate in Pick(CertificateIds, 1)
        from negotiate in Gen.Elements(true, false)
        from require in Gen.Elements(false, false, false, true)
        from profile in Gen.Elements<TlsProfile?>([null, .. Enum.GetValues<TlsProfile>().Cast<TlsProfile?>()])
        from suites in Gen.Frequency((3, Gen.Constant<ImmutableArray<string>?>(null)), (1, Gen.SubListOf(CipherSuites).Select(l => (ImmutableArray<string>?)[.. l])))
        select new HostnameEntry
        {
            HostName = host,
            Port = port,
            ListenAddress = address,
            CertificateId = certificate,
            NegotiateClientCertificate = negotiate,
            RequireClientCertificate = require,
            TlsProfile = profile,
            CipherSuites = suites,
        };

    /// <summary>Each limit of the catalog unset, or at, inside or just outside its range (and a fraction where a whole number is due).</summary>
    private static Gen<GatewayLimits> Limits =>
        Gen.CollectToArray(GatewayLimits.Catalog, d => Gen.Frequency(
            (40, Gen.Constant<double?>(null)),
            (4, Gen.Elements<double?>(d.Minimum, d.Maximum, (d.Minimum + d.Maximum) / 2, Math.Round((d.Minimum + d.Maximum) / 3))),
            (1, Gen.Elements<double?>(d.Minimum - 1, d.Maximum + 1, d.Minimum + 0.5, 0, -1)))).Select(values =>
        {
            var limits = new GatewayLimits();
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i] is { } v)
                    limits = GatewayLimits.Catalog[i].With(limits, v);
            }
            return limits;
        });

    private static Gen<BackendEntry> Backend =>
        from url in Pick(Urls, 3)
        from protocol in Gen.Elements(Enum.GetValues<BackendProtocol>())
        from chain in Gen.Elements(true, false)
        from name in Gen.Elements(true, false)
        from credentials in Gen.Frequency((6, Gen.Constant<BackendCredentials?>(null)), (1, Credentials.Select(c => (BackendCredentials?)c)))
        select new BackendEntry { Url = url, Protocol = protocol, Tls = new BackendTls { ValidateCertificateChain = chain, ValidateCertificateName = name }, Credentials = credentials };

    private static Gen<BackendCredentials> Credentials =>
        from certificates in Gen.SubListOf(CertificateIds)
        from thumbprints in Gen.SubListOf(["0123456789ABCDEF0123456789ABCDEF01234567", "zz", ""])
        from header in Gen.Elements("x-key", "", "bad header", "Host")
        from scheme in Gen.Elements<string?>(null, "Basic", "Bearer", "")
        select new BackendCredentials
        {
            CertificateIds = [.. certificates],
            CertificateThumbprints = [.. thumbprints],
            Header = ApiGateway.Core.Configuration.Ids.EmptyHeaderMap().SetItem(header, ["v1", "v\u00e9"]),
            Authorization = scheme is null ? null : new BackendAuthorization { Scheme = scheme, ParameterSecret = scheme.Length % 2 == 0 ? null : "missing-secret" },
        };

    private static Gen<ApiEntry> Api =>
        from display in Gen.Elements("Orders", "", "\u00e9")
        from path in Pick(Paths, 3)
        from target in Gen.Elements(0, 1, 1, 1, 2, 3)
        from backendId in Pick(Ids, 5)
        from url in Pick(Urls, 3)
        from policy in Gen.Frequency((2, Gen.Constant<string?>(null)), (3, PolicyGenerator.Documents(PolicyScope.Api, clean: true).Select(p => (string?)p)))
        from forward in Gen.Elements(ClientCertificateForwarding.None, ClientCertificateForwarding.XArrClientCert, ClientCertificateForwarding.ClientCert,
            ClientCertificateForwarding.XArrClientCert | ClientCertificateForwarding.ClientCert)
        select new ApiEntry
        {
            DisplayName = display,
            Path = path,
            BackendId = target is 0 or 2 ? backendId : null,
            ServiceUrl = target is 1 or 2 ? url : null,
            OwnPolicy = policy,
            ForwardClientCertificate = forward,
        };
}
