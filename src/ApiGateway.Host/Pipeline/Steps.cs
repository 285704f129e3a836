using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Context;
using ApiGateway.Host.Expressions;
using ApiGateway.Host.Tls;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

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
/// and backends resolved) so that running it is plain field reads and delegate calls.
/// </summary>
internal abstract class Step
{
    protected Step(PolicyNode node, string owner)
    {
        ElementName = node.ElementName;
        Line = node.Line;
        Owner = owner;
    }

    public string ElementName { get; }

    public int Line { get; }

    /// <summary>"API 'orders'" or "the global policy": where the element was written.</summary>
    public string Owner { get; }

    /// <summary>True for steps that wait (forward-request, or a choose that contains one).</summary>
    public virtual bool IsAsync => false;

    public abstract Flow Execute(PolicyContext context);

    public virtual ValueTask<Flow> ExecuteAsync(PolicyContext context) => new(Execute(context));

    /// <summary>"The policy of API 'orders', line 5 (&lt;set-header&gt;)".</summary>
    public string Where => $"{(Owner.StartsWith("API", StringComparison.Ordinal) ? "The policy of " + Owner : "The global policy")}, line {Line.ToString(CultureInfo.InvariantCulture)} (<{ElementName}>)";
}

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
            context.CurrentStep = step;
            var flow = step.Execute(context);
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
            context.CurrentStep = step;
            var flow = step.Execute(context);
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
            context.CurrentStep = step;
            var flow = step.IsAsync ? await step.ExecuteAsync(context).ConfigureAwait(false) : step.Execute(context);
            if (flow != Flow.Continue)
                return flow;
        }
        return Flow.Continue;
    }
}

/// <summary>A value of an attribute or element: literal text, or a compiled expression.</summary>
internal sealed class TextValue(string? literal, Func<PolicyContext, string?>? expression)
{
    public string? Evaluate(PolicyContext context) => expression is null ? literal : expression(context);

    public bool IsLiteral => expression is null;

    public string? Literal => literal;
}

/// <summary>&lt;choose&gt;: the first &lt;when&gt; whose condition holds, else &lt;otherwise&gt;.</summary>
internal sealed class ChooseStep : Step
{
    private readonly Func<PolicyContext, bool>?[] _conditions;
    private readonly bool[] _literals;
    private readonly Step[][] _bodies;
    private readonly Step[] _otherwise;
    private readonly bool _async;

    public ChooseStep(PolicyNode node, string owner, Func<PolicyContext, bool>?[] conditions, bool[] literals, Step[][] bodies, Step[] otherwise)
        : base(node, owner)
    {
        _conditions = conditions;
        _literals = literals;
        _bodies = bodies;
        _otherwise = otherwise;
        _async = bodies.Any(b => b.Any(s => s.IsAsync)) || otherwise.Any(s => s.IsAsync);
    }

    public override bool IsAsync => _async;

    private Step[] Select(PolicyContext context)
    {
        for (var i = 0; i < _conditions.Length; i++)
        {
            context.CurrentStep = this;
            var condition = _conditions[i];
            if (condition is null ? _literals[i] : condition(context))
                return _bodies[i];
        }
        return _otherwise;
    }

    public override Flow Execute(PolicyContext context) => StepRunner.Run(Select(context), context);

    public override ValueTask<Flow> ExecuteAsync(PolicyContext context) => StepRunner.RunAsync(Select(context), context);
}

/// <summary>&lt;return-response&gt;: a fresh response from its children; the rest of the pipeline is skipped.</summary>
internal sealed class ReturnResponseStep(PolicyNode node, string owner, Step[] body) : Step(node, owner)
{
    public override Flow Execute(PolicyContext context)
    {
        var response = context.Http.Response;
        response.Headers.Clear();
        response.StatusCode = StatusCodes.Status200OK;
        context.Http.Features.GetRequiredFeature<IHttpResponseFeature>().ReasonPhrase = null;
        context.ResponseBody = null;
        context.ResponseReplaced = true;
        var flow = StepRunner.Run(body, context);
        return flow == Flow.Error ? Flow.Error : Flow.Return;
    }
}

