using System.Diagnostics.Metrics;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;
using ApiGateway.Host.Metrics;
using ApiGateway.Host.Pipeline;
using ApiGateway.Host.Pipeline.Steps;
using ApiGateway.Host.Tests.Support;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// <see cref="ValidateClientCertificateStep"/> run on its own against a request of the real snapshot
/// (<see cref="PipelineHarness"/>), so what it leaves behind can be read: the trace's detail (what passed, what failed,
/// and that ignore-error lets the request go on), the refusal as event 18 and as
/// <c>apigateway_client_certificate_refusals_total{api,reason}</c> (docs/gateway.md), <c>context.LastError</c> with
/// ignore-error="true", the hint for a hostname that does not negotiate client certificates, and the identity answer
/// remembered for the connection whose certificate it is.
/// </summary>
public sealed class ValidateClientCertificateStepTests : IAsyncLifetime
{
    private const string ApiId = "vcc";

    private readonly PipelineHarness _harness = PipelineHarness.Create();
    private X509Certificate2 _valid = null!;
    private X509Certificate2 _stranger = null!;

    public Task InitializeAsync()
    {
        _valid = _harness.Gateway.Client("CN=valid, O=Contoso");
        _stranger = _harness.Gateway.Client("CN=stranger, O=Contoso");
        _harness.AddApi(ApiId, "<policies><inbound /><backend /><outbound /><on-error /></policies>");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _valid.Dispose();
        _stranger.Dispose();
        await _harness.DisposeAsync();
    }

    /// <summary>Every check but the ones a test names is off (revocation needs a CRL the test CA does not publish).</summary>
    private static ValidateClientCertificateStep Step(bool ignoreError = false, params string[] commonNames)
    {
        var identities = commonNames.Select(cn => new CertificateIdentity(1, 1) { CommonName = cn }).ToArray();
        var policy = new ValidateClientCertificatePolicy(1, 1) { ValidateRevocation = false, IgnoreError = ignoreError, Identities = identities };
        return new ValidateClientCertificateStep(policy, PolicyOwner.Api(ApiId), identities.Select(i => new IdentityMatcher(i, null, null)).ToArray());
    }

    private sealed record Outcome(Flow Flow, string? Detail, PipelineError? Error, PolicyLastError? LastError, ClientCertificateRefusal? Refusal);

    /// <summary>Runs <paramref name="step"/> for a traced request to the API, on <paramref name="tls"/> when given.</summary>
    private Outcome Execute(ValidateClientCertificateStep step, X509Certificate2? certificate, ConnectionTls? tls = null)
    {
        var snapshot = _harness.Snapshot;
        var http = PipelineHarness.NewRequest($"/{ApiId}/x", h => h.Connection.ClientCertificate = certificate);
        Assert.True(snapshot.Routes.TryMatch(http.Request.Path.Value!, out var route, out var consumed));
        var context = new PolicyContext();
        context.Begin(http, snapshot, route, consumed, tls);
        var trace = new PolicyTrace(dryRun: false);
        context.State.Trace = trace;
        try
        {
            var flow = step.Execute(context);
            return new Outcome(flow, trace.PendingDetail, context.State.Error, context.LastError, context.State.Refusal);
        }
        finally
        {
            context.End();
        }
    }

    /// <summary>A connection that negotiated <paramref name="certificate"/> (or none), as the handshake leaves it.</summary>
    private ConnectionTls Connection(X509Certificate2? certificate, ClientCertificateNegotiation mode = ClientCertificateNegotiation.Negotiate)
    {
        var tls = new ConnectionTls(mode, _harness.Snapshot.ClientTrust, "localhost");
        Assert.True(tls.Validate(this, certificate, null, certificate is null ? System.Net.Security.SslPolicyErrors.RemoteCertificateNotAvailable : System.Net.Security.SslPolicyErrors.None));
        return tls;
    }

    [Fact]
    public void Trace_APassWithoutIdentities_SaysEveryRulePassed_AndNothingOfIdentities()
    {
        var passed = Execute(Step(), _valid);

        Assert.Equal(Flow.Continue, passed.Flow);
        Assert.Equal("every rule of the policy passed", passed.Detail);
    }

    [Fact]
    public void Trace_APassWithIdentities_SaysTheCertificateMatchesAnIdentity()
    {
        var passed = Execute(Step(false, "nobody", "valid"), _valid);

        Assert.Equal(Flow.Continue, passed.Flow);
        Assert.Equal("every rule of the policy passed and the certificate matches an identity", passed.Detail);
    }

