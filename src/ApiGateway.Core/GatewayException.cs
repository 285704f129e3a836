namespace ApiGateway.Core;

/// <summary>
/// What kind of failure a <see cref="GatewayException"/> reports. The PowerShell layer maps each value to one
/// <c>System.Management.Automation.ErrorCategory</c>; the names follow that enum where it has a match.
/// </summary>
public enum GatewayErrorCategory
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
/// A failure of a Core operation: a stable <see cref="ErrorId"/> (for example <c>CertificateInUse</c>), the
/// <see cref="Condition"/> part of it (<c>InUse</c>) that cmdlets append to their own name
/// (<c>RemoveGatewayCertificateInUse</c>), a <see cref="Category"/>, and a message that names the thing and the fix.
/// </summary>
public class GatewayException : Exception
{
    public GatewayException(string errorId, string condition, GatewayErrorCategory category, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Condition = condition;
        Category = category;
        Target = target;
    }

    public GatewayException()
        : this("Unknown", "Unknown", GatewayErrorCategory.InvalidOperation, "Unknown error.")
    {
    }

    public GatewayException(string message)
        : this("Unknown", "Unknown", GatewayErrorCategory.InvalidOperation, message)
    {
    }

    public GatewayException(string message, Exception innerException)
        : this("Unknown", "Unknown", GatewayErrorCategory.InvalidOperation, message, null, innerException)
    {
    }

    /// <summary>Stable identifier of the failure, <c>&lt;Subject&gt;&lt;Condition&gt;</c>, e.g. <c>CertificateInUse</c>.</summary>
    public string ErrorId { get; }

    /// <summary>The condition alone, e.g. <c>InUse</c>; cmdlets build <c>&lt;Verb&gt;&lt;Noun&gt;&lt;Condition&gt;</c> from it.</summary>
    public string Condition { get; }

    /// <summary>What kind of failure this is.</summary>
    public GatewayErrorCategory Category { get; }

    /// <summary>The id, path or object the failure is about (the ErrorRecord's target object).</summary>
    public object? Target { get; }

    /// <summary>Further problems found together with this one (e.g. every error of a policy document).</summary>
    public IReadOnlyList<string> Details { get; init; } = [];

    internal static GatewayException Create(string subject, string condition, GatewayErrorCategory category, string message, object? target = null, Exception? inner = null)
        => new(subject + condition, condition, category, message, target, inner);
}
