using System.Text;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Context;
using ApiGateway.Host.Pipeline.Steps;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ApiGateway.Host.Pipeline;

/// <summary>
/// The composed policy of one API (global policy through &lt;base /&gt;), prepared: the steps of each section and
/// the order APIM runs them in — inbound, backend (forward-request sends the request; outbound runs as the response
/// headers arrive, before the body streams), outbound, and on-error when anything fails.
/// </summary>
internal sealed class PolicyPipeline
{
    /// <summary>Whether inbound never waits (no forward-request inside a choose there): it then runs without a state machine.</summary>
    private readonly bool _syncInbound;

    /// <summary>The backend section when it is just forward-request (the usual one): YARP's send is awaited here directly.</summary>
    private readonly ForwardRequestStep? _loneForward;

    public PolicyPipeline(Step[] inbound, Step[] backend, Step[] outbound, Step[] onError)
    {
        Inbound = inbound;
        Backend = backend;
        Outbound = outbound;
        OnError = onError;
        _syncInbound = Array.TrueForAll(inbound, s => !s.IsAsync);
        _loneForward = backend is [ForwardRequestStep forward] ? forward : null;
    }

    public Step[] Inbound { get; }
    public Step[] Backend { get; }
    public Step[] Outbound { get; }
    public Step[] OnError { get; }

    public async Task ExecuteAsync(PolicyContext context)
    {
        // The usual request suspends once, here, in YARP's send: inbound runs synchronously and a lone forward-request
        // is not wrapped in the section and step runners' state machines.
        if (context.State.Trace is { } trace)
            trace.Section = PolicySectionKind.Inbound;
        var flow = _syncInbound ? Run(Inbound, context, PolicySectionKind.Inbound) : await RunAsync(Inbound, context, PolicySectionKind.Inbound).ConfigureAwait(false);
        if (flow == Flow.Continue)
        {
            if (context.State.Trace is { } traceOfBackend)
                traceOfBackend.Section = PolicySectionKind.Backend;
            if (_loneForward is { } forward)
            {
                context.State.CurrentStep = forward;
                context.State.Trace?.Forward(forward, BackendForwarder.TargetOf(context).LogName);
                var forwarder = context.State.Snapshot.Services.Forwarder;
                try
                {
                    var error = await forwarder.SendAsync(context, forward.Settings).ConfigureAwait(false);
                    flow = forwarder.Complete(context, error, forward.Settings, forward);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !context.State.Http.RequestAborted.IsCancellationRequested)
                {
                    context.State.Error = Failure(context, ex, PolicySectionKind.Backend);
                    flow = Flow.Error;
                }
            }
            else
            {
                flow = await RunAsync(Backend, context, PolicySectionKind.Backend).ConfigureAwait(false);
            }
        }
        if (flow == Flow.Continue && !context.State.Forwarded)
            flow = RunOutbound(context);
        if (flow == Flow.Error)
        {
            await HandleErrorAsync(context).ConfigureAwait(false);
            return;
        }
        if (flow == Flow.Return || !context.State.Forwarded || context.State.ResponseReplaced)
            await WriteResponseAsync(context).ConfigureAwait(false);
    }

    /// <summary>
    /// A dry run (<c>explain</c>): inbound, and the backend section up to forward-request, exactly as
    /// <see cref="ExecuteAsync"/> runs them, but forward-request only records the backend it would send to (the
    /// context's trace is a dry run's). A failure goes through on-error and the error response as served. Returns
    /// whether the request would reach the backend; otherwise the answer is in the context's response.
    /// </summary>
    public async Task<bool> ExplainAsync(PolicyContext context)
    {
        var trace = context.State.Trace ?? throw new InvalidOperationException("A dry run needs a dry-run trace.");
        if (!trace.DryRun)
            throw new InvalidOperationException("A dry run needs a dry-run trace.");
        trace.Section = PolicySectionKind.Inbound;
        var flow = await RunAsync(Inbound, context, PolicySectionKind.Inbound).ConfigureAwait(false);
        if (flow == Flow.Continue && !context.State.Forwarded && context.State.ForwardTarget is null)
        {
            trace.Section = PolicySectionKind.Backend;
            flow = await RunAsync(Backend, context, PolicySectionKind.Backend).ConfigureAwait(false);
        }
        if (flow == Flow.Error)
        {
            await HandleErrorAsync(context).ConfigureAwait(false);
            return false;
        }
        if (flow == Flow.Return)
        {
            await WriteResponseAsync(context).ConfigureAwait(false);
            return false;
        }
        return true;
    }

    /// <summary>
    /// Runs outbound on the backend's response (called by the transformer once its status and headers are copied).
    /// Returns whether the backend's body should still be copied.
    /// </summary>
    public bool RunOutboundOnBackendResponse(PolicyContext context)
    {
        if (Outbound.Length == 0)
            return true;
        var flow = RunOutbound(context);
        if (flow == Flow.Error)
            return false;
        if (flow == Flow.Return || context.State.ResponseReplaced)
        {
            context.State.ResponseReplaced = true;
            var headers = context.State.Http.Response.Headers;
            headers.ContentLength = null;
            headers.Remove("Transfer-Encoding");
            return false;
        }
        return true;
    }

