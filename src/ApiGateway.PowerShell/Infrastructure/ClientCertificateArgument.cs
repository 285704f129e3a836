using System.Management.Automation;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>
/// The <c>-Certificate</c> of Test-GatewayClientCertificate and Invoke-GatewayRequest: an X509Certificate2 (e.g.
/// from <c>New-SelfSignedCertificate</c> or <c>Get-PfxCertificate</c>), a <c>Cert:</c> drive item or path, a file
/// from Get-ChildItem, or a file path (PFX, PEM or DER, resolved through the provider).
/// </summary>
internal static class ClientCertificateArgument
{
    public static X509Certificate2 Resolve(PSCmdlet cmdlet, object input, SecureString? password, bool needPrivateKey)
    {
        ArgumentNullException.ThrowIfNull(cmdlet);
        var value = input is PSObject wrapped ? wrapped.BaseObject : input;
        switch (value)
        {
            case X509Certificate2 certificate:
                if (needPrivateKey && !certificate.HasPrivateKey)
                    throw new ArgumentException($"The certificate '{certificate.Subject}' ({certificate.Thumbprint}) has no private key: a client presents a certificate only with its key. Give it with its key (a PFX, or a Cert: item with a key).");
                return certificate;
            case FileInfo file:
                return ClientCertificateFile.Load(file.FullName, password, needPrivateKey);
            case string path when path.Length > 0:
                return FromPath(cmdlet, path, password, needPrivateKey);
            default:
                throw new ArgumentException($"-Certificate takes an X509Certificate2, a Cert: drive item or a certificate file path, not a {value?.GetType().Name ?? "null"}.");
        }
    }

    private static X509Certificate2 FromPath(PSCmdlet cmdlet, string path, SecureString? password, bool needPrivateKey)
    {
        string resolved;
        ProviderInfo provider;
        try
        {
            resolved = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _);
        }
        catch (Exception ex) when (ex is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or NotSupportedException or PSArgumentException)
        {
            throw new PathResolutionException($"The path '{path}' cannot be resolved: {ex.Message}", ex) { Path = path };
        }
        if (string.Equals(provider?.Name, "Certificate", StringComparison.OrdinalIgnoreCase))
        {
            var items = cmdlet.InvokeProvider.Item.Get(path);
            if (items.Count == 1 && items[0].BaseObject is X509Certificate2 item)
                return Resolve(cmdlet, item, password, needPrivateKey);
            throw new PathResolutionException($"'{path}' is not one certificate of the Cert: drive.") { Path = path };
        }
        PathResolution.RequireFileSystem(path, provider?.Name);
        return ClientCertificateFile.Load(resolved, password, needPrivateKey);
    }
}