    [Fact]
    public void Trace_AFailure_SaysTheCertificateIsNotValidAndWhy_AndOnlyWithIgnoreErrorThatTheRequestGoesOn()
    {
        var refused = Execute(Step(), null);
        Assert.Equal(Flow.Error, refused.Flow);
        Assert.Equal("the client certificate is not valid: none was presented", refused.Detail);

        var ignored = Execute(Step(ignoreError: true), null);
        Assert.Equal(Flow.Continue, ignored.Flow);
        Assert.StartsWith("the client certificate is not valid: none was presented", ignored.Detail, StringComparison.Ordinal);
        Assert.Contains("ignore-error", ignored.Detail, StringComparison.Ordinal);
        Assert.Contains("context.LastError", ignored.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void IgnoreError_LetsTheRequestGoOn_WithLastErrorSaying_WhatFailed_AndIsNoRefusal()
    {
        var ignored = Execute(Step(true, "valid"), _stranger);

        Assert.Equal(Flow.Continue, ignored.Flow);
        Assert.Null(ignored.Error);
        Assert.Null(ignored.Refusal);
        var last = Assert.IsType<PolicyLastError>(ignored.LastError);
        Assert.Equal("validate-client-certificate", last.Source);
        Assert.Equal("ClientCertificateNotValid", last.Reason);
        Assert.Equal("The client certificate is not valid: it does not match the identity of the policy.", last.Message);
        Assert.Equal("inbound", last.Section);
    }

    [Fact]
    public void Refusal_IsLoggedAsEvent18_AndCountedByApiAndReason_ButAnIgnoredErrorIsNotCounted()
    {
        var counted = new List<(long Value, string Tags)>();
        var metrics = _harness.Snapshot.Services.Metrics;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter) && instrument.Name == "apigateway.client_certificate.refusals")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            lock (counted)
                counted.Add((value, string.Join(',', tags.ToArray().Select(t => $"{t.Key}={t.Value}"))));
        });
        listener.Start();

        Assert.Equal(Flow.Error, Execute(Step(false, "valid"), _stranger).Flow);
        Assert.Equal(Flow.Error, Execute(Step(), null).Flow);
        Assert.Equal(Flow.Continue, Execute(Step(true, "valid"), _stranger).Flow);

        Assert.Equal([(1L, "api=vcc,reason=identity_mismatch"), (1L, "api=vcc,reason=missing")], counted);
        var logged = _harness.Gateway.Logs.Messages(18).ToList();
        Assert.Contains("validate-client-certificate refused a request to API 'vcc': it does not match the identity of the policy", logged);
        Assert.Contains("validate-client-certificate refused a request to API 'vcc': none was presented", logged);
    }

    [Fact]
    public void NoCertificate_OnAHostnameThatDoesNotNegotiateThem_SaysToTurnNegotiationOn()
    {
        var off = Execute(Step(), null, Connection(null, ClientCertificateNegotiation.Off));
        Assert.Equal(ClientCertificateRefusal.Missing, off.Refusal);
        Assert.Equal("The client certificate is not valid: none was presented (the hostname does not negotiate client certificates; turn on -NegotiateClientCertificate).", off.Error!.Message);

        // A hostname that asks for one and got none: the client's doing, nothing to turn on.
        var negotiated = Execute(Step(), null, Connection(null));
        Assert.Equal("The client certificate is not valid: none was presented.", negotiated.Error!.Message);
    }

    [Fact]
    public void IdentityAnswer_IsRememberedForTheConnection_AndUsedForItsNextRequests()
    {
        var step = Step(false, "valid");
        var matching = Connection(_valid);
        var mismatching = Connection(_stranger);

        Assert.Equal(Flow.Continue, Execute(step, _valid, matching).Flow);
        Assert.Equal(Flow.Error, Execute(step, _stranger, mismatching).Flow);

        Assert.True(matching.IdentityMatchOf(step));
        Assert.False(mismatching.IdentityMatchOf(step));
        // The next request of the connection takes the remembered answer rather than comparing again.
        Assert.Equal(ClientCertificateRefusal.IdentityMismatch, Execute(step, _stranger, mismatching).Refusal);
        matching.RememberIdentityMatch(step, false);
        Assert.Equal(ClientCertificateRefusal.IdentityMismatch, Execute(step, _valid, matching).Refusal);
        // Another step (another policy) has its own answer.
        var other = Step(false, "valid");
        Assert.Equal(Flow.Continue, Execute(other, _valid, matching).Flow);
        Assert.True(matching.IdentityMatchOf(other));
    }
}
