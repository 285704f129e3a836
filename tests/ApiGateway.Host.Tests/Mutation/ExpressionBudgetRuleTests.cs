using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text.RegularExpressions;
using ApiGateway.Core.Configuration;
using ApiGateway.Host.Context;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The runtime half of the expression budget, called as instrumented code calls it: which limit ends an expression,
/// at which count, and that a configuration's own limits apply instead of the defaults (docs/gateway.md, "The
/// expression budget"; GatewayLimits: ExpressionMaxSteps "steps one policy expression may run", ExpressionMaxDepth
/// "how deep the calls may nest", ExpressionMaxAllocatedBytes "bytes one expression may allocate",
/// ExpressionTimeoutMilliseconds). A limit of N allows N and refuses N + 1. The clock and the stack are sampled
/// (every <see cref="ExpressionBudget.SampleEvery"/> steps, every <see cref="ExpressionBudget.StackCheckEvery"/> levels),
/// the bytes looked at every step. The existing tests only checked that a runaway expression is stopped by some limit.
/// </summary>
/// <remarks>
/// The budget is per thread and every test here runs synchronously on one thread (or on a thread of its own), the
/// way an expression runs. Tests that are not about time get a deadline of a minute, so a loaded machine cannot turn
/// their answer into "Time".
/// </remarks>
public sealed class ExpressionBudgetRuleTests
{
    private const long OneMegabyte = 1024 * 1024;

    private static GatewayLimits Limits(long steps = 1_000_000, int depth = 64, long bytes = 16 * OneMegabyte, double milliseconds = 60_000) => new()
    {
        ExpressionMaxSteps = steps,
        ExpressionMaxDepth = depth,
        ExpressionMaxAllocatedBytes = bytes,
        ExpressionTimeoutMilliseconds = milliseconds,
    };

    private static ExpressionBudgetExceededException Refused(ExpressionLimit limit, Action action)
    {
        var error = Assert.Throws<ExpressionBudgetExceededException>(action);
        Assert.Equal(limit, error.Limit);
        Assert.StartsWith("The expression exceeded its budget: ", error.Message, StringComparison.Ordinal);
        return error;
    }

    private static void Steps(long count)
    {
        for (long i = 0; i < count; i++)
            ExpressionBudget.Step();
    }

    // ---- Begin: which limits apply ----

    [Fact]
    public void Begin_WithoutAContext_IsAnArgumentError()
    {
        Assert.Throws<ArgumentNullException>(() => ExpressionBudget.Begin((PolicyContext)null!));
    }

