using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;

namespace ApiGateway.Host.Pipeline.Steps;

/// <summary>&lt;choose&gt;: the first &lt;when&gt; whose condition holds, else &lt;otherwise&gt;.</summary>
internal sealed class ChooseStep : Step
{
    private readonly Func<PolicyContext, bool>?[] _conditions;
    private readonly bool[] _literals;
    private readonly Step[][] _bodies;
    private readonly Step[] _otherwise;
    private readonly bool _async;
    private readonly string[] _texts;
    private readonly int[] _lines;

    public ChooseStep(PolicyNode node, PolicyOwner owner, Func<PolicyContext, bool>?[] conditions, bool[] literals, Step[][] bodies, Step[] otherwise, string[]? texts = null, int[]? lines = null)
        : base(node, owner)
    {
        _texts = texts ?? new string[conditions.Length];
        _lines = lines ?? new int[conditions.Length];
        _conditions = conditions;
        _literals = literals;
        _bodies = bodies;
        _otherwise = otherwise;
        _async = bodies.Any(b => b.Any(s => s.IsAsync)) || otherwise.Any(s => s.IsAsync);
    }

    public static ChooseStep Create(StepFactory factory, ChoosePolicy choose, StepPlace at)
    {
        var conditions = new Func<PolicyContext, bool>?[choose.Whens.Count];
        var literals = new bool[choose.Whens.Count];
        var bodies = new Step[choose.Whens.Count][];
        var texts = new string[choose.Whens.Count];
        var lines = new int[choose.Whens.Count];
        for (var i = 0; i < choose.Whens.Count; i++)
        {
            var when = choose.Whens[i];
            texts[i] = when.Condition.Expression?.Source ?? when.Condition.Literal!;
            lines[i] = when.Condition.Expression?.Line ?? choose.Line;
            if (when.Condition.Expression is { } expression)
                conditions[i] = factory.Compiled(expression, PolicyValueRole.Condition).Condition;
            else
                literals[i] = bool.Parse(when.Condition.Literal!);
            bodies[i] = factory.Build(when.Body, at.Section, at.InReturnResponse);
        }
        var otherwise = choose.Otherwise is null ? [] : factory.Build(choose.Otherwise, at.Section, at.InReturnResponse);
        return new ChooseStep(choose, at.Owner, conditions, literals, bodies, otherwise, texts, lines);
    }

    public override bool IsAsync => _async;

    private Step[] Select(PolicyContext context)
    {
        for (var i = 0; i < _conditions.Length; i++)
        {
            context.State.CurrentStep = this;
            var condition = _conditions[i];
            var holds = condition is null ? _literals[i] : condition(context);
            context.State.Trace?.Condition(this, i, _texts[i] ?? string.Empty, holds, _lines[i]);
            if (holds)
                return _bodies[i];
        }
        context.State.Trace?.Otherwise(this, _otherwise.Length > 0);
        return _otherwise;
    }

    public override Flow Execute(PolicyContext context) => StepRunner.Run(Select(context), context);

    public override ValueTask<Flow> ExecuteAsync(PolicyContext context) => StepRunner.RunAsync(Select(context), context);
}
