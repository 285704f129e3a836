using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Context;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Tls;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;

namespace ApiGateway.Host.Tests.Expressions;

public sealed class ExpressionCompilerTests
{
    [Fact]
    public void AllowedTypes_CompileAndRun()
    {
        var compiled = Compiled("""
            context.Request.Method == "GET"
            && Regex.IsMatch(context.Request.Url.Path, "^/orders/\\d+$")
            && new[] { 1, 2 }.Sum() == 3
            && new List<string> { "a" }.Any(s => s.StartsWith("a", StringComparison.Ordinal))
            && DateTime.UtcNow > DateTime.MinValue && TimeSpan.FromSeconds(1).TotalMilliseconds == 1000
            && Math.Max(1, 2) == 2 && Convert.ToInt32("7") == 7 && Guid.Empty == default(Guid)
            && new StringBuilder("a").Append('b').ToString() == "ab" && Encoding.UTF8.GetByteCount("x") == 1
            && string.Join(",", "a", "b", "c") == "a,b,c" && $"{1 + 1}" == "2"
            && context.Request.Url.Query.GetValueOrDefault("a", "") == "1"
            && context.Request.Certificate == null && context.Variables.GetValueOrDefault<int>("missing", 5) == 5
            """);
        Assert.True(compiled.Condition!(NewContext()));
    }

    [Fact]
    public void BlockExpression_FromTheApimReference_ReturnsText()
    {
        var compiled = Compiled("""
            string[] value;
            if (context.Request.Headers.TryGetValue("Authorization", out value))
            {
                if(value != null && value.Length > 0)
                {
                    return Encoding.UTF8.GetString(Convert.FromBase64String(value[0]));
                }
            }
            return null;
            """, ExpressionKind.Text, block: true);

        var context = NewContext(configure: http => http.Request.Headers.Authorization = Convert.ToBase64String("user:pass"u8.ToArray()));
        Assert.Equal("user:pass", compiled.Text!(context));
        Assert.Null(compiled.Text!(NewContext()));
    }

    [Fact]
    public void TextAndStatusCodeAndValue_ConvertTheResult()
    {
        Assert.Equal("42", Compiled("40 + 2", ExpressionKind.Text).Text!(NewContext()));
        Assert.Equal("True", Compiled("1 < 2", ExpressionKind.Text).Text!(NewContext()));
        Assert.Equal(418, Compiled("\"418\"", ExpressionKind.StatusCode).StatusCode!(NewContext()));
        Assert.Equal(401, Compiled("400 + 1", ExpressionKind.StatusCode).StatusCode!(NewContext()));
        Assert.Equal(7, Compiled("3 + 4", ExpressionKind.Value).Value!(NewContext()));
    }

