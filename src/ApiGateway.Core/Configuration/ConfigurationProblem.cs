using System.Globalization;

namespace ApiGateway.Core.Configuration;

/// <summary>How bad a <see cref="GatewayConfigurationProblem"/> is.</summary>
public enum GatewayProblemSeverity
{
    /// <summary>The gateway refuses to start with (or reload to) this configuration.</summary>
    Error,
    /// <summary>The gateway loads it, but something will bite: a certificate about to expire, an API that never forwards.</summary>
    Warning,
}

/// <summary>
/// One problem of a configuration, as the gateway's own engine (<c>ApiGateway.Host validate</c>) reports it and as
/// <c>Test-GatewayConfiguration</c> writes it: how bad, a stable id, the thing it is about, where in a policy (line and
/// column where there is one), the gateway's own sentence and the fix.
/// </summary>
public sealed record GatewayConfigurationProblem
{
    /// <summary>Error (the gateway refuses the configuration) or Warning (it loads, but look at it).</summary>
    public GatewayProblemSeverity Severity { get; init; }

    /// <summary>Stable identifier of the kind of problem, e.g. <c>PolicyExpressionNotAllowed</c> or <c>CertificateExpiring</c>.</summary>
    public string ErrorId { get; init; } = string.Empty;

    /// <summary>The thing the problem is about, e.g. <c>API 'orders'</c>, <c>the global policy</c>, <c>Certificate 'tls'</c>.</summary>
    public string Subject { get; init; } = string.Empty;

    /// <summary>For a policy problem: the section (inbound, backend, outbound, on-error) where it is, when known.</summary>
    public string? Section { get; init; }

    /// <summary>1-based line in the policy document, when the problem has one.</summary>
    public int? Line { get; init; }

    /// <summary>1-based column in the policy document, when the problem has one.</summary>
    public int? Column { get; init; }

    /// <summary>The gateway's own sentence for the problem (what it logs when it refuses a change).</summary>
    public string Message { get; init; } = string.Empty;

    /// <summary>What to do about it, when there is a specific command or rule to name.</summary>
    public string? Fix { get; init; }

    /// <summary>The configuration file the problem is in.</summary>
    public string? ConfigurationPath { get; init; }

    /// <summary>The message, so that string conversions and <c>Write-Host</c> show the gateway's sentence.</summary>
    public override string ToString() => Message;

    /// <summary>"line 4, column 17" (or "line 4"), or null when the problem has no position.</summary>
    internal string? Position => Line is { } line
        ? Column is { } column
            ? string.Create(CultureInfo.InvariantCulture, $"line {line}, column {column}")
            : string.Create(CultureInfo.InvariantCulture, $"line {line}")
        : null;

    internal static GatewayConfigurationProblem Error(string errorId, string subject, string message, string? fix = null, int? line = null, int? column = null) =>
        new() { Severity = GatewayProblemSeverity.Error, ErrorId = errorId, Subject = subject, Message = message, Fix = fix, Line = line, Column = column };

    internal static GatewayConfigurationProblem Warning(string errorId, string subject, string message, string? fix = null) =>
        new() { Severity = GatewayProblemSeverity.Warning, ErrorId = errorId, Subject = subject, Message = message, Fix = fix };
}

/// <summary>
/// The fix inside a gateway sentence: the messages state the rule and then name the fix in a sentence that starts
/// with an imperative ("... but there is none. Add one with Add-GatewayCaCertificate."); that sentence (and what
/// follows it) is the problem's <see cref="GatewayConfigurationProblem.Fix"/>. The message itself keeps every word.
/// </summary>
internal static class ProblemFix
{
    private static readonly string[] Imperatives =
    [
        "Add ", "Give ", "Use ", "Replace ", "Remove ", "Update ", "Simplify ", "Create ", "Choose ", "Renew ", "Upload ", "Set ", "Run ", "Raise ", "Restart ", "Point ", "Change ", "Rotate ",
    ];

    /// <summary>The fix sentence of <paramref name="message"/>, or null when it names none.</summary>
    public static string? Of(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        for (var i = message.IndexOf(". ", StringComparison.Ordinal); i >= 0; i = message.IndexOf(". ", i + 2, StringComparison.Ordinal))
        {
            var rest = message.AsSpan(i + 2);
            foreach (var verb in Imperatives)
            {
                if (rest.StartsWith(verb, StringComparison.Ordinal))
                    return rest.ToString();
            }
        }
        return null;
    }
}

/// <summary>Which section of a policy document (<c>inbound</c>, <c>backend</c>, <c>outbound</c>, <c>on-error</c>) holds a line.</summary>
internal static class PolicySections
{
    /// <summary>
    /// The section whose element spans <paramref name="line"/> in <paramref name="policy"/>, or null (outside every
    /// section, or XML too broken to tell). Only called for policies that have a problem, and policies are bounded by
    /// MaxPolicySize, so the extra read is bounded too.
    /// </summary>
    public static string? At(string policy, int line)
    {
        ArgumentNullException.ThrowIfNull(policy);
        string? current = null;
        var settings = new System.Xml.XmlReaderSettings { DtdProcessing = System.Xml.DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = policy.Length + 1 };
        try
        {
            using var reader = System.Xml.XmlReader.Create(new StringReader(policy), settings);
            var info = (System.Xml.IXmlLineInfo)reader;
            while (reader.Read())
            {
                if (info.LineNumber > line && current is not null)
                    return current;
                if (reader.NodeType == System.Xml.XmlNodeType.Element && reader.Depth == 1)
                {
                    if (info.LineNumber > line)
                        return null;
                    current = reader.LocalName;
                    if (reader.IsEmptyElement)
                        current = info.LineNumber == line ? current : null;
                }
                else if (reader.NodeType == System.Xml.XmlNodeType.EndElement && reader.Depth == 1)
                {
                    if (info.LineNumber >= line && current is not null)
                        return current;
                    current = null;
                }
            }
        }
        catch (System.Xml.XmlException)
        {
            return current;
        }
        return null;
    }
}

/// <summary>Fills in the policy section of problems that have a policy line.</summary>
internal static class ProblemSections
{
    /// <summary><paramref name="problems"/>, each policy problem with a line given the section of its policy that holds that line.</summary>
    public static List<GatewayConfigurationProblem> Fill(GatewayConfiguration configuration, IEnumerable<GatewayConfigurationProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(problems);
        var result = new List<GatewayConfigurationProblem>();
        foreach (var problem in problems)
        {
            var policy = problem.Subject == "the global policy" ? configuration.Policy
                : configuration.Apis.FirstOrDefault(a => problem.Subject == $"API '{a.Key}'").Value?.Policy;
            result.Add(problem is { Line: { } line, Section: null } && policy is not null && problem.ErrorId.StartsWith("Policy", StringComparison.Ordinal)
                ? problem with { Section = PolicySections.At(policy, line) }
                : problem);
        }
        return result;
    }
}
