using ApiGateway.Core.Policies;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Pipeline.Steps;

namespace ApiGateway.Host.Pipeline;

/// <summary>Where a step is built: its section, whether inside a return-response, and whose policy it comes from.</summary>
internal readonly record struct StepPlace(PolicySectionKind Section, bool InReturnResponse, PolicyOwner Owner)
{
    /// <summary>What set-header, set-status and set-body change here: the request (inbound, backend) or the response.</summary>
    public StepTarget Target => InReturnResponse || Section is PolicySectionKind.Outbound or PolicySectionKind.OnError ? StepTarget.Response : StepTarget.Request;
}

/// <summary>
/// Turns the composed policy elements of one API into steps: one entry per element type in <see cref="Builders"/>,
/// each calling the <c>Create</c> method of that element's step (in Steps/), which resolves its literals,
/// expressions, certificates and backends once, at load time.
/// </summary>
internal sealed class StepFactory
{
    private static readonly Dictionary<Type, Func<StepFactory, PolicyNode, StepPlace, Step>> Builders = new()
    {
        [typeof(ChoosePolicy)] = Of<ChoosePolicy>(ChooseStep.Create),
        [typeof(ReturnResponsePolicy)] = Of<ReturnResponsePolicy>(ReturnResponseStep.Create),
        [typeof(SetStatusPolicy)] = Of<SetStatusPolicy>(SetStatusStep.Create),
        [typeof(SetHeaderPolicy)] = Of<SetHeaderPolicy>(SetHeaderStep.Create),
        [typeof(SetBodyPolicy)] = Of<SetBodyPolicy>(SetBodyStep.Create),
        [typeof(SetVariablePolicy)] = Of<SetVariablePolicy>(SetVariableStep.Create),
        [typeof(ValidateClientCertificatePolicy)] = Of<ValidateClientCertificatePolicy>(ValidateClientCertificateStep.Create),
        [typeof(AuthenticationCertificatePolicy)] = Of<AuthenticationCertificatePolicy>(AuthenticationCertificateStep.Create),
        [typeof(SetBackendServicePolicy)] = Of<SetBackendServicePolicy>(SetBackendServiceStep.Create),
        [typeof(ForwardRequestPolicy)] = Of<ForwardRequestPolicy>(ForwardRequestStep.Create),
    };

    private readonly IReadOnlyDictionary<ExpressionKey, CompiledExpression> _compiled;
    private readonly Func<PolicyNode, PolicyOwner> _ownerOf;

    /// <param name="resources">The revision's certificates, backends and CA thumbprints.</param>
    /// <param name="compiled">Every expression of the revision, compiled.</param>
    /// <param name="ownerOf">Whose policy each element comes from (composition mixes the global policy's in).</param>
    public StepFactory(StepResources resources, IReadOnlyDictionary<ExpressionKey, CompiledExpression> compiled, Func<PolicyNode, PolicyOwner> ownerOf)
    {
        Resources = resources;
        _compiled = compiled;
        _ownerOf = ownerOf;
    }

    public StepResources Resources { get; }

    /// <summary>The element types that have a step (every element but &lt;base /&gt;, which composition removes).</summary>
    public static IEnumerable<Type> ElementTypes => Builders.Keys;

    /// <summary>The four sections of <paramref name="policy"/> as steps.</summary>
    public PolicyPipeline BuildPipeline(EffectivePolicy policy) => new(
        Build(policy[PolicySectionKind.Inbound], PolicySectionKind.Inbound),
        Build(policy[PolicySectionKind.Backend], PolicySectionKind.Backend),
        Build(policy[PolicySectionKind.Outbound], PolicySectionKind.Outbound),
        Build(policy[PolicySectionKind.OnError], PolicySectionKind.OnError));

    /// <summary>The steps of <paramref name="nodes"/>, elements of <paramref name="section"/>.</summary>
    public Step[] Build(IReadOnlyList<PolicyNode> nodes, PolicySectionKind section, bool inReturnResponse = false)
    {
        var steps = new List<Step>(nodes.Count);
        foreach (var node in nodes)
        {
            if (node is BasePolicy)
                continue; // replaced by the enclosing scope's elements when the policy was composed
            if (!Builders.TryGetValue(node.GetType(), out var build))
                throw new InvalidOperationException($"No step is defined for <{node.ElementName}>: add one to {nameof(StepFactory)}.");
            steps.Add(build(this, node, new StepPlace(section, inReturnResponse, _ownerOf(node))));
        }
        return [.. steps];
    }

    /// <summary>The certificate of a literal top-level authentication-certificate of the inbound section (to prepare its invoker).</summary>
    public ServedCertificate? LiteralCredential(IReadOnlyList<PolicyNode> inbound)
    {
        foreach (var node in inbound)
        {
            if (node is AuthenticationCertificatePolicy credential)
                return Credential(credential);
        }
        return null;
    }

    /// <summary>The certificate a literal authentication-certificate names (null: an expression, or none such).</summary>
    public ServedCertificate? Credential(AuthenticationCertificatePolicy credential)
    {
        if (credential.CertificateId?.Literal is { } id)
            return Resources.Certificates.GetValueOrDefault(id);
        if (credential.Thumbprint?.Literal is { } thumbprint)
            return Resources.CertificateWithThumbprint(thumbprint);
        return null;
    }

    /// <summary>A text value: the literal, or its compiled expression.</summary>
    public TextValue? Text(PolicyValue? value) => value switch
    {
        null => null,
        { Expression: { } expression } => new TextValue(null, Compiled(expression, PolicyValueRole.Text).Text),
        _ => new TextValue(value.Literal, null),
    };

    /// <summary>The compiled expression of a value of role <paramref name="role"/>.</summary>
    public CompiledExpression Compiled(PolicyExpression expression, PolicyValueRole role) => _compiled[ExpressionKey.Of(expression, role)];

    private static Func<StepFactory, PolicyNode, StepPlace, Step> Of<TNode>(Func<StepFactory, TNode, StepPlace, Step> create)
        where TNode : PolicyNode =>
        (factory, node, at) => create(factory, (TNode)node, at);
}
