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
/// <see cref="Begin(PolicyContext)"/>, so the usual certificate checks cost nothing. Nothing here allocates (but the
/// state object, once per thread).
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ExpressionBudget
{
    /// <summary>Steps between two looks at the clock (a power of two; the bytes allocated are looked at every step).</summary>
    public const int SampleEvery = 1024;

    /// <summary>Levels of nested calls between two checks of the stack (a power of two).</summary>
    public const int StackCheckEvery = 4;

    /// <summary>
    /// The budget of the expression running on this thread. One thread-static reference and plain fields behind it:
    /// every thread-static access costs a lookup of the thread's storage, and a step used to make six of them.
    /// </summary>
    [ThreadStatic]
    private static BudgetState? s_state;

    private static BudgetState Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => s_state ?? NewState();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BudgetState NewState() => s_state = new BudgetState();

    private sealed class BudgetState
    {
        public long Steps;
        public long MaxSteps;
        public int Depth;
        public int MaxDepth;
        public long AllocatedAtStart;
        public long MaxBytes;
        public long Deadline;
        public bool Active;
        public ExpressionBudgetExceededException? Exceeded;
        public long ArrayElements;
    }

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
        var state = Current;
        state.Steps = 0;
        state.Depth = 0;
        state.MaxSteps = limits.ExpressionMaxSteps ?? defaults.ExpressionMaxSteps!.Value;
        state.MaxDepth = limits.ExpressionMaxDepth ?? defaults.ExpressionMaxDepth!.Value;
        state.MaxBytes = limits.ExpressionMaxAllocatedBytes ?? defaults.ExpressionMaxAllocatedBytes!.Value;
        var milliseconds = limits.ExpressionTimeoutMilliseconds ?? defaults.ExpressionTimeoutMilliseconds!.Value;
        state.Deadline = Stopwatch.GetTimestamp() + (long)(milliseconds * Stopwatch.Frequency / 1000.0);
        state.AllocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
        state.Exceeded = null;
        state.Active = true;
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
        var state = Current;
        var steps = ++state.Steps;
        if (steps > state.MaxSteps || (steps & (SampleEvery - 1)) == 0 || GC.GetAllocatedBytesForCurrentThread() - state.AllocatedAtStart > state.MaxBytes)
            Check(steps);
    }

    /// <summary>Entry of a lambda, anonymous method or local function.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Enter()
    {
        var state = Current;
        if (state.Exceeded is { } exceeded)
            throw exceeded;
        var depth = ++state.Depth;
        // The stack is looked at every fourth level (its check costs more than the rest of Enter, and a lambda called
        // at depth 1, as in an allow-list's Any(t => ...), never needs it): at most three nested calls of expression
        // code, with the library frames between them, lie between two checks, far less than the 64 KB or more that
        // TryEnsureSufficientExecutionStack keeps free.
        if (depth > state.MaxDepth || (depth & (StackCheckEvery - 1)) == 0)
            EnterDeep(state, depth);
        Step();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void EnterDeep(BudgetState state, int depth)
    {
        if (depth > state.MaxDepth)
            throw Exceeded(ExpressionLimit.Depth, $"calls nested {depth.ToString(System.Globalization.CultureInfo.InvariantCulture)} deep (ExpressionMaxDepth is {state.MaxDepth.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw Exceeded(ExpressionLimit.Depth, "the calls nested so deep that the stack is nearly exhausted");
    }

    /// <summary>An instrumented expression's result: thrown away (the error thrown again) when the budget was exceeded, even if the code caught it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Checked<T>(T value) => Current.Exceeded is { } exceeded ? throw exceeded : value;

    /// <summary>Return from what <see cref="Enter"/> entered.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exit() => Current.Depth--;

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
        Current.ArrayElements = Math.Max(length, 0);
        return Size(length, elementBytes);
    }

    /// <summary>A further dimension of a multi-dimensional array: the product of the dimensions so far is checked.</summary>
    public static int ArrayDimension(int length, int elementBytes) => (int)ArrayDimension((long)length, elementBytes);

    /// <summary>A further dimension (64-bit).</summary>
    public static long ArrayDimension(long length, int elementBytes)
    {
        var state = Current;
        state.ArrayElements = length <= 0 ? 0 : state.ArrayElements > long.MaxValue / length ? long.MaxValue : state.ArrayElements * length;
        Size(state.ArrayElements, elementBytes);
        return length;
    }

    private static long Size(long count, int elementBytes)
    {
        var state = Current;
        if (count < 0 || !state.Active)
            return count; // a negative count is the library's own error; outside a budget (never in a policy) nothing to check
        if (state.Exceeded is { } exceeded)
            throw exceeded;
        var remaining = state.MaxBytes - (GC.GetAllocatedBytesForCurrentThread() - state.AllocatedAtStart);
        if (count > remaining / elementBytes)
            throw Exceeded(ExpressionLimit.Memory, $"it asked for {count.ToString(System.Globalization.CultureInfo.InvariantCulture)} elements at once, more than the {remaining.ToString(System.Globalization.CultureInfo.InvariantCulture)} bytes left of ExpressionMaxAllocatedBytes ({state.MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        Check(state.Steps);
        return count;
    }

    /// <summary>
    /// The match timeout of a regular expression the expression makes or calls: never longer than what is left of the
    /// expression's time (so catastrophic backtracking ends in RegexMatchTimeoutException, reported as the budget's).
    /// </summary>
    public static TimeSpan MatchTimeout(TimeSpan requested)
    {
        var state = Current;
        if (!state.Active)
            return requested;
        var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), state.Deadline);
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
        var state = Current;
        if (!state.Active)
            return;
        if (state.Exceeded is { } exceeded)
            throw exceeded;
        if (steps > state.MaxSteps)
            throw Exceeded(ExpressionLimit.Steps, $"it ran more than {state.MaxSteps.ToString(System.Globalization.CultureInfo.InvariantCulture)} steps (loop iterations, calls, elements; ExpressionMaxSteps)");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - state.AllocatedAtStart;
        if (allocated > state.MaxBytes)
            throw Exceeded(ExpressionLimit.Memory, $"it allocated {allocated.ToString(System.Globalization.CultureInfo.InvariantCulture)} bytes (ExpressionMaxAllocatedBytes is {state.MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        if (Stopwatch.GetTimestamp() > state.Deadline)
            throw Exceeded(ExpressionLimit.Time, "it ran past its deadline (ExpressionTimeoutMilliseconds)");
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw Exceeded(ExpressionLimit.Depth, "the stack is nearly exhausted");
    }

    private static ExpressionBudgetExceededException Exceeded(ExpressionLimit limit, string what)
    {
        // Once exceeded, it stays exceeded: every later step of this expression throws again, so code that catches
        // Exception (allowed) cannot loop on; only code with nothing left to count (a catch that returns) runs.
        var exception = new ExpressionBudgetExceededException(limit, what);
        var state = Current;
        state.Exceeded = exception;
        state.MaxSteps = 0;
        state.MaxDepth = 0;
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
