using System.Collections.Concurrent;
using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;

namespace ApiGateway.Host.Tls;

/// <summary>
/// How many TLS 1.3 session tickets a full handshake issues: one instead of OpenSSL's default two.
/// <para>
/// Each ticket is the whole session encrypted, the client's certificate included, and OpenSSL 3.0 re-decodes the
/// session (i2d, d2i, i2d: the certificate and its public key parsed again) for every ticket it builds. In the
/// handshake profile the two tickets were 18.6 % of the gateway's CPU (d2i_SSL_SESSION under SSL_do_handshake).
/// Measured with bench/settings-sweep.sh --mode new --rounds 5 --secs 4 (one interleaved run, nginx in every round):
/// this change, gateway CPU per full handshake 0.833 of the unchanged gateway's (median 1053 vs 1264 µs; per-round
/// ratios 0.79-0.91), handshakes/s 1.19 of it (0.71 → 0.84 of nginx's rate); in an earlier run the same count set
/// through an OpenSSL configuration (NumTickets = 1) gave 0.888 and 1.155.
/// </para>
/// <para>
/// A returning client still resumes: every connection, full or resumed, hands it a fresh ticket (RFC 8446 4.6.1
/// lets the server choose how many; clients use a ticket once, RFC 8446 C.4). What it loses is a second ticket for
/// a second connection opened in parallel before the first returns, which then makes a full handshake.
/// </para>
/// <para>
/// .NET has no setting for it: the count is set on the OpenSSL SSL_CTX that .NET shares between the handshakes of
/// one server certificate (it copies into every later SSL), reached once per context through the connection's
/// SslStream. Anything unexpected (another runtime's internals, another TLS library, a platform without OpenSSL)
/// turns it off for good and the handshakes keep OpenSSL's default; nothing about a connection's validation depends
/// on it.
/// </para>
/// </summary>
internal static class SessionTickets
{
    /// <summary>Tickets per handshake.</summary>
    public const int PerHandshake = 1;

    private static readonly FieldInfo? SecurityContext = Find();
    private static readonly ConcurrentDictionary<IntPtr, byte> Applied = new();
    private static volatile bool s_disabled = SecurityContext is null;

    /// <summary>Whether the count can still be applied here (false once anything was unexpected).</summary>
    public static bool Enabled => !s_disabled;

    /// <summary>Sets the ticket count on the SSL_CTX of <paramref name="sender"/>'s connection, once per context.</summary>
    public static void Apply(object? sender)
    {
        if (s_disabled || sender is not SslStream stream)
            return;
        try
        {
            if (SecurityContext!.GetValue(stream) is not SafeHandle ssl || ssl.IsInvalid || ssl.IsClosed)
                return;
            var added = false;
            try
            {
                ssl.DangerousAddRef(ref added);
                var context = Native.SSL_get_SSL_CTX(ssl.DangerousGetHandle());
                if (context == IntPtr.Zero || Applied.ContainsKey(context))
                    return;
                if (Native.SSL_CTX_set_num_tickets(context, PerHandshake) == 1)
                {
                    if (Applied.Count >= 1024)
                        Applied.Clear(); // contexts come and go with certificates; a forgotten one is only set again
                    Applied.TryAdd(context, 0);
                }
                else
                {
                    s_disabled = true;
                }
            }
            finally
            {
                if (added)
                    ssl.DangerousRelease();
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or FieldAccessException
                                       or ArgumentException or ObjectDisposedException or InvalidOperationException)
        {
            s_disabled = true;
        }
    }

    private static FieldInfo? Find()
    {
        // Only where .NET runs on OpenSSL 3 (the libssl bound below must be the one it loaded).
        if (!OperatingSystem.IsLinux() || System.Security.Cryptography.SafeEvpPKeyHandle.OpenSslVersion < 0x30000000L)
            return null;
        // SslStream._securityContext: on Linux the SafeSslHandle of the connection, whose handle is OpenSSL's SSL*.
        var field = typeof(SslStream).GetField("_securityContext", BindingFlags.NonPublic | BindingFlags.Instance);
        return field is not null && typeof(SafeHandle).IsAssignableFrom(field.FieldType)
            && field.FieldType.Assembly.GetType("Microsoft.Win32.SafeHandles.SafeSslHandle") is { } ssl && field.FieldType.IsAssignableFrom(ssl)
            ? field
            : null;
    }

    private static class Native
    {
        // The libssl .NET itself has loaded (System.Security.Cryptography.Native.OpenSsl binds OpenSSL 3 by this name).
        private const string Ssl = "libssl.so.3";

        [DllImport(Ssl, ExactSpelling = true)]
        public static extern IntPtr SSL_get_SSL_CTX(IntPtr ssl);

        [DllImport(Ssl, ExactSpelling = true)]
        public static extern int SSL_CTX_set_num_tickets(IntPtr context, nuint count);
    }
}
