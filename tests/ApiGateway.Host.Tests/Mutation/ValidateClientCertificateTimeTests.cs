using System.Security.Cryptography.X509Certificates;
using ApiGateway.Host.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// validate-client-certificate's validity checks at their bounds, on the gateway's clock (a fake one here): RFC 5280
/// 4.1.2.5 makes the validity period the interval from notBefore through notAfter, both included, so a certificate is
/// still valid at its notAfter second and already valid at its notBefore second; one second outside is refused
/// (403, "Invalid client certificate"). The check compares UTC instants, not local times.
/// </summary>
public sealed class ValidateClientCertificateTimeTests : IAsyncLifetime
{
    private const string Policy = """
        <policies>
          <inbound><validate-client-certificate validate-revocation="false" validate-trust="true" validate-not-before="true" validate-not-after="true" /></inbound>
          <backend><return-response><set-status code="200" reason="OK" /></return-response></backend>
          <outbound /><on-error />
        </policies>
        """;

    private static readonly DateTimeOffset NotBefore = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).AddDays(-2);
    private static readonly DateTimeOffset NotAfter = NotBefore.AddDays(10);

    private readonly FakeTimeProvider _clock = new(NotBefore.AddDays(-1)); // a fake clock only moves forward
    private readonly PipelineHarness _harness;
    private X509Certificate2 _client = null!;

    public ValidateClientCertificateTimeTests() => _harness = PipelineHarness.Create(_clock);

    public Task InitializeAsync()
    {
        _client = _harness.Gateway.Client("CN=bounded, O=Contoso", notBefore: NotBefore, notAfter: NotAfter);
        _harness.AddApi("bounded", Policy);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _harness.DisposeAsync();
    }

    private async Task<int> StatusAtAsync(DateTimeOffset now)
    {
        _clock.SetUtcNow(now);
        var http = await _harness.RunAsync(PipelineHarness.NewRequest("/bounded/x", h => h.Connection.ClientCertificate = _client));
        return http.Response.StatusCode;
    }

    [Fact]
    public async Task AtTheNotAfterSecond_IsValid_OneSecondLater_IsRefused()
    {
        Assert.Equal(200, await StatusAtAsync(NotAfter));
        Assert.Equal(403, await StatusAtAsync(NotAfter.AddSeconds(1)));
    }

    [Fact]
    public async Task AtTheNotBeforeSecond_IsValid_OneSecondEarlier_IsRefused()
    {
        Assert.Equal(403, await StatusAtAsync(NotBefore.AddSeconds(-1)));
        Assert.Equal(200, await StatusAtAsync(NotBefore));
    }

    [Fact]
    public async Task TheGatewaysClock_DecidesExpiry_NotTheMachinesLocalTime()
    {
        // A certificate that is valid now by the machine's clock, on a gateway clock past its end: refused.
        Assert.Equal(200, await StatusAtAsync(NotAfter.AddHours(-1)));
        Assert.Equal(403, await StatusAtAsync(NotAfter.AddHours(1)));
    }
}
