using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ApiGateway.Core.Certificates;

/// <summary>
/// The comparison forms of certificate identities, shared by the policy parser (which refuses a value that can never
/// match) and the gateway (which compares the forms, for the identity as written and for each name of a
/// certificate). Each form follows the specification of its name:
/// <list type="bullet">
/// <item>DNS names (RFC 6125 §6.4.1): ASCII case-insensitive, one trailing dot ignored, internationalized names as
/// their A-labels. A wildcard name matches only the same wildcard name, written out (see docs/gateway.md).</item>
/// <item>URIs (RFC 3986 §6.2.2.1): scheme and host case-insensitive, everything else exact.</item>
/// <item>E-mail addresses (RFC 5321 §2.4): the local part exact, the domain as a DNS name.</item>
/// <item>IP addresses: as addresses (the 4 or 16 octets), so every text form of one IPv6 address is equal.</item>
/// <item>Serial numbers: hexadecimal, case and leading zeros ignored, ':', '-' and spaces allowed between digits.</item>
/// <item>SHA-256 pins of the SubjectPublicKeyInfo (RFC 7469 pin-sha256) and of the certificate: the exact 32 bytes.</item>
/// </list>
/// </summary>
internal static class IdentityValues
{
    /// <summary>Bytes of a SHA-256 hash.</summary>
    public const int Sha256Length = 32;

    /// <summary>
    /// The comparison form of a DNS name (lower-case A-labels without a trailing dot), or null when it is not one: empty
    /// labels, labels over 63 or a name over 253 characters, characters other than letters, digits, '-' and '_', or
    /// a '*' anywhere but as the whole leftmost label.
    /// </summary>
    public static string? DnsName(string? name)
    {
        if (string.IsNullOrEmpty(name))
            return null;
        if (name.EndsWith('.'))
            name = name[..^1];
        if (!Ascii.IsValid(name))
        {
            try
            {
                name = new IdnMapping().GetAscii(name);
            }
            catch (ArgumentException)
            {
                return null;
            }
        }
        if (name.Length is 0 or > 253)
            return null;
        var labels = name.Split('.');
        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i];
            if (label.Length is 0 or > 63)
                return null;
            if (label == "*" && i == 0 && labels.Length > 1)
                continue;
            foreach (var c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_')
                    return null;
            }
        }
        return name.ToLowerInvariant();
    }

    /// <summary>The comparison form of an e-mail address (local part as written, domain as <see cref="DnsName"/>), or null.</summary>
    public static string? Email(string? address)
    {
        if (string.IsNullOrEmpty(address))
            return null;
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
            return null;
        var local = address[..at];
        foreach (var c in local)
        {
            // The local part is ASCII without controls or spaces (RFC 5321 §4.1.2, quoted strings aside).
            if (c is <= ' ' or >= (char)0x7f)
                return null;
        }
        var domain = DnsName(address[(at + 1)..]);
        return domain is null || domain.StartsWith('*') ? null : local + "@" + domain;
    }

    /// <summary>
    /// The comparison form of an absolute URI: the scheme and the host in lower case, the user information, port, path,
    /// query and fragment exactly as written (RFC 3986 §6.2.2.1 makes only scheme and host case-insensitive; no
    /// percent-decoding or dot-segment removal, as peers such as Envoy compare URI SANs as strings). Null when
    /// <paramref name="uri"/> is not an absolute URI.
    /// </summary>
    public static string? Uri(string? uri)
    {
        if (string.IsNullOrEmpty(uri) || !System.Uri.TryCreate(uri, UriKind.Absolute, out _))
            return null;
        var colon = uri.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
            return null;
        foreach (var c in uri)
        {
            if (c is <= ' ' or >= (char)0x7f)
                return null;
        }
        var builder = new StringBuilder(uri.Length);
        builder.Append(uri.AsSpan(0, colon).ToString().ToLowerInvariant()).Append(':');
        var rest = uri.AsSpan(colon + 1);
        if (!rest.StartsWith("//"))
            return builder.Append(rest).ToString();
        builder.Append("//");
        rest = rest[2..];
        var end = rest.IndexOfAny('/', '?', '#');
        var authority = end < 0 ? rest : rest[..end];
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            builder.Append(authority[..(at + 1)]);
            authority = authority[(at + 1)..];
        }
        // The port stays as written; only the host is folded (an IPv6 literal's hex digits too).
        var portColon = authority.StartsWith("[") ? authority.IndexOf("]:") + 1 : authority.LastIndexOf(':');
        var host = portColon > 0 ? authority[..portColon] : authority;
        builder.Append(host.ToString().ToLowerInvariant());
        if (portColon > 0)
            builder.Append(authority[portColon..]);
        if (end >= 0)
            builder.Append(rest[end..]);
        return builder.ToString();
    }

    /// <summary>
    /// The octets of an IP address written as an IPv4 dotted quad (four decimal numbers 0-255, no leading zeros: what
    /// is 010 meant to be?) or in an IPv6 form (RFC 4291 §2.2, without a zone), or null.
    /// </summary>
    public static byte[]? IpAddress(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Contains('%', StringComparison.Ordinal))
            return null;
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return System.Net.IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6
                ? v6.GetAddressBytes()
                : null;
        }
        var parts = text.Split('.');
        if (parts.Length != 4)
            return null;
        var bytes = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            var part = parts[i];
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !part.All(char.IsAsciiDigit))
                return null;
            var value = int.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture);
            if (value > 255)
                return null;
            bytes[i] = (byte)value;
        }
        return bytes;
    }

    /// <summary>An IP address in its usual text form (IPv6 compressed, RFC 5952), from its 4 or 16 octets.</summary>
    public static string IpAddressText(byte[] octets) => new IPAddress(octets).ToString();

    /// <summary>
    /// The comparison form of a serial number: upper-case hex without leading zeros ("0" for zero), or null when
    /// <paramref name="serial"/> holds anything but hex digits, an optional "0x" prefix and ':', '-' or space separators.
    /// </summary>
    public static string? SerialNumber(string? serial)
    {
        if (string.IsNullOrWhiteSpace(serial))
            return null;
        var text = serial.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            text = text[2..];
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (char.IsAsciiHexDigit(c))
                builder.Append(char.ToUpperInvariant(c));
            else if (c is not ':' and not '-' and not ' ')
                return null;
        }
        if (builder.Length == 0)
            return null;
        var digits = builder.ToString().TrimStart('0');
        return digits.Length == 0 ? "0" : digits;
    }

    /// <summary>The 32 bytes of a base64 SHA-256 pin (RFC 7469 pin-sha256: standard alphabet, with padding), or null.</summary>
    public static byte[]? Sha256Pin(string? pin)
    {
        if (string.IsNullOrEmpty(pin))
            return null;
        var buffer = new byte[Sha256Length + 3];
        return Convert.TryFromBase64String(pin, buffer, out var written) && written == Sha256Length ? buffer[..Sha256Length] : null;
    }

    /// <summary>The 32 bytes of a SHA-256 fingerprint in hex (case ignored, ':' or spaces between bytes allowed), or null.</summary>
    public static byte[]? Sha256Hex(string? hex)
    {
        if (string.IsNullOrEmpty(hex))
            return null;
        var digits = hex.Replace(":", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal);
        if (digits.Length != Sha256Length * 2 || !digits.All(char.IsAsciiHexDigit))
            return null;
        return Convert.FromHexString(digits);
    }
}
