using System.ComponentModel;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Host.Expressions;

namespace ApiGateway.Host.Context;

/// <summary>
/// Helpers the expression compiler substitutes into policy expressions (never written by hand): distinguished-name
/// comparison for <c>Subject</c>, <c>Issuer</c>, <c>SubjectName</c> and <c>IssuerName</c>; a cached, case-insensitive
/// <c>Thumbprint</c>; the gateway's own <c>Verify()</c>; and the conversions of expression results to attribute values.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ExpressionRuntime
{
    private static readonly ConditionalWeakTable<X509Certificate2, string> Thumbprints = new();

    /// <summary><c>a == b</c> for distinguished names (see docs/gateway.md, "Comparing distinguished names").</summary>
    public static bool DnEquals(string? a, string? b) =>
        a is null || b is null ? ReferenceEquals(a, b) : DistinguishedName.Equals(a, b);

    /// <summary><c>certificate.SubjectName == "CN=..."</c>.</summary>
    public static bool DnEquals(X500DistinguishedName? a, string? b) => DnEquals(a?.Name, b);

    /// <summary><c>"CN=..." == certificate.SubjectName</c>.</summary>
    public static bool DnEquals(string? a, X500DistinguishedName? b) => DnEquals(a, b?.Name);

    // The certificate whose thumbprint this thread looked up last: in a loop over context.Deployment.Certificates
    // comparing each with context.Request.Certificate, the request's certificate is asked for again and again.
    [ThreadStatic]
    private static X509Certificate2? s_lastCertificate;

    [ThreadStatic]
    private static string? s_lastThumbprint;

    /// <summary><c>certificate.Thumbprint</c>, computed once per certificate object (the property builds a new string each time).</summary>
    public static string Thumbprint(X509Certificate2 certificate)
    {
        if (certificate is null)
            return certificate!.Thumbprint; // the NullReferenceException the original member access throws
        if (certificate is DeploymentCertificate deployment)
            return deployment.KnownThumbprint;
        if (ReferenceEquals(certificate, s_lastCertificate))
            return s_lastThumbprint!;
        var thumbprint = Thumbprints.GetValue(certificate, static c => c.Thumbprint);
        s_lastCertificate = certificate;
        s_lastThumbprint = thumbprint;
        return thumbprint;
    }

    /// <summary>
    /// <c>certificates.Any(c => c.Value.Thumbprint == x)</c>, rewritten: whether one of <paramref name="certificates"/>
    /// has the thumbprint <paramref name="thumbprint"/> gives (compared without regard to case), evaluated only when
    /// there is a certificate.
    /// </summary>
    public static bool ThumbprintIn<TState>(CertificateDictionary certificates, TState state, Func<TState, string?> thumbprint)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        ArgumentNullException.ThrowIfNull(thumbprint);
        return certificates.Count > 0 && certificates.ContainsThumbprint(thumbprint(state));
    }

    /// <summary><c>a == b</c> for thumbprints: hexadecimal, so without regard to case.</summary>
    public static bool ThumbprintEquals(string? a, string? b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// <c>certificate.Verify()</c>: whether the chain builds to an uploaded CA certificate or a system root, every
    /// certificate is within its validity period, and none is revoked (checked online, once per connection).
    /// </summary>
    public static bool Verify(PolicyContext context, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.VerifyCertificate(certificate, checkRevocation: true);
    }

    /// <summary><c>certificate.VerifyNoRevocation()</c>: as <see cref="Verify"/> without the revocation check.</summary>
    public static bool VerifyNoRevocation(PolicyContext context, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.VerifyCertificate(certificate, checkRevocation: false);
    }

    /// <summary><c>certificate?.Verify()</c>.</summary>
    public static bool? VerifyOrNull(PolicyContext context, X509Certificate2? certificate) =>
        certificate is null ? null : Verify(context, certificate);

    /// <summary><c>certificate?.VerifyNoRevocation()</c>.</summary>
    public static bool? VerifyNoRevocationOrNull(PolicyContext context, X509Certificate2? certificate) =>
        certificate is null ? null : VerifyNoRevocation(context, certificate);

    /// <summary>An expression's value as attribute text.</summary>
    public static string? ToText(string? value) => value;

    /// <summary>An expression's value as attribute text (invariant culture).</summary>
    public static string? ToText<T>(T value) => value switch
    {
        null => null,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>An expression's value as a status code.</summary>
    public static int ToStatusCode(int value) => value;

    /// <summary>An expression's value as a status code.</summary>
    public static int ToStatusCode(string? value) => int.Parse(value ?? string.Empty, NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>An expression's value as a status code.</summary>
    public static int ToStatusCode<T>(T value) => Convert.ToInt32(value, CultureInfo.InvariantCulture);
}

/// <summary>
/// A certificate of <c>context.Deployment.Certificates</c> (a public copy, no key) that carries its thumbprint, so
/// <c>c.Value.Thumbprint</c> in a policy is a field read rather than a table lookup per certificate per request.
/// </summary>
internal sealed class DeploymentCertificate : X509Certificate2
{
    public DeploymentCertificate(X509Certificate2 source)
        : base(source)
    {
        KnownThumbprint = source.Thumbprint;
    }

    /// <summary>The thumbprint, as <see cref="X509Certificate.GetCertHashString()"/> gives it.</summary>
    public string KnownThumbprint { get; }
}

/// <summary>Certificate checks available in policy expressions.</summary>
public static class CertificateExtensions
{
    /// <summary>
    /// Whether the certificate's chain builds to an uploaded CA certificate or a system root and every certificate
    /// is within its validity period, without checking revocation. Only meaningful inside a policy expression,
    /// where the compiler replaces the call with the gateway's check.
    /// </summary>
    public static bool VerifyNoRevocation(this X509Certificate2 certificate) =>
        throw new InvalidOperationException("VerifyNoRevocation() is evaluated by the gateway inside policy expressions only.");

    // The names below are decoded once per certificate object (the connection's certificate is one object for all
    // its requests) and handed out read-only: an expression that casts a list to IList<string> cannot change what the
    // next request sees.

    /// <summary>The DNS names (dNSName) of the subject alternative names, as the certificate writes them.</summary>
    public static IReadOnlyList<string> GetDnsNames(this X509Certificate2 certificate) => Names(certificate).DnsNames;

    /// <summary>The URIs (uniformResourceIdentifier, e.g. SPIFFE IDs) of the subject alternative names, as written.</summary>
    public static IReadOnlyList<string> GetUris(this X509Certificate2 certificate) => Names(certificate).Uris;

    /// <summary>The e-mail addresses (rfc822Name) of the subject alternative names, as written.</summary>
    public static IReadOnlyList<string> GetEmailAddresses(this X509Certificate2 certificate) => Names(certificate).Emails;

    /// <summary>The IP addresses of the subject alternative names, in their usual text form (IPv6 compressed, RFC 5952).</summary>
    public static IReadOnlyList<string> GetIpAddresses(this X509Certificate2 certificate) => Names(certificate).IpAddresses;

    /// <summary>The base64 SHA-256 of the SubjectPublicKeyInfo: the RFC 7469 pin-sha256 (validate-client-certificate's spki-sha256).</summary>
    public static string GetSpkiSha256(this X509Certificate2 certificate) => Convert.ToBase64String(Names(certificate).SpkiSha256);

    /// <summary>The SHA-256 fingerprint of the certificate, upper-case hex (validate-client-certificate's thumbprint-sha256).</summary>
    public static string GetSha256Thumbprint(this X509Certificate2 certificate) => Convert.ToHexString(Names(certificate).Sha256);

    /// <summary>Whether one of the DNS names is <paramref name="name"/>: ASCII case-insensitive, as dns-name compares (a wildcard name only matches itself).</summary>
    public static bool HasDnsName(this X509Certificate2 certificate, string name) => Names(certificate).HasDnsName(name);

    /// <summary>Whether one of the URIs is <paramref name="uri"/> (scheme and host case-insensitive, the rest exact), as san-uri compares.</summary>
    public static bool HasUri(this X509Certificate2 certificate, string uri) => Names(certificate).HasUri(uri);

    /// <summary>Whether one of the e-mail addresses is <paramref name="address"/> (local part exact, domain case-insensitive), as san-email compares.</summary>
    public static bool HasEmailAddress(this X509Certificate2 certificate, string address) => Names(certificate).HasEmail(address);

    /// <summary>Whether one of the IP addresses is <paramref name="address"/>, compared as addresses ("::1" is "0:0:0:0:0:0:0:1"), as san-ip compares.</summary>
    public static bool HasIpAddress(this X509Certificate2 certificate, string address) => Names(certificate).HasIpAddress(address);

    private static Tls.CertificateNames Names(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Tls.CertificateNames.Of(certificate);
    }
}
