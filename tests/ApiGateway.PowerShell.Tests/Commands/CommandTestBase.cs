using System.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Commands;

/// <summary>
/// A real configuration in a temp folder, and helpers to call a cmdlet's Core operation the way the cmdlet does:
/// the cmdlet object with its parameters set, paths resolved against the folder (as the provider resolves them
/// against the current location), and Core failures mapped to the cmdlet's ErrorRecord id.
/// </summary>
public abstract class CommandTestBase : IDisposable
{
    protected CommandTestBase()
    {
        Temp = new TempFolder();
        Service = new GatewayService(Temp.File("gateway.json"));
        Service.Open("contoso");
        Ca = TestCertificates.CreateCa();
    }

    protected TempFolder Temp { get; }

    private protected GatewayService Service { get; }

    protected X509Certificate2 Ca { get; }

    protected GatewayContext Context => GatewayContext.ForPath(Service.ConfigurationPath);

    /// <summary>What the provider does for a relative path: resolve it against the current location (here the temp folder).</summary>
    protected string Resolve(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Temp.Path, path));

    protected static SecureString Secure(string text) => Secrets.ToSecureString(text);

    protected X509Certificate2 Client(string subject, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null) =>
        TestCertificates.Create(subject, Ca, clientAuth: true, notBefore: notBefore, notAfter: notAfter);

    /// <summary>Writes a PFX of a new client certificate and returns its file name (relative) and certificate.</summary>
    protected (string FileName, X509Certificate2 Certificate) Pfx(string name, string? password = "Example-Pass-1")
    {
        var certificate = Client("CN=" + name);
        Temp.Write(name + ".pfx", TestCertificates.Pfx(certificate, password));
        return (name + ".pfx", certificate);
    }

    /// <summary>Adds an uploaded client certificate (with key) under <paramref name="id"/>.</summary>
    protected GatewayCertificate Upload(string id)
    {
        using var certificate = Client("CN=" + id);
        return Service.AddCertificate(id, CertificateInput.FromCertificate(certificate)).Value;
    }

    /// <summary>Runs <paramref name="operation"/> expecting a Core failure, and returns the ErrorRecord id the cmdlet would write.</summary>
    private protected static MappedError Failure<TCommand>(Action operation)
        where TCommand : GatewayCmdlet => Failures.Of<TCommand>(operation);

    public void Dispose()
    {
        Ca.Dispose();
        Temp.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Core failures as the cmdlet <typeparamref name="TCommand"/> reports them.</summary>
internal static class Failures
{
    public static MappedError Of<TCommand>(Action operation)
        where TCommand : GatewayCmdlet
    {
        var ex = Assert.Throws<GatewayException>(operation);
        var (verb, noun) = CmdletNames.Of(typeof(TCommand));
        return ErrorMapping.Map(verb, noun, ex);
    }
}
