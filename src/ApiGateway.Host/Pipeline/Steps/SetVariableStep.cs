using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;

namespace ApiGateway.Host.Pipeline.Steps;

/// <summary>&lt;set-variable name="..." value="..." /&gt;.</summary>
internal sealed class SetVariableStep(PolicyNode node, PolicyOwner owner, string name, string? literal, Func<PolicyContext, object?>? value) : Step(node, owner)
{
    public static SetVariableStep Create(StepFactory factory, SetVariablePolicy variable, StepPlace at) =>
        new(variable, at.Owner, variable.Name, variable.Value.Literal,
            variable.Value.Expression is { } e ? factory.Compiled(e, PolicyValueRole.Value).Value : null);

    public override Flow Execute(PolicyContext context)
    {
        context.Variables.Set(name, value is null ? literal : value(context));
        return Flow.Continue;
    }
}
