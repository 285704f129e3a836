using System.Collections;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Infrastructure;

public sealed class MultiValueMapTests
{
    private sealed record Wrapper(object? Value);

    private static object? Unwrap(object? value) => value is Wrapper w ? w.Value : value;

    [Fact]
    public void From_SingleValuesListsAndNumbers_BecomeStringLists()
    {
        var table = new Hashtable
        {
            ["x-api-key"] = "k1",
            ["x-tag"] = new object[] { "a", "b" },
            ["x-count"] = 3,
            ["x-wrapped"] = new Wrapper(new[] { new Wrapper("w1"), new Wrapper("w2") }),
        };

        var map = MultiValueMap.From(table, Unwrap, "header");

        Assert.Equal(["k1"], map["x-api-key"]);
        Assert.Equal(["a", "b"], map["X-TAG"]);
        Assert.Equal(["3"], map["x-count"]);
        Assert.Equal(["w1", "w2"], map["x-wrapped"]);
    }

    [Fact]
    public void From_Null_IsEmpty()
    {
        Assert.Empty(MultiValueMap.From(null, Unwrap, "header"));
    }

    [Fact]
    public void From_NamesThatDifferOnlyInCase_AreRefused()
    {
        var table = new Hashtable(StringComparer.Ordinal) { ["X-Key"] = "1", ["x-key"] = "2" };

        var ex = Assert.Throws<ArgumentException>(() => MultiValueMap.From(table, Unwrap, "header"));
        Assert.Contains("given twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_NullValue_IsRefusedNamingTheEntry()
    {
        var ex = Assert.Throws<ArgumentException>(() => MultiValueMap.From(new Hashtable { ["tenant"] = null }, Unwrap, "query parameter"));

        Assert.Contains("query parameter 'tenant'", ex.Message, StringComparison.Ordinal);
    }
}
