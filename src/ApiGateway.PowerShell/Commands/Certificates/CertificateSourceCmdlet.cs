using System.Management.Automation;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Certificates;

/// <summary>
/// The certificate-content parameters shared by <c>Add-GatewayCertificate</c> and <c>Set-GatewayCertificate</c>:
/// one parameter set per source (PFX file or bytes, certificate object, PEM files, a linked file another tool
/// rotates, an OS store entry). Passwords are SecureStrings only.
/// </summary>
/// <remarks>
/// The cmdlets deriving from this declare no default parameter set, and both pipeline-bound sources take input by
/// value: with a default set, PowerShell settles on it before the first pipeline object arrives whenever that set's
/// mandatory parameter can come from the pipeline, so a piped X509Certificate2 (or a Cert: drive item) could never
/// reach <see cref="Certificate"/> ("The input object cannot be bound to any parameters"). Without one, an
/// X509Certificate2 binds to <see cref="Certificate"/> exactly, and a file from Get-ChildItem or a path string to
/// <see cref="PfxFilePath"/>.
/// </remarks>
public abstract class CertificateSourceCmdlet : GatewayCmdlet
{
    /// <summary>A PFX (PKCS#12) file with the certificate, its private key and chain. Piped files bind by their PSPath, piped strings as paths.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.PfxFile, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath")]
    [ValidateNotNullOrEmpty]
    public string? PfxFilePath { get; set; }

    /// <summary>The content of a PFX file.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.PfxBytes)]
    [ValidateNotNullOrEmpty]
    public byte[]? PfxBytes { get; set; }

    /// <summary>A certificate object with its private key, e.g. from <c>Get-Item Cert:\CurrentUser\My\&lt;thumbprint&gt;</c>.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.Certificate, ValueFromPipeline = true)]
    [ValidateNotNull]
    public X509Certificate2? Certificate { get; set; }

    /// <summary>A PEM certificate (with its chain, and the key if it is in the same file).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.PemFile)]
    [ValidateNotNullOrEmpty]
    public string? PemFilePath { get; set; }

    /// <summary>A PEM or PFX file that another tool writes and rotates: the configuration refers to it, the gateway re-reads it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.LinkedFile)]
    [ValidateNotNullOrEmpty]
    public string? LinkedPath { get; set; }

    /// <summary>The PEM private key, when it is not in the certificate file.</summary>
    [Parameter(ParameterSetName = ParameterSets.PemFile)]
    [Parameter(ParameterSetName = ParameterSets.LinkedFile)]
    [ValidateNotNullOrEmpty]
    public string? KeyFilePath { get; set; }

    /// <summary>The password of the PFX file, or of an encrypted PEM private key.</summary>
    [Parameter(ParameterSetName = ParameterSets.PfxFile)]
    [Parameter(ParameterSetName = ParameterSets.PfxBytes)]
    [Parameter(ParameterSetName = ParameterSets.PemFile)]
    [Parameter(ParameterSetName = ParameterSets.LinkedFile)]
    public SecureString? PfxPassword { get; set; }

    /// <summary>Thumbprint of a certificate in the operating system's certificate store.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.Store)]
    [ValidateNotNullOrEmpty]
    public string? StoreThumbprint { get; set; }

    /// <summary>CurrentUser (default) or LocalMachine.</summary>
    [Parameter(ParameterSetName = ParameterSets.Store)]
    public StoreLocation StoreLocation { get; set; } = StoreLocation.CurrentUser;

    /// <summary>The store name (default My).</summary>
    [Parameter(ParameterSetName = ParameterSets.Store)]
    [ValidateNotNullOrEmpty]
    public string StoreName { get; set; } = "My";

    /// <summary>
    /// The Core input for the source given. Which parameter is set decides (parameter sets guarantee exactly one),
    /// so this needs no PowerShell runtime and is unit-tested directly.
    /// </summary>
    internal CertificateInput ToInput(Func<string, string> resolvePath)
    {
        ArgumentNullException.ThrowIfNull(resolvePath);
        if (PfxFilePath is not null)
            return CertificateInput.FromPfxFile(resolvePath(PfxFilePath), PfxPassword);
        if (PfxBytes is not null)
            return CertificateInput.FromPfxBytes(PfxBytes, PfxPassword);
        if (Certificate is not null)
            return CertificateInput.FromCertificate(Certificate);
        if (PemFilePath is not null)
            return CertificateInput.FromPemFile(resolvePath(PemFilePath), KeyFilePath is null ? null : resolvePath(KeyFilePath), PfxPassword);
        if (LinkedPath is not null)
            return CertificateInput.Linked(resolvePath(LinkedPath), KeyFilePath is null ? null : resolvePath(KeyFilePath), PfxPassword);
        if (StoreThumbprint is not null)
            return CertificateInput.FromStore(StoreThumbprint, StoreLocation, StoreName);
        throw new ArgumentException("Give the certificate with -PfxFilePath, -PfxBytes, -Certificate, -PemFilePath, -LinkedPath or -StoreThumbprint.");
    }

    /// <summary>What the ShouldProcess message calls the source.</summary>
    internal string DescribeSource() =>
        PfxFilePath ?? PemFilePath ?? LinkedPath
        ?? (PfxBytes is not null ? "PFX bytes"
            : Certificate is not null ? $"certificate '{Certificate.Subject}'"
            : StoreThumbprint is not null ? $"Cert:\\{StoreLocation}\\{StoreName}\\{StoreThumbprint}"
            : "certificate");
}