/// <summary>&lt;set-status code="..." reason="..." /&gt;.</summary>
internal sealed class SetStatusStep(PolicyNode node, string owner, int literalCode, Func<PolicyContext, int>? code, TextValue? reason) : Step(node, owner)
{
    public override Flow Execute(PolicyContext context)
    {
        var status = code is null ? literalCode : code(context);
        if (status is < 100 or > 599)
            throw new PolicyRuntimeException($"<set-status> produced {status.ToString(CultureInfo.InvariantCulture)}, which is not an HTTP status code (100-599).");
        context.Http.Response.StatusCode = status;
        context.Http.Features.GetRequiredFeature<IHttpResponseFeature>().ReasonPhrase = reason?.Evaluate(context);
        context.ResponseCustomized = true;
        return Flow.Continue;
    }
}

/// <summary>&lt;set-header name="..." exists-action="..."&gt;&lt;value&gt;...&lt;/value&gt;&lt;/set-header&gt; on the request (inbound, backend) or the response.</summary>
internal sealed class SetHeaderStep(PolicyNode node, string owner, StepTarget target, TextValue name, HeaderExistsAction action, TextValue[] values) : Step(node, owner)
{
    public override Flow Execute(PolicyContext context)
    {
        var headers = target == StepTarget.Request ? context.Http.Request.Headers : context.Http.Response.Headers;
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
            context.HostHeaderSet = true;
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

/// <summary>&lt;set-body&gt;: the request body (inbound, backend) or the response body.</summary>
internal sealed class SetBodyStep(PolicyNode node, string owner, StepTarget target, TextValue body) : Step(node, owner)
{
    public override Flow Execute(PolicyContext context)
    {
        var text = body.Evaluate(context) ?? string.Empty;
        if (target == StepTarget.Response)
        {
            context.ResponseBody = text;
            context.ResponseCustomized = true;
            if (context.Forwarded)
                context.ResponseReplaced = true;
            return Flow.Continue;
        }
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var request = context.Http.Request;
        request.Body = new MemoryStream(bytes, writable: false);
        request.ContentLength = bytes.Length;
        request.Headers.Remove("Transfer-Encoding");
        context.Http.Features.Set<IHttpRequestBodyDetectionFeature>(BodyPresent.Instance);
        return Flow.Continue;
    }

    private sealed class BodyPresent : IHttpRequestBodyDetectionFeature
    {
        public static readonly BodyPresent Instance = new();

        public bool CanHaveBody => true;
    }
}

/// <summary>&lt;set-variable name="..." value="..." /&gt;.</summary>
internal sealed class SetVariableStep(PolicyNode node, string owner, string name, string? literal, Func<PolicyContext, object?>? value) : Step(node, owner)
{
    public override Flow Execute(PolicyContext context)
    {
        context.Variables.Set(name, value is null ? literal : value(context));
        return Flow.Continue;
    }
}

/// <summary>&lt;authentication-certificate certificate-id="..." | thumbprint="..." /&gt;: the client certificate presented to the backend.</summary>
internal sealed class AuthenticationCertificateStep(PolicyNode node, string owner, ServedCertificate? resolved, TextValue? id, TextValue? thumbprint) : Step(node, owner)
{
    public override Flow Execute(PolicyContext context)
    {
        context.AuthenticationCertificate = resolved ?? Resolve(context);
        return Flow.Continue;
    }

    private ServedCertificate Resolve(PolicyContext context)
    {
        var snapshot = context.Snapshot;
        if (id is not null)
        {
            var value = id.Evaluate(context) ?? string.Empty;
            if (snapshot.Certificates.TryGetValue(value, out var byId) && byId.Certificate.HasPrivateKey)
                return byId;
            throw new PolicyRuntimeException($"<authentication-certificate> names certificate '{value}', which does not exist or has no private key.");
        }
        var print = CertificateMetadata.NormalizeThumbprint(thumbprint!.Evaluate(context) ?? string.Empty);
        if (snapshot.CertificatesByThumbprint.TryGetValue(print, out var byThumbprint) && byThumbprint.Certificate.HasPrivateKey)
            return byThumbprint;
        throw new PolicyRuntimeException($"<authentication-certificate> names the certificate with thumbprint {print}, which is not among the certificates with a private key.");
    }
}

/// <summary>&lt;set-backend-service backend-id="..." | base-url="..." /&gt;.</summary>
internal sealed class SetBackendServiceStep(PolicyNode node, string owner, BackendTarget? resolved, TextValue? backendId, TextValue? baseUrl) : Step(node, owner)
{
    public override Flow Execute(PolicyContext context)
    {
        context.BackendOverride = resolved ?? Resolve(context);
        return Flow.Continue;
    }

    private BackendTarget Resolve(PolicyContext context)
    {
        if (backendId is not null)
        {
            var id = backendId.Evaluate(context) ?? string.Empty;
            return context.Snapshot.Backends.TryGetValue(id, out var target)
                ? target
                : throw new PolicyRuntimeException($"<set-backend-service> names backend '{id}', which does not exist.");
        }
        var url = baseUrl!.Evaluate(context) ?? string.Empty;
        return context.Snapshot.TargetForUrl(url)
            ?? throw new PolicyRuntimeException($"<set-backend-service> produced base-url '{url}', which is not an absolute http or https URL.");
    }
}

/// <summary>&lt;forward-request timeout="..." follow-redirects="..." /&gt;: sends the request to the backend.</summary>
internal sealed class ForwardRequestStep(PolicyNode node, string owner, ForwardSettings settings) : Step(node, owner)
{
    public override bool IsAsync => true;

    public ForwardSettings Settings => settings;

    public override Flow Execute(PolicyContext context) =>
        throw new InvalidOperationException("forward-request runs asynchronously.");

    public override ValueTask<Flow> ExecuteAsync(PolicyContext context) =>
        context.Snapshot.Services.Forwarder.ForwardAsync(context, settings, this);
}

/// <summary>One &lt;identity&gt; of validate-client-certificate: every attribute it has must match.</summary>
internal sealed class IdentityMatcher
{
    public string? Thumbprint { get; init; }
    public string? SerialNumber { get; init; }
    public string? CommonName { get; init; }
    public string? Subject { get; init; }
    public string? DnsName { get; init; }
    public string? IssuerSubject { get; init; }
    public string? IssuerThumbprint { get; init; }

    /// <summary>certificate-id, resolved to the thumbprint of that certificate.</summary>
    public string? CertificateThumbprint { get; init; }

    /// <summary>issuer-certificate-id, resolved to the thumbprint of that certificate or CA certificate.</summary>
    public string? IssuerCertificateThumbprint { get; init; }

    public bool Matches(CertificateFacts facts)
    {
        if (Thumbprint is not null && !string.Equals(Thumbprint, facts.Thumbprint, StringComparison.OrdinalIgnoreCase))
            return false;
        if (CertificateThumbprint is not null && !string.Equals(CertificateThumbprint, facts.Thumbprint, StringComparison.OrdinalIgnoreCase))
            return false;
        if (SerialNumber is not null && !SerialEquals(SerialNumber, facts.SerialNumber))
            return false;
        if (CommonName is not null && !string.Equals(CommonName, facts.CommonName, StringComparison.OrdinalIgnoreCase))
            return false;
        if (Subject is not null && !DistinguishedName.Equals(Subject, facts.Subject))
            return false;
        if (IssuerSubject is not null && !DistinguishedName.Equals(IssuerSubject, facts.Issuer))
            return false;
        if (IssuerThumbprint is not null && !string.Equals(IssuerThumbprint, facts.IssuerThumbprint, StringComparison.OrdinalIgnoreCase))
            return false;
        if (IssuerCertificateThumbprint is not null && !string.Equals(IssuerCertificateThumbprint, facts.IssuerThumbprint, StringComparison.OrdinalIgnoreCase))
            return false;
        if (DnsName is not null && !HasDnsName(facts.DnsNames, DnsName))
            return false;
        return true;
    }

    private static bool HasDnsName(string[] names, string wanted)
    {
        foreach (var name in names)
        {
            if (string.Equals(name, wanted, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    /// <summary>Serial numbers as hex, without regard to case, separators or leading zeros.</summary>
    private static bool SerialEquals(string wanted, string actual)
    {
        var a = wanted.AsSpan();
        var b = actual.AsSpan().TrimStart('0');
        var i = 0;
        while (i < a.Length && (a[i] == '0' || !char.IsAsciiHexDigit(a[i])))
            i++;
        var j = 0;
        for (; i < a.Length; i++)
        {
            if (!char.IsAsciiHexDigit(a[i]))
                continue;
            if (j >= b.Length || char.ToUpperInvariant(a[i]) != char.ToUpperInvariant(b[j]))
                return false;
            j++;
        }
        return j == b.Length;
    }
}

/// <summary>
/// &lt;validate-client-certificate&gt;: every enabled rule must pass and, when identities are given, one identity must
/// match entirely. A failure goes to on-error with reason ClientCertificateNotValid; without an on-error answer the
/// client gets 403 "Invalid client certificate" with a JSON body naming the rule that failed.
/// </summary>
internal sealed class ValidateClientCertificateStep : Step
{
    public const string Reason = "ClientCertificateNotValid";
    public const string ReasonPhrase = "Invalid client certificate";

    private readonly ValidateClientCertificatePolicy _policy;
    private readonly IdentityMatcher[] _identities;

    public ValidateClientCertificateStep(ValidateClientCertificatePolicy policy, string owner, IdentityMatcher[] identities)
        : base(policy, owner)
    {
        _policy = policy;
        _identities = identities;
    }

    public override Flow Execute(PolicyContext context)
    {
        var failure = Check(context);
        if (failure is null)
            return Flow.Continue;
        var error = new PipelineError(StatusCodes.Status403Forbidden, Reason, "The client certificate is not valid: " + failure + ".", ElementName, "inbound", ReasonPhrase);
        Log.ClientCertificateRefused(context.Snapshot.Services.Logger, context.ApiRoute.ApiId, failure);
        if (_policy.IgnoreError)
        {
            context.LastError = error.ToLastError();
            return Flow.Continue;
        }
        context.Error = error;
        return Flow.Error;
    }

    private string? Check(PolicyContext context)
    {
        var certificate = context.ClientCertificate;
        if (certificate is null)
            return context.Tls is { Mode: ClientCertificateNegotiation.Off }
                ? "none was presented (the hostname does not negotiate client certificates; turn on -NegotiateClientCertificate)"
                : "none was presented";
        if (_policy.ValidateNotBefore || _policy.ValidateNotAfter)
        {
            var now = DateTime.Now;
            if (_policy.ValidateNotBefore && now < certificate.NotBefore)
                return "it is not valid before " + certificate.NotBefore.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
            if (_policy.ValidateNotAfter && now > certificate.NotAfter)
                return "it expired on " + certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        }
        var verification = context.VerificationOf(certificate);
        var system = false;
        if (_policy.ValidateTrust && !verification.IsTrusted(ignoreTime: true, out system, out var trustFailure))
            return $"it does not chain to an uploaded CA certificate or a trusted root ({trustFailure})";
        if (_policy.ValidateRevocation)
        {
            if (!_policy.ValidateTrust)
                verification.IsTrusted(ignoreTime: true, out system, out _);
            var revocation = verification.RevocationStatus(system);
            if ((revocation & X509ChainStatusFlags.Revoked) != 0)
                return "it has been revoked";
            if (revocation != X509ChainStatusFlags.NoError)
                return $"its revocation status could not be checked ({revocation}); set validate-revocation=\"false\" for certificates without a reachable CRL or OCSP responder";
        }
        if (_identities.Length > 0)
        {
            bool matched;
            if (context.Tls is { } tls && ReferenceEquals(tls.Certificate, certificate))
            {
                // The identities and the connection's certificate never change: the answer is worked out once per
                // connection (per step), not compared again on every request of a kept-alive connection.
                if (tls.IdentityMatchOf(this) is { } known)
                {
                    matched = known;
                }
                else
                {
                    matched = MatchesAny(tls.Facts);
                    tls.RememberIdentityMatch(this, matched);
                }
            }
            else
            {
                matched = MatchesAny(new CertificateFacts(certificate, null));
            }
            if (matched)
                return null;
            return _identities.Length == 1 ? "it does not match the identity of the policy" : $"it matches none of the {_identities.Length.ToString(CultureInfo.InvariantCulture)} identities of the policy";
        }
        return null;
    }

    private bool MatchesAny(CertificateFacts facts)
    {
        foreach (var identity in _identities)
        {
            if (identity.Matches(facts))
                return true;
        }
        return false;
    }
}

/// <summary>The settings of one forward-request.</summary>
internal sealed class ForwardSettings(TimeSpan timeout, bool followRedirects)
{
    public TimeSpan Timeout { get; } = timeout;

    public bool FollowRedirects { get; } = followRedirects;

    public Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig RequestConfig { get; } = new() { ActivityTimeout = timeout };
}
