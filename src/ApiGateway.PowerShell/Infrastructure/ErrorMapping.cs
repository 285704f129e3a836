using System.Management.Automation;
using ApiGateway.Core;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>What a <see cref="GatewayException"/> becomes in PowerShell: the parts of its ErrorRecord.</summary>
/// <param name="ErrorId">The stable id, <c>&lt;Verb&gt;&lt;Noun&gt;&lt;Condition&gt;</c>.</param>
/// <param name="Category">The ErrorRecord category.</param>
/// <param name="Target">The ErrorRecord's target object (the id, path or value the error is about).</param>
/// <param name="Terminating">
/// True when nothing useful is left to do in this command (the configuration file itself cannot be used), so the
/// cmdlet throws a terminating error instead of writing an error per pipeline item.
/// </param>
internal sealed record MappedError(string ErrorId, ErrorCategory Category, object? Target, bool Terminating);

/// <summary>
/// The one place that turns Core failures into PowerShell errors (plain C#, so it is unit-tested without pwsh).
/// <para>
/// Error ids are <c>&lt;Verb&gt;&lt;Noun&gt;&lt;Condition&gt;</c>. The condition is the Core exception's
/// <see cref="GatewayException.Condition"/> when the failure is about the thing the cmdlet's noun names
/// (<c>Remove-GatewayCertificate</c> + <c>CertificateInUse</c> → <c>RemoveGatewayCertificateInUse</c>), and the
/// whole Core <see cref="GatewayException.ErrorId"/> when it is about something else, so that ids stay distinct
/// where one cmdlet can fail on two kinds of things (<c>Set-ApiGatewayCredential</c> + <c>CertificateNotFound</c>
/// → <c>SetApiGatewayCredentialCertificateNotFound</c>, while a missing API gives
/// <c>SetApiGatewayCredentialNotFound</c>; a missing configuration file gives
/// <c>GetGatewayCertificateConfigurationNotFound</c>).
/// </para>
/// </summary>
internal static class ErrorMapping
{
    /// <summary>The ErrorRecord category for a Core category.</summary>
    public static ErrorCategory Category(GatewayErrorCategory category) => category switch
    {
        GatewayErrorCategory.NotFound => ErrorCategory.ObjectNotFound,
        GatewayErrorCategory.AlreadyExists => ErrorCategory.ResourceExists,
        GatewayErrorCategory.InvalidArgument => ErrorCategory.InvalidArgument,
        GatewayErrorCategory.InUse => ErrorCategory.ResourceBusy,
        GatewayErrorCategory.SecurityError => ErrorCategory.SecurityError,
        GatewayErrorCategory.InvalidData => ErrorCategory.InvalidData,
        GatewayErrorCategory.ReadError => ErrorCategory.ReadError,
        GatewayErrorCategory.WriteError => ErrorCategory.WriteError,
        GatewayErrorCategory.Unavailable => ErrorCategory.ResourceUnavailable,
        GatewayErrorCategory.InvalidOperation => ErrorCategory.InvalidOperation,
        GatewayErrorCategory.NotSupported => ErrorCategory.NotImplemented,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>The ErrorRecord parts for <paramref name="exception"/> raised under the cmdlet <paramref name="verb"/>-<paramref name="noun"/>.</summary>
    public static MappedError Map(string verb, string noun, GatewayException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var subject = exception.Subject;
        var condition = Covers(NounSubject(noun), subject) ? exception.Condition : exception.ErrorId;
        return new MappedError(verb + noun + condition, Category(exception.Category), exception.Target ?? subject, IsTerminating(subject));
    }

    /// <summary>What a cmdlet noun is about: <c>GatewayCertificate</c> → <c>Certificate</c>; <c>ApiGatewayCredential</c> stays.</summary>
    public static string NounSubject(string noun)
    {
        ArgumentNullException.ThrowIfNull(noun);
        return noun.StartsWith("Gateway", StringComparison.Ordinal) && noun.Length > "Gateway".Length ? noun["Gateway".Length..] : noun;
    }

    private static bool Covers(string nounSubject, string subject) =>
        subject.Length > 0
        && (nounSubject.Contains(subject, StringComparison.Ordinal)
            // New-GatewayContext is about the configuration file itself.
            || (nounSubject == "Context" && subject == "Configuration"));

    /// <summary>A configuration that cannot be read, locked or written leaves nothing for later pipeline items either.</summary>
    private static bool IsTerminating(string subject) => subject == "Configuration";
}
