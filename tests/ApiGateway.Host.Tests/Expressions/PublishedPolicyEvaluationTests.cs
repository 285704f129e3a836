using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Policies;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Context;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Pipeline.Steps;
using ApiGateway.Host.Tls;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;

namespace ApiGateway.Host.Tests.Expressions;

/// <summary>
/// The conditions of the four published policies as compiled delegates: what they decide, and that deciding it
/// allocates nothing once warm (the context is pooled; DN and thumbprint comparisons work on cached strings; the
/// lambda of policy 4 is rewritten to a static one that takes the context as state).
/// </summary>
public sealed class PublishedPolicyEvaluationTests
{
    private static readonly string[] Conditions =
    [
        "context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now",
        "context.Request.Certificate == null || context.Request.Certificate.Issuer != \"CN=Partner CA,O=Contoso\" || context.Request.Certificate.SubjectName != \"CN=partner,O=Contoso\"",
        "context.Request.Certificate == null || context.Request.Certificate.Thumbprint != \"{thumbprint}\"",
        "context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint)",
    ];

    private static (PolicyContext Accepted, PolicyContext Refused, X509Certificate2 Uploaded) Contexts()
    {
        var ca = TestCertificates.CreateCa("CN=Partner CA, O=Contoso");
        var uploaded = TestCertificates.Create("CN=partner, O=Contoso", ca, clientAuth: true);
        var stranger = TestCertificates.Create("CN=stranger, O=Contoso", clientAuth: true, notAfter: DateTimeOffset.UtcNow.AddDays(-1), notBefore: DateTimeOffset.UtcNow.AddDays(-9));
        var deployment = new PolicyDeployment("test", new CertificateDictionary([
            new("other", TestCertificates.Create("CN=other", clientAuth: true)),
            new("partner", X509CertificateLoader.LoadCertificate(uploaded.RawData)),
        ]));
        var accepted = NewContext(uploaded);
        accepted.Deployment = deployment;
        var refused = NewContext(stranger);
        refused.Deployment = deployment;
        return (accepted, refused, uploaded);
    }

    [Fact]
    public void EachPublishedCondition_RefusesTheStranger_AcceptsThePartner_WithoutAllocating()
    {
        var (accepted, refused, uploaded) = Contexts();
        foreach (var code in Conditions)
        {
            var condition = Compiled(code.Replace("{thumbprint}", uploaded.Thumbprint, StringComparison.Ordinal)).Condition!;
            Assert.False(condition(accepted), code);
            Assert.True(condition(refused), code);

            for (var i = 0; i < 100; i++)
                condition(accepted);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
                condition(accepted);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before == 0, $"{code} allocated {GC.GetAllocatedBytesForCurrentThread() - before} bytes in 1000 evaluations.");
        }
    }

    [Fact]
    public void ValidateClientCertificate_WithTenIdentities_PassesWithoutAllocating()
    {
        using var ca = TestCertificates.CreateCa("CN=Partner CA, O=Contoso");
        using var certificate = TestCertificates.Create("CN=partner, O=Contoso", ca, clientAuth: true, dnsNames: ["partner.contoso.com"]);
        var trust = new ClientTrust([X509CertificateLoader.LoadCertificate(ca.RawData)], []);
        var tls = new ConnectionTls(ClientCertificateNegotiation.Negotiate, trust, "localhost");
        using (var chain = new X509Chain { ChainPolicy = trust.CreateHandshakePolicy() })
        {
            chain.Build(certificate);
            tls.Validate(new object(), certificate, chain, SslPolicyErrors.None);
        }
        var identities = Enumerable.Range(0, 9).Select(i => new CertificateIdentity(1, 1) { Thumbprint = new string((char)('A' + i), 40) })
            .Append(new CertificateIdentity(1, 1) { Subject = "cn=partner,o=contoso", IssuerSubject = "CN=Partner CA,O=Contoso", DnsName = "partner.contoso.com" })
            .Select(identity => new IdentityMatcher(identity, certificate: null, issuerCertificate: null))
            .ToArray();
        var step = new ValidateClientCertificateStep(new ValidateClientCertificatePolicy(1, 1) { ValidateRevocation = false }, PolicyOwner.Api("a"), identities);
        var context = NewContext(certificate);
        context.State.Tls = tls;

        Assert.Equal(Flow.Continue, step.Execute(context));
        for (var i = 0; i < 100; i++)
            step.Execute(context);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            step.Execute(context);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
