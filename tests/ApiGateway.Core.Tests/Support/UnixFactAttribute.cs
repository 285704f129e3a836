namespace ApiGateway.Core.Tests.Support;

/// <summary>
/// A fact that runs on Linux and macOS only and is reported as skipped, not passed, on Windows: a test that returned
/// early there would claim a result it never checked.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute(string why = "It tests something Unix has and Windows does not.")
    {
        if (OperatingSystem.IsWindows())
            Skip = why;
    }
}
