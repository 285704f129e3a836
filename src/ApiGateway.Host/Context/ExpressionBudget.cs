using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Host.Context;

/// <summary>
/// The bounds every policy expression runs within (APIM's contract: an expression is a bounded piece of code). The
/// compiler instruments the code (<see cref="Expressions.ExpressionRewriter"/>): a <see cref="Step"/> at every loop
/// iteration, <c>goto</c> and <c>yield</c>; <see cref="Enter"/>/<see cref="Exit"/> around the body of every lambda,
/// anonymous method and local function (the depth of nested calls, and the stack: deep recursion becomes an ordinary
/// exception long before the stack runs out, which no .NET code could catch); <see cref="Size(int)"/> around every count,
/// length or capacity handed to library code and every array length; and <see cref="Range"/>/<see cref="Repeat"/>
/// instead of the unbounded sequences of <c>Enumerable</c>, so library code that iterates without a lambda of ours
/// still pays a step per element. At every step the bytes the thread allocated since the expression began are
/// checked; every <see cref="SampleEvery"/> steps, and at every size, the wall clock too.
/// </summary>
/// <remarks>
/// The state is per thread: an expression runs synchronously on one thread from <see cref="Begin(PolicyContext)"/> to its end (tasks
/// and threads are refused by the allow-list). Only expressions that contain something to count call
/// <see cref="Begin(PolicyContext)"/>, so the usual certificate checks cost nothing. Nothing here allocates.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ExpressionBudget
{
    /// <summary>Steps between the checks of allocation and time (a power of two).</summary>
    public const int SampleEvery = 1024;

    [ThreadStatic]
    private static long s_steps;

    [ThreadStatic]
    private static long s_maxSteps;

    [ThreadStatic]
    private static int s_depth;

    [ThreadStatic]
    private static int s_maxDepth;

    [ThreadStatic]
    private static long s_allocatedAtStart;

    [ThreadStatic]
    private static long s_maxBytes;

    [ThreadStatic]
    private static long s_deadline;

    [ThreadStatic]
    private static bool s_active;

    [ThreadStatic]
    private static ExpressionBudgetExceededException? s_exceeded;

    [ThreadStatic]
    private static long s_arrayElements;

    /// <summary>Starts an expression's budget on this thread (called first by instrumented expressions).</summary>
    public static void Begin(PolicyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var limits = context.State.Snapshot?.Limits ?? GatewayLimits.Defaults;
        Begin(limits);
    }

    internal static void Begin(GatewayLimits limits)
    {
        var defaults = GatewayLimits.Defaults;
        s_steps = 0;
        s_depth = 0;
        s_maxSteps = limits.ExpressionMaxSteps ?? defaults.ExpressionMaxSteps!.Value;
        s_maxDepth = limits.ExpressionMaxDepth ?? defaults.ExpressionMaxDepth!.Value;
        s_maxBytes = limits.ExpressionMaxAllocatedBytes ?? defaults.ExpressionMaxAllocatedBytes!.Value;
        var milliseconds = limits.ExpressionTimeoutMilliseconds ?? defaults.ExpressionTimeoutMilliseconds!.Value;
        s_deadline = Stopwatch.GetTimestamp() + (long)(milliseconds * Stopwatch.Frequency / 1000.0);
        s_allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
        s_exceeded = null;
        s_active = true;
    }

    /// <summary>One unit of work: a loop iteration, a <c>goto</c>, a <c>yield</c>, an element of a bounded sequence.</summary>
    /// <remarks>
    /// The bytes allocated are looked at every step (the thread's counter: a read of its allocation context), time
    /// and stack every <see cref="SampleEvery"/>: a loop whose value doubles each time (<c>s += s</c>, <c>s =
    /// s.Replace("a", s)</c>) reaches gigabytes within forty steps, far between two samples (found by the fuzzer).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step()
    {
        var steps = ++s_steps;
        if (steps > s_maxSteps || (steps & (SampleEvery - 1)) == 0 || GC.GetAllocatedBytesForCurrentThread() - s_allocatedAtStart > s_maxBytes)
            Check(steps);
    }

    /// <summary>Entry of a lambda, anonymous method or local function.</summary>
    public static void Enter()
    {
        if (s_exceeded is { } exceeded)
            throw exceeded;
        if (++s_depth > s_maxDepth)
            throw Exceeded(ExpressionLimit.Depth, $"calls nested {s_depth.ToString(System.Globalization.CultureInfo.InvariantCulture)} deep (ExpressionMaxDepth is {s_maxDepth.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw Exceeded(ExpressionLimit.Depth, "the calls nested so deep that the stack is nearly exhausted");
        Step();
    }

    /// <summary>An instrumented expression's result: thrown away (the error thrown again) when the budget was exceeded, even if the code caught it.</summary>
    public static T Checked<T>(T value) => s_exceeded is { } exceeded ? throw exceeded : value;

    /// <summary>Return from what <see cref="Enter"/> entered.</summary>
    public static void Exit() => s_depth--;

    /// <summary>
    /// A count, length or capacity handed to library code (a string's length, a builder's capacity, a padding width):
    /// refused when what it would allocate (two bytes per element, a char) exceeds what is left of the budget.
    /// </summary>
    public static int Size(int count) => (int)Size(count, 2);

    /// <summary>As <see cref="Size(int)"/>, 64-bit.</summary>
    public static long Size(long count) => Size(count, 2);

    /// <summary>The (first) length of an array (<paramref name="elementBytes"/> per element).</summary>
    public static int ArrayLength(int length, int elementBytes) => (int)ArrayLength((long)length, elementBytes);

    /// <summary>The (first) length of an array (64-bit).</summary>
    public static long ArrayLength(long length, int elementBytes)
    {
        s_arrayElements = Math.Max(length, 0);
        return Size(length, elementBytes);
    }

    /// <summary>A further dimension of a multi-dimensional array: the product of the dimensions so far is checked.</summary>
    public static int ArrayDimension(int length, int elementBytes) => (int)ArrayDimension((long)length, elementBytes);

    /// <summary>A further dimension (64-bit).</summary>
    public static long ArrayDimension(long length, int elementBytes)
    {
        s_arrayElements = length <= 0 ? 0 : s_arrayElements > long.MaxValue / length ? long.MaxValue : s_arrayElements * length;
        Size(s_arrayElements, elementBytes);
        return length;
    }

    private static long Size(long count, int elementBytes)
    {
        if (count < 0 || !s_active)
            return count; // a negative count is the library's own error; outside a budget (never in a policy) nothing to check
        if (s_exceeded is { } exceeded)
            throw exceeded;
        var remaining = s_maxBytes - (GC.GetAllocatedBytesForCurrentThread() - s_allocatedAtStart);
        if (count > remaining / elementBytes)
            throw Exceeded(ExpressionLimit.Memory, $"it asked for {count.ToString(System.Globalization.CultureInfo.InvariantCulture)} elements at once, more than the {remaining.ToString(System.Globalization.CultureInfo.InvariantCulture)} bytes left of ExpressionMaxAllocatedBytes ({s_maxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        Check(s_steps);
        return count;
    }

    /// <summary>
    /// The match timeout of a regular expression the expression makes or calls: never longer than what is left of the
    /// expression's time (so catastrophic backtracking ends in RegexMatchTimeoutException, reported as the budget's).
    /// </summary>
    public static TimeSpan MatchTimeout(TimeSpan requested)
    {
        if (!s_active)
            return requested;
        var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), s_deadline);
        if (left < TimeSpan.FromMilliseconds(1))
            left = TimeSpan.FromMilliseconds(1);
        return requested == System.Text.RegularExpressions.Regex.InfiniteMatchTimeout || requested > left ? left : requested;
    }

    /// <summary><c>Enumerable.Range</c>, a step per element.</summary>
    public static IEnumerable<int> Range(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((long)start + count - 1 > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(count));
        return RangeIterator(start, count);
    }

    private static IEnumerable<int> RangeIterator(int start, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Step();
            yield return start + i;
        }
    }

    /// <summary><c>Enumerable.Repeat</c>, a step per element.</summary>
    public static IEnumerable<T> Repeat<T>(T element, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return RepeatIterator(element, count);
    }

    private static IEnumerable<T> RepeatIterator<T>(T element, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Step();
            yield return element;
        }
    }

    private static void Check(long steps)
    {
        if (!s_active)
            return;
        if (s_exceeded is { } exceeded)
            throw exceeded;
        if (steps > s_maxSteps)
            throw Exceeded(ExpressionLimit.Steps, $"it ran more than {s_maxSteps.ToString(System.Globalization.CultureInfo.InvariantCulture)} steps (loop iterations, calls, elements; ExpressionMaxSteps)");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - s_allocatedAtStart;
        if (allocated > s_maxBytes)
            throw Exceeded(ExpressionLimit.Memory, $"it allocated {allocated.ToString(System.Globalization.CultureInfo.InvariantCulture)} bytes (ExpressionMaxAllocatedBytes is {s_maxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        if (Stopwatch.GetTimestamp() > s_deadline)
            throw Exceeded(ExpressionLimit.Time, "it ran past its deadline (ExpressionTimeoutMilliseconds)");
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw Exceeded(ExpressionLimit.Depth, "the stack is nearly exhausted");
    }

    private static ExpressionBudgetExceededException Exceeded(ExpressionLimit limit, string what)
    {
        // Once exceeded, it stays exceeded: every later step of this expression throws again, so code that catches
        // Exception (allowed) cannot loop on; only code with nothing left to count (a catch that returns) runs.
        var exception = new ExpressionBudgetExceededException(limit, what);
        s_exceeded = exception;
        s_maxSteps = 0;
        s_maxDepth = 0;
        return exception;
    }
}

/// <summary>Which bound an expression exceeded.</summary>
public enum ExpressionLimit
{
    Steps,
    Depth,
    Memory,
    Time,
}

/// <summary>
/// An expression exceeded its budget: the request ends with 500 <c>ExpressionBudgetExceeded</c> (on-error runs), the
/// log names the expression and the limit, and every other request is served as before.
/// </summary>
public sealed class ExpressionBudgetExceededException : Exception
{
    public ExpressionBudgetExceededException(ExpressionLimit limit, string what)
        : base($"The expression exceeded its budget: {what}.")
    {
        Limit = limit;
    }

    public ExpressionBudgetExceededException()
    {
    }

    public ExpressionBudgetExceededException(string message)
        : base(message)
    {
    }

    public ExpressionBudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ExpressionLimit Limit { get; }
}
