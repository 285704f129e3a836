using System.Globalization;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Hosting;

/// <summary>A certificate the gateway uses that expires soon (or has expired): in Get-GatewayStatus and the gateway's log.</summary>
public sealed record GatewayExpiringCertificate
{
    /// <summary>The id in the configuration.</summary>
    public required string CertificateId { get; init; }

    /// <summary><c>Certificate</c> (server, gateway or backend credential, identity) or <c>CaCertificate</c> (trusted for client chains).</summary>
    public required string Kind { get; init; }

    /// <summary>The certificate's subject distinguished name.</summary>
    public string Subject { get; init; } = string.Empty;

    public string Thumbprint { get; init; } = string.Empty;

    /// <summary>End of validity (UTC).</summary>
    public DateTimeOffset NotAfter { get; init; }

    /// <summary>Whole days until <see cref="NotAfter"/> (negative once it has passed), at the time asked.</summary>
    public int DaysLeft { get; init; }

    /// <summary>What uses it, e.g. <c>hostname 'api.contoso.com' (server certificate)</c>.</summary>
    public IReadOnlyList<string> UsedBy { get; init; } = [];

    /// <summary>Whether it has expired.</summary>
    public bool IsExpired => DaysLeft < 0;
}

/// <summary>A certificate of a loaded configuration that something uses (what expiry is checked for).</summary>
internal sealed record CertificateInUse(string CertificateId, string Kind, string Subject, string Thumbprint, DateTimeOffset NotAfter, IReadOnlyList<string> UsedBy);

/// <summary>
/// Which certificates in use expire within a number of days: the one rule behind the gateway's CertificateExpiring
/// log event, the ExpiringCertificates of its status, and the CertificateExpiring/CertificateExpired problems of
/// <c>validate</c> and Test-GatewayConfiguration.
/// </summary>
internal static class CertificateExpiry
{
    /// <summary>The default warning window, in days.</summary>
    public const int DefaultDays = 30;

    /// <summary>The certificates of <paramref name="inUse"/> whose end of validity is before <paramref name="now"/> + <paramref name="days"/>, soonest first.</summary>
    public static IReadOnlyList<GatewayExpiringCertificate> Expiring(IEnumerable<CertificateInUse> inUse, DateTimeOffset now, int days)
    {
        ArgumentNullException.ThrowIfNull(inUse);
        var limit = now.AddDays(Math.Max(0, days));
        return inUse
            .Where(c => c.NotAfter <= limit)
            .OrderBy(c => c.NotAfter)
            .ThenBy(c => c.CertificateId, StringComparer.OrdinalIgnoreCase)
            .Select(c => new GatewayExpiringCertificate
            {
                CertificateId = c.CertificateId,
                Kind = c.Kind,
                Subject = c.Subject,
                Thumbprint = c.Thumbprint,
                NotAfter = c.NotAfter,
                DaysLeft = (int)Math.Floor((c.NotAfter - now).TotalDays),
                UsedBy = c.UsedBy,
            })
            .ToList();
    }

    /// <summary>The sentence for one expiring certificate (the log event's text and the problem's message).</summary>
    public static string Describe(GatewayExpiringCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var what = certificate.Kind == "CaCertificate" ? "CA certificate" : "Certificate";
        var used = certificate.UsedBy.Count == 0 ? string.Empty : " It is used by " + string.Join(", ", certificate.UsedBy) + ".";
        var when = certificate.NotAfter.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        var state = certificate.DaysLeft < 0
            ? $"expired on {when}"
            : $"expires on {when}, in {certificate.DaysLeft.ToString(CultureInfo.InvariantCulture)} day(s)";
        return $"{what} '{certificate.CertificateId}' ({certificate.Subject}) {state}.{used} {Fix(certificate)}";
    }

    /// <summary>How to renew it in place (the id stays, so every reference follows).</summary>
    public static string Fix(GatewayExpiringCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.Kind == "CaCertificate"
            ? $"Renew it: Add-GatewayCaCertificate with the new CA certificate, then Remove-GatewayCaCertificate -CertificateId {certificate.CertificateId}."
            : $"Renew it in place: Set-GatewayCertificate -CertificateId {certificate.CertificateId} -PfxFilePath <renewed.pfx>.";
    }

    /// <summary>The problem <c>validate</c> and Test-GatewayConfiguration report for one expiring certificate (a warning: the gateway still loads it).</summary>
    public static GatewayConfigurationProblem Problem(GatewayExpiringCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var subject = (certificate.Kind == "CaCertificate" ? "CA certificate" : "Certificate") + $" '{certificate.CertificateId}'";
        var expired = certificate.DaysLeft < 0;
        return GatewayConfigurationProblem.Warning(
            (certificate.Kind == "CaCertificate" ? "CaCertificate" : "Certificate") + (expired ? "Expired" : "Expiring"),
            subject, Describe(certificate), Fix(certificate));
    }
}

/// <summary>What <c>ApiGateway.Host validate --format json</c> prints: the machine-readable outcome the module reads.</summary>
internal sealed record ValidationReport
{
    /// <summary>The configuration file validated.</summary>
    public string ConfigurationPath { get; init; } = string.Empty;

    /// <summary>Its revision, when it could be read.</summary>
    public long? Revision { get; init; }

    /// <summary>True when there is no error (warnings allowed): the gateway would load it.</summary>
    public bool Valid { get; init; }

    /// <summary>Every problem, errors first.</summary>
    public IReadOnlyList<GatewayConfigurationProblem> Problems { get; init; } = [];

    /// <summary>How long the validation took inside the host (ms), without the process start.</summary>
    public long ElapsedMilliseconds { get; init; }
}
