using ApiGateway.Core;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Policies;
using ApiGateway.Fuzz.Generators;

namespace ApiGateway.Fuzz.Targets;

/// <summary>
/// A policy document's text as the operations and the gateway take it. Properties: parsing ends in a document or in
/// errors that each have a message and a position inside the text, and <c>ParseOrThrow</c> turns them into
/// <c>PolicyInvalid</c>; a document that parses can be walked; set as an API's (or the global) policy, the
/// configuration validates without throwing, loads as the gateway loads it, and a request through the API ends in an
/// HTTP answer within the budget.
/// </summary>
internal static class PolicyTarget
{
    public static Verdict Run(FuzzWorld world, FuzzCase c, int variant)
    {
        var text = c.Text;
        var scope = PolicyGenerator.ScopeOf(text);
        var parsed = PolicyDocument.Parse(text, scope);
        var lines = text.Split('\n').Length;
        foreach (var error in parsed.Errors)
        {
            if (string.IsNullOrWhiteSpace(error.Message))
                return Verdict.Failure("a policy error has no message");
            if (error.Line < 1 || error.Line > lines || error.Column < 1)
                return Verdict.Failure($"a policy error is placed at line {error.Line}, column {error.Column}, outside the text's {lines} lines: {error.Message}");
        }
        if (parsed.Document is not { } document)
        {
            if (parsed.Errors.Count == 0)
                return Verdict.Failure("the policy was refused without an error");
            try
            {
                PolicyDocument.ParseOrThrow(text, scope, "API 'fuzz'");
                return Verdict.Failure("ParseOrThrow accepted a policy Parse refused");
            }
            catch (GatewayException ex) when (ex.ErrorId == "PolicyInvalid" && ex.Details.Count == parsed.Errors.Count)
            {
                return Verdict.Refused(ex.ErrorId);
            }
        }
        _ = document.Descendants().Count();
        _ = document.Expressions().Count();

        var configuration = scope == PolicyScope.Global
            ? world.Base with { OwnPolicy = text, Apis = world.Base.Apis.SetItem("fuzz", new ApiEntry { DisplayName = "fuzz", Path = "fuzz", ServiceUrl = "https://127.0.0.1:9/" }) }
            : world.Base with { Apis = world.Base.Apis.SetItem("fuzz", new ApiEntry { DisplayName = "fuzz", Path = "fuzz", ServiceUrl = "https://127.0.0.1:9/", OwnPolicy = text }) };
        configuration = configuration with
        {
            Service = configuration.Service with { Limits = FuzzWorld.ExpressionLimits },
            Backends = configuration.Backends.SetItem("orders", new BackendEntry { Url = "https://127.0.0.1:9/orders" }),
        };
        var problems = ConfigurationValidator.Validate(configuration);
        using var built = Loader.Build(world, ConfigurationSerializer.Serialize(configuration));
        if (built.Snapshot is not { } snapshot)
            return built.Verdict.Kind == VerdictKind.Failure ? built.Verdict : Verdict.Refused(problems.Count > 0 ? "ConfigurationInvalid" : "PolicyRefused");
        if (problems.Count > 0)
            return Verdict.Failure($"the gateway loads a policy the validator refuses: {problems[0]}");
        var outcome = Loader.Run(world, snapshot, "/fuzz/x", variant);
        return Loader.Judge(outcome, ExpressionTarget.MaxRequestTime, ExpressionTarget.MaxRequestBytes);
    }
}
