using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Tests.Management;

/// <summary>
/// The "in use" index over a configuration built directly (no cmdlet path in between): every kind of reference is
/// found, by id and by thumbprint, with its place described as the error messages name it; a policy that does not
/// parse (edited by hand) still keeps its references; a backend without credentials refers to nothing.
/// </summary>
public sealed class ReferenceIndexTests
{
    private const string Thumbprint = "AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12";
    private const string PolicyThumbprint = "0123456789ABCDEF0123456789ABCDEF01234567";

    private static GatewayConfiguration Configuration(string? globalPolicy = null, string? apiPolicy = null) => new()
    {
        Service = new ServiceSettings { Hostnames = [new HostnameEntry { HostName = "api.contoso.example", CertificateId = "server" }] },
        Backends = Ids.EmptyMap<BackendEntry>()
            .Add("orders-backend", new BackendEntry { Url = "https://orders.internal/", Credentials = new BackendCredentials { CertificateIds = ["backend-cred"], CertificateThumbprints = [Thumbprint.ToLowerInvariant()] } })
            .Add("plain", new BackendEntry { Url = "https://plain.internal/" }),
        Apis = Ids.EmptyMap<ApiEntry>()
            .Add("orders", new ApiEntry { DisplayName = "Orders", Path = "orders", BackendId = "orders-backend", OwnPolicy = apiPolicy }),
        OwnPolicy = globalPolicy,
    };

    private static string Inbound(string inbound) => PolicyTemplates.Inheriting(inbound: inbound);

    [Fact]
    public void EveryKindOfReference_IsFound_AndDescribedAsTheMessagesNameIt()
    {
        var configuration = Configuration(
            globalPolicy: $"""
                <policies>
                  <inbound>
                    <validate-client-certificate validate-revocation="false">
                      <identities><identity certificate-id="partner" issuer-certificate-id="partner-ca" /></identities>
                    </validate-client-certificate>
                    <set-backend-service backend-id="orders-backend" />
                  </inbound>
                  <backend><forward-request /></backend>
                  <outbound />
                  <on-error />
                </policies>
                """,
            apiPolicy: Inbound("""<authentication-certificate certificate-id="gateway-cred" />"""));
        var index = new ReferenceIndex(configuration, "/etc/gateway/gateway.json");

        Assert.Equal("hostname 'api.contoso.example' (server certificate)", Single(index, "server").Describe());
        Assert.Equal("backend 'orders-backend' (credential certificate)", Single(index, "backend-cred").Describe());
        Assert.Equal("API 'orders' (gateway credential)", Single(index, "gateway-cred").Describe());
        Assert.Equal("the global policy (validate-client-certificate identity)", Single(index, "partner").Describe());
        Assert.Equal("the global policy (validate-client-certificate issuer)", Single(index, "partner-ca").Describe());
        var byThumbprint = Assert.Single(index.For("renamed", Thumbprint));
        Assert.Equal("backend 'orders-backend' (credential certificate, by thumbprint)", byThumbprint.Describe());
        Assert.Equal("renamed", byThumbprint.CertificateId);
        Assert.True(byThumbprint.ByThumbprint);
        Assert.Equal("/etc/gateway/gateway.json", byThumbprint.ConfigurationPath);
        Assert.Equal(ReferrerType.Backend, byThumbprint.ReferrerType);
        Assert.Equal(CertificateUsage.BackendCredential, byThumbprint.Usage);

        var server = Single(index, "server");
        Assert.Equal(ReferrerType.Hostname, server.ReferrerType);
        Assert.Equal("api.contoso.example", server.ReferrerId);
        Assert.Equal(CertificateUsage.ServerCertificate, server.Usage);
        Assert.False(server.ByThumbprint);
        Assert.Equal(ReferrerType.GlobalPolicy, Single(index, "partner").ReferrerType);
        Assert.Equal(string.Empty, Single(index, "partner").ReferrerId);
        Assert.Equal(CertificateUsage.IssuerIdentity, Single(index, "partner-ca").Usage);

        // Ids compare without regard to case; an id nothing names has no references; a thumbprint alone finds them.
        Assert.Single(index.For("SERVER", null));
        Assert.Empty(index.For("unused", null));
        Assert.Empty(index.For("unused", "0000000000000000000000000000000000000000"));
        Assert.Single(index.For("unused", Thumbprint.ToLowerInvariant()));

        Assert.Equal(["API 'orders'", "the global policy (set-backend-service)"], index.BackendUsers("orders-backend").Order(StringComparer.Ordinal));
        Assert.Empty(index.BackendUsers("plain"));
    }

