using ApiGateway.Core.Policies;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Context;

namespace ApiGateway.Host.Pipeline.Steps;

/// <summary>&lt;set-backend-service backend-id="..." | base-url="..." /&gt;.</summary>
internal sealed class SetBackendServiceStep(PolicyNode node, PolicyOwner owner, BackendTarget? resolved, TextValue? backendId, TextValue? baseUrl) : Step(node, owner)
{
    public static SetBackendServiceStep Create(StepFactory factory, SetBackendServicePolicy backend, StepPlace at)
    {
        BackendTarget? resolved = null;
        if (backend.BackendId?.Literal is { } id)
            resolved = factory.Resources.Backends.GetValueOrDefault(id);
        else if (backend.BaseUrl?.Literal is { } url)
            resolved = BackendTarget.ForUrl(url);
        return new SetBackendServiceStep(backend, at.Owner, resolved, factory.Text(backend.BackendId), factory.Text(backend.BaseUrl));
    }

    public override Flow Execute(PolicyContext context)
    {
        context.State.BackendOverride = resolved ?? Resolve(context);
        return Flow.Continue;
    }

    private BackendTarget Resolve(PolicyContext context)
    {
        if (backendId is not null)
        {
            var id = backendId.Evaluate(context) ?? string.Empty;
            return context.State.Snapshot.Backends.TryGetValue(id, out var target)
                ? target
                : throw new PolicyRuntimeException($"<set-backend-service> names backend '{id}', which does not exist.");
        }
        var url = baseUrl!.Evaluate(context) ?? string.Empty;
        return context.State.Snapshot.TargetForUrl(url)
            ?? throw new PolicyRuntimeException($"<set-backend-service> produced base-url '{url}', which is not an absolute http or https URL.");
    }
}
