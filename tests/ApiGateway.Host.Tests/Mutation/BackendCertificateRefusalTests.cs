using System.Diagnostics.Metrics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Metrics;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// What a refused backend certificate leaves behind (docs/gateway.md, Backends: 500 BackendCertificateInvalid, "the
/// message names the failure"): a message that names exactly the failed checks — a backend that did present a
/// certificate is never said to have presented none — and one count of apigateway.backend.tls_failures by backend
/// authority and reason; an accepted certificate counts nothing.
/// </summary>
public sealed class BackendCertificateRefusalTests
{
    private const string Authority = "backend.contoso.example:443";

    private static (MeterListener Listener, List<(long Value, string Tags)> Counted) Listen(GatewayMetrics metrics)
    {
        var counted = new List<(long Value, string Tags)>();
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter) && instrument.Name == "apigateway.backend.tls_failures")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            lock (counted)
                counted.Add((value, string.Join(',', tags.ToArray().Select(t => $"{t.Key}={t.Value}"))));
        });
        listener.Start();
        return (listener, counted);
    }

    [Fact]
    public void NameMismatch_MessageNamesOnlyTheName_NotAMissingCertificate()
    {
        using var other = TestCertificates.Create("CN=elsewhere", serverAuth: true);

        var refusal = Assert.Throws<BackendCertificateException>(() =>
            new BackendCertificateValidator(Authority, validateChain: true, validateName: true).Validate(this, other, null, SslPolicyErrors.RemoteCertificateNameMismatch));

        Assert.Equal($"The server certificate 'CN=elsewhere' of {Authority} failed validation: its certificate does not name the host of {Authority} (RemoteCertificateNameMismatch).", refusal.Message);
    }

    [Fact]
    public void ChainError_MessageNamesOnlyTheChain()
    {
        var refusal = new BackendCertificateException(Authority, "CN=orders", SslPolicyErrors.RemoteCertificateChainErrors, X509ChainStatusFlags.UntrustedRoot);

        Assert.Equal($"The server certificate 'CN=orders' of {Authority} failed validation: its certificate chain is not trusted (RemoteCertificateChainErrors: UntrustedRoot).", refusal.Message);
        Assert.Equal(X509ChainStatusFlags.UntrustedRoot, refusal.ChainStatus);
    }

    [Fact]
    public void ARefusal_IsCountedOnce_ByBackendAndReason_AndAnAcceptedCertificateIsNot()
    {
        using var metrics = new GatewayMetrics();
        var (listener, counted) = Listen(metrics);
        using (listener)
        {
            var validator = new BackendCertificateValidator(Authority, validateChain: true, validateName: true, metrics);
            var lenient = new BackendCertificateValidator(Authority, validateChain: false, validateName: false, metrics);

            Assert.True(validator.Validate(this, null, null, SslPolicyErrors.None));
            Assert.True(lenient.Validate(this, null, null, SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch));
            Assert.Throws<BackendCertificateException>(() => validator.Validate(this, null, null, SslPolicyErrors.RemoteCertificateNameMismatch));
            Assert.Throws<BackendCertificateException>(() => validator.Validate(this, null, null, SslPolicyErrors.RemoteCertificateChainErrors));
            Assert.Throws<BackendCertificateException>(() => lenient.Validate(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
        }

        Assert.Equal(
            [
                (1L, $"backend={Authority},reason=certificate_name"),
                (1L, $"backend={Authority},reason=certificate_chain"),
                (1L, $"backend={Authority},reason=no_certificate"),
            ],
            counted);
    }
}
