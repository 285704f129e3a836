using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Context;
using ApiGateway.Host.Tests.Support;
using ApiGateway.Host.Tls;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// What <see cref="PolicyContext.Begin"/> takes from a request and what a context outside any API or error answers,
/// where the first Stryker run of the context group found nothing that failed: <c>context.Request.Certificate</c> is
/// the certificate the connection's handshake validated, so <c>Verify()</c> uses the chain built during the handshake
/// (docs/gateway.md); <c>context.Request.IpAddress</c> is read once per request; <c>context.Api</c> without an API and
/// <c>context.LastError</c>'s Scope and Path (documented as always empty here) answer empty strings.
/// </summary>
public sealed class PolicyContextRequestTests : IAsyncLifetime
{
    private readonly PipelineHarness _harness = PipelineHarness.Create();
    private readonly ClientTrust _trust = new([], []);

    public Task InitializeAsync()
    {
        _harness.AddApi("orders", "<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    /// <summary>A context begun as GatewayRequestHandler begins one, for <paramref name="http"/> on <paramref name="tls"/>.</summary>
    private PolicyContext Begin(HttpContext http, ConnectionTls? tls, PolicyContext? context = null)
    {
        var snapshot = _harness.Snapshot;
        Assert.True(snapshot.Routes.TryMatch(http.Request.Path.Value!, out var route, out var consumed));
        context ??= new PolicyContext();
        context.Begin(http, snapshot, route, consumed, tls);
        return context;
    }

    /// <summary>A negotiating connection whose handshake saw <paramref name="certificate"/> (no uploaded CA: a partial chain).</summary>
    private ConnectionTls Handshake(X509Certificate2 certificate)
    {
        var tls = new ConnectionTls(ClientCertificateNegotiation.Negotiate, _trust, "localhost");
        Assert.True(tls.Validate(this, certificate, null, SslPolicyErrors.RemoteCertificateChainErrors));
        return tls;
    }

    [Fact]
    public void Certificate_IsTheOneTheHandshakeValidated_NotAnotherCopyOnTheConnection()
    {
        using var presented = TestCertificates.Create("CN=client");
        using var copy = X509CertificateLoader.LoadCertificate(presented.RawData);
        var tls = Handshake(presented);
        var http = PipelineHarness.NewRequest("/orders/1", h => h.Connection.ClientCertificate = copy);

        var context = Begin(http, tls);

        Assert.Same(presented, context.Request.Certificate);
        // Which is what lets Verify() start from the handshake's chain instead of building another.
        Assert.Same(tls.Verification, context.State.VerificationOf(context.Request.Certificate!));
    }

    [Fact]
    public void Response_IsTheRequestsOwnResponse()
    {
        // context.Response.StatusCode in outbound expressions is the status the client will get (APIM's IResponse).
        var http = PipelineHarness.NewRequest("/orders/1");
        http.Response.StatusCode = 418;

        var context = Begin(http, null);

        Assert.Equal(418, context.Response.StatusCode);
    }

    [Fact]
    public void Certificate_OfTheHandshake_IsThereEvenWhenTheConnectionFeatureHasNone()
    {
        using var presented = TestCertificates.Create("CN=client");
        var tls = Handshake(presented);

        var context = Begin(PipelineHarness.NewRequest("/orders/1"), tls);

        Assert.Same(presented, context.Request.Certificate);
    }

    [Fact]
    public void Certificate_WithoutTheConnectionsTlsRecord_IsTheConnectionFeatures()
    {
        using var certificate = TestCertificates.Create("CN=client");

        var context = Begin(PipelineHarness.NewRequest("/orders/1", h => h.Connection.ClientCertificate = certificate), tls: null);

        Assert.Same(certificate, context.Request.Certificate);
    }

    [Fact]
    public void Api_IsTheRoutedApi()
    {
        var context = Begin(PipelineHarness.NewRequest("/orders/1"), tls: null);

        Assert.Equal("orders", context.Api.Id);
        Assert.Equal("orders", context.Api.Path);
    }

    // The value is the request's: an expression that reads it twice (a rate-limit key and a condition, say) sees one
    // address even if the connection feature under the request changes its mind in between; the next request reads anew.
    [Fact]
    public void IpAddress_IsReadOncePerRequest()
    {
        var http = PipelineHarness.NewRequest("/orders/1", h => h.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.7"));
        var context = Begin(http, tls: null);

        Assert.Equal("192.0.2.7", context.Request.IpAddress);
        http.Connection.RemoteIpAddress = IPAddress.Parse("198.51.100.9");
        Assert.Equal("192.0.2.7", context.Request.IpAddress);

        context.End();
        var next = PipelineHarness.NewRequest("/orders/2", h => h.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.5"));
        Begin(next, tls: null, context);
        Assert.Equal("203.0.113.5", context.Request.IpAddress);
    }

    [Fact]
    public void Api_OutsideAnyApi_IsEmptyInEveryMember()
    {
        var api = new PolicyContext().Api;

        Assert.Equal(string.Empty, api.Id);
        Assert.Equal(string.Empty, api.Name);
        Assert.Equal(string.Empty, api.Path);
    }

    [Fact]
    public void LastError_ScopeAndPath_AreEmpty()
    {
        var error = new PolicyLastError("validate-client-certificate", "ClientCertificateNotValid", "The client certificate is not valid.", "inbound", policyId: null);

        Assert.Equal(string.Empty, error.Scope);
        Assert.Equal(string.Empty, error.Path);
        Assert.Equal("inbound", error.Section);
        Assert.Null(error.PolicyId);
    }
}
