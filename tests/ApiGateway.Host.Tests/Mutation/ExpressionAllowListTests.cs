using ApiGateway.Host.Expressions;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The expression allow-list entry by entry, as docs/gateway.md and APIM's list of the .NET types allowed in policy
/// expressions give it: every allowed family compiles, and every denial of an allowed namespace (the OS certificate
/// store, chain downloads, parallel LINQ, expression trees, unbounded sequences, process-wide state, private keys,
/// files) is refused with its reason. All expressions of a list go through one compilation, as a configuration's do.
/// </summary>
public sealed class ExpressionAllowListTests
{
    private static readonly string[] Allowed =
    [
        "(object)1 != null && \"s\".Length == 1 && true && 'c' == 'c'",
        "(sbyte)1 + (byte)1 + (short)1 + (ushort)1 + 1 + 1L > 0 && 1u + 1ul > 0",
        "(Int128)1 > 0 && (UInt128)1 > 0u && 1.0f + 1.0 > 0 && 1.0m > 0 && (Half)1 > (Half)0",
        "Math.Abs(-1) + MathF.Abs(-1f) > 0 && Convert.ToInt32(\"1\") == 1 && BitConverter.GetBytes(1).Length == 4",
        "Guid.NewGuid() != Guid.Empty && new Random(1).Next(2) >= 0",
        "DateTime.UtcNow > DateTime.MinValue && DateTimeOffset.UtcNow > DateTimeOffset.MinValue && TimeSpan.Zero == default(TimeSpan)",
        "DateTimeKind.Utc != DateTimeKind.Local && DayOfWeek.Monday != DayOfWeek.Sunday",
        "DateOnly.MinValue < DateOnly.MaxValue && TimeOnly.MinValue < TimeOnly.MaxValue",
        "Nullable.Compare<int>(1, 1) == 0",
        "((int?)1).HasValue && Enum.IsDefined(DayOfWeek.Monday) && Array.Empty<int>().Length == 0",
        "new[] { 1, 2, 3 }[^1] == 3",
        "new Index(1).Value == 1 && new Range(0, 1).Start.Value == 0",
        "new Span<int>(new int[1]).Length == 1 && new ReadOnlySpan<int>(new int[1]).Length == 1",
        "new Memory<int>(new int[1]).Length == 1 && new ReadOnlyMemory<int>(new int[1]).Length == 1 && \"ab\".AsSpan().StartsWith(\"a\")",
        "new Uri(\"https://contoso.example/a\").Host == \"contoso.example\" && new UriBuilder(\"https://contoso.example\").Port == 443",
        "UriKind.Absolute != UriKind.Relative && new Uri(\"https://x/\").GetComponents(UriComponents.Host, UriFormat.Unescaped) == \"x\" && new Uri(\"https://x/a\").GetLeftPart(UriPartial.Authority) == \"https://x\"",
        "string.Equals(\"a\", \"A\", StringComparison.OrdinalIgnoreCase) && StringComparer.Ordinal.Equals(\"a\", \"a\")",
        "\"a,b\".Split(',', StringSplitOptions.RemoveEmptyEntries).Length == 2 && Math.Round(1.5, MidpointRounding.AwayFromZero) == 2",
        "Convert.ToBase64String(new byte[1], Base64FormattingOptions.None).Length > 0",
        "FormattableString.Invariant($\"{1.5}\") == \"1.5\"",
        "((IComparable)1).CompareTo(1) == 0 && ((IComparable<int>)1).CompareTo(1) == 0 && ((IEquatable<int>)1).Equals(1)",
        "((IFormattable)1).ToString(null, null) == \"1\" && ((ISpanFormattable)1) != null && ((IConvertible)1).ToInt32(null) == 1",
        "((IFormatProvider)System.Globalization.CultureInfo.InvariantCulture) != null",
        "new Exception(\"x\").Message == \"x\" && new ArgumentException(\"x\") != null && new ArgumentNullException(\"x\") != null",
        "new ArgumentOutOfRangeException(\"x\") != null && new InvalidOperationException() != null && new FormatException() != null",
        "new NotSupportedException() != null && new NotImplementedException() != null && new OverflowException() != null",
        "new IndexOutOfRangeException() != null && new DivideByZeroException() != null && new NullReferenceException() != null",
        "Tuple.Create(1, 2).Item2 == 2 && ValueTuple.Create(1, 2).Item1 == 1 && (1, \"a\").Item2 == \"a\"",
        "((Func<int, int>)(x => x + 1))(1) == 2 && ((Action)(() => { })) != null && ((Action<int>)(x => { })) != null",
        "((Predicate<int>)(x => x > 0))(1) && ((Comparison<int>)((a, b) => a - b))(1, 1) == 0 && ((Converter<int, string>)(x => x.ToString()))(1) == \"1\"",
        "((System.Collections.IEnumerable)new[] { 1 }).GetEnumerator().MoveNext()",
        "((System.Collections.IEnumerator)new List<int>().GetEnumerator()) != null || true",
        "((System.Collections.IComparer)Comparer<int>.Default) != null && ((System.Collections.IEqualityComparer)StringComparer.Ordinal) != null",
        "((System.Collections.ICollection)new int[1]).Count == 1 && ((System.Collections.IList)new int[1]).Count == 1",
        "((System.Collections.IDictionary)new Dictionary<int, int>()).Count == 0 && ((System.Collections.IStructuralEquatable)new int[1]) != null",
        "new List<int> { 1 }.Count == 1 && new Dictionary<string, int>().Count == 0 && new HashSet<int> { 1 }.Contains(1)",
        "Enumerable.Range(0, 3).Where(x => x > 0).Select(x => x * 2).Sum() == 6",
        "System.Text.RegularExpressions.Regex.IsMatch(\"ab\", \"^a\")",
        "new StringBuilder().Append(1).ToString() == \"1\" && Encoding.UTF8.GetByteCount(\"a\") == 1",
        "new UTF8Encoding(false).GetByteCount(\"a\") == 1 && new ASCIIEncoding().GetByteCount(\"a\") == 1",
        "new UnicodeEncoding().GetByteCount(\"a\") == 2 && new UTF32Encoding().GetByteCount(\"a\") == 4",
        "\"a\".Normalize(NormalizationForm.FormC) == \"a\" && new Rune('a').Value == 97",
        "string.Format(System.Globalization.CultureInfo.InvariantCulture, CompositeFormat.Parse(\"{0}\"), 1) == \"1\"",
        "new System.Security.Cryptography.Oid(\"2.5.4.3\").Value == \"2.5.4.3\" && new System.Security.Cryptography.OidCollection().Count == 0",
        "new System.Security.Cryptography.AsnEncodedData(new byte[] { 5, 0 }).RawData.Length == 2",
        "System.Security.Cryptography.HashAlgorithmName.SHA256.Name == \"SHA256\"",
        "System.Security.Cryptography.SHA256.HashData(new byte[1]).Length == 32 && System.Security.Cryptography.SHA1.HashData(new byte[1]).Length == 20",
        "System.Security.Cryptography.SHA384.HashData(new byte[1]).Length == 48 && System.Security.Cryptography.SHA512.HashData(new byte[1]).Length == 64",
        "System.Security.Cryptography.MD5.HashData(new byte[1]).Length == 16",
        "System.Security.Cryptography.HMACSHA256.HashData(new byte[1], new byte[1]).Length == 32 && System.Security.Cryptography.HMACSHA1.HashData(new byte[1], new byte[1]).Length == 20",
        "System.Security.Cryptography.HMACSHA384.HashData(new byte[1], new byte[1]).Length == 48 && System.Security.Cryptography.HMACSHA512.HashData(new byte[1], new byte[1]).Length == 64",
        "((System.Security.Cryptography.HashAlgorithm)System.Security.Cryptography.SHA256.Create()) != null",
        "((System.Security.Cryptography.KeyedHashAlgorithm)new System.Security.Cryptography.HMACSHA256()) != null && ((System.Security.Cryptography.HMAC)new System.Security.Cryptography.HMACSHA256()) != null",
        "context.Request.Certificate == null || context.Request.Certificate.NotAfter > DateTime.UtcNow",
        "System.Globalization.CultureInfo.InvariantCulture.Name == \"\"",
    ];

