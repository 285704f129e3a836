using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Runtime;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Runtime;

/// <summary>
/// The dry run (<c>explain</c>, Test-GatewayClientCertificate) against the live gateway: the four policies APIM
/// publishes for client certificates and validate-client-certificate, each called over real mutual TLS by clients
/// presenting a valid certificate, an expired one, one of another issuer, one with another subject, one with
/// another thumbprint (not uploaded), and none. For every case the dry run's decision must be the live gateway's
/// answer: allowed exactly when the backend got the request, otherwise the same status and reason phrase. The
/// live trace (asked with a proof of the status token) must equal the dry run's, entry for entry after the handshake.
/// </summary>
public sealed class DryRunTests : IClassFixture<DryRunTests.Fixture>
{
    private readonly Fixture _fixture;

    public DryRunTests(Fixture fixture)
    {
        _fixture = fixture;
    }

    public sealed class Fixture : IAsyncLifetime
    {
        internal TestGateway Gateway { get; } = TestGateway.Create();
        internal TestBackend Backend { get; private set; } = null!;
        internal GatewaySnapshot Snapshot { get; private set; } = null!;
        internal GatewayServices Services { get; } = TestServices.Create();
        public Dictionary<string, X509Certificate2?> Clients { get; } = [];
        public string UploadedThumbprint { get; private set; } = string.Empty;
        public string AccessLog { get; private set; } = string.Empty;
        public string Token { get; private set; } = string.Empty;

        public async Task InitializeAsync()
        {
            var gateway = Gateway;
            using var otherCa = TestCertificates.CreateCa("CN=Other CA, O=Fabrikam");
            const string Subject = "CN=expected-subject-name, O=Contoso";
            var uploaded = gateway.Client(Subject);
            UploadedThumbprint = uploaded.Thumbprint;
            Clients["none"] = null;
            Clients["valid"] = uploaded;
            Clients["expired"] = gateway.Client(Subject, DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(-1));
            Clients["wrong-issuer"] = TestCertificates.Create(Subject, otherCa, clientAuth: true);
            Clients["wrong-subject"] = gateway.Client("CN=someone-else, O=Contoso");
            Clients["not-uploaded"] = gateway.Client(Subject);

            var pem = gateway.Folder.Write("partner.pem", uploaded.ExportCertificatePem());
            gateway.Service.AddCertificate("partner-1", CertificateInput.FromPemFile(pem));
            Backend = await TestBackend.StartAsync();
            gateway.Service.NewBackend(new BackendDefinition { BackendId = "echo", Url = Backend.Url, SkipCertificateChainValidation = true });
            foreach (var (api, policy) in Policies(uploaded.Thumbprint))
                gateway.AddApi(api, api, backendId: "echo", policy: PolicyTemplates.Inheriting(inbound: policy));

            var built = SnapshotBuilder.Build(gateway.ConfigurationPath, Services, new ExpressionCache());
            Snapshot = built.Snapshot ?? throw new InvalidOperationException(string.Join(Environment.NewLine, built.Errors));
            AccessLog = Path.Combine(gateway.Folder.Path, "access.jsonl");
            await gateway.StartAsync(statusPort: 0, configure: o => o with { AccessLogPath = AccessLog });
            Token = GatewayStateFile.TryRead(gateway.ConfigurationPath)!.ShutdownToken;
        }

        /// <summary>The published policies verbatim (placeholders filled in), and validate-client-certificate.</summary>
        internal static IEnumerable<(string Api, string Policy)> Policies(string thumbprint)
        {
            const string Refuse = """
                        <return-response>
                            <set-status code="403" reason="Invalid client certificate" />
                        </return-response>
                """;
            yield return ("expiry", $"""
                <choose>
                    <when condition="@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)" >
                {Refuse}
                    </when>
                </choose>
                """);
            yield return ("issuer-subject", $"""
                <choose>
                    <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Issuer != "CN=Test Gateway CA, O=Contoso" || context.Request.Certificate.SubjectName.Name != "CN=expected-subject-name, O=Contoso")" >
                {Refuse}
                    </when>
                </choose>
                """);
            yield return ("thumbprint", $"""
                <choose>
                    <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != "{thumbprint}")" >
                {Refuse}
                    </when>
                </choose>
                """);
            yield return ("uploaded", $"""
                <choose>
                    <when condition="@(context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))" >
                {Refuse}
                    </when>
                </choose>
                """);
            yield return ("validate", $"""
                <validate-client-certificate validate-revocation="false" validate-trust="true" validate-not-before="true" validate-not-after="true" ignore-error="false">
                    <identities>
                        <identity thumbprint="{thumbprint}" />
                    </identities>
                </validate-client-certificate>
                """);
        }

