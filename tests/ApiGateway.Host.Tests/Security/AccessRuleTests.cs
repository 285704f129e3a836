using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;
using ApiGateway.Host.Tests.Support;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;

namespace ApiGateway.Host.Tests.Security;

/// <summary>
/// The rules that decide who gets in, each pinned by a test that fails when the rule is broken by one line. The
/// expected answers come from the APIM documentation ("How to secure APIs using client certificate authentication",
/// the validate-client-certificate reference: every validate-* attribute defaults to true), from C#'s own semantics
/// (<c>null != "x"</c> is true, so a request without a certificate is refused by the <c>?.</c> form of the published
/// policies), and from what a thumbprint is (the whole SHA-1 hash, 40 hex digits; hex compares without regard to case).
/// Each request runs through the real snapshot and pipeline (<see cref="PipelineHarness"/>), on a DefaultHttpContext.
/// </summary>
public sealed class AccessRuleTests : IAsyncLifetime
{
    private readonly PipelineHarness _harness = PipelineHarness.Create();
    private X509Certificate2 _allowed = null!;
    private X509Certificate2 _other = null!;

    public Task InitializeAsync()
    {
        _allowed = _harness.Gateway.Client("CN=allowed, O=Contoso");
        _other = _harness.Gateway.Client("CN=other, O=Contoso");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    /// <summary>
    /// The published <c>choose</c> shape: 403 "Invalid client certificate" when <paramref name="refuse"/> holds,
    /// otherwise 200 (answered by the gateway itself, so nothing depends on a backend).
    /// </summary>
    private static string Refusing(string refuse) => PolicyTemplates.Inheriting(inbound: $"""
        <choose>
          <when condition="@({System.Security.SecurityElement.Escape(refuse)})">
            <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
          </when>
        </choose>
        <return-response><set-status code="200" reason="OK" /></return-response>
        """);

    private async Task<int> StatusAsync(string api, X509Certificate2? certificate)
    {
        var http = PipelineHarness.NewRequest($"/{api}/item", h => h.Connection.ClientCertificate = certificate);
        await _harness.RunAsync(http);
        return http.Response.StatusCode;
    }

    // Catches: a thumbprint comparison that treats null as equal to anything (the ?. form then lets a request without a
    // certificate in), or that is case-sensitive (thumbprints are hex: APIM users write them in either case).
    [Theory]
    [InlineData("context.Request.Certificate?.Thumbprint != \"{0}\"")]
    [InlineData("context.Request.Certificate == null || context.Request.Certificate.Thumbprint != \"{0}\"")]
    [InlineData("!(context.Request.Certificate?.Thumbprint == \"{0}\")")]
    public async Task ThumbprintPolicy_RefusesNoCertificateAndOthers_AllowsTheOneInEitherCase(string condition)
    {
        _harness.AddApi("upper", Refusing(string.Format(System.Globalization.CultureInfo.InvariantCulture, condition, _allowed.Thumbprint.ToUpperInvariant())));
        _harness.AddApi("lower", Refusing(string.Format(System.Globalization.CultureInfo.InvariantCulture, condition, _allowed.Thumbprint.ToLowerInvariant())));

        Assert.Equal(403, await StatusAsync("upper", null));
        Assert.Equal(403, await StatusAsync("upper", _other));
        Assert.Equal(200, await StatusAsync("upper", _allowed));
        Assert.Equal(200, await StatusAsync("lower", _allowed));
    }

    // Catches: a thumbprint compared on a prefix or a part (the first 8 hex digits: a 2^32 search then passes an
    // allow-list), on its length, or with StartsWith/Contains/EndsWith.
    [Fact]
    public async Task ThumbprintPolicy_ANearMissIsAMiss()
    {
        var tp = _allowed.Thumbprint;
        string Flip(string text, int at) => text[..at] + (text[at] == '0' ? '1' : '0') + text[(at + 1)..];
        string[] nearMisses =
        [
            Flip(tp, tp.Length - 1), Flip(tp, 0), Flip(tp, 8), Flip(tp, 20),
            tp[..^1], tp[..8], tp + "0", "0" + tp[1..] + "0", "", new string('0', tp.Length),
        ];
        for (var i = 0; i < nearMisses.Length; i++)
            _harness.AddApi("miss" + i, Refusing($"context.Request.Certificate?.Thumbprint != \"{nearMisses[i]}\""));

        for (var i = 0; i < nearMisses.Length; i++)
            Assert.True(await StatusAsync("miss" + i, _allowed) == 403, $"'{nearMisses[i]}' let {tp} in");
        Assert.False(ExpressionRuntime.ThumbprintEquals(null, tp));
        Assert.False(ExpressionRuntime.ThumbprintEquals(tp, null));
        Assert.True(ExpressionRuntime.ThumbprintEquals(null, null));
    }

    // Catches: the uploaded-certificates lookup counting a missing certificate (or a missing thumbprint) as uploaded,
    // or answering true for an empty set.
    [Theory]
    [InlineData("context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint)")]
    [InlineData("!context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate?.Thumbprint)")]
    public async Task UploadedCertificatePolicy_RefusesNoCertificateAndCertificatesNotUploaded(string condition)
    {
        _harness.AddApi("uploaded", Refusing(condition));

        Assert.Equal(403, await StatusAsync("uploaded", _allowed));
        Assert.Equal(403, await StatusAsync("uploaded", null));

        _harness.Gateway.Service.AddCertificate("partner", CertificateInput.FromCertificate(X509CertificateLoader.LoadCertificate(_allowed.RawData)));
        _harness.AddApi("uploaded2", Refusing(condition));

        Assert.Equal(200, await StatusAsync("uploaded2", _allowed));
        Assert.Equal(403, await StatusAsync("uploaded2", _other));
        Assert.Equal(403, await StatusAsync("uploaded2", null));
    }

    // Catches: a default of validate-client-certificate flipped to false in the parser or the model. APIM: every
    // validate-* attribute defaults to true. (Revocation is turned off here only because test CAs publish no CRL.)
    [Fact]
    public async Task ValidateClientCertificate_ByDefault_RefusesExpiredNotYetValidAndUntrusted()
    {
        using var otherCa = ApiGateway.Core.Tests.Support.TestCertificates.CreateCa("CN=Other CA");
        using var untrusted = ApiGateway.Core.Tests.Support.TestCertificates.Create("CN=allowed, O=Contoso", otherCa, clientAuth: true);
        using var expired = _harness.Gateway.Client("CN=expired", DateTimeOffset.UtcNow.AddDays(-20), DateTimeOffset.UtcNow.AddDays(-1));
        using var notYet = _harness.Gateway.Client("CN=not-yet", DateTimeOffset.UtcNow.AddDays(1), DateTimeOffset.UtcNow.AddDays(20));
        _harness.AddApi("defaults", PolicyTemplates.Inheriting(inbound: """
            <validate-client-certificate validate-revocation="false" />
            <return-response><set-status code="200" reason="OK" /></return-response>
            """));

        var parsed = (ValidateClientCertificatePolicy)PolicyDocument.Parse("<policies><inbound><validate-client-certificate /></inbound></policies>", PolicyScope.Api)
            .Document![PolicySectionKind.Inbound]!.Policies.Single();

        Assert.True(parsed.ValidateNotAfter && parsed.ValidateNotBefore && parsed.ValidateTrust && parsed.ValidateRevocation && !parsed.IgnoreError);
        Assert.Equal(200, await StatusAsync("defaults", _allowed));
        Assert.Equal(403, await StatusAsync("defaults", expired));
        Assert.Equal(403, await StatusAsync("defaults", notYet));
        Assert.Equal(403, await StatusAsync("defaults", untrusted));
        Assert.Equal(403, await StatusAsync("defaults", null));
    }

    // Catches: X509Chain (downloads of certificates and revocation lists from a policy) dropped from the deny-list.
    [Theory]
    [InlineData("new X509Chain().Build(context.Request.Certificate)")]
    [InlineData("X509Chain.Create() != null")]
    [InlineData("context.Request.Certificate != null && new System.Security.Cryptography.X509Certificates.X509Chain { ChainPolicy = new X509ChainPolicy() }.ChainPolicy != null")]
    public void X509Chain_IsRefusedInExpressions(string code)
    {
        var result = Compile(code);

        Assert.Empty(result.Compiled);
        Assert.Contains("System.Security.Cryptography.X509Certificates.X509Chain", Problems(result), StringComparison.Ordinal);
    }

    // Both readings of the published issuer/subject policy: the gateway's (names compared as names, docs/gateway.md
    // "Comparing distinguished names", a deliberate difference) and APIM's exact string comparison, written as a call.
    // Catches: the == rewrite comparing ordinally (the spelling test then refuses), or string.Equals being rewritten too
    // (the exact test then accepts), or the DN rule accepting a different name.
    [Fact]
    public async Task IssuerSubjectPolicy_ComparesNamesAsNames_AndStringEqualsOrdinalComparesExactly()
    {
        using var ca = ApiGateway.Core.Tests.Support.TestCertificates.CreateCa("CN=Partner CA, O=Contoso");
        using var partner = ApiGateway.Core.Tests.Support.TestCertificates.Create("CN=partner, O=Contoso", ca, clientAuth: true);
        using var impostor = ApiGateway.Core.Tests.Support.TestCertificates.Create("CN=partner, O=Contoso", ApiGateway.Core.Tests.Support.TestCertificates.CreateCa("CN=Partner CA2, O=Contoso"), clientAuth: true);
        const string Spelled = "cn=partner ca,o=contoso";
        _harness.AddApi("names", Refusing($"context.Request.Certificate == null || context.Request.Certificate.Issuer != \"{Spelled}\" || context.Request.Certificate.SubjectName.Name != \"CN=partner,O=Contoso\""));
        _harness.AddApi("exact", Refusing($"context.Request.Certificate == null || !string.Equals(context.Request.Certificate.Issuer, \"{Spelled}\", StringComparison.Ordinal)"));
        _harness.AddApi("exact-printed", Refusing("context.Request.Certificate == null || !string.Equals(context.Request.Certificate.Issuer, \"CN=Partner CA, O=Contoso\", StringComparison.Ordinal)"));

        Assert.Equal(200, await StatusAsync("names", partner));
        Assert.Equal(403, await StatusAsync("names", impostor));
        Assert.Equal(403, await StatusAsync("names", null));
        Assert.Equal(403, await StatusAsync("exact", partner));
        Assert.Equal(200, await StatusAsync("exact-printed", partner));
        Assert.Equal(403, await StatusAsync("exact-printed", impostor));
    }
}
