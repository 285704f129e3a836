namespace ApiGateway.Core;

/// <summary>
/// What kind of failure a <see cref="GatewayException"/> reports. The PowerShell layer maps each value to one
/// <c>System.Management.Automation.ErrorCategory</c>; the names follow that enum where it has a match.
/// </summary>
internal enum GatewayErrorCategory
{
    /// <summary>An id, file or entry does not exist (ObjectNotFound).</summary>
    NotFound,
    /// <summary>An id or path is already taken (ResourceExists).</summary>
    AlreadyExists,
    /// <summary>An argument breaks a rule (InvalidArgument).</summary>
    InvalidArgument,
    /// <summary>The thing is still referenced elsewhere (ResourceBusy).</summary>
    InUse,
    /// <summary>A wrong password or a key that cannot be used (SecurityError).</summary>
    SecurityError,
    /// <summary>A file or document whose content is not valid (InvalidData).</summary>
    InvalidData,
    /// <summary>A file could not be read (ReadError).</summary>
    ReadError,
    /// <summary>A file could not be written (WriteError).</summary>
    WriteError,
    /// <summary>The configuration is locked by another writer for too long (ResourceUnavailable).</summary>
    Unavailable,
    /// <summary>The operation does not fit the current state (InvalidOperation).</summary>
    InvalidOperation,
    /// <summary>Not supported on this platform or by this version (NotImplemented).</summary>
    NotSupported,
}

/// <summary>
/// A failure of a Core operation: what it is about (<see cref="Subject"/>, e.g. <c>Certificate</c>) and what went
/// wrong (<see cref="Condition"/>, e.g. <c>InUse</c>), from which the stable <see cref="ErrorId"/>
/// (<c>CertificateInUse</c>) follows and cmdlets build their own (<c>RemoveGatewayCertificateInUse</c>); a
/// <see cref="Category"/>; and a message that names the thing and the fix.
/// </summary>
internal class GatewayException : Exception
{
    public GatewayException(string subject, string condition, GatewayErrorCategory category, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(condition);
        Subject = subject;
        Condition = condition;
        Category = category;
        Target = target;
    }

    public GatewayException()
        : this("Unknown", string.Empty, GatewayErrorCategory.InvalidOperation, "Unknown error.")
    {
    }

    public GatewayException(string message)
        : this("Unknown", string.Empty, GatewayErrorCategory.InvalidOperation, message)
    {
    }

    public GatewayException(string message, Exception innerException)
        : this("Unknown", string.Empty, GatewayErrorCategory.InvalidOperation, message, null, innerException)
    {
    }

    /// <summary>What the failure is about, e.g. <c>Certificate</c>, <c>CertificateStore</c> or <c>Configuration</c>.</summary>
    public string Subject { get; }

    /// <summary>What went wrong, e.g. <c>InUse</c>; cmdlets build <c>&lt;Verb&gt;&lt;Noun&gt;&lt;Condition&gt;</c> from it.</summary>
    public string Condition { get; }

    /// <summary>Stable identifier of the failure, <c>&lt;Subject&gt;&lt;Condition&gt;</c>, e.g. <c>CertificateInUse</c>.</summary>
    public string ErrorId => Subject + Condition;

    /// <summary>What kind of failure this is.</summary>
    public GatewayErrorCategory Category { get; }

    /// <summary>The id, path or object the failure is about (the ErrorRecord's target object).</summary>
    public object? Target { get; }

    /// <summary>Further problems found together with this one (e.g. every error of a policy document).</summary>
    public IReadOnlyList<string> Details { get; init; } = [];

    /// <summary>The structured problems behind a refusal by the gateway's engine (with line and column), when there are.</summary>
    public IReadOnlyList<Configuration.GatewayConfigurationProblem> Problems { get; init; } = [];
}