        public async Task DisposeAsync()
        {
            Snapshot.Retire();
            Services.Dispose();
            await Gateway.DisposeAsync();
            await Backend.DisposeAsync();
        }
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var api in new[] { "expiry", "issuer-subject", "thumbprint", "uploaded", "validate" })
        {
            foreach (var client in new[] { "valid", "expired", "wrong-issuer", "wrong-subject", "not-uploaded", "none" })
                data.Add(api, client);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DryRun_DecidesAsTheLiveGatewayAnswers(string api, string client)
    {
        var certificate = _fixture.Clients[client];
        var dry = await DryRun.ExplainAsync(_fixture.Snapshot, new DryRunCase { ApiId = api, Certificate = certificate, Path = "/resource" });

        var before = _fixture.Backend.Requests;
        var live = await _fixture.Gateway.SendAsync($"/{api}/resource", certificate);
        var reached = _fixture.Backend.Requests > before;

        Assert.False(live.Refused, live.ToString());
        Assert.Equal(reached, dry.Allowed);
        if (dry.Allowed)
        {
            Assert.Equal(200, live.Status);
            Assert.Equal("echo", dry.Backend);
            Assert.Equal("backend", dry.Stage);
        }
        else
        {
            Assert.Equal("policy", dry.Stage);
            Assert.Equal(live.Status, dry.StatusCode);
            Assert.Equal(live.Reason, dry.Reason);
        }
    }

    [Theory]
    [InlineData("expiry", "valid", true)]
    [InlineData("expiry", "expired", false)]
    [InlineData("expiry", "none", false)]
    [InlineData("thumbprint", "not-uploaded", false)]
    [InlineData("uploaded", "valid", true)]
    [InlineData("validate", "wrong-issuer", false)]
    [InlineData("validate", "valid", true)]
    public async Task DryRun_HasTheExpectedDecisionFromTheSpec(string api, string client, bool allowed)
    {
        // Independent of the live gateway: APIM's policy text says what each certificate gets.
        var dry = await DryRun.ExplainAsync(_fixture.Snapshot, new DryRunCase { ApiId = api, Certificate = _fixture.Clients[client] });
        Assert.Equal(allowed, dry.Allowed);
        if (!allowed)
            Assert.Equal(403, dry.StatusCode);
    }

    [Fact]
    public async Task Trace_NamesTheConditionItsValueAndTheElementThatDecided()
    {
        var expired = _fixture.Clients["expired"];
        var dry = await DryRun.ExplainAsync(_fixture.Snapshot, new DryRunCase { ApiId = "expiry", Certificate = expired });

        var entries = dry.Trace.Entries;
        Assert.Equal("tls-handshake", entries[0].Element);
        Assert.Equal("negotiate", entries[0].Value);
        var when = Assert.Single(entries, e => e.Element == "when");
        Assert.Equal("@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)", when.Expression);
        Assert.Equal("true", when.Value);
        Assert.Equal("inbound", when.Section);
        Assert.Equal("api:expiry", when.Scope);
        Assert.True(when.Line > 0);
        var status = Assert.Single(entries, e => e.Element == "set-status");
        Assert.Equal("continued", status.Result);
        var decided = dry.DecidedBy!;
        Assert.Equal("return-response", decided.Element);
        Assert.Equal("returned", decided.Result);
        Assert.Equal(403, decided.StatusCode);
        Assert.Equal("Invalid client certificate", decided.Reason);
        Assert.True(entries.ToList().IndexOf(when) < entries.ToList().IndexOf(status));

        var valid = await DryRun.ExplainAsync(_fixture.Snapshot, new DryRunCase { ApiId = "expiry", Certificate = _fixture.Clients["valid"] });
        Assert.Equal("false", Assert.Single(valid.Trace.Entries, e => e.Element == "when").Value);
        Assert.Contains(valid.Trace.Entries, e => e.Element == "otherwise");
        Assert.Equal("forward-request", valid.DecidedBy!.Element);
        Assert.Equal("forwarded", valid.DecidedBy.Result);
        Assert.Equal("echo", valid.DecidedBy.Value);
        Assert.Equal("backend", valid.DecidedBy.Section);
    }

    [Fact]
    public async Task Trace_OfValidateClientCertificate_NamesTheFailedRuleAndTheErrorAnswer()
    {
        var dry = await DryRun.ExplainAsync(_fixture.Snapshot, new DryRunCase { ApiId = "validate", Certificate = _fixture.Clients["expired"] });

        Assert.False(dry.Allowed);
        Assert.Equal(403, dry.StatusCode);
        Assert.Equal("ClientCertificateNotValid", dry.Error);
        Assert.Contains("expired", dry.Message, StringComparison.Ordinal);
        var decided = dry.DecidedBy!;
        Assert.Equal("validate-client-certificate", decided.Element);
        Assert.Equal("failed", decided.Result);
        Assert.Equal("ClientCertificateNotValid", decided.Reason);
        Assert.Contains("expired on", decided.Detail, StringComparison.Ordinal);
        Assert.Equal("on-error", dry.Trace.Entries[^1].Element);
        Assert.Equal(403, dry.Trace.Entries[^1].StatusCode);

        var mismatch = await DryRun.ExplainAsync(_fixture.Snapshot, new DryRunCase { ApiId = "validate", Certificate = _fixture.Clients["not-uploaded"] });
        Assert.Contains("does not match the identity", mismatch.DecidedBy!.Detail, StringComparison.Ordinal);
        var passed = await DryRun.ExplainAsync(_fixture.Snapshot, new DryRunCase { ApiId = "validate", Certificate = _fixture.Clients["valid"] });
        Assert.Contains(passed.Trace.Entries, e => e.Element == "validate-client-certificate" && e.Result == "continued" && e.Detail!.Contains("every rule", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("expiry", "expired")]
    [InlineData("thumbprint", "valid")]
    [InlineData("validate", "wrong-subject")]
    [InlineData("uploaded", "none")]
    public async Task LiveTrace_WithAProofOfTheToken_IsTheDryRunsTrace(string api, string client)
    {
        var certificate = _fixture.Clients[client];
        var dry = await DryRun.ExplainAsync(_fixture.Snapshot, new DryRunCase { ApiId = api, Certificate = certificate, Path = "/resource" });
        var path = $"/{api}/resource";
        var proof = TraceProof.Create(_fixture.Token, "GET", path, DateTimeOffset.UtcNow);

        var live = await _fixture.Gateway.SendAsync(path, certificate, headers: new Dictionary<string, string> { [TraceProof.RequestHeader] = proof });

        var trace = Decode(live.Header(TraceProof.ResponseHeader));
        Assert.NotNull(trace);
        // The handshake entry says the same verdict; its detail is worded for a completed handshake.
        Assert.Equal(dry.Trace.Entries[0].Value, trace.Entries[0].Value);
        var expected = dry.Trace.Entries.Skip(1).Select(e => e with { Detail = e.Detail?.Replace("would be forwarded", "was forwarded", StringComparison.Ordinal) }).ToList();
        Assert.Equal(expected, trace.Entries.Skip(1).ToList());
        Assert.Equal(dry.Trace.DecidedByIndex, trace.DecidedByIndex);
        if (dry.Allowed)
            Assert.False(live.Json.GetProperty("headers").TryGetProperty(TraceProof.RequestHeader.ToLowerInvariant(), out _));
    }

    [Fact]
    public async Task LiveTrace_IsNeverGivenToAClientWithoutTheToken_AndTheHeaderNeverReachesTheBackend()
    {
        var valid = _fixture.Clients["valid"];
        var forged = TraceProof.Create("not-the-token-" + Guid.NewGuid().ToString("N"), "GET", "/expiry/resource", DateTimeOffset.UtcNow);
        foreach (var header in new[] { forged, "v1;1;00000000000000000000000000000000;00", "yes", _fixture.Token })
        {
            var response = await _fixture.Gateway.SendAsync("/expiry/resource", valid, headers: new Dictionary<string, string> { [TraceProof.RequestHeader] = header });
            Assert.Equal(200, response.Status);
            Assert.Null(response.Header(TraceProof.ResponseHeader));
            var seen = response.Json.GetProperty("headers");
            Assert.False(seen.TryGetProperty(TraceProof.RequestHeader.ToLowerInvariant(), out _), "the proof header reached the backend");
        }

        // A proof is for its request: another path, or the same proof again, gets nothing.
        var proof = TraceProof.Create(_fixture.Token, "GET", "/expiry/resource", DateTimeOffset.UtcNow);
        var other = await _fixture.Gateway.SendAsync("/expiry/other", valid, headers: new Dictionary<string, string> { [TraceProof.RequestHeader] = proof });
        Assert.Null(other.Header(TraceProof.ResponseHeader));
        var first = await _fixture.Gateway.SendAsync("/expiry/resource", valid, headers: new Dictionary<string, string> { [TraceProof.RequestHeader] = proof });
        Assert.NotNull(first.Header(TraceProof.ResponseHeader));
        var replay = await _fixture.Gateway.SendAsync("/expiry/resource", valid, headers: new Dictionary<string, string> { [TraceProof.RequestHeader] = proof });
        Assert.Null(replay.Header(TraceProof.ResponseHeader));
        var stale = TraceProof.Create(_fixture.Token, "GET", "/expiry/resource", DateTimeOffset.UtcNow - TimeSpan.FromMinutes(10));
        var old = await _fixture.Gateway.SendAsync("/expiry/resource", valid, headers: new Dictionary<string, string> { [TraceProof.RequestHeader] = stale });
        Assert.Null(old.Header(TraceProof.ResponseHeader));
    }

    [Fact]
    public async Task LiveTrace_IsInNoLog()
    {
        var path = "/expiry/logged";
        var proof = TraceProof.Create(_fixture.Token, "GET", path, DateTimeOffset.UtcNow);
        var response = await _fixture.Gateway.SendAsync(path, _fixture.Clients["expired"], headers: new Dictionary<string, string> { [TraceProof.RequestHeader] = proof });
        Assert.NotNull(Decode(response.Header(TraceProof.ResponseHeader)));

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!(File.Exists(_fixture.AccessLog) && (await ReadShared(_fixture.AccessLog)).Contains(path, StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        var accessLog = await ReadShared(_fixture.AccessLog);
        Assert.Contains(path, accessLog, StringComparison.Ordinal);
        var logs = string.Join(Environment.NewLine, _fixture.Gateway.Logs.Entries.Select(e => e.Message));
        foreach (var text in new[] { "NotAfter < DateTime.Now", "tls-handshake", "return-response", proof, TraceProof.ResponseHeader })
        {
            Assert.DoesNotContain(text, accessLog, StringComparison.Ordinal);
            Assert.DoesNotContain(text, logs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task DryRun_OfAStrictHostname_RefusesAtTheHandshake_AsTheLiveGatewayDoes()
    {
        await using var gateway = TestGateway.Create(require: true);
        gateway.AddApi("open", "open", url: "https://127.0.0.1:9/");
        using var otherCa = TestCertificates.CreateCa("CN=Stranger CA");
        var stranger = TestCertificates.Create("CN=stranger", otherCa, clientAuth: true);
        using var services = TestServices.Create();
        var snapshot = SnapshotBuilder.Build(gateway.ConfigurationPath, services, new ExpressionCache()).Snapshot!;
        try
        {
            await gateway.StartAsync();
            foreach (var certificate in new X509Certificate2?[] { stranger, null })
            {
                var dry = await DryRun.ExplainAsync(snapshot, new DryRunCase { ApiId = "open", Certificate = certificate });
                var live = await gateway.SendAsync("/open/", certificate);
                Assert.True(live.Refused, live.ToString());
                Assert.False(dry.Allowed);
                Assert.Equal("handshake", dry.Stage);
                Assert.Null(dry.StatusCode);
                Assert.Equal("refused", dry.DecidedBy!.Result);
                Assert.Equal("require", dry.DecidedBy.Value);
                Assert.NotNull(dry.Reason);
            }
        }
        finally
        {
            snapshot.Retire();
        }
    }

    [Fact]
    public async Task DryRun_OfAnUnknownApiOrHostname_SaysWhatIsConfigured()
    {
        var api = await Assert.ThrowsAsync<DryRunException>(() => DryRun.ExplainAsync(_fixture.Snapshot, new DryRunCase { ApiId = "nope" }));
        Assert.Contains("'expiry'", api.Message, StringComparison.Ordinal);
        var host = await Assert.ThrowsAsync<DryRunException>(() => DryRun.ExplainAsync(_fixture.Snapshot, new DryRunCase { ApiId = "expiry", HostName = "elsewhere.example" }));
        Assert.Contains("'localhost'", host.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trace_IsBounded()
    {
        var trace = new PolicyTrace(dryRun: true);
        for (var i = 0; i < PolicyTrace.MaxEntries + 50; i++)
            trace.Handshake(new string('h', 10_000), "negotiate", accepted: true, new string('d', 10_000));
        var model = trace.ToModel();
        Assert.Equal(PolicyTrace.MaxEntries, model.Entries.Count);
        Assert.Equal(50, model.Dropped);
        Assert.All(model.Entries, e => Assert.True(e.Detail!.Length <= PolicyTrace.MaxText));
    }

    private static GatewayTrace? Decode(string? header) =>
        header is null ? null : JsonSerializer.Deserialize<GatewayTrace>(Microsoft.AspNetCore.WebUtilities.Base64UrlTextEncoder.Decode(header), HostingJson.Options);

    private static async Task<string> ReadShared(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