    [Fact]
    public void Begin_OfARequestOnARevision_AppliesThatConfigurationsOwnLimits()
    {
        var context = BudgetTestSnapshot.ContextWith(Limits(steps: 1000, depth: 2, bytes: 64 * 1024));

        ExpressionBudget.Begin(context);
        ExpressionBudget.Enter();
        ExpressionBudget.Enter();
        var depth = Refused(ExpressionLimit.Depth, ExpressionBudget.Enter);
        Assert.Contains("(ExpressionMaxDepth is 2)", depth.Message, StringComparison.Ordinal);

        // 40,000 characters are 80,000 bytes: within the default 16 MB, over this configuration's 64 KB.
        ExpressionBudget.Begin(context);
        var memory = Refused(ExpressionLimit.Memory, () => ExpressionBudget.Size(40_000));
        Assert.Contains("ExpressionMaxAllocatedBytes (65536)", memory.Message, StringComparison.Ordinal);

        ExpressionBudget.Begin(context);
        Steps(1000);
        var steps = Refused(ExpressionLimit.Steps, ExpressionBudget.Step);
        Assert.Contains("more than 1000 steps", steps.Message, StringComparison.Ordinal);

        // A minute configured: a regular expression gets far more than the default 100 ms.
        ExpressionBudget.Begin(context);
        var timeout = ExpressionBudget.MatchTimeout(Regex.InfiniteMatchTimeout);
        Assert.InRange(timeout, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void Begin_OfARevisionWithoutLimits_AppliesTheDefaults()
    {
        // Default ExpressionMaxDepth: 64 calls; ExpressionMaxAllocatedBytes: 16 MB (8 Mi characters).
        foreach (var context in new[] { BudgetTestSnapshot.ContextWith(limits: null), NewContext() })
        {
            ExpressionBudget.Begin(context);
            for (var i = 0; i < 64; i++)
                ExpressionBudget.Enter();
            var depth = Refused(ExpressionLimit.Depth, ExpressionBudget.Enter);
            Assert.Contains("calls nested 65 deep (ExpressionMaxDepth is 64)", depth.Message, StringComparison.Ordinal);

            ExpressionBudget.Begin(context);
            Refused(ExpressionLimit.Memory, () => ExpressionBudget.Size(8 * 1024 * 1024 + 1));
        }
    }

    [Fact]
    public void Begin_WithALimitLeftOut_TakesThatLimitsDefault()
    {
        // ExpressionMaxSteps left out: 1,000,000 steps (the deadline is set, a minute, so time cannot interfere).
        ExpressionBudget.Begin(new GatewayLimits { ExpressionTimeoutMilliseconds = 60_000 });
        Steps(1_000_000);
        var error = Refused(ExpressionLimit.Steps, ExpressionBudget.Step);
        Assert.Contains("more than 1000000 steps", error.Message, StringComparison.Ordinal);
    }

    // ---- Steps ----

    [Theory]
    [InlineData(1000)]
    [InlineData(1024)] // a multiple of SampleEvery: the step at the limit is also a sample
    [InlineData(2048)]
    public void Steps_ALimitOfN_AllowsNSteps_AndRefusesTheNextAsSteps(long limit)
    {
        ExpressionBudget.Begin(Limits(steps: limit));

        Steps(limit);
        Assert.Equal(1, ExpressionBudget.Size(1)); // a size after exactly N steps is still within the budget
        var error = Refused(ExpressionLimit.Steps, ExpressionBudget.Step);

        Assert.Contains($"it ran more than {limit} steps", error.Message, StringComparison.Ordinal);
        Assert.Contains("ExpressionMaxSteps", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Steps_EveryCallOfALambdaIsAStep()
    {
        // ExpressionMaxSteps counts "loop iterations, calls of lambdas and local functions, elements of sequences".
        ExpressionBudget.Begin(Limits(steps: 1000));
        for (var i = 0; i < 1000; i++)
        {
            ExpressionBudget.Enter();
            ExpressionBudget.Exit();
        }

        Refused(ExpressionLimit.Steps, ExpressionBudget.Enter);
    }

    [Fact]
    public void Exceeded_StaysExceeded_EveryLaterCallThrowsTheSameError_UntilTheNextBegin()
    {
        ExpressionBudget.Begin(Limits(steps: 1000));
        Steps(1000);
        var error = Refused(ExpressionLimit.Steps, ExpressionBudget.Step);

        // Code that caught it cannot go on counting: not a step, a call, a size (not even 0), nor its result.
        Assert.Same(error, Assert.Throws<ExpressionBudgetExceededException>(ExpressionBudget.Step));
        Assert.Same(error, Assert.Throws<ExpressionBudgetExceededException>(ExpressionBudget.Enter));
        Assert.Same(error, Assert.Throws<ExpressionBudgetExceededException>(() => ExpressionBudget.Size(0)));
        Assert.Same(error, Assert.Throws<ExpressionBudgetExceededException>(() => ExpressionBudget.Checked(true)));

        ExpressionBudget.Begin(Limits(steps: 1000));
        Assert.Equal(0, ExpressionBudget.Size(0));
        ExpressionBudget.Step();
        Assert.True(ExpressionBudget.Checked(true));
    }

    // ---- Depth ----

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)] // a multiple of StackCheckEvery: the level at the limit is also a stack check
    [InlineData(5)]
    [InlineData(8)]
    public void Depth_ALimitOfN_AllowsNNestedCalls_AndRefusesTheNextAsDepth(int limit)
    {
        ExpressionBudget.Begin(Limits(depth: limit));

        for (var i = 0; i < limit; i++)
            ExpressionBudget.Enter();
        var error = Refused(ExpressionLimit.Depth, ExpressionBudget.Enter);

        Assert.Contains($"calls nested {limit + 1} deep (ExpressionMaxDepth is {limit})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Depth_IsHowDeepCallsNest_NotHowManyThereWere()
    {
        ExpressionBudget.Begin(Limits(depth: 4));
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 4; i++)
                ExpressionBudget.Enter();
            for (var i = 0; i < 4; i++)
                ExpressionBudget.Exit();
        }
        for (var i = 0; i < 4; i++)
            ExpressionBudget.Enter();

        Refused(ExpressionLimit.Depth, ExpressionBudget.Enter);
    }

    // ---- The stack (sampled: every StackCheckEvery levels, every SampleEvery steps, at every size) ----

    [Fact]
    public void Stack_NearlyExhausted_IsRefusedAsDepth_AtTheFourthLevelOfCalls()
    {
        // The stack is looked at every fourth level ("a lambda called at depth 1 ... never needs it"), well within
        // ExpressionMaxDepth: it is the stack, not the count, that ends this one.
        var (entered, error) = OnANearlyExhaustedStack(() =>
        {
            ExpressionBudget.Begin(Limits(depth: 64));
            var entered = 0;
            try
            {
                while (entered < 64)
                {
                    ExpressionBudget.Enter();
                    entered++;
                }
                return (entered, (ExpressionBudgetExceededException?)null);
            }
            catch (ExpressionBudgetExceededException e)
            {
                return (entered, e);
            }
        });

        Assert.Equal(ExpressionBudget.StackCheckEvery - 1, entered);
        Assert.NotNull(error);
        Assert.Equal(ExpressionLimit.Depth, error.Limit);
        Assert.Contains("the stack is nearly exhausted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stack_NearlyExhausted_IsRefusedAsDepth_AtTheNextSampleOfSteps()
    {
        var (steps, error) = OnANearlyExhaustedStack(() =>
        {
            // What the thread allocated before the expression began is not the expression's: the bytes looked at
            // every step are those since Begin, so they send nothing to the sampled checks here.
            GC.KeepAlive(new byte[4 * OneMegabyte]);
            ExpressionBudget.Begin(Limits(bytes: 256 * 1024));
            return CountSteps(4 * ExpressionBudget.SampleEvery);
        });

        Assert.Equal(ExpressionBudget.SampleEvery - 1, steps);
        Assert.NotNull(error);
        Assert.Equal(ExpressionLimit.Depth, error.Limit);
        Assert.Equal("The expression exceeded its budget: the stack is nearly exhausted.", error.Message);
    }

    [Fact]
    public void Stack_NearlyExhausted_TheStepLimitAloneDecidesBetweenSamples()
    {
        // 1000 steps are allowed; the 1001st is refused for being over ExpressionMaxSteps, which is checked first.
        var (steps, error) = OnANearlyExhaustedStack(() =>
        {
            ExpressionBudget.Begin(Limits(steps: 1000));
            return CountSteps(2000);
        });

        Assert.Equal(1000, steps);
        Assert.NotNull(error);
        Assert.Equal(ExpressionLimit.Steps, error.Limit);
    }

    [Fact]
    public void Stack_NearlyExhausted_IsRefusedAsDepth_AtASize()
    {
        var error = OnANearlyExhaustedStack(() =>
        {
            ExpressionBudget.Begin(Limits());
            try
            {
                ExpressionBudget.Size(1);
                return null;
            }
            catch (ExpressionBudgetExceededException e)
            {
                return e;
            }
        });

        Assert.NotNull(error);
        Assert.Equal(ExpressionLimit.Depth, error.Limit);
        Assert.Contains("the stack is nearly exhausted", error.Message, StringComparison.Ordinal);
    }

    private static (long Steps, ExpressionBudgetExceededException? Error) CountSteps(long most)
    {
        long steps = 0;
        try
        {
            while (steps < most)
            {
                ExpressionBudget.Step();
                steps++;
            }
            return (steps, null);
        }
        catch (ExpressionBudgetExceededException e)
        {
            return (steps, e);
        }
    }

    /// <summary>Runs <paramref name="body"/> on a thread of its own whose stack has less left than TryEnsureSufficientExecutionStack wants.</summary>
    private static T OnANearlyExhaustedStack<T>(Func<T> body)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = Descend(body);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, maxStackSize: 1024 * 1024);
        thread.Start();
        thread.Join();
        if (failure is not null)
            ExceptionDispatchInfo.Throw(failure);
        return result;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static T Descend<T>(Func<T> body)
    {
        // A kilobyte per frame, read after the call so that the recursion is not turned into a loop.
        Span<byte> frame = stackalloc byte[1024];
        frame[0] = 1;
        var result = RuntimeHelpers.TryEnsureSufficientExecutionStack() ? Descend(body) : body();
        return frame[0] == 1 ? result : throw new InvalidOperationException();
    }

    // ---- Memory ----

    [Fact]
    public void Memory_AllocatedSinceBegin_OverTheLimit_IsRefusedAsMemoryAtTheNextStep()
    {
        ExpressionBudget.Begin(Limits(bytes: OneMegabyte));
        var block = new byte[2 * OneMegabyte];

        var error = Refused(ExpressionLimit.Memory, ExpressionBudget.Step);

        GC.KeepAlive(block);
        var allocated = long.Parse(Regex.Match(error.Message, "it allocated ([0-9]+) bytes").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(allocated, 2 * OneMegabyte, 3 * OneMegabyte);
        Assert.Contains("(ExpressionMaxAllocatedBytes is 1048576)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Memory_AllocatedBeforeBegin_DoesNotCount()
    {
        GC.KeepAlive(new byte[4 * OneMegabyte]);
        ExpressionBudget.Begin(Limits(bytes: OneMegabyte));

        Steps(10);
        Assert.Equal(200_000, ExpressionBudget.Size(200_000));
    }

    [Fact]
    public void Size_IsRefusedAsMemory_WhenItExceedsWhatIsLeft_NotWhatTheLimitIs()
    {
        ExpressionBudget.Begin(Limits(bytes: OneMegabyte));
        Assert.Equal(200_000, ExpressionBudget.Size(200_000)); // 400 KB of 1 MB
        var used = new byte[700 * 1024];

        var error = Refused(ExpressionLimit.Memory, () => ExpressionBudget.Size(200_000)); // 400 KB of the 300 KB left

        GC.KeepAlive(used);
        Assert.Contains("it asked for 200000 elements at once", error.Message, StringComparison.Ordinal);
        Assert.Contains("ExpressionMaxAllocatedBytes (1048576)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Size_ExactlyWhatIsLeft_IsAllowed_AndOneMoreIsRefused()
    {
        // "Refused when what it would allocate exceeds what is left": two bytes a character, elementBytes an element.
        ExpressionBudget.Begin(Limits(bytes: OneMegabyte));
        ExpressionBudget.ArrayLength(1, 8); // every method once before counting bytes to the byte

        // Nothing may allocate between Begin and the call (not even an assertion): the budget is counted to the byte.
        var limits = Limits(bytes: OneMegabyte);
        ExpressionBudget.Begin(limits);
        var characters = ExpressionBudget.Size(512 * 1024);
        ExpressionBudget.Begin(limits);
        var longs = ExpressionBudget.ArrayLength(128L * 1024, 8);
        Assert.Equal(512 * 1024, characters);
        Assert.Equal(128L * 1024, longs);

        ExpressionBudget.Begin(limits);
        Refused(ExpressionLimit.Memory, () => ExpressionBudget.Size(512 * 1024 + 1));

        ExpressionBudget.Begin(limits);
        Refused(ExpressionLimit.Memory, () => ExpressionBudget.ArrayLength(128 * 1024 + 1, 8));
    }

    [Fact]
    public void Memory_ExactlyTheLimitAllocated_IsAllowed_AndNothingMoreFits()
    {
        // Measure what one block costs (after a first, so nothing else is counted), then allow exactly that.
        GC.KeepAlive(new byte[1000]);
        var before = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(new byte[1000]);
        var block = GC.GetAllocatedBytesForCurrentThread() - before;

        ExpressionBudget.Begin(Limits(bytes: block));
        var used = new byte[1000];
        ExpressionBudget.Step();
        Assert.Equal(0, ExpressionBudget.Size(0));
        Refused(ExpressionLimit.Memory, () => ExpressionBudget.Size(1));
        GC.KeepAlive(used);
    }

    [Fact]
    public void Size_Negative_IsLeftToTheLibrary()
    {
        ExpressionBudget.Begin(Limits(bytes: 64 * 1024));

        Assert.Equal(-1, ExpressionBudget.Size(-1));
        Assert.Equal(-5L, ExpressionBudget.Size(-5L));
    }

    [Fact]
    public void OutsideAnyBudget_NothingIsCounted()
    {
        // A thread that never began a budget (nothing in a policy runs there): no step, size or timeout is refused.
        Exception? failure = null;
        var results = (Size: 0, Timeout: TimeSpan.Zero);
        var thread = new Thread(() =>
        {
            try
            {
                ExpressionBudget.Step();
                ExpressionBudget.Step();
                results = (ExpressionBudget.Size(10), ExpressionBudget.MatchTimeout(TimeSpan.FromSeconds(2)));
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();

        Assert.Null(failure);
        Assert.Equal(10, results.Size);
        Assert.Equal(TimeSpan.FromSeconds(2), results.Timeout);
    }

    // ---- Arrays: the dimensions of one array multiply ----

    [Fact]
    public void ArrayDimensions_WithinTheBudget_AreAllowed()
    {
        ExpressionBudget.Begin(Limits(bytes: OneMegabyte));

        Assert.Equal(10, ExpressionBudget.ArrayLength(10, 4)); // new int[10, 10]
        Assert.Equal(10, ExpressionBudget.ArrayDimension(10, 4));
        Assert.Equal(100, ExpressionBudget.ArrayLength(100, 4)); // new int[100, 100, 10]: 400 KB
        Assert.Equal(100, ExpressionBudget.ArrayDimension(100, 4));
        Assert.Equal(10, ExpressionBudget.ArrayDimension(10, 4));
    }

    [Fact]
    public void ArrayDimensions_WhoseProductExceedsTheBudget_AreRefusedAsMemory()
    {
        ExpressionBudget.Begin(Limits(bytes: OneMegabyte));
        ExpressionBudget.ArrayLength(1000, 4); // new int[1000, 1000]: 4 MB, each dimension alone 4 KB

        Refused(ExpressionLimit.Memory, () => ExpressionBudget.ArrayDimension(1000, 4));
    }

    [Fact]
    public void ArrayDimensions_WhoseProductOverflows_AreRefusedAsMemory()
    {
        // new byte[4, 1L << 62]: 2^64 elements, which a long cannot hold (wrapped, it would be 0).
        ExpressionBudget.Begin(Limits(bytes: OneMegabyte));
        ExpressionBudget.ArrayLength(4, 1);

        Refused(ExpressionLimit.Memory, () => ExpressionBudget.ArrayDimension(1L << 62, 1));
    }

    [Fact]
    public void ArrayDimension_OfZero_MakesAnEmptyArray()
    {
        // new int[1000, 0, 1000] has no elements.
        ExpressionBudget.Begin(Limits(bytes: OneMegabyte));
        ExpressionBudget.ArrayLength(1000, 4);

        Assert.Equal(0, ExpressionBudget.ArrayDimension(0, 4));
        Assert.Equal(1000, ExpressionBudget.ArrayDimension(1000, 4));
    }

    // ---- Time ----

    [Fact]
    public void Time_PastTheDeadline_IsRefusedAsTime_AtTheNextSize()
    {
        ExpressionBudget.Begin(Limits(milliseconds: 1));
        WaitPastTheDeadline();

        var error = Refused(ExpressionLimit.Time, () => ExpressionBudget.Size(1));

        Assert.Contains("ExpressionTimeoutMilliseconds", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Time_PastTheDeadline_IsRefusedAsTime_AtTheNextSampleOfSteps()
    {
        // "Every SampleEvery steps ... the wall clock": the bytes (none allocated here) are looked at every step,
        // the clock only at every 1024th.
        GC.KeepAlive(new byte[4 * OneMegabyte]);
        ExpressionBudget.Begin(Limits(bytes: 256 * 1024, milliseconds: 1));
        WaitPastTheDeadline();

        var (steps, error) = CountSteps(4 * ExpressionBudget.SampleEvery);

        Assert.Equal(ExpressionBudget.SampleEvery - 1, steps);
        Assert.NotNull(error);
        Assert.Equal(ExpressionLimit.Time, error.Limit);
    }

    [Fact]
    public void MatchTimeout_PastTheDeadline_IsOneMillisecond()
    {
        ExpressionBudget.Begin(Limits(milliseconds: 1));
        WaitPastTheDeadline();

        Assert.Equal(TimeSpan.FromMilliseconds(1), ExpressionBudget.MatchTimeout(Regex.InfiniteMatchTimeout));
        Assert.Equal(TimeSpan.FromMilliseconds(1), ExpressionBudget.MatchTimeout(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void MatchTimeout_IsNeverLongerThanWhatIsLeft_AndAShorterOneIsKept()
    {
        ExpressionBudget.Begin(Limits(milliseconds: 60_000));

        Assert.Equal(TimeSpan.FromSeconds(2), ExpressionBudget.MatchTimeout(TimeSpan.FromSeconds(2)));
        Assert.InRange(ExpressionBudget.MatchTimeout(Regex.InfiniteMatchTimeout), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60));
        Assert.InRange(ExpressionBudget.MatchTimeout(TimeSpan.FromHours(1)), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60));
    }

    /// <summary>Spins (without sleeping) until a 1 ms deadline set just before is certainly past.</summary>
    private static void WaitPastTheDeadline()
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromMilliseconds(5))
            Thread.SpinWait(64);
    }

    // ---- Range and Repeat: Enumerable's argument rules ----

    [Fact]
    public void Range_EndingAtIntMaxValue_IsAllowed_OnePastIsRefusedAtOnce()
    {
        ExpressionBudget.Begin(Limits());

        Assert.Equal([int.MaxValue], ExpressionBudget.Range(int.MaxValue, 1).ToArray());
        Assert.Equal([int.MaxValue - 1, int.MaxValue], ExpressionBudget.Range(int.MaxValue - 1, 2).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => ExpressionBudget.Range(int.MaxValue, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExpressionBudget.Range(0, -1));
        Assert.Empty(ExpressionBudget.Range(int.MaxValue, 0));
    }

    [Fact]
    public void Repeat_ANegativeCount_IsRefusedAtOnce()
    {
        ExpressionBudget.Begin(Limits());

        Assert.Throws<ArgumentOutOfRangeException>(() => ExpressionBudget.Repeat("x", -1));
        Assert.Empty(ExpressionBudget.Repeat("x", 0));
        Assert.Equal(["x", "x"], ExpressionBudget.Repeat("x", 2).ToArray());
    }
}
