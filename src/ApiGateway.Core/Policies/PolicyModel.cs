namespace ApiGateway.Core.Policies;

/// <summary>The four sections of an APIM policy document, in the order a request meets them.</summary>
public enum PolicySectionKind
{
    Inbound,
    Backend,
    Outbound,
    OnError,
}

/// <summary>Where a policy document applies: the global ("All APIs") policy or one API's.</summary>
public enum PolicyScope
{
    Global,
    Api,
}

/// <summary>A problem in a policy document, at a 1-based line and column of the text the author wrote.</summary>
public sealed record PolicyError(int Line, int Column, string Message)
{
    public override string ToString() => $"line {Line}, column {Column}: {Message}";
}

/// <summary>A C# policy expression: <c>@(expression)</c> or <c>@{ statements }</c>, with where it starts.</summary>
/// <param name="Code">The C# between the brackets.</param>
/// <param name="IsBlock">True for <c>@{ ... }</c> (statements with <c>return</c>), false for <c>@( ... )</c>.</param>
/// <param name="Line">1-based line of the '@'.</param>
/// <param name="Column">1-based column of the '@'.</param>
public sealed record PolicyExpression(string Code, bool IsBlock, int Line, int Column)
{
    /// <summary>The expression as written, <c>@(...)</c> or <c>@{...}</c>.</summary>
    public string Source => IsBlock ? "@{" + Code + "}" : "@(" + Code + ")";
}

/// <summary>A value that is either literal text or a policy expression.</summary>
public sealed record PolicyValue
{
    private PolicyValue(string? literal, PolicyExpression? expression)
    {
        Literal = literal;
        Expression = expression;
    }

    /// <summary>The literal text, or null when the value is an expression.</summary>
    public string? Literal { get; }

    /// <summary>The expression, or null when the value is literal.</summary>
    public PolicyExpression? Expression { get; }

    public bool IsExpression => Expression is not null;

    public static PolicyValue FromLiteral(string text) => new(text, null);

    public static PolicyValue FromExpression(PolicyExpression expression) => new(null, expression);

    public override string ToString() => Expression?.Source ?? Literal ?? string.Empty;
}

/// <summary>One policy element; <see cref="Line"/> and <see cref="Column"/> are where it starts in the author's text.</summary>
public abstract record PolicyNode(int Line, int Column)
{
    /// <summary>The XML element name, e.g. <c>set-header</c>.</summary>
    public abstract string ElementName { get; }
}

/// <summary><c>&lt;base /&gt;</c>: the enclosing scope's section goes here.</summary>
public sealed record BasePolicy(int Line, int Column) : PolicyNode(Line, Column)
{
    public override string ElementName => "base";
}

/// <summary>One <c>&lt;when condition="..."&gt;</c> of a <c>&lt;choose&gt;</c>.</summary>
public sealed record WhenClause(PolicyValue Condition, IReadOnlyList<PolicyNode> Body, int Line, int Column);

/// <summary><c>&lt;choose&gt;</c>: the body of the first <c>when</c> whose condition is true, else <c>otherwise</c>.</summary>
public sealed record ChoosePolicy(IReadOnlyList<WhenClause> Whens, IReadOnlyList<PolicyNode>? Otherwise, int Line, int Column) : PolicyNode(Line, Column)
{
    public override string ElementName => "choose";
}

/// <summary><c>&lt;return-response&gt;</c>: stop and answer with what its children set.</summary>
public sealed record ReturnResponsePolicy(IReadOnlyList<PolicyNode> Body, int Line, int Column) : PolicyNode(Line, Column)
{
    public override string ElementName => "return-response";
}

/// <summary><c>&lt;set-status code="..." reason="..." /&gt;</c>.</summary>
public sealed record SetStatusPolicy(PolicyValue Code, PolicyValue? Reason, int Line, int Column) : PolicyNode(Line, Column)
{
    public override string ElementName => "set-status";
}

