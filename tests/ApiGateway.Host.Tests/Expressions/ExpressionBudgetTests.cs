using System.Diagnostics;
using System.Text.RegularExpressions;
using ApiGateway.Host.Context;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;

namespace ApiGateway.Host.Tests.Expressions;

/// <summary>
/// Every class of expression written to hurt ends within its budget with an ordinary exception (the request then gets
/// 500 ExpressionBudgetExceeded, see the pipeline test), in far less time than the request would otherwise take: loops,
/// gotos, recursion (a stack overflow would end the whole process), allocation, LINQ over huge ranges with and without a
/// lambda, huge strings and arrays, catastrophic regular expressions, and code that catches the budget's exception.
/// Without the instrumentation each of these runs for minutes, forever, or ends the process.
/// </summary>
public sealed class ExpressionBudgetTests
{
    // The limits that may end each: more than one where the first reached depends on the machine's speed (a loaded
    // machine reaches the 100 ms deadline before 16 MB of growth).
    public static TheoryData<string, ExpressionLimit[]> Hostile => new()
    {
        { "while (true) { } return true;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "long i = 0; while (i >= 0) i++; return true;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "for (long i = 0; i < 1000000000000L; i++) { } return true;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "var n = 0; do { n++; } while (n != -1); return true;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "foreach (var c in System.Linq.Enumerable.Range(0, int.MaxValue)) { } return true;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "again: goto again;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "int F(int n) => F(n + 1) + 1; return F(0) > 0;", [ExpressionLimit.Depth] },
        { "int F(int n) { return n < 0 ? 0 : F(n + 1); } return F(0) > 0;", [ExpressionLimit.Depth] },
        { "Func<int, int> f = null; f = n => f(n + 1); return f(0) > 0;", [ExpressionLimit.Depth] },
        { "Func<int, int> f = null; f = delegate (int n) { return f(n + 1); }; return f(0) > 0;", [ExpressionLimit.Depth] },
        { "var list = new List<string>(); while (true) list.Add(new string('x', 100)); return true;", [ExpressionLimit.Memory, ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "var sb = new StringBuilder(); while (true) sb.Append(\"0123456789\"); return true;", [ExpressionLimit.Memory, ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "return Enumerable.Range(0, int.MaxValue).Select(i => (long)i * 2).Sum() > 0;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "return Enumerable.Range(0, int.MaxValue).Count() > 0;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "return Enumerable.Range(0, 100000).SelectMany(i => Enumerable.Range(0, 100000)).LongCount() > 0;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "return Enumerable.Repeat(\"x\", int.MaxValue).Count() > 0;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "return string.Concat(Enumerable.Repeat(\"xxxxxxxx\", int.MaxValue)).Length > 0;", [ExpressionLimit.Steps, ExpressionLimit.Memory, ExpressionLimit.Time] },
        { "return new string('x', int.MaxValue).Length > 0;", [ExpressionLimit.Memory] },
        { "return \"x\".PadLeft(1 << 30).Length > 0;", [ExpressionLimit.Memory] },
        { "return new StringBuilder(1 << 30).Capacity > 0;", [ExpressionLimit.Memory] },
        { "return new long[1 << 28].Length > 0;", [ExpressionLimit.Memory] },
        { "return new int[100000, 100000].Length > 0;", [ExpressionLimit.Memory] },
        { "try { while (true) { } } catch (Exception) { } return true;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
        { "while (true) { try { while (true) { } } catch { } } return true;", [ExpressionLimit.Steps, ExpressionLimit.Time] },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void HostileExpression_EndsWithinItsBudget(string code, ExpressionLimit[] limits)
    {
        var condition = Compiled(code, block: true).Condition!;
        var context = NewContext();

        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<ExpressionBudgetExceededException>(() => condition(context));
        watch.Stop();

        Assert.Contains(error.Limit, limits);
        Assert.Contains("exceeded its budget", error.Message, StringComparison.Ordinal);
        // 1,000,000 steps, 16 MB and 100 ms by default; loose, for a busy machine.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"{code} took {watch.ElapsedMilliseconds} ms");
    }

    [Theory]
    [InlineData("return Regex.IsMatch(new string('a', 40) + \"!\", \"^(a+)+$\");")]
    [InlineData("return new Regex(\"^(a+)+$\").IsMatch(new string('a', 40) + \"!\");")]
    [InlineData("return new Regex(\"^(a+)+$\", RegexOptions.None, Regex.InfiniteMatchTimeout).IsMatch(new string('a', 40) + \"!\");")]
    [InlineData("return Regex.Matches(new string('a', 40) + \"!\", \"(a+)+$\", RegexOptions.None, TimeSpan.FromHours(1)).Count > 0;")]
    public void CatastrophicRegularExpression_EndsAtTheExpressionsDeadline(string code)
    {
        var condition = Compiled(code, block: true).Condition!;

        var watch = Stopwatch.StartNew();
        Assert.Throws<RegexMatchTimeoutException>(() => condition(NewContext()));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"{code} took {watch.ElapsedMilliseconds} ms");
    }

    [Theory]
    [InlineData("var s = 0; for (var i = 0; i < 10; i++) s += i; return s == 45;")]
    [InlineData("var s = 0; var i = 0; while (i < 10) { s += i; i++; } return s == 45;")]
    [InlineData("int Fib(int n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2); return Fib(15) == 610;")]
    [InlineData("Func<int, int> twice = x => x * 2; return twice(21) == 42;")]
    [InlineData("var seen = new List<int>(); Action<int> add = x => seen.Add(x); add(1); add(2); return seen.Count == 2;")]
    [InlineData("return Enumerable.Range(0, 10).Sum() == 45 && Enumerable.Repeat(\"a\", 3).Count() == 3;")]
    [InlineData("return Enumerable.Range(1, 1000).Where(i => i % 2 == 0).Select(i => i * 2).Sum() == 501000;")]
    [InlineData("return new string('x', 1000).Length == 1000 && \"x\".PadLeft(5).Length == 5 && new int[100].Length == 100;")]
    [InlineData("return Regex.IsMatch(\"partner.contoso.com\", @\"^[a-z]+\\.contoso\\.com$\");")]
    [InlineData("IEnumerable<int> Odd(int max) { for (var i = 1; i <= max; i += 2) yield return i; } return Odd(9).Sum() == 25;")]
    [InlineData("var n = 0; top: n++; if (n < 10) goto top; return n == 10;")]
    [InlineData("try { throw new InvalidOperationException(\"x\"); } catch (InvalidOperationException) { return true; }")]
    public void OrdinaryCode_RunsAsWritten(string code)
    {
        var condition = Compiled(code, block: true).Condition!;

        Assert.True(condition(NewContext()), code);
        Assert.True(condition(NewContext()), code + " (again: the budget starts afresh)");
    }

    [Theory]
    [InlineData("Enumerable.InfiniteSequence(0, 1).First() > 0", "InfiniteSequence")]
    [InlineData("Enumerable.Sequence(0, int.MaxValue, 1).Count() > 0", "Sequence")]
    [InlineData("ExpressionBudget.Begin(context) == null", "ApiGateway.Host.Context.ExpressionBudget")]
    public void WaysAroundTheBudget_AreRefused(string code, string named)
    {
        var result = Compile(code);

        Assert.Empty(result.Compiled);
        Assert.Contains(named, Problems(result), StringComparison.Ordinal);
    }
}
