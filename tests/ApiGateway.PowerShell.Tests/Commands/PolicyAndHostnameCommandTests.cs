using System.Management.Automation;
using ApiGateway.Core;
using ApiGateway.Core.Management;
using ApiGateway.Core.Policies;
using ApiGateway.PowerShell.Commands.Hostnames;
using ApiGateway.PowerShell.Commands.Policies;

namespace ApiGateway.PowerShell.Tests.Commands;

public sealed class PolicyAndHostnameCommandTests : CommandTestBase
{
    private const string ClientCertificatePolicy = """
        <policies>
          <inbound>
            <base />
            <choose>
              <when condition="@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)">
                <return-response>
                  <set-status code="403" reason="Invalid client certificate" />
                </return-response>
              </when>
            </choose>
          </inbound>
          <backend><base /></backend>
          <outbound><base /></outbound>
          <on-error><base /></on-error>
        </policies>
        """;

    [Fact]
    public void GetPolicy_WithoutApiId_IsTheGlobalPolicy()
    {
        var policy = new GetGatewayPolicyCommand().Get(Service)!;

        Assert.Null(policy.ApiId);
        Assert.Equal(PolicyScope.Global, policy.Scope);
        Assert.Contains("<forward-request", policy.Policy, StringComparison.Ordinal);
    }

    [Fact]
    public void SetPolicy_FromTextAndFromAResolvedFile()
    {
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://o.internal/" });
        Temp.Write("policy.xml", ClientCertificatePolicy);

        var fromText = new SetGatewayPolicyCommand { ApiId = "orders", Policy = ClientCertificatePolicy }.Set(Service, Resolve);
        var fromFile = new SetGatewayPolicyCommand { ApiId = "orders", PolicyFilePath = "policy.xml" }.Set(Service, Resolve);

        Assert.Equal("orders", fromText.ApiId);
        Assert.Contains("Invalid client certificate", new GetGatewayPolicyCommand { ApiId = "orders" }.Get(Service)!.Policy, StringComparison.Ordinal);
        Assert.Equal(fromText.Policy, fromFile.Policy);
    }

    [Fact]
    public void SetPolicy_InvalidDocument_ReportsEveryErrorAndKeepsThePreviousPolicy()
    {
        Service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", ServiceUrl = "https://o.internal/" });
        Service.SetPolicy("orders", ClientCertificatePolicy);
        var before = Service.GetPolicy("orders")!.Policy;

        var ex = Assert.Throws<GatewayException>(() => new SetGatewayPolicyCommand { ApiId = "orders", Policy = "<policies><inbound><no-such-policy /></inbound><bogus /></policies>" }.Set(Service, Resolve));
        var mapped = Failure<SetGatewayPolicyCommand>(() => new SetGatewayPolicyCommand { ApiId = "orders", Policy = "<policies><inbound>" }.Set(Service, Resolve));

        Assert.True(ex.Details.Count >= 2, string.Join(Environment.NewLine, ex.Details));
        Assert.Equal("SetGatewayPolicyInvalid", mapped.ErrorId);
        Assert.Equal(ErrorCategory.InvalidData, mapped.Category);
        Assert.Equal(before, Service.GetPolicy("orders")!.Policy);
    }

    [Fact]
    public void SetPolicy_MissingFileOrApi_HaveTheirOwnIds()
    {
        Assert.Equal("SetGatewayPolicyFileNotFound", Failure<SetGatewayPolicyCommand>(() => new SetGatewayPolicyCommand { PolicyFilePath = "missing.xml" }.Set(Service, Resolve)).ErrorId);
        Assert.Equal("SetGatewayPolicyApiNotFound", Failure<SetGatewayPolicyCommand>(() => new SetGatewayPolicyCommand { ApiId = "nope", Policy = ClientCertificatePolicy }.Set(Service, Resolve)).ErrorId);
        Assert.Equal("GetGatewayPolicyApiNotFound", Failure<GetGatewayPolicyCommand>(() => new GetGatewayPolicyCommand { ApiId = "nope" }.Get(Service)).ErrorId);
    }

    [Fact]
    public void SetHostname_NewNeedsAServerCertificateThenChangesOnlyWhatIsGiven()
    {
        Upload("server");

        var missing = Failure<SetGatewayHostnameCommand>(() => new SetGatewayHostnameCommand { HostName = "localhost", Port = 8443 }.Set(Service));
        var created = new SetGatewayHostnameCommand { HostName = "localhost", Port = 8443, CertificateId = "server", NegotiateClientCertificate = true }.Set(Service);
        var changed = new SetGatewayHostnameCommand { HostName = "LOCALHOST", Port = 9443 }.Set(Service);

        Assert.Equal("SetGatewayHostnameCertificateRequired", missing.ErrorId);
        Assert.Equal(8443, created.Port);
        Assert.True(created.NegotiateClientCertificate);
        Assert.Equal("localhost", changed.HostName);
        Assert.Equal(9443, changed.Port);
        Assert.True(changed.NegotiateClientCertificate);
        Assert.Equal("server", changed.CertificateId);
    }

    [Fact]
    public void SetHostname_StrictModeWithoutCa_AndUnknownCertificate_AreRefused()
    {
        Upload("server");

        Assert.Equal("SetGatewayHostnameNoCaCertificate", Failure<SetGatewayHostnameCommand>(() => new SetGatewayHostnameCommand { HostName = "localhost", CertificateId = "server", RequireClientCertificate = true }.Set(Service)).ErrorId);
        Assert.Equal("SetGatewayHostnameCertificateNotFound", Failure<SetGatewayHostnameCommand>(() => new SetGatewayHostnameCommand { HostName = "localhost", CertificateId = "nope" }.Set(Service)).ErrorId);
    }

    [Fact]
    public void GetAndRemoveHostname()
    {
        Upload("server");
        new SetGatewayHostnameCommand { HostName = "a.contoso.com", CertificateId = "server" }.Set(Service);
        new SetGatewayHostnameCommand { HostName = "b.contoso.com", CertificateId = "server" }.Set(Service);

        Assert.Equal(2, new GetGatewayHostnameCommand { HostName = "*.contoso.com" }.Get(Service).Count);
        Assert.Equal("a.contoso.com", RemoveGatewayHostnameCommand.Remove(Service, "a.contoso.com").HostName);
        Assert.Equal(["b.contoso.com"], new GetGatewayHostnameCommand().Get(Service).Select(h => h.HostName));
        Assert.Equal("RemoveGatewayHostnameNotFound", Failure<RemoveGatewayHostnameCommand>(() => RemoveGatewayHostnameCommand.Remove(Service, "a.contoso.com")).ErrorId);
    }
}
