using ApiGateway.Host.Expressions;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The rules of ExpressionSafety that ExpressionAllowListTests does not reach: single allow-list entries, the member
/// rules of the X509 namespace, every construct and every kind of symbol the finder looks at, and how a refusal is
/// worded and placed. A use is reported once per message, at the outermost node that makes it ("System.IO.File.Exists(...)
/// is reported where it starts"), so most cases below assert the exact message and its column: a check that is lost
/// either loses the message or moves it to an inner node.
/// </summary>
public sealed class ExpressionSafetyRuleTests
{
    private const string MayNotUse = ", which policy expressions may not use";

    // Entries of the allow-list that nothing else uses: each must compile on its own.
    [Theory]
    [InlineData("((IDisposable)new List<int>().GetEnumerator()) != null", false)] // System.IDisposable
    [InlineData("new ValueTuple<int, int, int, int, int, int, int, int>(1, 2, 3, 4, 5, 6, 7, 8).Rest == 8", false)] // the ValueTuple family: one whose Rest is no tuple is not a C# tuple
    [InlineData("new System.Runtime.CompilerServices.DefaultInterpolatedStringHandler(0, 0).ToStringAndClear() == \"\"", false)]
    [InlineData("new X509Certificate2Collection() != null", false)] // a constructor without a fileName parameter
    [InlineData("new X509Certificate2Collection().ExportCertificatePems().Length >= 0", false)] // public certificates, no keys
    [InlineData("var sb = new StringBuilder(\"ab\"); sb.Length = 1; return sb.ToString() == \"a\";", true)] // an instance property, not shared state
    [InlineData("var n = 0; foreach (var c in \"ab\") { n += c == 'a' ? 1 : 0; } return n == 1;", true)] // a string's characters (System.CharEnumerator)
    [InlineData("context.Request.Certificate == null || new X509Certificate2Collection(context.Request.Certificate).Count == 1", false)] // Count, from CollectionBase
    public void AllowedEntries_Compile(string code, bool block)
    {
        var result = Compile(code, block: block);

        Assert.True(result.Problems.Count == 0, Problems(result));
        Assert.Single(result.Compiled);
    }

    // code, block, the column the refusal is reported at, what is named, and the reason (null: none is given).
    [Theory]
    // A type without a reason: the message ends after "may not use"; two uses of it, one message, at the first.
    [InlineData("System.IO.File.Exists(\"a\") && System.IO.File.Exists(\"b\")", false, 0, "System.IO.File", null)]
    // X509: a constructor that takes a file name reads the file, with or without a password.
    [InlineData("new X509Certificate2(\"/etc/ssl/x.pem\") != null", false, 0, "System.Security.Cryptography.X509Certificates.X509Certificate2..ctor", "it reads files")]
    [InlineData("new X509Certificate2(\"/etc/ssl/x.pfx\", \"pw\") != null", false, 0, "System.Security.Cryptography.X509Certificates.X509Certificate2..ctor", "it reads files")]
    [InlineData("var c = new X509Certificate2Collection(); c.Import(new byte[0]); return true;", true, 42, "System.Security.Cryptography.X509Certificates.X509Certificate2Collection.Import", "it changes or exposes the certificates the gateway uses")]
    // X509: the member rules hold for fields (enum values) as for methods.
    [InlineData("X509KeyStorageFlags.Exportable != X509KeyStorageFlags.DefaultKeySet", false, 0, "System.Security.Cryptography.X509Certificates.X509KeyStorageFlags.Exportable", "it exports certificate and key material")]
    // An extension method is checked by the class that declares it, not only by what it returns.
    [InlineData("new[] { 1 }.AsParallel() != null", false, 0, "System.Linq.ParallelEnumerable", "it runs code on other threads")]
    // Constructs.
    [InlineData("unsafe { return true; }", true, 0, "unsafe code or pointers", null)]
    [InlineData("Span<int> s = stackalloc int[1]; return s.Length == 1;", true, 14, "unsafe code or pointers", null)]
    [InlineData("Span<int> s = stackalloc[] { 1 }; return s.Length == 1;", true, 14, "unsafe code or pointers", null)]
    [InlineData("int x = 1; var p = &x; return true;", true, 11, "unsafe code or pointers", null)] // at 'var', whose type is int*
    [InlineData("int x = 1; var r = __makeref(x); return true;", true, 19, "__arglist or __makeref (System.TypedReference)", null)]
    [InlineData("Func<System.Threading.Tasks.Task> f = async () => await default(System.Threading.Tasks.Task); return true;", true, 50, "await (System.Threading.Tasks)", null)]
    [InlineData("AppDomain.CurrentDomain.ProcessExit += (s, e) => { }; return true;", true, 0, "the event System.AppDomain.ProcessExit", null)]
    // The type of an expression, also when it is converted (typeof(...) passed as object).
    [InlineData("object.Equals(typeof(string), null) == false", false, 14, "System.Type", null)]
    // Declarations: a local function by its signature, where it starts.
    [InlineData("static System.IO.FileInfo F() => null; return F() == null;", true, 0, "System.IO.FileInfo", null)]
    // foreach: the loop variable, the enumerator GetEnumerator returns and the element type, each at 'foreach'.
    [InlineData("foreach (System.IO.FileInfo f in new object[0]) { } return true;", true, 0, "System.IO.FileInfo", null)]
    [InlineData("foreach (var r in \"a\".EnumerateRunes()) { } return true;", true, 0, "System.Text.StringRuneEnumerator", null)]
    [InlineData("foreach (object o in new System.IO.FileInfo[0]) { } return true;", true, 0, "System.IO.FileInfo", null)]
    // Members: a method's parameter types and type arguments, a property's type, at the call or the pattern.
    [InlineData("Convert.ChangeType(1, null) != null", false, 0, "System.Type", null)]
    [InlineData("Enum.GetNames<System.IO.FileAccess>().Length > 0", false, 0, "System.IO.FileAccess", null)]
    [InlineData("Encoding.UTF8 is { EncoderFallback: not null }", false, 19, "System.Text.EncoderFallback", null)]
    // Composite types: array elements, tuple elements, type arguments.
    [InlineData("new System.IO.FileInfo[0].Length == 0", false, 0, "System.IO.FileInfo", null)]
    [InlineData("Encoding.GetEncodings().Length > 0", false, 0, "System.Text.EncodingInfo", null)]
    [InlineData("(1, typeof(int)).Item1 == 1", false, 0, "System.Type", null)]
    [InlineData("new List<System.IO.FileInfo>().Count == 0", false, 0, "System.IO.FileInfo", null)]
    public void Refusal_NamesTheUse_WithItsReason_WhereItStarts(string code, bool block, int column, string what, string? why)
    {
        var result = Compile(code, block: block);

        Assert.Empty(result.Compiled);
        var expected = "the expression uses " + what + MayNotUse + (why is null ? "" : ": " + why);
        var problems = result.Problems.Values.Single();
        var problem = problems.SingleOrDefault(p => p.Message == expected);
        Assert.True(problem is not null, expected + " not in: " + Problems(result));
        Assert.Equal((0, column), (problem.Line, problem.Column));
    }

    [Fact]
    public void Refusals_AreListedInTheOrderOfTheirPositions()
    {
        var result = Compile("System.IO.File.Exists(\"a\") && typeof(int) != null");

        Assert.Equal(
            [(0, 0, "the expression uses System.IO.File" + MayNotUse), (0, 30, "the expression uses System.Type" + MayNotUse)],
            result.Problems.Values.Single().Select(p => (p.Line, p.Column, p.Message)));
    }
}
