using System.Net.Security;
using System.Runtime.Versioning;
using System.Security.Authentication;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Host.Tls;

/// <summary>
/// What a hostname offers in the handshake, built once per revision from its <see cref="TlsProfile"/>: the protocol
/// versions and, where the platform lets the application choose, the cipher suites. Linux (OpenSSL) and macOS honour
/// <see cref="CipherSuitesPolicy"/>; Windows (SChannel) does not (.NET throws PlatformNotSupportedException), so
/// there the suites are the operating system's (set them with Disable-TlsCipherSuite or the "SSL Cipher Suite Order"
/// group policy) and only the protocol versions are the profile's.
/// </summary>
internal sealed class TlsOffer
{
    private TlsOffer(TlsProfile profile, SslProtocols protocols, CipherSuitesPolicy? suites, string? warning)
    {
        Profile = profile;
        Protocols = protocols;
        CipherSuites = suites;
        Warning = warning;
    }

    public TlsProfile Profile { get; }

    /// <summary>TLS 1.2 and 1.3, or 1.3 alone (modern).</summary>
    public SslProtocols Protocols { get; }

    /// <summary>The suites offered; null where the platform chooses (TLS 1.3 only, or Windows).</summary>
    public CipherSuitesPolicy? CipherSuites { get; }

    /// <summary>
    /// Whether a ClientHello that offers TLS 1.3 may be answered without <see cref="CipherSuites"/>: the profile's TLS
    /// 1.3 suites are all three AEAD suites, which is what OpenSSL offers by default, and a client that offers TLS 1.3
    /// negotiates it (the profile's TLS 1.2 suites never apply to it; RFC 8446 4.1.3 guards against a downgrade).
    /// <para>
    /// It matters for speed: .NET shares one OpenSSL SSL_CTX per server certificate only when no CipherSuitesPolicy is
    /// given, and with a policy it builds a new SSL_CTX (certificate, key, settings) on every handshake, whose session
    /// tickets no other connection can redeem, so no session is ever resumed.
    /// </para>
    /// </summary>
    public bool Tls13WithoutPolicy { get; private init; }

    /// <summary>What the operator should know about this offer on this platform (logged when a listener starts), or null.</summary>
    public string? Warning { get; }

    /// <summary>Whether this platform lets the application choose cipher suites (not Windows, not Android).</summary>
    [UnsupportedOSPlatformGuard("windows")]
    [UnsupportedOSPlatformGuard("android")]
    public static bool CanChooseSuites => !OperatingSystem.IsWindows() && !OperatingSystem.IsAndroid();

    /// <summary>The offer of <paramref name="hostname"/>, or the reason it cannot be made here.</summary>
    public static bool TryCreate(HostnameEntry hostname, out TlsOffer offer, out string? error)
    {
        var profile = hostname.TlsProfile ?? TlsProfile.Intermediate;
        error = null;
        switch (profile)
        {
            case TlsProfile.Modern:
                // TLS 1.3 has only AEAD suites; the platform's list of them is what Mozilla's modern profile offers.
                offer = new TlsOffer(profile, SslProtocols.Tls13, null, null);
                return true;
            case TlsProfile.Custom:
                var suites = (hostname.CipherSuites ?? []).Select(n => TlsProfiles.TryParse(n, out var s) ? s : (TlsCipherSuite?)null).ToList();
                if (suites.Count == 0 || suites.Any(s => s is null))
                {
                    offer = null!;
                    error = $"Hostname '{hostname.HostName}' has the custom TLS profile without valid cipher suites.";
                    return false;
                }
                if (!CanChooseSuites)
                {
                    offer = null!;
                    error = $"Hostname '{hostname.HostName}' has the custom TLS profile, but on {System.Runtime.InteropServices.RuntimeInformation.OSDescription} the operating system chooses the cipher suites (.NET cannot restrict them here). Use -TlsProfile Intermediate or Modern, and set the suites with Disable-TlsCipherSuite / Enable-TlsCipherSuite.";
                    return false;
                }
                offer = new TlsOffer(profile, SslProtocols.Tls12 | SslProtocols.Tls13, Policy(suites.Select(s => s!.Value)), null)
                {
                    Tls13WithoutPolicy = TlsProfiles.Tls13.All(t => suites.Contains(t)),
                };
                return true;
            default:
                offer = !CanChooseSuites
                    ? new TlsOffer(profile, SslProtocols.Tls12 | SslProtocols.Tls13, null,
                        $"Hostname '{hostname.HostName}': on this operating system the TLS 1.2 cipher suites are the system's, not the intermediate profile's (which has no CBC suites). Disable the CBC suites system-wide (Disable-TlsCipherSuite), or give the hostname -TlsProfile Modern (TLS 1.3 only).")
                    : new TlsOffer(profile, SslProtocols.Tls12 | SslProtocols.Tls13, Policy(TlsProfiles.Intermediate), null) { Tls13WithoutPolicy = true };
                return true;
        }
    }

    /// <summary>
    /// Protocols and suites for a handshake whose ClientHello offers TLS 1.3 (<paramref name="clientOffersTls13"/>): TLS 1.3
    /// alone and no policy when <see cref="Tls13WithoutPolicy"/> allows it (the shared, resumable SSL_CTX), the whole offer otherwise.
    /// </summary>
    public (SslProtocols Protocols, CipherSuitesPolicy? Suites) For(bool clientOffersTls13) =>
        CipherSuites is not null && Tls13WithoutPolicy && clientOffersTls13 && (Protocols & SslProtocols.Tls13) != 0
            ? (SslProtocols.Tls13, null)
            : (Protocols, CipherSuites);

    private static CipherSuitesPolicy? Policy(IEnumerable<TlsCipherSuite> suites) =>
        CanChooseSuites ? new CipherSuitesPolicy(suites) : null;
}