    [Theory]
    [InlineData("System.IO.File.Exists(\"/etc/passwd\")", "System.IO.File")]
    [InlineData("new System.IO.FileInfo(\"/etc/passwd\").Length > 0", "System.IO.FileInfo")]
    [InlineData("System.Diagnostics.Process.Start(\"sh\") != null", "System.Diagnostics.Process")]
    [InlineData("typeof(string).Name == \"String\"", "System.Type")]
    [InlineData("\"x\".GetType().Name == \"String\"", "System.Type")]
    [InlineData("System.Reflection.Assembly.GetExecutingAssembly() != null", "System.Reflection.Assembly")]
    [InlineData("((Func<int>)(() => 1)).Method != null", "System.Reflection.MethodInfo")]
    [InlineData("Environment.GetEnvironmentVariable(\"HOME\") != null", "System.Environment")]
    [InlineData("Environment.ProcessorCount > 0", "System.Environment")]
    [InlineData("new System.Net.Sockets.TcpClient() != null", "System.Net.Sockets.TcpClient")]
    [InlineData("new System.Net.Http.HttpClient() != null", "System.Net.Http.HttpClient")]
    [InlineData("System.Threading.Thread.CurrentThread != null", "System.Threading.Thread")]
    [InlineData("System.Threading.Tasks.Task.Delay(1).IsCompleted", "System.Threading.Tasks.Task")]
    [InlineData("System.Runtime.InteropServices.Marshal.SizeOf<int>() == 4", "System.Runtime.InteropServices.Marshal")]
    [InlineData("AppDomain.CurrentDomain != null", "System.AppDomain")]
    [InlineData("Activator.CreateInstance<object>() != null", "System.Activator")]
    [InlineData("GC.GetTotalMemory(false) > 0", "System.GC")]
    [InlineData("Console.Out != null", "System.Console")]
    [InlineData("new X509Store(StoreName.My) != null", "System.Security.Cryptography.X509Certificates.X509Store")]
    [InlineData("context.Deployment.Certificates.Any(c => c.Value.Export(X509ContentType.Pfx).Length > 0)", "X509Certificate.Export")]
    [InlineData("context.Deployment.Certificates.Any(c => c.Value.GetRSAPrivateKey() != null)", "System.Security.Cryptography.RSA")]
    [InlineData("X509Certificate2.CreateFromPemFile(\"/etc/ssl/x.pem\") != null", "X509Certificate2.CreateFromPemFile")]
    [InlineData("new[] { 1 }.AsParallel().Any()", "System.Linq.Parallel")]
    public void ForbiddenTypes_AreRefusedByName(string code, string type)
    {
        var result = Compile(code);

        Assert.Empty(result.Compiled);
        var problems = Problems(result);
        Assert.True(problems.Contains(type, StringComparison.Ordinal), problems);
        Assert.Contains("which policy expressions may not use", problems, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dynamic d = 1; return d == 1;", "dynamic")]
    [InlineData("unsafe { int x = 1; int* p = &x; return *p == 1; }", "unsafe code or pointers")]
    [InlineData("lock (context) { return true; }", "lock statement")]
    [InlineData("System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture; return true;", "CurrentCulture as a target")]
    [InlineData("[System.Runtime.InteropServices.DllImport(\"libc\")] static extern int getpid(); return getpid() > 0;", "native code")]
    public void ForbiddenConstructs_AreRefused(string code, string what)
    {
        var result = Compile(code, block: true);

        Assert.Empty(result.Compiled);
        Assert.Contains(what, Problems(result), StringComparison.Ordinal);
    }

    [Fact]
    public void CodeThatLeavesItsMethod_IsASyntaxError_NotAMember()
    {
        var result = Compile("true); } static Compiled() { System.IO.File.Delete(\"x\"); } static bool Y() { return (true");

        Assert.Empty(result.Compiled);
        Assert.Contains("does not compile", Problems(result), StringComparison.Ordinal);
    }

    [Fact]
    public void CompileErrors_GiveThePositionInTheCode()
    {
        var result = Compile("context.Request.Methd == \"GET\"");

        var problem = Assert.Single(result.Problems.Values.Single());
        Assert.Equal(0, problem.Line);
        Assert.Equal(16, problem.Column);
        Assert.Contains("Methd", problem.Message, StringComparison.Ordinal);
        Assert.Contains("CS1061", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CompileErrors_AreFound_WhenTheRestOfTheBatchNeedsRewrites()
    {
        // A batch is first emitted without collecting the errors of the code as written; an expression with an error
        // must still fail there, and the expected error of a rewritten comparison (CS0019 on a distinguished name) must
        // not count against it.
        var name = new ExpressionKey(ExpressionKind.Condition, false, "context.Request.Certificate == null || context.Request.Certificate.SubjectName == \"CN=client\"");
        var thumbprint = new ExpressionKey(ExpressionKind.Condition, false, "context.Request.Certificate?.Thumbprint != \"ab\"");
        var broken = new ExpressionKey(ExpressionKind.Condition, false, "context.Request.Methd == \"GET\"");

        var clean = ExpressionCompiler.Compile([name, thumbprint]);
        var mixed = ExpressionCompiler.Compile([name, broken, thumbprint]);

        Assert.Empty(clean.Problems);
        Assert.Equal(2, clean.Compiled.Count);
        Assert.True(clean.Compiled[name].Condition!(NewContext()));
        Assert.Equal(2, mixed.Compiled.Count);
        Assert.True(mixed.Compiled[name].Condition!(NewContext()));
        var problem = Assert.Single(mixed.Problems[broken]);
        Assert.Equal(16, problem.Column);
        Assert.Contains("CS1061", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConditionThatIsNotBool_SaysSo()
    {
        var result = Compile("context.Request.Method");

        Assert.Contains("a condition must be a bool expression", Problems(result), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("context.Request.Certificate.SubjectName != \"CN=expected, O=Contoso\"", false)]
    [InlineData("context.Request.Certificate.SubjectName == \"cn=EXPECTED,o=contoso\"", true)]
    [InlineData("\"CN=expected,O=Contoso\" == context.Request.Certificate.SubjectName", true)]
    [InlineData("context.Request.Certificate.SubjectName.Name == \"CN = expected , O = Contoso\"", true)]
    [InlineData("context.Request.Certificate.Subject == \"CN=expected;O=Contoso\"", true)]
    [InlineData("context.Request.Certificate.Issuer != \"CN=Test CA,O=Contoso\"", false)]
    [InlineData("context.Request.Certificate.IssuerName.Name == \"O=Contoso, CN=Test CA\"", false)]
    [InlineData("context.Request.Certificate.Issuer == \"trusted-issuer\"", false)]
    [InlineData("context.Request.Certificate?.Subject == \"CN=expected,O=Contoso\"", true)]
    public void DistinguishedNames_CompareAsNames(string code, bool expected)
    {
        using var ca = TestCertificates.CreateCa("CN=Test CA, O=Contoso");
        using var certificate = TestCertificates.Create("CN=expected, O=Contoso", ca, clientAuth: true);

        Assert.Equal(expected, Compiled(code).Condition!(NewContext(certificate)));
    }

    [Fact]
    public void Thumbprints_CompareWithoutCase_AndAreComputedOnce()
    {
        using var certificate = TestCertificates.Create("CN=client", clientAuth: true);
        var compiled = Compiled($"context.Request.Certificate.Thumbprint == \"{certificate.Thumbprint.ToLowerInvariant()}\"");
        var context = NewContext(certificate);

        Assert.True(compiled.Condition!(context));
        Assert.Same(ExpressionRuntime.Thumbprint(certificate), ExpressionRuntime.Thumbprint(certificate));
    }

    [Theory]
    [InlineData("context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint)")]
    [InlineData("context.Deployment.Certificates.Any(c => (context.Request.Certificate.Thumbprint == c.Value.Thumbprint))")]
    [InlineData("context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate?.Thumbprint)")]
    public void UploadedCertificateCheck_BecomesALookup_WithTheSameAnswers(string code)
    {
        using var uploaded = TestCertificates.Create("CN=uploaded", clientAuth: true);
        using var stranger = TestCertificates.Create("CN=stranger", clientAuth: true);
        var compiled = Compiled(code);
        Assert.Contains("ThumbprintIn", CalledMethods(compiled.Condition!));
        var certificates = new CertificateDictionary([new("other", TestCertificates.Create("CN=other", clientAuth: true)), new("uploaded", X509CertificateLoader.LoadCertificate(uploaded.RawData))]);

        var accepted = NewContext(uploaded);
        accepted.Deployment = new PolicyDeployment("test", certificates);
        var refused = NewContext(stranger);
        refused.Deployment = new PolicyDeployment("test", certificates);
        Assert.True(compiled.Condition!(accepted));
        Assert.False(compiled.Condition!(refused));

        // Without certificates the walk never reads the client certificate: neither does the lookup (no exception for null).
        var empty = NewContext(null);
        empty.Deployment = new PolicyDeployment("test", new CertificateDictionary([]));
        Assert.False(compiled.Condition!(empty));
    }

    [Fact]
    public void UploadedCertificateCheck_WithACall_StaysAWalk()
    {
        using var uploaded = TestCertificates.Create("CN=uploaded", clientAuth: true);
        var compiled = Compiled("context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint.ToUpperInvariant())");
        Assert.DoesNotContain("ThumbprintIn", CalledMethods(compiled.Condition!));
        var context = NewContext(uploaded);
        context.Deployment = new PolicyDeployment("test", new CertificateDictionary([new("uploaded", X509CertificateLoader.LoadCertificate(uploaded.RawData))]));
        Assert.True(compiled.Condition!(context));
    }

    [Fact]
    public void Verify_IsTheGatewaysCheck_AgainstUploadedCas_NotTheSystemStore()
    {
        using var ca = TestCertificates.CreateCa("CN=Uploaded CA");
        using var certificate = TestCertificates.Create("CN=client", ca, clientAuth: true);
        var tls = Handshake(ca, certificate);
        var context = NewContext(certificate);
        context.State.Tls = tls;

        // The system store does not know the uploaded CA: the BCL's own Verify() says no.
        Assert.False(certificate.Verify());
        Assert.True(Compiled("context.Request.Certificate.VerifyNoRevocation()").Condition!(context));
        Assert.True(Compiled("context.Request.Certificate?.VerifyNoRevocation() == true").Condition!(context));
        // Verify() also checks revocation online; a certificate without CRL or OCSP cannot pass that.
        Assert.False(Compiled("context.Request.Certificate.Verify()").Condition!(context));
    }

    [Fact]
    public void Verify_OfACertificateFromAnotherCa_IsFalse()
    {
        using var uploaded = TestCertificates.CreateCa("CN=Uploaded CA");
        using var other = TestCertificates.CreateCa("CN=Other CA");
        using var certificate = TestCertificates.Create("CN=client", other, clientAuth: true);
        var context = NewContext(certificate);
        context.State.Tls = Handshake(uploaded, certificate);

        Assert.False(Compiled("context.Request.Certificate.VerifyNoRevocation()").Condition!(context));
    }

    [Fact]
    public void LambdaParameterNamedContext_DoesNotConfuseTheRewrite()
    {
        using var ca = TestCertificates.CreateCa("CN=Uploaded CA");
        using var certificate = TestCertificates.Create("CN=client", ca, clientAuth: true);
        var context = NewContext(certificate);
        context.State.Tls = Handshake(ca, certificate);

        var compiled = Compiled("new[] { 1 }.Select(context => context + 1).Single() == 2 && context.Request.Certificate.VerifyNoRevocation()");
        Assert.True(compiled.Condition!(context));
    }

    [Fact]
    public void Cache_CompilesOnlyWhatIsNew()
    {
        var cache = new ExpressionCache();
        var a = new ExpressionKey(ExpressionKind.Condition, false, "context.Request.Method == \"A\"");
        var b = new ExpressionKey(ExpressionKind.Condition, false, "context.Request.Method == \"B\"");

        var first = cache.Resolve([a]);
        var second = cache.Resolve([a, b]);
        var third = cache.Resolve([a, b]);

        Assert.Equal(1, first.CompiledNow);
        Assert.Equal(1, second.CompiledNow);
        Assert.Equal(0, third.CompiledNow);
        Assert.Same(first.Compiled[a], third.Compiled[a]);
        cache.Retain([b]);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void ManyExpressions_CompileInParts_WithEveryAnswerAndProblemKept()
    {
        var count = (ExpressionCompiler.ExpressionsPerParallelCompilation * 2) + 7;
        var keys = Enumerable.Range(0, count)
            .Select(i => new ExpressionKey(ExpressionKind.Condition, false, $"context.Request.Method == \"M{i}\""))
            .ToList();
        var broken = new ExpressionKey(ExpressionKind.Condition, false, "System.IO.File.Exists(\"/etc/passwd\")");
        keys.Insert(count - 3, broken);

        var result = ExpressionCompiler.Compile(keys);

        Assert.Equal(count, result.Compiled.Count);
        Assert.Contains("System.IO.File", Assert.Single(result.Problems[broken]).Message, StringComparison.Ordinal);
        var context = NewContext(configure: http => http.Request.Method = "M" + (count - 1).ToString(CultureInfo.InvariantCulture));
        Assert.True(result.Compiled[keys[^1]].Condition!(context));
        Assert.False(result.Compiled[keys[0]].Condition!(context));
    }

    [Fact]
    public void ExpressionsThatDifferInStringsOnly_ShareOneMethod_EachWithItsOwnValues()
    {
        var get = new ExpressionKey(ExpressionKind.Condition, false, "context.Request.Method == \"GET\" && context.Request.Headers.GetValueOrDefault(\"X-Team\", \"\") == \"blue\"");
        var put = new ExpressionKey(ExpressionKind.Condition, false, "context.Request.Method == \"PUT\" && context.Request.Headers.GetValueOrDefault(\"X-Team\", \"\") == \"red\"");
        var escaped = new ExpressionKey(ExpressionKind.Condition, false, "context.Request.Method == \"GE\\u0054\" && context.Request.Headers.GetValueOrDefault(\"X-Team\", \"\") == \"b\\\"e\"");

        var result = ExpressionCompiler.Compile([get, put, escaped]);

        Assert.Empty(result.Problems);
        Assert.Same(result.Compiled[get].Condition!.Method, result.Compiled[put].Condition!.Method);
        var blueGet = NewContext(configure: http => { http.Request.Method = "GET"; http.Request.Headers["X-Team"] = "blue"; });
        var redPut = NewContext(configure: http => { http.Request.Method = "PUT"; http.Request.Headers["X-Team"] = "red"; });
        var quoteGet = NewContext(configure: http => { http.Request.Method = "GET"; http.Request.Headers["X-Team"] = "b\"e"; });
        Assert.True(result.Compiled[get].Condition!(blueGet));
        Assert.False(result.Compiled[get].Condition!(redPut));
        Assert.True(result.Compiled[put].Condition!(redPut));
        Assert.False(result.Compiled[put].Condition!(blueGet));
        Assert.True(result.Compiled[escaped].Condition!(quoteGet));
    }

    [Theory]
    [InlineData("context.Request.Method switch { \"GET\" => true, _ => false }")]
    [InlineData("context.Request.Method is \"GET\" or \"HEAD\"")]
    [InlineData("new[] { \"GET\", \"HEAD\" }.Any(m => m == \"GET\") && context.Request.Method == \"GET\"")]
    public void StringsWhereCSharpNeedsConstants_StayLiterals(string code)
    {
        var compiled = Compiled(code);
        Assert.True(compiled.Condition!(NewContext(configure: http => http.Request.Method = "GET")));
        Assert.False(compiled.Condition!(NewContext(configure: http => http.Request.Method = "POST")));
    }

    [Fact]
    public void BlockWithConstAndSwitch_KeepsItsConstants()
    {
        var compiled = Compiled("""
            const string teamHeader = "X-Team";
            switch (context.Request.Headers.GetValueOrDefault(teamHeader, "none"))
            {
                case "blue": return "B";
                default: return "other:" + context.Request.Method;
            }
            """, ExpressionKind.Text, block: true);
        Assert.Equal("B", compiled.Text!(NewContext(configure: http => http.Request.Headers["X-Team"] = "blue")));
        Assert.Equal("other:GET", compiled.Text!(NewContext(configure: http => http.Request.Method = "GET")));
    }

    [Fact]
    public void ProblemsAfterAString_AreReportedWhereTheyAreWritten()
    {
        // One shape, two expressions with literals of different lengths: each problem where its own code has it.
        var longer = new ExpressionKey(ExpressionKind.Condition, false, "context.Request.Method == \"a-long-literal\" && context.Nope");
        var shorter = new ExpressionKey(ExpressionKind.Condition, false, "context.Request.Method == \"a\" && context.Nope");
        var result = ExpressionCompiler.Compile([longer, shorter]);
        foreach (var key in new[] { longer, shorter })
        {
            var problem = Assert.Single(result.Problems[key]);
            Assert.Equal((0, key.Code.IndexOf("Nope", StringComparison.Ordinal)), (problem.Line, problem.Column));
        }
    }

    /// <summary>What a listener's handshake records: the chain SslStream builds with the uploaded CA as trust anchor.</summary>
    private static ConnectionTls Handshake(X509Certificate2 uploadedCa, X509Certificate2 certificate)
    {
        var trust = new ClientTrust([X509CertificateLoader.LoadCertificate(uploadedCa.RawData)], []);
        var tls = new ConnectionTls(ClientCertificateNegotiation.Negotiate, trust, "localhost");
        using var chain = new X509Chain { ChainPolicy = trust.CreateHandshakePolicy() };
        var ok = chain.Build(certificate);
        Assert.True(tls.Validate(new object(), certificate, chain, ok ? SslPolicyErrors.None : SslPolicyErrors.RemoteCertificateChainErrors));
        return tls;
    }

    /// <summary>The names of the methods a compiled expression calls (from its IL: <c>call</c>/<c>callvirt</c> tokens).</summary>
    private static HashSet<string> CalledMethods(Delegate function)
    {
        var method = function.Method;
        var il = method.GetMethodBody()!.GetILAsByteArray()!;
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i + 4 < il.Length; i++)
        {
            if (il[i] is not (0x28 or 0x6F))
                continue;
            try
            {
                names.Add(method.Module.ResolveMethod(BitConverter.ToInt32(il, i + 1))!.Name);
            }
            catch (ArgumentException)
            {
                // Not a method token: a byte of another instruction's operand.
            }
        }
        return names;
    }
}
