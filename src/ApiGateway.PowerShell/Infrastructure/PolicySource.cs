using ApiGateway.Core;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>Reads a policy file (<c>Set-GatewayPolicy -PolicyFilePath</c>) with errors that name the file.</summary>
internal static class PolicySource
{
    public static string ReadFile(string fullPath)
    {
        try
        {
            return File.ReadAllText(fullPath);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new GatewayException("Policy", "FileNotFound", GatewayErrorCategory.NotFound,
                $"The policy file '{fullPath}' does not exist. Check the path, or give the XML with -Policy.", fullPath, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GatewayException("Policy", "FileUnreadable", GatewayErrorCategory.ReadError,
                $"The policy file '{fullPath}' cannot be read: {ex.Message}", fullPath, ex);
        }
    }
}
