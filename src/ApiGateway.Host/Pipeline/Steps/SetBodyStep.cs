using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;
using Microsoft.AspNetCore.Http.Features;

namespace ApiGateway.Host.Pipeline.Steps;

/// <summary>&lt;set-body&gt;: the request body (inbound, backend) or the response body.</summary>
internal sealed class SetBodyStep(PolicyNode node, PolicyOwner owner, StepTarget target, TextValue body) : Step(node, owner)
{
    public static SetBodyStep Create(StepFactory factory, SetBodyPolicy policy, StepPlace at) =>
        new(policy, at.Owner, at.Target, factory.Text(policy.Body)!);

    public override Flow Execute(PolicyContext context)
    {
        var text = body.Evaluate(context) ?? string.Empty;
        if (target == StepTarget.Response)
        {
            context.State.ResponseBody = text;
            context.State.ResponseCustomized = true;
            if (context.State.Forwarded)
                context.State.ResponseReplaced = true;
            return Flow.Continue;
        }
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var request = context.State.Http.Request;
        request.Body = new MemoryStream(bytes, writable: false);
        request.ContentLength = bytes.Length;
        request.Headers.Remove("Transfer-Encoding");
        context.State.Http.Features.Set<IHttpRequestBodyDetectionFeature>(BodyPresent.Instance);
        return Flow.Continue;
    }

    private sealed class BodyPresent : IHttpRequestBodyDetectionFeature
    {
        public static readonly BodyPresent Instance = new();

        public bool CanHaveBody => true;
    }
}
