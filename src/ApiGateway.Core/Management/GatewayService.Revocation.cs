using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Management;

internal sealed partial class GatewayService
{
    /// <summary>File names the gateway reads as CRLs in the CRL folder (DER or PEM .crl, PEM .pem).</summary>
    internal static readonly string[] CrlFilePatterns = ["*.crl", "*.pem"];

    /// <summary>The revocation settings in force (Online without CRL folder when none are set).</summary>
    public GatewayRevocation GetRevocation() => RevocationOutput(Read().Service.Revocation);

    /// <summary>
    /// Sets the revocation mode and/or the CRL folder (an absolute path; <paramref name="removeCrlFolder"/> removes it).
    /// What is not given keeps its value. Offline needs a CRL folder. A folder that does not exist yet is accepted
    /// (the gateway watches for it) with a warning.
    /// </summary>
    public OperationResult<GatewayRevocation> SetRevocation(RevocationMode? mode, string? crlFolder, bool removeCrlFolder = false)
    {
        if (crlFolder is not null && removeCrlFolder)
        {
            throw new GatewayException("Revocation", "Conflict", GatewayErrorCategory.InvalidArgument,
                "-CrlFolder and -RemoveCrlFolder were both given. Give either a folder or -RemoveCrlFolder.", crlFolder);
        }
        if (mode is { } m && !Enum.IsDefined(m))
            throw new GatewayException("Revocation", "InvalidMode", GatewayErrorCategory.InvalidArgument, $"'{m}' is not a revocation mode; use Online, Offline or NoCheck.", m);
        if (crlFolder is not null)
        {
            if (crlFolder.Length == 0 || !Path.IsPathFullyQualified(crlFolder))
            {
                throw new GatewayException("Revocation", "CrlFolderInvalid", GatewayErrorCategory.InvalidArgument,
                    $"The CRL folder '{crlFolder}' must be an absolute path.", crlFolder);
            }
            crlFolder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(crlFolder));
            if (File.Exists(crlFolder))
            {
                throw new GatewayException("Revocation", "CrlFolderInvalid", GatewayErrorCategory.InvalidArgument,
                    $"'{crlFolder}' is a file; -CrlFolder takes the folder that holds the CRL files (.crl or .pem).", crlFolder);
            }
        }

        var warnings = new List<string>();
        RevocationSettings? after = null;
        Change("Revocation", before =>
        {
            var current = before.Service.Revocation ?? new RevocationSettings();
            var next = current with
            {
                Mode = mode ?? current.Mode,
                CrlFolder = removeCrlFolder ? null : crlFolder ?? current.CrlFolder,
            };
            if (next.Mode == RevocationMode.Offline && next.CrlFolder is null)
            {
                throw new GatewayException("Revocation", "CrlFolderRequired", GatewayErrorCategory.InvalidArgument,
                    removeCrlFolder
                        ? "Revocation mode Offline checks only the CRL files of the CRL folder, so the folder cannot be removed. Set another mode first: Set-GatewayRevocation -Mode Online -RemoveCrlFolder."
                        : "Revocation mode Offline checks only the CRL files of a CRL folder, and none is set. Give one: Set-GatewayRevocation -Mode Offline -CrlFolder <folder>.",
                    next.Mode);
            }
            after = next == new RevocationSettings() ? null : next;
            return before.Service.Revocation == after ? before : before with { Service = before.Service with { Revocation = after } };
        });
        if (after?.CrlFolder is { } folder && !Directory.Exists(folder))
            warnings.Add($"The CRL folder '{folder}' does not exist yet. The gateway watches for it; until CRL files are there, no certificate is known to be unrevoked by them{(after.Mode == RevocationMode.Offline ? " and every revocation check fails" : string.Empty)}.");
        if (after?.Mode == RevocationMode.NoCheck)
            warnings.Add("Revocation mode NoCheck: validate-revocation=\"true\" and Verify() now pass without checking whether the certificate was revoked.");
        return new OperationResult<GatewayRevocation>(RevocationOutput(after), warnings);
    }

    private GatewayRevocation RevocationOutput(RevocationSettings? settings)
    {
        settings ??= new RevocationSettings();
        bool? exists = settings.CrlFolder is { } f ? Directory.Exists(f) : null;
        int? count = null;
        if (exists == true)
        {
            try
            {
                count = CrlFilePatterns.Sum(p => Directory.EnumerateFiles(settings.CrlFolder!, p).Count());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                count = null;
            }
        }
        return new GatewayRevocation
        {
            Mode = settings.Mode,
            CrlFolder = settings.CrlFolder,
            CrlFolderExists = exists,
            CrlFileCount = count,
            ConfigurationPath = ConfigurationPath,
        };
    }
}
