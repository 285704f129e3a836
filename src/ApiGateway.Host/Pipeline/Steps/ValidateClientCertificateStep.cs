using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;
using ApiGateway.Host.Metrics;
using ApiGateway.Host.Tls;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Pipeline.Steps;

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

    public ValidateClientCertificateStep(ValidateClientCertificatePolicy policy, PolicyOwner owner, IdentityMatcher[] identities)
        : base(policy, owner)
    {
        _policy = policy;
        _identities = identities;
    }

    public static ValidateClientCertificateStep Create(StepFactory factory, ValidateClientCertificatePolicy policy, StepPlace at) =>
        new(policy, at.Owner, policy.Identities.Select(i => IdentityMatcher.Resolve(i, factory.Resources)).ToArray());

    public override Flow Execute(PolicyContext context)
    {
        var failure = Check(context, out var refusal);
        if (context.State.Trace is { } trace)
        {
            trace.PendingDetail = failure is null
                ? "every rule of the policy passed" + (_identities.Length > 0 ? " and the certificate matches an identity" : string.Empty)
                : "the client certificate is not valid: " + failure + (_policy.IgnoreError ? " (ignore-error: the request goes on, context.LastError says why)" : string.Empty);
        }
        if (failure is null)
            return Flow.Continue;
        var error = new PipelineError(StatusCodes.Status403Forbidden, Reason, "The client certificate is not valid: " + failure + ".", ElementName, PolicySectionKind.Inbound, ReasonPhrase);
        Log.ClientCertificateRefused(context.State.Snapshot.Services.Logger, context.State.ApiRoute.ApiId, failure);
        if (_policy.IgnoreError)
        {
            context.LastError = error.ToLastError();
            return Flow.Continue;
        }
        context.State.Error = error;
        context.State.Refusal = refusal;
        context.State.Snapshot.Services.Metrics.RecordClientCertificateRefusal(context.State.ApiRoute.ApiId, refusal);
        return Flow.Error;
    }

    private string? Check(PolicyContext context, out ClientCertificateRefusal refusal)
    {
        var certificate = context.State.ClientCertificate;
        refusal = ClientCertificateRefusal.Missing;
        if (certificate is null)
        {
            return context.State.Tls is { Mode: ClientCertificateNegotiation.Off }
                ? "none was presented (the hostname does not negotiate client certificates; turn on -NegotiateClientCertificate)"
                : "none was presented";
        }

        if (_policy.ValidateNotBefore || _policy.ValidateNotAfter)
        {
            // In UTC: NotBefore and NotAfter are local times, and two local times compare by their ticks alone, so in
            // the hour a clock goes back an expired certificate would pass for up to an hour. Both bounds are
            // inclusive (RFC 5280 4.1.2.5: valid from notBefore through notAfter).
            var now = (context.State.Snapshot?.Services.Time ?? TimeProvider.System).GetUtcNow().UtcDateTime;
            var notBefore = certificate.NotBefore.ToUniversalTime();
            var notAfter = certificate.NotAfter.ToUniversalTime();
            refusal = ClientCertificateRefusal.NotYetValid;
            if (_policy.ValidateNotBefore && now < notBefore)
                return "it is not valid before " + notBefore.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
            refusal = ClientCertificateRefusal.Expired;
            if (_policy.ValidateNotAfter && now > notAfter)
                return "it expired on " + notAfter.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        }
        var verification = context.State.VerificationOf(certificate);
        var system = false;
        refusal = ClientCertificateRefusal.Untrusted;
        if (_policy.ValidateTrust && !verification.IsTrusted(ignoreTime: true, out system, out var trustFailure))
            return $"it does not chain to an uploaded CA certificate or a trusted root ({trustFailure})";
        if (_policy.ValidateRevocation)
        {
            if (!_policy.ValidateTrust)
                verification.IsTrusted(ignoreTime: true, out system, out _);
            var revocation = verification.RevocationStatus(system);
            refusal = ClientCertificateRefusal.Revoked;
            if ((revocation & X509ChainStatusFlags.Revoked) != 0)
                return verification.RevocationProblem is { } listed ? "it has been revoked (" + listed + ")" : "it has been revoked";
            refusal = ClientCertificateRefusal.RevocationUnknown;
            if (revocation != X509ChainStatusFlags.NoError && verification.RevocationProblem is { } problem)
                return $"its revocation status could not be checked: {problem} (Get-GatewayRevocation shows the revocation mode and CRL folder)";
            if (revocation != X509ChainStatusFlags.NoError)
                return $"its revocation status could not be checked ({revocation}); set validate-revocation=\"false\" for certificates without a reachable CRL or OCSP responder";
        }
        if (_identities.Length > 0)
        {
            bool matched;
            if (context.State.Tls is { } tls && ReferenceEquals(tls.Certificate, certificate))
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
            refusal = ClientCertificateRefusal.IdentityMismatch;
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
