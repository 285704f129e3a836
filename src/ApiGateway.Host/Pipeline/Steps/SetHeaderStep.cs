using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;
using Microsoft.Extensions.Primitives;

namespace ApiGateway.Host.Pipeline.Steps;

/// <summary>&lt;set-header name="..." exists-action="..."&gt;&lt;value&gt;...&lt;/value&gt;&lt;/set-header&gt; on the request (inbound, backend) or the response.</summary>
internal sealed class SetHeaderStep(PolicyNode node, PolicyOwner owner, StepTarget target, TextValue name, HeaderExistsAction action, TextValue[] values) : Step(node, owner)
{
    public static SetHeaderStep Create(StepFactory factory, SetHeaderPolicy header, StepPlace at) =>
        new(header, at.Owner, at.Target, factory.Text(header.Name)!, header.ExistsAction, header.Values.Select(v => factory.Text(v)!).ToArray());

    public override Flow Execute(PolicyContext context)
    {
        var headers = target == StepTarget.Request ? context.State.Http.Request.Headers : context.State.Http.Response.Headers;
        var headerName = name.Evaluate(context);
        if (string.IsNullOrEmpty(headerName))
            throw new PolicyRuntimeException("<set-header> has an empty header name.");
        switch (action)
        {
            case HeaderExistsAction.Delete:
                headers.Remove(headerName);
                break;
            case HeaderExistsAction.Skip when headers.ContainsKey(headerName):
                break;
            case HeaderExistsAction.Append when headers.TryGetValue(headerName, out var existing):
                headers[headerName] = StringValues.Concat(existing, Evaluate(context));
                MarkHost(context, headerName);
                break;
            default:
                headers[headerName] = Evaluate(context);
                MarkHost(context, headerName);
                break;
        }
        return Flow.Continue;
    }

    /// <summary>The backend gets its own host name as Host unless a request policy writes one (APIM's rule).</summary>
    private void MarkHost(PolicyContext context, string headerName)
    {
        if (target == StepTarget.Request && string.Equals(headerName, "Host", StringComparison.OrdinalIgnoreCase))
            context.State.HostHeaderSet = true;
    }

    private StringValues Evaluate(PolicyContext context)
    {
        if (values.Length == 1)
            return new StringValues(values[0].Evaluate(context));
        var result = new string?[values.Length];
        for (var i = 0; i < values.Length; i++)
            result[i] = values[i].Evaluate(context);
        return new StringValues(result);
    }
}
