using System.Management.Automation;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Runspace;

/// <summary>
/// A test with its own PowerShell engine (see <see cref="PowerShellSession"/>): the module imported, a configuration
/// <c>$context</c> at ./gateway.json, a test CA <c>$ca</c>, and a PFX password <c>$password</c> (a SecureString, as
/// users pass it). Every test class using it shares the published module folder.
/// </summary>
[Collection(ModuleFolderGroup.Name)]
public abstract class EngineTestBase : IDisposable
{
    protected EngineTestBase(ModuleFolderFixture module)
    {
        Session = new PowerShellSession(module);
        Ca = TestCertificates.CreateCa("CN=Engine Test CA");
        Session.Set("ca", Ca);
        Session.Ok("$password = ConvertTo-SecureString 'Example-Pass-1' -AsPlainText -Force; $context = New-GatewayContext -Path ./gateway.json -ServiceName contoso");
        Session.Host.Clear();
    }

    protected PowerShellSession Session { get; }

    protected X509Certificate2 Ca { get; }

    protected string ConfigurationPath => Session.File("gateway.json");

    /// <summary>The configuration file's SHA-256: equal before and after proves nothing was written.</summary>
    protected string ConfigurationHash() => PowerShellSession.Hash(ConfigurationPath);

    /// <summary>A client certificate with key issued by the test CA.</summary>
    protected X509Certificate2 Client(string subject, DateTimeOffset? notAfter = null) =>
        TestCertificates.Create(subject, Ca, clientAuth: true, notAfter: notAfter);

    /// <summary>Writes <paramref name="name"/>.pfx (password Example-Pass-1) of a new client certificate into the session folder.</summary>
    protected X509Certificate2 WritePfx(string name, string? folder = null)
    {
        var certificate = Client("CN=" + name);
        var directory = folder is null ? Session.Temp.Path : Directory.CreateDirectory(Path.Combine(Session.Temp.Path, folder)).FullName;
        File.WriteAllBytes(Path.Combine(directory, name + ".pfx"), TestCertificates.Pfx(certificate, "Example-Pass-1"));
        return certificate;
    }

    /// <summary>Uploads a client certificate under <paramref name="id"/> through the cmdlet.</summary>
    protected PSObject Upload(string id)
    {
        Session.Set("uploadCertificate", Client("CN=" + id));
        return Session.Ok($"Add-GatewayCertificate -Context $context -CertificateId '{id}' -Certificate $uploadCertificate").Single();
    }

    public void Dispose()
    {
        Session.Dispose();
        Ca.Dispose();
        GC.SuppressFinalize(this);
    }
}
