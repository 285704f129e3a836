using System.Globalization;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;

namespace ApiGateway.Host.Pipeline;

/// <summary>How a section continues after a step.</summary>
internal enum Flow
{
    Continue,
    /// <summary>return-response: the response is ready; the rest of the pipeline is skipped.</summary>
    Return,
    /// <summary>A failure: on to on-error.</summary>
    Error,
}

/// <summary>Where a step's headers, status and body go.</summary>
internal enum StepTarget
{
    Request,
    Response,
}

/// <summary>
/// One policy element, prepared when the configuration loads (literals parsed, expressions compiled, certificates
/// and backends resolved) so that running it is plain field reads and delegate calls. Each element's step is in
/// Steps/, made by its entry in <see cref="StepFactory"/>.
/// </summary>
internal abstract class Step
{
    protected Step(PolicyNode node, PolicyOwner owner)
    {
        ElementName = node.ElementName;
        Line = node.Line;
        Owner = owner;
    }

    public string ElementName { get; }

    public int Line { get; }

    /// <summary>Where the element was written.</summary>
    public PolicyOwner Owner { get; }

    /// <summary>True for steps that wait (forward-request, or a choose that contains one).</summary>
    public virtual bool IsAsync => false;

    public abstract Flow Execute(PolicyContext context);

    public virtual ValueTask<Flow> ExecuteAsync(PolicyContext context) => new(Execute(context));

    /// <summary>"The policy of API 'orders', line 5 (&lt;set-header&gt;)".</summary>
    public string Where => $"{Owner.Describe()}, line {Line.ToString(CultureInfo.InvariantCulture)} (<{ElementName}>)";
}
