using System.Runtime.InteropServices;
using System.Security;

namespace ApiGateway.Core.Certificates;

/// <summary>
/// Passwords and other secrets travel as <see cref="SecureString"/> (what PowerShell's <c>Read-Host -AsSecureString</c>
/// and <c>ConvertTo-SecureString</c> give) and are only ever opened into a char buffer that is wiped after use.
/// </summary>
internal static class Secrets
{
    /// <summary>A read-only <see cref="SecureString"/> holding <paramref name="chars"/>.</summary>
    public static SecureString ToSecureString(ReadOnlySpan<char> chars)
    {
        var secure = new SecureString();
        foreach (var c in chars)
            secure.AppendChar(c);
        secure.MakeReadOnly();
        return secure;
    }

    /// <summary>
    /// Calls <paramref name="use"/> with the characters of <paramref name="secret"/> (an empty span for null) and
    /// wipes the unmanaged copy afterwards. The span must not escape the callback.
    /// </summary>
    public static T Use<T>(SecureString? secret, SpanFunc<T> use)
    {
        ArgumentNullException.ThrowIfNull(use);
        if (secret is null || secret.Length == 0)
            return use(ReadOnlySpan<char>.Empty, secret is null);
        var pointer = Marshal.SecureStringToGlobalAllocUnicode(secret);
        try
        {
            unsafe
            {
                return use(new ReadOnlySpan<char>((char*)pointer, secret.Length), false);
            }
        }
        finally
        {
            Marshal.ZeroFreeGlobalAllocUnicode(pointer);
        }
    }

    /// <summary>A callback over secret characters; <paramref name="isNull"/> tells "no secret" from "empty secret".</summary>
    public delegate T SpanFunc<out T>(ReadOnlySpan<char> chars, bool isNull);
}