    [Fact]
    public void EveryAllowedFamily_Compiles()
    {
        var result = ExpressionCompiler.Compile(Allowed.Select(code => new ExpressionKey(ExpressionKind.Condition, false, code)).ToArray());

        Assert.True(result.Problems.Count == 0, Problems(result));
        Assert.Equal(Allowed.Length, result.Compiled.Count);
    }

    // The type or member is given as a regular expression: a generic's type parameters as <[^>]*>. Each denial has a
    // case of its own that reports exactly that entry (a generic and its non-generic base are separate entries).
    [Theory]
    [InlineData("new X509Chain() != null", @"System\.Security\.Cryptography\.X509Certificates\.X509Chain", "it downloads certificates and revocation lists")]
    [InlineData("new X509Store(StoreName.My) != null", @"System\.Security\.Cryptography\.X509Certificates\.X509Store", "it opens the operating system's certificate store")]
    [InlineData("ApiGateway.Host.Context.ExpressionBudget.Size(1) > 0", @"ApiGateway\.Host\.Context\.ExpressionBudget", "it is the gateway's own accounting of what an expression may do")]
    [InlineData("ParallelEnumerable.Range(0, 2) != null", @"System\.Linq\.ParallelEnumerable", "it runs code on other threads")]
    [InlineData("((System.Collections.IEnumerable)new[] { 1 }).AsParallel() != null", @"System\.Linq\.ParallelQuery", "it runs code on other threads")]
    [InlineData("new[] { 1 }.AsParallel() != null", @"System\.Linq\.ParallelQuery<[^>]*>", "it runs code on other threads")]
    [InlineData("new[] { 1 }.AsParallel().OrderBy(x => x) != null", @"System\.Linq\.OrderedParallelQuery<[^>]*>", "it runs code on other threads")]
    [InlineData("Queryable.Count(new[] { 1 }.AsQueryable()) == 1", @"System\.Linq\.Queryable", "it compiles expression trees")]
    [InlineData("((System.Collections.IEnumerable)new[] { 1 }).AsQueryable() != null", @"System\.Linq\.IQueryable", "it compiles expression trees")]
    [InlineData("new[] { 1 }.AsQueryable() != null", @"System\.Linq\.IQueryable<[^>]*>", "it compiles expression trees")]
    [InlineData("((IOrderedQueryable)null) == null", @"System\.Linq\.IOrderedQueryable", "it compiles expression trees")]
    [InlineData("((IOrderedQueryable<int>)null) == null", @"System\.Linq\.IOrderedQueryable<[^>]*>", "it compiles expression trees")]
    [InlineData("((IQueryProvider)null) == null", @"System\.Linq\.IQueryProvider", "it compiles expression trees")]
    [InlineData("((EnumerableQuery)null) == null", @"System\.Linq\.EnumerableQuery", "it compiles expression trees")]
    [InlineData("((EnumerableQuery<int>)null) == null", @"System\.Linq\.EnumerableQuery<[^>]*>", "it compiles expression trees")]
    [InlineData("((EnumerableExecutor)null) == null", @"System\.Linq\.EnumerableExecutor", "it compiles expression trees")]
    [InlineData("((EnumerableExecutor<int>)null) == null", @"System\.Linq\.EnumerableExecutor<[^>]*>", "it compiles expression trees")]
    [InlineData("Enumerable.InfiniteSequence(0, 1).Take(2).Count() == 2", @"System\.Linq\.Enumerable\.InfiniteSequence", "it makes a sequence without a bound")]
    [InlineData("Enumerable.Sequence(0, 10, 1).Count() == 11", @"System\.Linq\.Enumerable\.Sequence", "it makes a sequence without a bound")]
    [InlineData("Regex.CacheSize > 0", @"System\.Text\.RegularExpressions\.Regex\.CacheSize", "it changes process-wide state")]
    [InlineData("context.Deployment.Certificates.Any(c => c.Value.PrivateKey != null)", @"X509Certificate2\.PrivateKey", "it changes or exposes the certificates the gateway uses")]
    [InlineData("context.Deployment.Certificates.Any(c => { c.Value.Reset(); return true; })", @"X509Certificate2?\.Reset", "it changes or exposes the certificates the gateway uses")]
    [InlineData("context.Deployment.Certificates.Any(c => { c.Value.Dispose(); return true; })", @"X509Certificate2?\.Dispose", "it changes or exposes the certificates the gateway uses")]
    [InlineData("context.Deployment.Certificates.Any(c => c.Value.CopyWithPrivateKey(System.Security.Cryptography.ECDsa.Create()) != null)", @"ECDsaCertificateExtensions\.CopyWithPrivateKey", "it changes or exposes the certificates the gateway uses")]
    [InlineData("context.Deployment.Certificates.Any(c => c.Value.Export(X509ContentType.Cert).Length > 0)", @"X509Certificate2?\.Export", "it exports certificate and key material")]
    [InlineData("X509CertificateLoader.LoadCertificateFromFile(\"/etc/ssl/x.pem\") != null", @"X509CertificateLoader\.LoadCertificateFromFile", "it reads files")]
    public void DeniedTypesAndMembersOfAllowedNamespaces_AreRefusedWithTheirReason(string code, string what, string why)
    {
        var result = Compile(code);

        Assert.Empty(result.Compiled);
        var problems = Problems(result);
        var expected = @"the expression uses (\S*\.)?" + what + ", which policy expressions may not use: " + System.Text.RegularExpressions.Regex.Escape(why);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(problems, expected), expected + " not in: " + problems);
    }

    [Fact]
    public void Encoding_RegisterProvider_IsRefused_AndCertificatePemsMayBeRead()
    {
        var refused = Compile("Encoding.RegisterProvider(null); return true;", block: true);
        Assert.Contains("System.Text.Encoding.RegisterProvider", Problems(refused), StringComparison.Ordinal);
        Assert.Contains("it changes process-wide state", Problems(refused), StringComparison.Ordinal);

        var allowed = Compile("context.Request.Certificate == null || context.Request.Certificate.ExportCertificatePem().Length > 0");
        Assert.True(allowed.Problems.Count == 0, Problems(allowed));
    }

    [Fact]
    public void SubNamespacesOfAnAllowedNamespace_AreNotAllowed()
    {
        var result = Compile("System.Collections.Generic.Comparer<int>.Default != null && new System.Linq.Expressions.ParameterExpression[0].Length == 0");

        Assert.Contains("System.Linq.Expressions.ParameterExpression", Problems(result), StringComparison.Ordinal);
    }

    [Fact]
    public void NestedTypes_FollowTheirContainingType()
    {
        // List<T>.Enumerator is allowed because List<T> is; Environment.SpecialFolder is not, because Environment is not.
        Assert.True(Compile("new List<int>().GetEnumerator().MoveNext() == false").Problems.Count == 0);
        Assert.Contains("System.Environment", Problems(Compile("Environment.SpecialFolder.Desktop != Environment.SpecialFolder.Fonts")), StringComparison.Ordinal);
    }
}