    private Flow RunOutbound(PolicyContext context)
    {
        if (Outbound.Length == 0)
            return Flow.Continue;
        if (context.State.Trace is { } trace)
            trace.Section = PolicySectionKind.Outbound;
        try
        {
            return StepRunner.Run(Outbound, context);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            context.State.Error = Failure(context, ex, PolicySectionKind.Outbound);
            return Flow.Error;
        }
    }

    /// <summary>A section without waiting steps, as <see cref="RunAsync"/> runs it.</summary>
    private static Flow Run(Step[] steps, PolicyContext context, PolicySectionKind section)
    {
        if (steps.Length == 0)
            return Flow.Continue;
        try
        {
            return StepRunner.Run(steps, context);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !context.State.Http.RequestAborted.IsCancellationRequested)
        {
            context.State.Error = Failure(context, ex, section);
            return Flow.Error;
        }
    }

    private static async ValueTask<Flow> RunAsync(Step[] steps, PolicyContext context, PolicySectionKind section)
    {
        if (steps.Length == 0)
            return Flow.Continue;
        try
        {
            return await StepRunner.RunAsync(steps, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !context.State.Http.RequestAborted.IsCancellationRequested)
        {
            context.State.Error = Failure(context, ex, section);
            return Flow.Error;
        }
    }

    /// <summary>An exception of a step as a 500: the element and line in the log, a short sentence for the client.</summary>
    private static PipelineError Failure(PolicyContext context, Exception ex, PolicySectionKind section)
    {
        var step = context.State.CurrentStep;
        var where = step?.Where ?? "The policy";
        var budget = ex is ExpressionBudgetExceededException or System.Text.RegularExpressions.RegexMatchTimeoutException;
        var reason = ex switch
        {
            PolicyRuntimeException => ex.Message,
            ExpressionBudgetExceededException => $"{ex.Message} (section {section.XmlName()})",
            System.Text.RegularExpressions.RegexMatchTimeoutException => $"The expression exceeded its budget: a regular expression ran past the expression's deadline (ExpressionTimeoutMilliseconds) (section {section.XmlName()}).",
            _ => $"{ex.GetType().Name}: {ex.Message}",
        };
        Log.PolicyFailed(context.State.Snapshot.Services.Logger, where, context.State.ApiRoute.ApiId, reason);
        var code = budget ? "ExpressionBudgetExceeded" : ex is PolicyRuntimeException ? "PolicyRuntimeFailure" : "ExpressionValueEvaluationFailure";
        var error = new PipelineError(StatusCodes.Status500InternalServerError, code, $"{where} failed: {reason}", step?.ElementName ?? "policy", section);
        context.State.Trace?.Failed(step, error);
        return error;
    }

    private async Task HandleErrorAsync(PolicyContext context)
    {
        var error = context.State.Error!;
        var http = context.State.Http;
        if (http.Response.HasStarted)
        {
            http.Abort();
            return;
        }
        context.LastError = error.ToLastError();
        context.State.ErrorCode = error.Code;
        http.Response.Headers.Clear();
        http.Response.StatusCode = error.StatusCode;
        http.Features.GetRequiredFeature<IHttpResponseFeature>().ReasonPhrase = error.ReasonPhrase;
        context.State.ResponseBody = null;
        context.State.ResponseCustomized = false;
        var flow = Flow.Continue;
        if (OnError.Length > 0)
        {
            if (context.State.Trace is { } trace)
                trace.Section = PolicySectionKind.OnError;
            context.State.Error = null;
            flow = await RunAsync(OnError, context, PolicySectionKind.OnError).ConfigureAwait(false);
            if (flow == Flow.Error)
                error = context.State.Error ?? error;
        }
        if (flow == Flow.Return || (flow == Flow.Continue && context.State.ResponseCustomized))
        {
            context.State.Trace?.Answer(http.Response.StatusCode, http.Features.GetRequiredFeature<IHttpResponseFeature>().ReasonPhrase, "on-error answered the client itself");
            await WriteResponseAsync(context).ConfigureAwait(false);
            return;
        }
        context.State.Trace?.Answer(error.StatusCode, error.ReasonPhrase ?? error.Code, $"the gateway's error response: {error.Code}: {error.Message}");
        await ErrorResponses.WriteAsync(http, error, context.RequestId).ConfigureAwait(false);
    }

    private static async Task WriteResponseAsync(PolicyContext context)
    {
        var response = context.State.Http.Response;
        if (response.HasStarted)
            return;
        if (context.State.ResponseBody is { Length: > 0 } body)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            response.ContentLength = bytes.Length;
            await response.Body.WriteAsync(bytes, context.State.Http.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            response.ContentLength = 0;
        }
    }
}
