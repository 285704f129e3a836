using System.Collections.Concurrent;
using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;

namespace ApiGateway.Host.Tls;

/// <summary>
/// The TLS 1.3 session tickets of a full handshake: one instead of OpenSSL's default two, and stateful (the session
/// stays in the context's session cache and the ticket names it) instead of the whole session encrypted into it.
/// <para>
/// A stateless ticket is the session, the client's certificate included, and OpenSSL 3.0 re-decodes the session
/// (i2d, d2i, i2d: the certificate and its public key parsed again) for every ticket it builds: in the handshake
/// profile the two tickets were 18.6 % of the gateway's CPU (d2i_SSL_SESSION under SSL_do_handshake), a quarter
/// with the rest of the ticket work. A stateful ticket costs a cache insertion.
/// </para>
/// <para>
/// Measured with bench/settings-sweep.sh --mode new --rounds 5 --secs 4, one interleaved run against nginx and the
/// unchanged gateway (run v5): gateway CPU per full handshake 0.655 of the unchanged gateway's (median 891 vs
/// 1360 µs; nginx 883), handshakes/s 1.43 of it (0.69 → 0.99 of nginx's rate). One stateless ticket alone (the
/// first commit of this change) gave 0.796 and 1.23 in the same run (0.833 and 1.19 in the run before).
/// </para>
/// <para>
/// What it changes: a returning client still resumes (every connection, full or resumed, hands it a fresh ticket;
/// RFC 8446 4.6.1 lets the server choose how many and lets a ticket be a database key; clients use a ticket once,
/// RFC 8446 C.4), and a resumed session's certificate still goes through the validation callback. A second
/// connection opened in parallel before the first returns makes a full handshake (one ticket). The sessions live in
/// the process: the context's cache holds at most <see cref="CacheSize"/> (10,000, where OpenSSL's default is 20,480;
/// the oldest goes first), about 5 KB each with the client certificate, so up to ~50 MB of native memory per server
/// certificate under a stream of new clients (with OpenSSL's default size, +105 MB RSS in the sweep, which fills
/// it); a client whose session left the cache makes a full handshake. Stateless tickets were not
/// shared between gateway processes either (.NET gives every SSL_CTX random ticket keys), so several instances lose
/// nothing. The tickets of the very first handshake of each context (issued before this is applied) no longer resume.
/// </para>
/// <para>
/// .NET has no setting for any of it: the settings go on the OpenSSL SSL_CTX that .NET shares between the handshakes
/// of one server certificate (every later SSL copies them), reached once per context through the connection's
/// SslStream; .NET's own server setting keeps SSL_SESS_CACHE_NO_INTERNAL_STORE, which would leave a stateful ticket
/// nothing to name, so the cache mode becomes SSL_SESS_CACHE_SERVER. Anything unexpected (another runtime's
/// internals, another TLS library, a platform without OpenSSL) turns it off for good and the handshakes keep
/// OpenSSL's default; nothing about a connection's validation depends on it.
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

    /// <summary>Sets the ticket count and stateful tickets on the SSL_CTX of <paramref name="sender"/>'s connection, once per context.</summary>
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
                    // Stateful tickets: the session stays in the context's cache, the ticket names it.
                    Native.SSL_CTX_set_options(context, NoTicket);
                    Native.SSL_CTX_ctrl(context, SetSessionCacheMode, SessionCacheServer, IntPtr.Zero);
                    Native.SSL_CTX_ctrl(context, SetSessionCacheSize, CacheSize, IntPtr.Zero);
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

    private const ulong NoTicket = 0x00004000; // SSL_OP_NO_TICKET
    private const int SetSessionCacheMode = 44; // SSL_CTRL_SET_SESS_CACHE_MODE
    private const nint SessionCacheServer = 0x0002; // SSL_SESS_CACHE_SERVER (without .NET's SSL_SESS_CACHE_NO_INTERNAL_STORE)
    private const int SetSessionCacheSize = 42; // SSL_CTRL_SET_SESS_CACHE_SIZE

    /// <summary>Sessions kept per server certificate (OpenSSL's default is 20,480): the oldest leaves first, as in the gateway's other per-certificate caches.</summary>
    public const int CacheSize = 10_000;

    private static class Native
    {
        [DllImport(Ssl, ExactSpelling = true)]
        public static extern ulong SSL_CTX_set_options(IntPtr context, ulong options);

        [DllImport(Ssl, ExactSpelling = true)]
        public static extern nint SSL_CTX_ctrl(IntPtr context, int command, nint larg, IntPtr parg);

        // The libssl .NET itself has loaded (System.Security.Cryptography.Native.OpenSsl binds OpenSSL 3 by this name).
        private const string Ssl = "libssl.so.3";

        [DllImport(Ssl, ExactSpelling = true)]
        public static extern IntPtr SSL_get_SSL_CTX(IntPtr ssl);

        [DllImport(Ssl, ExactSpelling = true)]
        public static extern int SSL_CTX_set_num_tickets(IntPtr context, nuint count);
    }
}
