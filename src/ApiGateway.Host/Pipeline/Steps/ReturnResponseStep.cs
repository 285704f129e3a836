using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ApiGateway.Host.Pipeline.Steps;

/// <summary>&lt;return-response&gt;: a fresh response from its children; the rest of the pipeline is skipped.</summary>
internal sealed class ReturnResponseStep(PolicyNode node, PolicyOwner owner, Step[] body) : Step(node, owner)
{
    public static ReturnResponseStep Create(StepFactory factory, ReturnResponsePolicy policy, StepPlace at) =>
        new(policy, at.Owner, factory.Build(policy.Body, at.Section, inReturnResponse: true));

    public override Flow Execute(PolicyContext context)
    {
        var response = context.State.Http.Response;
        response.Headers.Clear();
        response.StatusCode = StatusCodes.Status200OK;
        context.State.Http.Features.GetRequiredFeature<IHttpResponseFeature>().ReasonPhrase = null;
        context.State.ResponseBody = null;
        context.State.ResponseReplaced = true;
        var flow = StepRunner.Run(body, context);
        return flow == Flow.Error ? Flow.Error : Flow.Return;
    }
}