    private static CertificateReference Single(ReferenceIndex index, string id)
    {
        var reference = Assert.Single(index.For(id, null));
        Assert.Equal(id, reference.CertificateId);
        return reference;
    }

    [Fact]
    public void AnApiPolicy_ByThumbprintAndSetBackendService_IsDescribedAsTheApis()
    {
        var configuration = Configuration(apiPolicy: Inbound($"""
            <authentication-certificate thumbprint="{PolicyThumbprint}" />
            <set-backend-service backend-id="plain" />
            """));
        var index = new ReferenceIndex(configuration);

        var reference = Assert.Single(index.For("any", PolicyThumbprint));
        Assert.Equal("API 'orders' (gateway credential, by thumbprint)", reference.Describe());
        Assert.Equal(["API 'orders' (set-backend-service)"], index.BackendUsers("plain"));
        Assert.Null(reference.ConfigurationPath);
    }

    [Fact]
    public void APolicyThatDoesNotParse_StillKeepsItsReferences()
    {
        // A hand-edited policy that is not even well-formed XML (no closing tag): the validator reports it, but
        // removing a certificate it names must still be refused.
        var broken = $"""
            <policies><inbound>
              <authentication-certificate certificate-id="gateway-cred" />
              <authentication-certificate thumbprint='{PolicyThumbprint.ToLowerInvariant()}' />
              <identity issuer-certificate-id = "partner-ca" />
              <set-backend-service backend-id="plain" />
              <authentication-certificate certificate-id="@(context.Variables["id"])" />
            </inbound>
            """;
        var index = new ReferenceIndex(Configuration(apiPolicy: broken));

        Assert.Equal("API 'orders' (gateway credential)", Single(index, "gateway-cred").Describe());
        Assert.Equal("API 'orders' (validate-client-certificate issuer)", Single(index, "partner-ca").Describe());
        Assert.Equal("API 'orders' (gateway credential, by thumbprint)", Assert.Single(index.For("x", PolicyThumbprint)).Describe());
        Assert.Contains("API 'orders' (set-backend-service)", index.BackendUsers("plain"));
        Assert.Empty(index.For("@(context.Variables[", null));

        var brokenGlobal = new ReferenceIndex(Configuration(globalPolicy: broken));
        Assert.Equal("the global policy (gateway credential)", Single(brokenGlobal, "gateway-cred").Describe());
        Assert.Contains("the global policy (set-backend-service)", brokenGlobal.BackendUsers("plain"));
    }

    [Fact]
    public void TheSameReferenceTwice_IsListedOnce()
    {
        var configuration = Configuration(apiPolicy: Inbound("""
            <authentication-certificate certificate-id="gateway-cred" />
            <authentication-certificate certificate-id="gateway-cred" />
            <set-backend-service backend-id="orders-backend" />
            """));
        var index = new ReferenceIndex(configuration);

        Assert.Single(index.For("gateway-cred", null));
        Assert.Equal(["API 'orders'", "API 'orders' (set-backend-service)"], index.BackendUsers("orders-backend").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Describe_NamesEachPlaceAndUse()
    {
        CertificateReference Reference(ReferrerType type, CertificateUsage usage, bool byThumbprint = false) =>
            new() { CertificateId = "c", ReferrerType = type, ReferrerId = "x", Usage = usage, ByThumbprint = byThumbprint };

        Assert.Equal("hostname 'x' (server certificate)", Reference(ReferrerType.Hostname, CertificateUsage.ServerCertificate).Describe());
        Assert.Equal("API 'x' (gateway credential)", Reference(ReferrerType.Api, CertificateUsage.GatewayCredential).Describe());
        Assert.Equal("backend 'x' (credential certificate, by thumbprint)", Reference(ReferrerType.Backend, CertificateUsage.BackendCredential, true).Describe());
        Assert.Equal("the global policy (validate-client-certificate identity)", Reference(ReferrerType.GlobalPolicy, CertificateUsage.ClientCertificateIdentity).Describe());
        Assert.Equal("API 'x' (validate-client-certificate issuer)", Reference(ReferrerType.Api, CertificateUsage.IssuerIdentity).Describe());
    }
}
