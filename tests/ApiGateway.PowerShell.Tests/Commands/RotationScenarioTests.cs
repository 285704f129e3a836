using ApiGateway.Core.Configuration;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Commands;
using ApiGateway.PowerShell.Commands.Apis;
using ApiGateway.PowerShell.Commands.Backends;
using ApiGateway.PowerShell.Commands.Certificates;
using ApiGateway.PowerShell.Commands.Hostnames;
using ApiGateway.PowerShell.Commands.Policies;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Commands;

/// <summary>
/// The documented walkthrough through the cmdlet objects, as the README's script runs it: upload a PFX, give an API
/// its gateway credential, a self-signed backend, an inbound client-certificate policy, then rotate the certificate
/// from a script (add the new one, Set-ApiGatewayCredential, remove the old one).
/// </summary>
[Collection(ModuleFolderGroup.Name)]
public sealed class RotationScenarioTests : CommandTestBase
{
    /// <summary>
    /// The policy below has an expression, so Set-GatewayPolicy checks it with the gateway's engine: the host of the
    /// module folder, as the cmdlets find it from their ModuleBase in a real engine (this test calls them without one).
    /// </summary>
    public RotationScenarioTests(ModuleFolderFixture module)
    {
        ArgumentNullException.ThrowIfNull(module);
        ConfigurationEngine.ModuleHostPath = module.File("host", "ApiGateway.Host.dll");
    }

    [Fact]
    public void Walkthrough_UploadCredentialBackendPolicyAndRotation()
    {
        var opened = new NewGatewayContextCommand { ServiceName = "contoso" }.Open(Service.ConfigurationPath);
        var context = opened.Value;
        var (oldPfx, oldCertificate) = Pfx("backend-2025");
        var password = Secure("Example-Pass-1");

        new AddGatewayCertificateCommand { Context = context, CertificateId = "backend-2025", PfxFilePath = oldPfx, PfxPassword = password }.Add(context.Service, Resolve);
        var backend = new NewGatewayBackendCommand { Context = context, Url = "https://contoso.com/myapi", Protocol = BackendProtocol.Http, SkipCertificateChainValidation = true }.Create(context.Service);
        new NewGatewayApiCommand { Context = context, ApiId = "orders", Path = "orders", BackendId = backend.BackendId }.Create(context.Service);
        new SetApiGatewayCredentialCommand { Context = context, ApiId = "orders", CertificateId = "backend-2025" }.Set(context.Service);
        // The check goes after the inbound <base /> (the first one of the API policy).
        var policy = new System.Text.RegularExpressions.Regex("<base />").Replace(Service.GetPolicy("orders")!.Policy, """
            <base />
                <choose>
                  <when condition="@(context.Request.Certificate == null)">
                    <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
                  </when>
                </choose>
            """, 1);
        new SetGatewayPolicyCommand { Context = context, ApiId = "orders", Policy = policy }.Set(context.Service, Resolve);
        Upload("server");
        new SetGatewayHostnameCommand { Context = context, HostName = "localhost", Port = 8443, CertificateId = "server", NegotiateClientCertificate = true }.Set(context.Service);

        // The old certificate cannot go while the API presents it.
        var refused = Failure<RemoveGatewayCertificateCommand>(() => RemoveGatewayCertificateCommand.Remove(context.Service, "backend-2025"));
        Assert.Equal("RemoveGatewayCertificateInUse", refused.ErrorId);

        // Rotation script: add the new certificate, move the API to it, remove the old one.
        var (newPfx, newCertificate) = Pfx("backend-2026");
        new AddGatewayCertificateCommand { Context = context, CertificateId = "backend-2026", PfxFilePath = newPfx, PfxPassword = password }.Add(context.Service, Resolve);
        var moved = new SetApiGatewayCredentialCommand { Context = context, ApiId = "orders", CertificateId = "backend-2026" }.Set(context.Service);
        RemoveGatewayCertificateCommand.Remove(context.Service, "backend-2025");

        Assert.Equal("backend-2026", moved.GatewayCredentialCertificateId);
        Assert.Equal(["backend-2026", "server"], new GetGatewayCertificateCommand().Get(context.Service, null).Select(c => c.CertificateId));
        Assert.NotEqual(oldCertificate.Thumbprint, newCertificate.Thumbprint);
        var finalPolicy = Service.GetPolicy("orders")!.Policy;
        Assert.Contains("Invalid client certificate", finalPolicy, StringComparison.Ordinal);
        Assert.Contains("certificate-id=\"backend-2026\"", finalPolicy, StringComparison.Ordinal);
        Assert.Empty(ConfigurationValidator.Validate(Service.Read()));
    }
}
