using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Context;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The members of <c>context</c> that policy expressions read, checked against what APIM's context variable
/// reference says they are (IUrl's Scheme, Host, Port, Path, QueryString and Query; IRequest's Method, Headers,
/// IpAddress; IResponse's StatusCode and StatusReason; IReadOnlyDictionary semantics of the header, query, variable
/// and certificate collections, with case-insensitive header names; GetValueOrDefault joining several values with
/// commas). These were mutants that survived the first Stryker run (tests/MUTATION.md): nothing pinned them.
/// </summary>
public sealed class PolicyContextMemberTests
{
    private static PolicyContext Context(Action<HttpContext> configure) => NewContext(configure: configure);

    [Fact]
    public void Url_HasTheSchemeHostPortPathAndQueryTheClientUsed()
    {
        var context = Context(http =>
        {
            http.Request.Scheme = "https";
            http.Request.Host = new HostString("api.contoso.example", 8443);
            http.Request.PathBase = "/base";
            http.Request.Path = "/orders/7";
            http.Request.QueryString = new QueryString("?a=1&b=2");
        });
        var url = context.Request.Url;

        Assert.Equal("https", url.Scheme);
        Assert.Equal("api.contoso.example", url.Host);
        Assert.Equal(8443, url.Port);
        Assert.Equal("/orders/7", url.Path);
        Assert.Equal("?a=1&b=2", url.QueryString);
        Assert.Equal("https://api.contoso.example:8443/base/orders/7?a=1&b=2", url.ToString());
        Assert.Same(url, context.Request.OriginalUrl);
    }

    // IUrl.Port is the port of the URL, so the scheme's default when the Host header has none (RFC 9110 4.2).
    [Theory]
    [InlineData("https", 443)]
    [InlineData("http", 80)]
    public void Url_WithoutAnExplicitPort_HasTheSchemesDefaultPort(string scheme, int port)
    {
        var context = Context(http =>
        {
            http.Request.Scheme = scheme;
            http.Request.Host = new HostString("api.contoso.example");
        });

        Assert.Equal(port, context.Request.Url.Port);
    }

    [Fact]
    public void Url_OfAnEmptyPath_IsTheRoot()
    {
        var context = Context(http => http.Request.Path = PathString.Empty);

        Assert.Equal("/", context.Request.Url.Path);
    }

    [Fact]
    public void Context_WithoutARequest_AnswersEmptyValuesInsteadOfThrowing()
    {
        var context = new PolicyContext();

        Assert.Equal(string.Empty, context.Request.Method);
        Assert.Equal(string.Empty, context.Request.IpAddress);
        Assert.Equal(string.Empty, context.Request.Url.Scheme);
        Assert.Equal(string.Empty, context.Request.Url.Host);
        Assert.Equal(0, context.Request.Url.Port);
        Assert.Equal("/", context.Request.Url.Path);
        Assert.Equal(string.Empty, context.Request.Url.QueryString);
        Assert.Equal(string.Empty, context.Request.Url.ToString());
        Assert.Equal(0, context.Response.StatusCode);
        Assert.Equal(string.Empty, context.Response.StatusReason);
        Assert.Empty(context.Request.Headers);
        Assert.Empty(context.Request.Headers.Keys);
        var headerCount = context.Request.Headers.Count;
        Assert.Equal(0, headerCount);
        Assert.False(context.Request.Headers.ContainsKey("Host"));
        Assert.False(context.Request.Headers.TryGetValue("Host", out _));
        Assert.Null(context.Request.Headers.GetValueOrDefault("Host"));
        Assert.Equal("d", context.Request.Headers.GetValueOrDefault("Host", "d"));
        Assert.Empty(context.Request.Url.Query);
        Assert.Empty(context.Request.Url.Query.Keys);
        var queryCount = context.Request.Url.Query.Count;
        Assert.Equal(0, queryCount);
        Assert.False(context.Request.Url.Query.ContainsKey("a"));
        Assert.False(context.Request.Url.Query.TryGetValue("a", out _));
        Assert.Null(context.Request.Url.Query.GetValueOrDefault("a"));
        Assert.Equal("d", context.Request.Url.Query.GetValueOrDefault("a", "d"));
        Assert.Empty(context.Request.MatchedParameters);
        Assert.Equal(string.Empty, context.Api.Id);
        Assert.Equal(string.Empty, context.Deployment.ServiceName);
        Assert.Empty(context.Deployment.Certificates);
        Assert.Equal("local", context.Deployment.Region);
        Assert.False(context.Tracing);
        Assert.Null(context.LastError);
    }

