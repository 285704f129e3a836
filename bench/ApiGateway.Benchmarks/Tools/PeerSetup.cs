using System.Globalization;
using System.Text;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;

namespace ApiGateway.Benchmarks.Tools;

/// <summary>
/// Builds the gateway configuration that takes part in the peer comparison (../shared/bench-peers), from the harness's
/// certificate folder and only through the Core operations an operator's cmdlets call: the server certificate and
/// hostname (strict mutual TLS, so a certificate that does not chain to ca.crt is refused at the handshake, as the
/// peers do), the CA certificate, one root API whose policy is the thumbprint allow-list, a backend with
/// SkipCertificateChainValidation and the gateway's client certificate as the API's gateway credential.
/// </summary>
internal static class PeerSetup
{
    public const string ApiId = "bench";
    public const string BackendId = "bench-backend";

    public static int Run(Arguments args)
    {
        var certs = Path.GetFullPath(args.Required("certs"));
        var port = args.Int("port", 8446);
        var backend = args.Required("backend");
        var output = Path.GetFullPath(args.Required("out"));
        var style = args.Optional("policy") ?? "choose";
        var path = Create(certs, port, backend, output, style);
        Console.WriteLine(path);
        return 0;
    }

    /// <summary>Writes <c>gateway.json</c> (and its store) into <paramref name="output"/>, which must not hold one yet; returns its path.</summary>
    public static string Create(string certs, int port, string backendUrl, string output, string style)
    {
        Directory.CreateDirectory(output);
        var configuration = Path.Combine(output, "gateway.json");
        if (File.Exists(configuration))
            throw new ArgumentException($"'{configuration}' exists already; give an empty --out folder.");
        var allowed = File.ReadAllLines(Path.Combine(certs, "allow-sha1.txt"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0)
            .ToList();
        if (allowed.Count == 0)
            throw new ArgumentException($"'{Path.Combine(certs, "allow-sha1.txt")}' lists no thumbprint.");

        var service = new GatewayService(configuration);
        service.Open("bench");
        service.AddCertificate("gw-server", CertificateInput.FromPemFile(Path.Combine(certs, "gw-server.crt"), Path.Combine(certs, "gw-server.key")));
        service.AddCaCertificate("bench-ca", CertificateInput.FromFile(Path.Combine(certs, "ca.crt")), CaStoreName.Root);
        service.SetHostname(new HostnameDefinition
        {
            HostName = "localhost",
            Port = port,
            ListenAddress = "127.0.0.1",
            CertificateId = "gw-server",
            NegotiateClientCertificate = true,
            RequireClientCertificate = true,
        });

        // The PFX password goes from the file into a SecureString without ever being a string or an argument.
        var passwordBytes = File.ReadAllBytes(Path.Combine(certs, "pfx-password.txt"));
        var passwordChars = new char[Encoding.UTF8.GetCharCount(passwordBytes)];
        try
        {
            var count = Encoding.UTF8.GetChars(passwordBytes, passwordChars);
            var span = passwordChars.AsSpan(0, count).TrimEnd("\r\n");
            service.AddCertificate("gw-backend-client", CertificateInput.FromPfxFile(Path.Combine(certs, "gw-backend-client.pfx"), span));
        }
        finally
        {
            Array.Clear(passwordChars);
            Array.Clear(passwordBytes);
        }

        service.NewBackend(new BackendDefinition { BackendId = BackendId, Url = backendUrl, SkipCertificateChainValidation = true });
        service.NewApi(new ApiDefinition { ApiId = ApiId, DisplayName = "mTLS bench", Path = string.Empty, BackendId = BackendId });
        service.SetPolicy(ApiId, AllowListPolicy(allowed, style));
        service.SetGatewayCredential(ApiId, "gw-backend-client", null);
        return configuration;
    }

    /// <summary>
    /// The allow-list as an API policy: <c>choose</c> is APIM's published thumbprint policy with one comparison per
    /// allowed thumbprint; <c>validate</c> is validate-client-certificate with one identity per thumbprint. Both
    /// answer 403 "Invalid client certificate" to a certificate that is not listed.
    /// </summary>
    public static string AllowListPolicy(IReadOnlyList<string> thumbprints, string style)
    {
        string inbound;
        switch (style)
        {
            case "choose":
                var conditions = string.Join(" && ", thumbprints.Select(t => $"context.Request.Certificate.Thumbprint != \"{t}\""));
                inbound = $"""
                    <choose>
                      <when condition="@(context.Request.Certificate == null || ({conditions}))">
                        <return-response>
                          <set-status code="403" reason="Invalid client certificate" />
                        </return-response>
                      </when>
                    </choose>
                    """;
                break;
            case "validate":
                var identities = string.Concat(thumbprints.Select(t => $"\n      <identity thumbprint=\"{t}\" />"));
                inbound = $"""
                    <validate-client-certificate validate-revocation="false" validate-trust="true" validate-not-before="true" validate-not-after="true" ignore-error="false">
                      <identities>{identities}
                      </identities>
                    </validate-client-certificate>
                    """;
                break;
            default:
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--policy must be choose or validate, not '{style}'."));
        }
        return PolicyTemplates.Inheriting(inbound: inbound);
    }
}
