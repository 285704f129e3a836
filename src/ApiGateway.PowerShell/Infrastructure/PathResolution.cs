using System.Management.Automation;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>A path that does not name a file-system location.</summary>
public sealed class PathResolutionException : Exception
{
    public PathResolutionException()
    {
    }

    public PathResolutionException(string message)
        : base(message)
    {
    }

    public PathResolutionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The path as the user gave it.</summary>
    public string? Path { get; init; }
}

/// <summary>
/// Paths the user gives (configuration, PFX, PEM, key, policy files) resolve through the PowerShell provider, as
/// <c>-LiteralPath</c> does: relative to the current location (not the process's working directory), <c>~</c>,
/// PSDrives, provider-qualified paths. The file need not exist yet (the Core operation says so if it must).
/// </summary>
internal static class PathResolution
{
    public static string Resolve(PathIntrinsics paths, string path)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string resolved;
        ProviderInfo provider;
        try
        {
            resolved = paths.GetUnresolvedProviderPathFromPSPath(path, out provider, out _);
        }
        catch (Exception ex) when (ex is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or NotSupportedException or PSArgumentException)
        {
            throw new PathResolutionException($"The path '{path}' cannot be resolved: {ex.Message}", ex) { Path = path };
        }
        RequireFileSystem(path, provider?.Name);
        return resolved;
    }

    /// <summary>Refuses paths of other providers (<c>Cert:\</c>, <c>Env:</c>, registry): the gateway reads files.</summary>
    internal static void RequireFileSystem(string path, string? providerName)
    {
        if (!string.Equals(providerName, "FileSystem", StringComparison.OrdinalIgnoreCase))
        {
            throw new PathResolutionException(
                $"The path '{path}' is on the {providerName ?? "unknown"} provider, not the file system. Give a file path (for a certificate in Cert:\\, use -Certificate or -StoreThumbprint).")
            { Path = path };
        }
    }
}
