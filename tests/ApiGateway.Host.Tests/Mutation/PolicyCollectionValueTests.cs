using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Context;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using static ApiGateway.Host.Tests.Expressions.ExpressionTestContext;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The edges of the read-only collections policy expressions see, where the first Stryker run of the context group
/// found nothing that failed: a name present without any value is "not found" to APIM's GetValueOrDefault (its
/// reference: the values joined with commas, or the default when the header or parameter is not found); a value
/// without text reads as an empty string in the <c>string[]</c> APIM's dictionaries hand out, never as null; the
/// predicate overloads of <c>context.Deployment.Certificates</c> refuse a null predicate as LINQ's Any and All do
/// (also over no certificates); and <c>context.Variables</c> enumerates as empty before any set-variable.
/// </summary>
public sealed class PolicyCollectionValueTests
{
    private static readonly StringValues NoValues = StringValues.Empty;
    private static readonly StringValues OneNullValue = new([null]);

    // An entry with no values at all, added as a dictionary entry (not through the header setters).
    private static void AddEntry(IHeaderDictionary headers, string name, StringValues values) =>
        ((IDictionary<string, StringValues>)headers).Add(name, values);

    private static PolicyContext WithRequestHeader(string name, StringValues values) =>
        NewContext(configure: http => AddEntry(http.Request.Headers, name, values));

    private static PolicyContext WithQuery(string name, StringValues values) =>
        NewContext(configure: http => http.Request.Query = new QueryCollection(new Dictionary<string, StringValues> { [name] = values }));

    [Fact]
    public void HeaderGetValueOrDefault_ANamePresentWithoutAnyValue_GivesTheDefault()
    {
        var headers = WithRequestHeader("X-Empty", NoValues).Request.Headers;
        Assert.True(headers.ContainsKey("x-empty")); // the entry is there, so the lookup really gets past TryGetValue

        Assert.Equal("d", headers.GetValueOrDefault("x-empty", "d"));
        Assert.Null(headers.GetValueOrDefault("x-empty"));
    }

    [Fact]
    public void ResponseHeaderGetValueOrDefault_ANamePresentWithoutAnyValue_GivesTheDefault()
    {
        var context = NewContext(configure: http => AddEntry(http.Response.Headers, "X-Empty", NoValues));

        Assert.Equal("d", context.Response.Headers.GetValueOrDefault("x-empty", "d"));
        Assert.Null(context.Response.Headers.GetValueOrDefault("x-empty"));
    }

    [Fact]
    public void HeaderValues_AValueWithoutText_ReadAsEmptyStrings_NeverNull()
    {
        var headers = WithRequestHeader("X-Blank", OneNullValue).Request.Headers;

        Assert.Equal([string.Empty], headers["x-blank"]);
        Assert.True(headers.TryGetValue("X-BLANK", out var values));
        Assert.Equal([string.Empty], values);
        Assert.Equal([string.Empty], headers.Single(p => p.Key == "X-Blank").Value);
        // Present, so not the default: its (empty) value.
        Assert.Equal(string.Empty, headers.GetValueOrDefault("x-blank", "d"));
    }

    [Fact]
    public void QueryGetValueOrDefault_AParameterPresentWithoutAnyValue_GivesTheDefault()
    {
        var query = WithQuery("a", NoValues).Request.Url.Query;
        Assert.True(query.ContainsKey("a"));

        Assert.Null(query.GetValueOrDefault("a"));
        Assert.Equal("d", query.GetValueOrDefault("a", "d"));
    }

    [Fact]
    public void QueryValues_AValueWithoutText_ReadAsEmptyStrings_NeverNull()
    {
        var query = WithQuery("a", new StringValues(["x", null])).Request.Url.Query;

        Assert.Equal(["x", string.Empty], query["a"]);
        Assert.True(query.TryGetValue("a", out var values));
        Assert.Equal(["x", string.Empty], values);
        Assert.Equal(["x", string.Empty], Assert.Single(query).Value);
        Assert.Equal(["x", string.Empty], Assert.Single(query.Values));
    }

    [Fact]
    public void CertificatePredicates_ANullPredicate_IsRefusedAsLinqRefusesIt_EvenWithoutCertificates()
    {
        using var a = TestCertificates.Create("CN=a");
        foreach (var certificates in new[] { CertificateDictionary.Empty, new CertificateDictionary([new("partner-a", a)]) })
        {
            Assert.Equal("predicate", Assert.Throws<ArgumentNullException>(() => certificates.Any(null!)).ParamName);
            Assert.Equal("predicate", Assert.Throws<ArgumentNullException>(() => certificates.Any(0, null!)).ParamName);
            Assert.Equal("predicate", Assert.Throws<ArgumentNullException>(() => certificates.All(null!)).ParamName);
            Assert.Equal("predicate", Assert.Throws<ArgumentNullException>(() => certificates.All(0, null!)).ParamName);
        }
        // What the overloads stand in for does the same over an empty sequence.
        Assert.Throws<ArgumentNullException>(() => Enumerable.Empty<KeyValuePair<string, X509Certificate2>>().Any(null!));
    }

    [Fact]
    public void Variables_BeforeAnySetVariable_EnumerateAsEmpty()
    {
        var variables = new PolicyContext().Variables;

        Assert.Empty(variables);
        Assert.Empty((System.Collections.IEnumerable)variables);

        // And again empty once a request's variables are cleared.
        variables.Set("n", 1);
        variables.Clear();
        Assert.Empty(variables);
    }
}
