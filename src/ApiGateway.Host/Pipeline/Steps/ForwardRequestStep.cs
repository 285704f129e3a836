using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;

namespace ApiGateway.Host.Pipeline.Steps;

/// <summary>&lt;forward-request timeout="..." follow-redirects="..." /&gt;: sends the request to the backend.</summary>
internal sealed class ForwardRequestStep(PolicyNode node, PolicyOwner owner, ForwardSettings settings) : Step(node, owner)
{
    public static ForwardRequestStep Create(StepFactory factory, ForwardRequestPolicy forward, StepPlace at) =>
        new(forward, at.Owner, new ForwardSettings(TimeSpan.FromSeconds(forward.TimeoutSeconds), forward.FollowRedirects));

    public override bool IsAsync => true;

    public ForwardSettings Settings => settings;

    public override Flow Execute(PolicyContext context) =>
        throw new InvalidOperationException("forward-request runs asynchronously.");

    public override ValueTask<Flow> ExecuteAsync(PolicyContext context) =>
        context.State.Snapshot.Services.Forwarder.ForwardAsync(context, settings, this);
}

/// <summary>The settings of one forward-request.</summary>
internal sealed class ForwardSettings(TimeSpan timeout, bool followRedirects)
{
    public TimeSpan Timeout { get; } = timeout;

    public bool FollowRedirects { get; } = followRedirects;

    public Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig RequestConfig { get; } = new() { ActivityTimeout = timeout };
}