/// <summary>What <c>set-header</c> does when the header already exists.</summary>
public enum HeaderExistsAction
{
    Override,
    Skip,
    Append,
    Delete,
}

/// <summary><c>&lt;set-header name="..." exists-action="..."&gt;&lt;value&gt;...&lt;/value&gt;&lt;/set-header&gt;</c>.</summary>
public sealed record SetHeaderPolicy(PolicyValue Name, HeaderExistsAction ExistsAction, IReadOnlyList<PolicyValue> Values, int Line, int Column) : PolicyNode(Line, Column)
{
    public override string ElementName => "set-header";
}

/// <summary><c>&lt;set-body&gt;text or expression&lt;/set-body&gt;</c>.</summary>
public sealed record SetBodyPolicy(PolicyValue Body, int Line, int Column) : PolicyNode(Line, Column)
{
    public override string ElementName => "set-body";
}

/// <summary><c>&lt;set-variable name="..." value="..." /&gt;</c>: stores a value in <c>context.Variables</c>.</summary>
public sealed record SetVariablePolicy(string Name, PolicyValue Value, int Line, int Column) : PolicyNode(Line, Column)
{
    public override string ElementName => "set-variable";
}

/// <summary>One <c>&lt;identity&gt;</c> of <c>validate-client-certificate</c>: every attribute given must match.</summary>
public sealed record CertificateIdentity(int Line, int Column)
{
    public string? Thumbprint { get; init; }
    public string? SerialNumber { get; init; }
    public string? CommonName { get; init; }
    public string? Subject { get; init; }
    public string? DnsName { get; init; }
    public string? IssuerSubject { get; init; }
    public string? IssuerThumbprint { get; init; }
    public string? IssuerCertificateId { get; init; }
    public string? CertificateId { get; init; }
}

/// <summary>
/// <c>&lt;validate-client-certificate&gt;</c>: the client certificate is valid when every top-level rule passes and,
/// if identities are given, every attribute of at least one identity matches.
/// </summary>
public sealed record ValidateClientCertificatePolicy(int Line, int Column) : PolicyNode(Line, Column)
{
    public bool ValidateRevocation { get; init; } = true;
    public bool ValidateTrust { get; init; } = true;
    public bool ValidateNotBefore { get; init; } = true;
    public bool ValidateNotAfter { get; init; } = true;
    public bool IgnoreError { get; init; }
    public IReadOnlyList<CertificateIdentity> Identities { get; init; } = [];

    public override string ElementName => "validate-client-certificate";
}

/// <summary><c>&lt;authentication-certificate certificate-id="..." | thumbprint="..." /&gt;</c>: the client certificate presented to the backend.</summary>
public sealed record AuthenticationCertificatePolicy(PolicyValue? CertificateId, PolicyValue? Thumbprint, int Line, int Column) : PolicyNode(Line, Column)
{
    public override string ElementName => "authentication-certificate";
}

/// <summary><c>&lt;set-backend-service backend-id="..." | base-url="..." /&gt;</c>.</summary>
public sealed record SetBackendServicePolicy(PolicyValue? BackendId, PolicyValue? BaseUrl, int Line, int Column) : PolicyNode(Line, Column)
{
    public override string ElementName => "set-backend-service";
}

/// <summary><c>&lt;forward-request timeout="seconds" follow-redirects="false" /&gt;</c>.</summary>
public sealed record ForwardRequestPolicy(int Line, int Column) : PolicyNode(Line, Column)
{
    /// <summary>Seconds to wait for the backend's response headers (APIM's default: 300).</summary>
    public int TimeoutSeconds { get; init; } = 300;

    public bool FollowRedirects { get; init; }

    public override string ElementName => "forward-request";
}

/// <summary>One section (inbound, backend, outbound, on-error) of a policy document.</summary>
public sealed record PolicySection(PolicySectionKind Kind, IReadOnlyList<PolicyNode> Policies, int Line, int Column);