    [Fact]
    public void Request_MethodAndClientAddress_AreTheConnections()
    {
        var context = Context(http =>
        {
            http.Request.Method = "POST";
            http.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("192.0.2.7");
        });

        Assert.Equal("POST", context.Request.Method);
        Assert.Equal("192.0.2.7", context.Request.IpAddress);
    }

    [Fact]
    public void Headers_AreFoundWithoutRegardToCase_AndSeveralValuesJoinWithCommas()
    {
        var context = Context(http =>
        {
            http.Request.Headers["X-One"] = "1";
            http.Request.Headers["X-Many"] = new Microsoft.Extensions.Primitives.StringValues(["a", "b"]);
        });
        var headers = context.Request.Headers;

        Assert.True(headers.ContainsKey("x-one"));
        Assert.Equal(["1"], headers["X-ONE"]);
        Assert.Equal(["a", "b"], headers["x-many"]);
        Assert.Equal("1", headers.GetValueOrDefault("x-one"));
        Assert.Equal("1", headers.GetValueOrDefault("x-one", "d"));
        Assert.Equal("a,b", headers.GetValueOrDefault("x-many"));
        Assert.Equal("a,b", headers.GetValueOrDefault("x-many", "d"));
        Assert.Null(headers.GetValueOrDefault("x-none"));
        Assert.Equal("d", headers.GetValueOrDefault("x-none", "d"));
        // The test request also carries its Host header.
        Assert.Equal(3, headers.Count);
        Assert.Equal(["Host", "X-Many", "X-One"], headers.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["1", "a,b", "localhost:8443"], headers.Values.Select(v => string.Join(',', v)).Order(StringComparer.Ordinal));
        Assert.Equal(3, ((System.Collections.IEnumerable)headers).Cast<object>().Count());
        var missing = Assert.Throws<KeyNotFoundException>(() => headers["x-none"]);
        Assert.Contains("'x-none'", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResponseHeaders_AreTheResponses_NotTheRequests()
    {
        var context = Context(http =>
        {
            http.Request.Headers["X-Request"] = "q";
            http.Response.Headers["X-Response"] = "r";
            http.Response.StatusCode = 404;
        });

        Assert.Equal("r", context.Response.Headers.GetValueOrDefault("x-response"));
        Assert.False(context.Response.Headers.ContainsKey("x-request"));
        Assert.Equal(404, context.Response.StatusCode);
        Assert.Equal("Not Found", context.Response.StatusReason);
    }

    [Fact]
    public void StatusReason_IsTheOneSet_ElseTheStandardPhrase()
    {
        var context = Context(http =>
        {
            http.Response.StatusCode = 403;
            http.Features.Set<IHttpResponseFeature>(new HttpResponseFeature { StatusCode = 403, ReasonPhrase = "Invalid client certificate" });
        });

        Assert.Equal("Invalid client certificate", context.Response.StatusReason);
    }

    [Fact]
    public void Query_IsByNameWithAllValues()
    {
        var context = Context(http => http.Request.QueryString = new QueryString("?a=1&b=x&b=y"));
        var query = context.Request.Url.Query;

        Assert.True(query.ContainsKey("a"));
        Assert.Equal(["1"], query["a"]);
        Assert.Equal(["x", "y"], query["b"]);
        Assert.Equal("x,y", query.GetValueOrDefault("b"));
        Assert.Equal("x,y", query.GetValueOrDefault("b", "d"));
        Assert.Null(query.GetValueOrDefault("c"));
        Assert.Equal("d", query.GetValueOrDefault("c", "d"));
        Assert.Equal(2, query.Count);
        Assert.Equal(["a", "b"], query.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["1", "x,y"], query.Values.Select(v => string.Join(',', v)).Order(StringComparer.Ordinal));
        Assert.Equal(["a", "b"], query.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(2, ((System.Collections.IEnumerable)query).Cast<object>().Count());
        var missing = Assert.Throws<KeyNotFoundException>(() => query["c"]);
        Assert.Contains("'c'", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Variables_ConvertWhenTheyCan_AndOtherwiseGiveTheDefault()
    {
        var variables = new PolicyContext().Variables;
        Assert.Equal(5, variables.GetValueOrDefault("n", 5));
        Assert.Null(variables.GetValueOrDefault("n"));
        Assert.Empty(variables.Keys);
        Assert.Empty(variables.Values);
        Assert.False(variables.ContainsKey("n"));
        Assert.False(variables.TryGetValue("n", out _));

        variables.Set("n", "42");
        variables.Set("when", new Uri("https://contoso.example/"));

        Assert.Equal(42, variables.GetValueOrDefault<int>("n"));
        Assert.Equal("42", variables.GetValueOrDefault<string>("n"));
        Assert.Equal(7, variables.GetValueOrDefault("when", 7)); // a Uri is no IConvertible: the default, no exception
        Assert.Equal("42", variables["n"]);
        Assert.Equal("42", variables.GetValueOrDefault("n"));
        Assert.True(variables.ContainsKey("n"));
        Assert.True(variables.TryGetValue("n", out var value));
        Assert.Equal("42", value);
        Assert.Equal(2, variables.Count);
        Assert.Equal(["n", "when"], variables.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, variables.Values.Count());
        Assert.Equal(2, ((System.Collections.IEnumerable)variables).Cast<object>().Count());

        // A variable set to null is no longer set (set-variable with a null value removes it).
        variables.Set("n", null);
        Assert.False(variables.ContainsKey("n"));
        var missing = Assert.Throws<KeyNotFoundException>(() => variables["n"]);
        Assert.Contains("<set-variable name=\"n\"", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificates_AreByIdWithoutRegardToCase_InIdOrder()
    {
        using var b = TestCertificates.Create("CN=b");
        using var a = TestCertificates.Create("CN=a");
        var certificates = new CertificateDictionary([new("partner-b", b), new("Partner-A", a)]);

        Assert.Equal(2, certificates.Count);
        Assert.Equal(["Partner-A", "partner-b"], certificates.Keys);
        Assert.Equal([a.Thumbprint, b.Thumbprint], certificates.Values.Select(c => c.Thumbprint));
        Assert.Same(a, certificates["partner-a"]);
        Assert.True(certificates.ContainsKey("PARTNER-B"));
        Assert.True(certificates.TryGetValue("partner-b", out var found));
        Assert.Same(b, found);
        Assert.False(certificates.ContainsKey("partner-c"));
        Assert.Contains("'partner-c'", Assert.Throws<KeyNotFoundException>(() => certificates["partner-c"]).Message, StringComparison.Ordinal);
        Assert.True(certificates.ContainsThumbprint(a.Thumbprint.ToLowerInvariant()));
        Assert.False(certificates.ContainsThumbprint(null));
        Assert.False(certificates.ContainsThumbprint(a.Thumbprint[..^1]));

        Assert.True(certificates.Any());
        Assert.False(CertificateDictionary.Empty.Any());
        Assert.True(certificates.Any(p => p.Key == "partner-b"));
        Assert.False(certificates.Any(p => p.Key == "partner-c"));
        Assert.True(certificates.Any("Partner-A", (p, s) => p.Key == s));
        Assert.False(certificates.Any("x", (p, s) => p.Key == s));
        Assert.True(certificates.All(p => p.Key.Length == 9));
        Assert.False(certificates.All(p => p.Key == "partner-b"));
        Assert.True(certificates.All(9, (p, n) => p.Key.Length == n));
        Assert.False(certificates.All("partner-b", (p, s) => p.Key == s));
        Assert.True(CertificateDictionary.Empty.All(_ => false));

        var order = new List<string>();
        foreach (var pair in certificates)
            order.Add(pair.Key);
        Assert.Equal(["Partner-A", "partner-b"], order);
        Assert.Equal(order, ((IEnumerable<KeyValuePair<string, X509Certificate2>>)certificates).Select(p => p.Key));
        Assert.Equal(2, ((System.Collections.IEnumerable)certificates).Cast<object>().Count());
    }

    [Fact]
    public void RequestId_IsMadeOnce_AndTheTimestampIsWhenTheRequestArrived()
    {
        var context = new PolicyContext();
        context.State.StartTimestamp = System.Diagnostics.Stopwatch.GetTimestamp() - System.Diagnostics.Stopwatch.Frequency * 60;

        var id = context.RequestId;
        Assert.NotEqual(Guid.Empty, id);
        Assert.Equal(id, context.RequestId);

        var timestamp = context.Timestamp;
        Assert.InRange(DateTime.UtcNow - timestamp, TimeSpan.FromSeconds(59), TimeSpan.FromSeconds(120));
        Assert.Equal(timestamp, context.Timestamp);
        Assert.True(context.Elapsed >= TimeSpan.FromSeconds(59));
    }

    [Fact]
    public void ReadingTheCertificate_IsRecorded()
    {
        using var certificate = TestCertificates.Create("CN=c");
        var context = NewContext(certificate);
        Assert.False(context.State.CertificateRead);

        Assert.Same(certificate, context.Request.Certificate);
        Assert.True(context.State.CertificateRead);
    }
}
