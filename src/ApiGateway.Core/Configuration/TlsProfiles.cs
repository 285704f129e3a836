using System.Collections.Immutable;
using System.Net.Security;

namespace ApiGateway.Core.Configuration;

/// <summary>What a hostname offers in its TLS handshakes: protocol versions and cipher suites.</summary>
public enum TlsProfile
{
    /// <summary>
    /// Mozilla's "intermediate" profile, the default: TLS 1.3, and TLS 1.2 with ECDHE key exchange and AEAD ciphers
    /// only (AES-GCM, ChaCha20-Poly1305). No CBC suites (LUCKY13), no static-RSA key exchange, no 3DES, RC4, NULL or
    /// EXPORT suites, nothing before TLS 1.2.
    /// </summary>
    Intermediate,

    /// <summary>Mozilla's "modern" profile: TLS 1.3 only, with its (all AEAD) suites. Clients without TLS 1.3 fail the handshake.</summary>
    Modern,

    /// <summary>TLS 1.2 and 1.3 with exactly the suites in <see cref="HostnameEntry.CipherSuites"/> (for experts; not on Windows).</summary>
    Custom,
}

/// <summary>The cipher suites of the profiles, by their IANA names (as <see cref="TlsCipherSuite"/> spells them).</summary>
internal static class TlsProfiles
{
    /// <summary>
    /// Mozilla intermediate (guidelines 5.7) without the DHE suites: every client that has TLS 1.2 with AEAD has ECDHE
    /// too, and finite-field DHE needs DH parameters to be managed (and is what testssl.sh flags when they are short).
    /// TLS 1.3 suites first; within TLS 1.2, ECDSA before RSA so the server certificate's key type picks its own.
    /// </summary>
    public static ImmutableArray<TlsCipherSuite> Intermediate { get; } =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>The TLS 1.3 suites (every one AEAD).</summary>
    public static ImmutableArray<TlsCipherSuite> Tls13 { get; } =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>Parses an IANA suite name (e.g. <c>TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256</c>), without regard to case.</summary>
    public static bool TryParse(string? name, out TlsCipherSuite suite)
    {
        suite = default;
        var text = name?.Trim();
        return !string.IsNullOrEmpty(text)
            && text.StartsWith("TLS_", StringComparison.OrdinalIgnoreCase)
            && !text.Any(char.IsWhiteSpace)
            && Enum.TryParse(text, ignoreCase: true, out suite)
            && Enum.IsDefined(suite);
    }

    /// <summary>The IANA name of a suite, as written in the configuration.</summary>
    public static string NameOf(TlsCipherSuite suite) => suite.ToString();

    /// <summary>Problems of a hostname's TLS offer: a custom profile needs valid suite names; the others take none.</summary>
    public static IEnumerable<string> Validate(HostnameEntry hostname)
    {
        var profile = hostname.TlsProfile ?? TlsProfile.Intermediate;
        var suites = hostname.CipherSuites ?? [];
        if (profile != TlsProfile.Custom)
        {
            if (suites.Length > 0)
                yield return $"Hostname '{hostname.HostName}' lists cipher suites but its TLS profile is '{Lower(profile)}', which has its own. Give -TlsProfile Custom to use them, or remove them (Set-GatewayHostname -HostName {hostname.HostName} -TlsProfile {profile}).";
            yield break;
        }
        if (suites.Length == 0)
        {
            yield return $"Hostname '{hostname.HostName}' has the custom TLS profile but no cipher suites. Give -CipherSuite with IANA names such as TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, or -TlsProfile Intermediate.";
            yield break;
        }
        foreach (var name in suites)
        {
            if (!TryParse(name, out _))
                yield return $"Hostname '{hostname.HostName}' lists the cipher suite '{name}', which is not an IANA TLS cipher suite name. Use names such as TLS_AES_128_GCM_SHA256 or TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (OpenSSL's names such as ECDHE-RSA-AES128-GCM-SHA256 are not accepted).";
        }
    }

    internal static string Lower(TlsProfile profile) => profile.ToString().ToLowerInvariant();
}
