using System.Globalization;
using ApiGateway.Core;
using ApiGateway.Core.Configuration;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>Which ids a completer offers.</summary>
internal enum IdKind
{
    Certificate,
    CaCertificate,
    Backend,
    Api,
    Hostname,
}

/// <summary>One completion: the text inserted, the text listed, and a tooltip.</summary>
internal sealed record IdCompletionItem(string CompletionText, string ListItemText, string ToolTip);

/// <summary>
/// The id-listing logic behind the argument completers (plain C#, unit-tested): ids of one kind from a
/// configuration, matching what has been typed so far (a prefix, or a wildcard pattern), without regard to case,
/// in id order, each with a tooltip that tells similar ids apart.
/// </summary>
internal static class IdCompletion
{
    public static IReadOnlyList<IdCompletionItem> Complete(GatewayConfiguration configuration, IdKind kind, string? wordToComplete)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var typed = Unquote(wordToComplete ?? string.Empty);
        Wildcard pattern;
        try
        {
            pattern = new Wildcard(typed + "*");
        }
        catch (ArgumentException)
        {
            return []; // half-typed "[" and the like: nothing to offer
        }
        return Candidates(configuration, kind)
            .Where(c => pattern.IsMatch(c.Id))
            .Select(c => new IdCompletionItem(Quote(c.Id), c.Id, c.ToolTip))
            .ToList();
    }

    private static IEnumerable<(string Id, string ToolTip)> Candidates(GatewayConfiguration configuration, IdKind kind) => kind switch
    {
        IdKind.Certificate => configuration.Certificates.Select(p => (p.Key, $"{p.Value.Subject}, expires {Date(p.Value.NotAfter)} ({p.Value.Source})")),
        IdKind.CaCertificate => configuration.CaCertificates.Select(p => (p.Key, $"{p.Value.Subject}, expires {Date(p.Value.NotAfter)} ({p.Value.StoreName})")),
        IdKind.Backend => configuration.Backends.Select(p => (p.Key, p.Value.Url)),
        IdKind.Api => configuration.Apis.Select(p => (p.Key, $"/{p.Value.Path} → {p.Value.BackendId ?? p.Value.ServiceUrl}")),
        IdKind.Hostname => configuration.Service.Hostnames
            .OrderBy(h => h.HostName, StringComparer.OrdinalIgnoreCase)
            .Select(h => (h.HostName, $"port {h.Port}, certificate {h.CertificateId}")),
        _ => [],
    };

    private static string Date(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Unquote(string word) =>
        word.Length > 0 && word[0] is '\'' or '"' ? word[1..].TrimEnd(word[0]) : word;

    /// <summary>Ids follow <see cref="Ids.Rule"/> and need no quotes; anything else (a hand-edited file) is single-quoted.</summary>
    private static string Quote(string id) =>
        id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') ? id : "'" + id.Replace("'", "''", StringComparison.Ordinal) + "'";
}
