using ApiGateway.Host.Context;

namespace ApiGateway.Host.Pipeline;

/// <summary>Runs a list of steps: synchronously while they are synchronous, so a policy without forwarding never allocates a state machine.</summary>
internal static class StepRunner
{
    public static ValueTask<Flow> RunAsync(Step[] steps, PolicyContext context)
    {
        for (var i = 0; i < steps.Length; i++)
        {
            var step = steps[i];
            if (step.IsAsync)
                return RunSlowAsync(steps, i, context);
            context.State.CurrentStep = step;
            var flow = step.Execute(context);
            if (context.State.Trace is { } trace)
                Record(trace, step, flow, context);
            if (flow != Flow.Continue)
                return new ValueTask<Flow>(flow);
        }
        return new ValueTask<Flow>(Flow.Continue);
    }

    public static Flow Run(Step[] steps, PolicyContext context)
    {
        for (var i = 0; i < steps.Length; i++)
        {
            var step = steps[i];
            context.State.CurrentStep = step;
            var flow = step.Execute(context);
            if (context.State.Trace is { } trace)
                Record(trace, step, flow, context);
            if (flow != Flow.Continue)
                return flow;
        }
        return Flow.Continue;
    }

    private static async ValueTask<Flow> RunSlowAsync(Step[] steps, int start, PolicyContext context)
    {
        for (var i = start; i < steps.Length; i++)
        {
            var step = steps[i];
            context.State.CurrentStep = step;
            var flow = step.IsAsync ? await step.ExecuteAsync(context).ConfigureAwait(false) : step.Execute(context);
            if (context.State.Trace is { } trace)
                Record(trace, step, flow, context);
            if (flow != Flow.Continue)
                return flow;
        }
        return Flow.Continue;
    }

    /// <summary>
    /// The trace entry of a step that ran. A choose records its conditions itself (before its body's steps) and
    /// forward-request records where it sent the request: neither gets a second entry here.
    /// </summary>
    private static void Record(PolicyTrace trace, Step step, Flow flow, PolicyContext context)
    {
        if (step is Steps.ChooseStep or Steps.ForwardRequestStep)
            return;
        trace.Step(step, flow, context);
    }
}
