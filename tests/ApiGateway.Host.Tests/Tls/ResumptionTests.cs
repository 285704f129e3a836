using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Tls;

/// <summary>
/// TLS session resumption (RFC 8446 2.2): a client that returns with the session ticket of an earlier connection
/// skips the certificate exchange, and the gateway still judges its client certificate exactly as on a full
/// handshake. Driven with openssl s_client, whose -sess_out/-sess_in and "Reused" line show what happened on the wire.
/// </summary>
public sealed class ResumptionTests
{
    private const string ReportPolicy = """
        <policies>
          <inbound>
            <choose>
              <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != &quot;{{allowed}}&quot;)">
                <return-response>
                  <set-status code="403" reason="Forbidden" />
                </return-response>
              </when>
            </choose>
            <return-response>
              <set-status code="200" reason="OK" />
              <set-header name="x-certificate" exists-action="override">
                <value>@(context.Request.Certificate.Thumbprint)</value>
              </set-header>
            </return-response>
          </inbound>
        </policies>
        """;

    [ToolFact("openssl", "openssl")]
    public async Task Tls13_AReturningClientResumes_AndItsCertificateIsJudgedAsOnAFullHandshake()
    {
        await using var gateway = TestGateway.Create(negotiate: true, require: true);
        using var allowed = gateway.Client("CN=allowed");
        using var other = gateway.Client("CN=other");
        gateway.AddApi("report", "report", policy: ReportPolicy.Replace("{{allowed}}", allowed.Thumbprint, StringComparison.Ordinal));
        await gateway.StartAsync();
        using var folder = new TempFolder();
        // The tickets of a server certificate's very first handshake predate its context's stateful tickets
        // (SessionTickets) and do not resume; every later one does.
        await SClientAsync(gateway.Port, folder, allowed, "allowed");

        var first = await SClientAsync(gateway.Port, folder, allowed, "allowed", sessionOut: folder.File("allowed.session"));
        var second = await SClientAsync(gateway.Port, folder, allowed, "allowed", sessionIn: folder.File("allowed.session"));
        var otherFirst = await SClientAsync(gateway.Port, folder, other, "other", sessionOut: folder.File("other.session"));
        var otherSecond = await SClientAsync(gateway.Port, folder, other, "other", sessionIn: folder.File("other.session"));

        Assert.Contains("New, TLSv1.3", first, StringComparison.Ordinal);
        Assert.Contains("Reused, TLSv1.3", second, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 200", second, StringComparison.Ordinal);
        Assert.Contains("x-certificate: " + allowed.Thumbprint, second, StringComparison.OrdinalIgnoreCase);
        // The policy sees the resumed session's certificate, so a certificate it refuses stays refused.
        Assert.Contains("Reused, TLSv1.3", otherSecond, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 403", otherFirst, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 403", otherSecond, StringComparison.Ordinal);
    }

    [ToolFact("openssl", "openssl")]
    public async Task AFullHandshake_IssuesOneTicketAfterTheFirstOfItsContext_AndTheClientStillResumesWithIt()
    {
        await using var gateway = TestGateway.Create(negotiate: true, require: true);
        using var client = gateway.Client("CN=allowed");
        gateway.AddApi("report", "report", policy: ReportPolicy.Replace("{{allowed}}", client.Thumbprint, StringComparison.Ordinal));
        await gateway.StartAsync();
        using var folder = new TempFolder();

        // The first handshake of the server certificate's shared context still gets OpenSSL's two (stateless); it sets them.
        var first = await SClientAsync(gateway.Port, folder, client, "c", extra: ["-msg"]);
        var full = await SClientAsync(gateway.Port, folder, client, "c", sessionOut: folder.File("c.session"), extra: ["-msg"]);
        var resumed = await SClientAsync(gateway.Port, folder, client, "c", sessionIn: folder.File("c.session"), extra: ["-msg"]);

        Assert.True(SessionTickets.Enabled);
        Assert.Contains("HTTP/1.1 200", first, StringComparison.Ordinal);
        Assert.Contains("New, TLSv1.3", full, StringComparison.Ordinal);
        Assert.Equal(SessionTickets.PerHandshake, Tickets(full));
        Assert.Contains("Reused, TLSv1.3", resumed, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 200", resumed, StringComparison.Ordinal);
        Assert.Contains("x-certificate: " + client.Thumbprint, resumed, StringComparison.OrdinalIgnoreCase);
        // A resumed connection hands the client its next ticket.
        Assert.Equal(SessionTickets.PerHandshake, Tickets(resumed));

        static int Tickets(string output) =>
            output.Split('\n').Count(l => l.StartsWith("<<< ", StringComparison.Ordinal) && l.Contains("NewSessionTicket", StringComparison.Ordinal));
    }

    [ToolFact("openssl", "openssl")]
    public async Task Tls12Client_StillGetsTheProfilesTls12Suites_WhileTls13ClientsShareTheResumableContext()
    {
        await using var gateway = TestGateway.Create(negotiate: true);
        using var client = gateway.Client();
        gateway.AddApi("report", "report", policy: ReportPolicy.Replace("{{allowed}}", client.Thumbprint, StringComparison.Ordinal));
        await gateway.StartAsync();
        using var folder = new TempFolder();

        // CBC suites are not in the intermediate profile: a TLS 1.2 client offering only CBC is refused.
        var cbc = await SClientAsync(gateway.Port, folder, client, "c", extra: ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"]);
        var gcm = await SClientAsync(gateway.Port, folder, client, "c", extra: ["-tls1_2"]);

        Assert.DoesNotContain("HTTP/1.1 200", cbc, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 200", gcm, StringComparison.Ordinal);
        Assert.Contains("TLSv1.2, Cipher is ECDHE-", gcm, StringComparison.Ordinal);
        Assert.Contains("GCM", gcm, StringComparison.Ordinal);
    }

    [Fact]
    public void ClientHelloParser_FindsTls13InSupportedVersions_AndNothingElse()
    {
        var plain = TlsProbe.ClientHello("localhost", TlsProbe.Tls12, [System.Net.Security.TlsCipherSuite.TLS_AES_128_GCM_SHA256]);
        var with13 = WithSupportedVersions(plain, [0x03, 0x04, 0x03, 0x03]);
        var only12 = WithSupportedVersions(plain, [0x03, 0x03]);

        Assert.Equal(ClientHelloOffer.ParseState.Done, ClientHelloOffer.TryParse(new ReadOnlySequence<byte>(plain), out var a));
        Assert.False(a);
        Assert.Equal(ClientHelloOffer.ParseState.Done, ClientHelloOffer.TryParse(new ReadOnlySequence<byte>(with13), out var b));
        Assert.True(b);
        Assert.Equal(ClientHelloOffer.ParseState.Done, ClientHelloOffer.TryParse(new ReadOnlySequence<byte>(only12), out var c));
        Assert.False(c);
        Assert.Equal(ClientHelloOffer.ParseState.NeedMore, ClientHelloOffer.TryParse(new ReadOnlySequence<byte>(with13.AsMemory(0, with13.Length - 1)), out _));
        Assert.Equal(ClientHelloOffer.ParseState.NotAClientHello, ClientHelloOffer.TryParse(new ReadOnlySequence<byte>("GET / HTTP/1.1\r\n"u8.ToArray()), out _));
        // A truncated extension list says nothing about TLS 1.3 (the whole offer applies).
        var broken = (byte[])with13.Clone();
        broken[^5] = 0x7F;
        Assert.Equal(ClientHelloOffer.ParseState.Done, ClientHelloOffer.TryParse(new ReadOnlySequence<byte>(broken), out var d));
        Assert.False(d);
    }

    /// <summary>Appends a supported_versions extension to a ClientHello record made by <see cref="TlsProbe.ClientHello"/>.</summary>
    private static byte[] WithSupportedVersions(byte[] record, byte[] versions)
    {
        byte[] extension = [0x00, 0x2B, 0x00, (byte)(versions.Length + 1), (byte)versions.Length, .. versions];
        var result = new List<byte>(record);
        result.AddRange(extension);
        // Lengths: record (3..4), handshake (6..8), extensions (at the end of the fixed part).
        void Add16(int at, int n) { var v = (result[at] << 8 | result[at + 1]) + n; result[at] = (byte)(v >> 8); result[at + 1] = (byte)v; }
        Add16(3, extension.Length);
        var hs = (result[6] << 16 | result[7] << 8 | result[8]) + extension.Length;
        result[6] = (byte)(hs >> 16); result[7] = (byte)(hs >> 8); result[8] = (byte)hs;
        var p = 5 + 4 + 2 + 32;
        p += 1 + result[p];
        p += 2 + (result[p] << 8 | result[p + 1]);
        p += 1 + result[p];
        Add16(p, extension.Length);
        return [.. result];
    }

    private static async Task<string> SClientAsync(int port, TempFolder folder, X509Certificate2 certificate, string name,
        string? sessionOut = null, string? sessionIn = null, string[]? extra = null)
    {
        var cert = folder.Write(name + ".crt", certificate.ExportCertificatePem());
        var key = folder.Write(name + ".key", (certificate.GetECDsaPrivateKey()?.ExportPkcs8PrivateKeyPem() ?? certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem()));
        var start = new ProcessStartInfo(Tools.Require("openssl", "openssl"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", "-cert", cert, "-key", key, "-ign_eof" })
            start.ArgumentList.Add(a);
        if (sessionOut is not null) { start.ArgumentList.Add("-sess_out"); start.ArgumentList.Add(sessionOut); }
        if (sessionIn is not null) { start.ArgumentList.Add("-sess_in"); start.ArgumentList.Add(sessionIn); }
        foreach (var a in extra ?? [])
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync("GET /report HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return await stdout + await stderr;
    }
}
