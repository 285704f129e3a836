using System.Globalization;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;
using Microsoft.AspNetCore.Http.Features;

namespace ApiGateway.Host.Pipeline.Steps;

/// <summary>&lt;set-status code="..." reason="..." /&gt;.</summary>
internal sealed class SetStatusStep(PolicyNode node, PolicyOwner owner, int literalCode, Func<PolicyContext, int>? code, TextValue? reason) : Step(node, owner)
{
    public static SetStatusStep Create(StepFactory factory, SetStatusPolicy status, StepPlace at)
    {
        var literalCode = 0;
        Func<PolicyContext, int>? code = null;
        if (status.Code.Expression is { } expression)
            code = factory.Compiled(expression, PolicyValueRole.StatusCode).StatusCode;
        else
            literalCode = int.Parse(status.Code.Literal!, NumberStyles.None, CultureInfo.InvariantCulture);
        return new SetStatusStep(status, at.Owner, literalCode, code, factory.Text(status.Reason));
    }

    public override Flow Execute(PolicyContext context)
    {
        var status = code is null ? literalCode : code(context);
        if (status is < 100 or > 599)
            throw new PolicyRuntimeException($"<set-status> produced {status.ToString(CultureInfo.InvariantCulture)}, which is not an HTTP status code (100-599).");
        context.State.Http.Response.StatusCode = status;
        context.State.Http.Features.GetRequiredFeature<IHttpResponseFeature>().ReasonPhrase = reason?.Evaluate(context);
        context.State.ResponseCustomized = true;
        return Flow.Continue;
    }
}
