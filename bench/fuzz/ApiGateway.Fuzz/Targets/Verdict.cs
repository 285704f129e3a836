namespace ApiGateway.Fuzz.Targets;

/// <summary>How a case ended.</summary>
internal enum VerdictKind
{
    /// <summary>Accepted: loaded, or run to a decision (<see cref="Verdict.Detail"/> says which, e.g. the status).</summary>
    Success,
    /// <summary>Refused with a typed error (<see cref="Verdict.Detail"/> is its id): what bad input must get.</summary>
    Refused,
    /// <summary>A property did not hold: an unhandled exception, a broken invariant, a run past its bounds.</summary>
    Failure,
}

/// <summary>The outcome of one case.</summary>
internal sealed record Verdict(VerdictKind Kind, string Detail)
{
    public static Verdict Success(string detail) => new(VerdictKind.Success, detail);

    public static Verdict Refused(string errorId) => new(VerdictKind.Refused, errorId);

    public static Verdict Failure(string what) => new(VerdictKind.Failure, what);

    /// <summary>An exception that escaped the code under test, with where it was thrown.</summary>
    public static Verdict Unhandled(Exception ex) =>
        Failure($"unhandled {ex.GetType().FullName}: {ex.Message} at {FirstFrames(ex)}");

    /// <summary>The statistics key: kind and detail without the parts that vary per case (numbers).</summary>
    public string Bucket => Kind == VerdictKind.Failure ? "failure" : $"{Kind.ToString().ToLowerInvariant()}:{Detail}";

    private static string FirstFrames(Exception ex)
    {
        // The frame that threw, then the first frames of our code: the runtime's own frames (argument checks, the regex
        // engine) fill the first four without saying which of our calls it was.
        var frames = (ex.StackTrace ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ours = frames.Skip(1).Where(f => f.StartsWith("at ApiGateway.", StringComparison.Ordinal)).Take(4);
        return string.Join(" < ", frames.Take(1).Concat(ours));
    }
}
