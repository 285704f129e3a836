using System.Reflection;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Pipeline;

namespace ApiGateway.Host.Tests.Pipeline;

/// <summary>Every policy element has its three parts: a record, a parser entry, and a step built by a factory entry.</summary>
public sealed class StepFactoryTests
{
    private static readonly Type[] ElementRecords = typeof(PolicyNode).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(PolicyNode)) && !t.IsAbstract)
        .ToArray();

    private static string XmlNameOf(Type element) =>
        (string)element.GetField("XmlName", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)!.GetValue(null)!;

    [Fact]
    public void EveryElementRecord_HasAParserEntry_AndEveryEntryARecord()
    {
        Assert.Equal(
            ElementRecords.Select(XmlNameOf).Order(StringComparer.Ordinal),
            PolicyElements.All.Select(e => e.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void EveryElementButBase_HasAStepFactoryEntry()
    {
        Assert.Equal(
            ElementRecords.Where(t => t != typeof(BasePolicy)).Select(t => t.Name).Order(StringComparer.Ordinal),
            StepFactory.ElementTypes.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void UnknownElementMessage_ListsTheParsersEntries()
    {
        var result = PolicyDocument.Parse("<policies><inbound><rate-limit /></inbound></policies>", PolicyScope.Global);

        var error = Assert.Single(result.Errors);
        Assert.Equal(
            "unknown policy element <rate-limit>. Known elements: base, choose, return-response, set-status, set-header, set-body, set-variable, validate-client-certificate, authentication-certificate, set-backend-service, forward-request",
            error.Message);
    }
}
