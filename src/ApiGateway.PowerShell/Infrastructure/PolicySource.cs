using System.Security.Cryptography;
using System.Text;
using ApiGateway.Core;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>
/// Policy files: reading one (<c>Set-GatewayPolicy -PolicyFilePath</c>) and saving one (<c>Get-GatewayPolicy -SaveAs</c>),
/// with errors that name the file.
/// </summary>
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

    /// <summary>
    /// Writes <paramref name="policy"/> (UTF-8 without BOM, LF line ends and a final newline) to
    /// <paramref name="fullPath"/>: whole or not at all, through a temporary file in the same folder that is renamed
    /// into place. An existing file is replaced only with <paramref name="overwrite"/>; otherwise
    /// <c>PolicyFileExists</c>, and the rename itself refuses, so a file that appears meanwhile is not lost either.
    /// </summary>
    public static void WriteFile(string fullPath, string policy, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (!overwrite && Path.Exists(fullPath))
            throw Exists(fullPath, null);
        if (Directory.Exists(fullPath))
            throw Unwritable(fullPath, "it is a folder", null);
        var folder = Path.GetDirectoryName(fullPath) ?? ".";
        if (!Directory.Exists(folder))
            throw Unwritable(fullPath, $"the folder '{folder}' does not exist", null);
        var temp = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        try
        {
            File.WriteAllText(temp, policy.ReplaceLineEndings("\n").TrimEnd('\n') + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Move(temp, fullPath, overwrite);
        }
        catch (IOException ex) when (!overwrite && Path.Exists(fullPath))
        {
            throw Exists(fullPath, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unwritable(fullPath, ex.Message, ex);
        }
        finally
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A leftover temporary file is harmless; never let cleanup hide the real outcome.
            }
        }
    }

    private static GatewayException Exists(string fullPath, Exception? inner) =>
        new("Policy", "FileExists", GatewayErrorCategory.AlreadyExists,
            $"The file '{fullPath}' already exists. Give -Force to overwrite it, or another -SaveAs path.", fullPath, inner);

    private static GatewayException Unwritable(string fullPath, string reason, Exception? inner) =>
        new("Policy", "FileUnwritable", GatewayErrorCategory.WriteError,
            $"The policy file '{fullPath}' cannot be written: {reason}. Give a -SaveAs path in a folder you can write to.", fullPath, inner);
}
