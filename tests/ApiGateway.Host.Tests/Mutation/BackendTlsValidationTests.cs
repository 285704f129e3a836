using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Backends;
using Microsoft.Extensions.Logging.Abstractions;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The backend's server certificate checks as the backend settings (APIM's tls validateCertificateChain and
/// validateCertificateName) describe them: each switch turns off exactly its own check, a backend that presents no
/// certificate always fails, and the refusal says which check failed. Then the lifetime of the pooled invokers: one
/// per key, kept while used, disposed after the grace period once no revision uses it.
/// </summary>
public sealed class BackendTlsValidationTests
{
    private const string Authority = "backend.contoso.example:443";

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void NoErrors_Pass(bool chain, bool name) =>
        Assert.True(new BackendCertificateValidator(Authority, chain, name).Validate(this, null, null, SslPolicyErrors.None));

    [Fact]
    public void ChainErrors_FailOnlyWhileTheChainIsValidated()
    {
        using var selfSigned = TestCertificates.Create("CN=backend.contoso.example", serverAuth: true);
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.False(chain.Build(selfSigned));

        Assert.True(new BackendCertificateValidator(Authority, validateChain: false, validateName: true).Validate(this, selfSigned, chain, SslPolicyErrors.RemoteCertificateChainErrors));
        var refusal = Assert.Throws<BackendCertificateException>(() =>
            new BackendCertificateValidator(Authority, validateChain: true, validateName: false).Validate(this, selfSigned, chain, SslPolicyErrors.RemoteCertificateChainErrors));

        Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, refusal.Errors);
        Assert.True(refusal.ChainStatus.HasFlag(X509ChainStatusFlags.UntrustedRoot), refusal.ChainStatus.ToString());
        Assert.Contains("'CN=backend.contoso.example'", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("of " + Authority + " failed validation", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("its certificate chain is not trusted (RemoteCertificateChainErrors: UntrustedRoot", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("does not name the host", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NameMismatch_FailsOnlyWhileTheNameIsValidated_AndDoesNotReadTheChain()
    {
        using var selfSigned = TestCertificates.Create("CN=elsewhere", serverAuth: true);
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.Build(selfSigned);

        Assert.True(new BackendCertificateValidator(Authority, validateChain: true, validateName: false).Validate(this, selfSigned, chain, SslPolicyErrors.RemoteCertificateNameMismatch));
        var refusal = Assert.Throws<BackendCertificateException>(() =>
            new BackendCertificateValidator(Authority, validateChain: false, validateName: true).Validate(this, selfSigned, chain, SslPolicyErrors.RemoteCertificateNameMismatch));

        Assert.Equal(SslPolicyErrors.RemoteCertificateNameMismatch, refusal.Errors);
        Assert.Equal(X509ChainStatusFlags.NoError, refusal.ChainStatus);
        Assert.Contains($"its certificate does not name the host of {Authority} (RemoteCertificateNameMismatch)", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("chain is not trusted", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BothErrors_WithOneCheckOff_ReportOnlyTheOther()
    {
        var refusal = Assert.Throws<BackendCertificateException>(() =>
            new BackendCertificateValidator(Authority, validateChain: false, validateName: true)
                .Validate(this, null, null, SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch));

        Assert.Equal(SslPolicyErrors.RemoteCertificateNameMismatch, refusal.Errors);

        var both = Assert.Throws<BackendCertificateException>(() =>
            new BackendCertificateValidator(Authority, validateChain: true, validateName: true)
                .Validate(this, null, null, SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch));
        Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch, both.Errors);
        Assert.Contains("(RemoteCertificateNameMismatch); its certificate chain is not trusted", both.Message, StringComparison.Ordinal);
        Assert.StartsWith($"The server certificate of {Authority} failed validation: ", both.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoCertificate_FailsEvenWithBothChecksOff()
    {
        var refusal = Assert.Throws<BackendCertificateException>(() =>
            new BackendCertificateValidator(Authority, validateChain: false, validateName: false).Validate(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));

        Assert.Equal(SslPolicyErrors.RemoteCertificateNotAvailable, refusal.Errors);
        Assert.Equal($"The server certificate of {Authority} failed validation: it presented no certificate.", refusal.Message);
    }

    private static InvokerKey Key(string authority) => new(authority, true, true, string.Empty, false);

    [Fact]
    public void Invokers_AreSharedPerKey_AndKeptWhileUsed()
    {
        using var cache = new InvokerCache(NullLogger.Instance, TimeSpan.FromMilliseconds(50));
        var a = cache.Acquire(Key("a:443"), []);
        var again = cache.Acquire(Key("a:443"), []);
        var b = cache.Acquire(Key("b:443"), []);

        Assert.Same(a, again);
        Assert.NotSame(a, b);
        Assert.Equal(2, cache.Created);
        Assert.Equal(2, cache.Count);
        Assert.Equal(Key("a:443"), a.Key);

        // One of the two users of a lets go: a stays, past the grace period.
        cache.Release(a);
        Thread.Sleep(300);
        Assert.Equal(2, cache.Count);
        Assert.Same(a, cache.Acquire(Key("a:443"), []));
        Assert.Equal(2, cache.Created);
    }

    [Fact]
    public async Task AnUnusedInvoker_IsDisposedAfterTheGracePeriod_UnlessTakenAgain()
    {
        using var cache = new InvokerCache(NullLogger.Instance, TimeSpan.FromMilliseconds(400));
        var a = cache.Acquire(Key("a:443"), []);
        var b = cache.Acquire(Key("b:443"), []);

        cache.Release(a);
        cache.Release(b);
        Assert.Same(b, cache.Acquire(Key("b:443"), [])); // taken again within the grace period
        await WaitUntilAsync(() => cache.Count == 1);
        await Task.Delay(600);

        Assert.Equal(1, cache.Count);
        Assert.Same(b, cache.Acquire(Key("b:443"), []));
        Assert.NotSame(a, cache.Acquire(Key("a:443"), []));
        Assert.Equal(3, cache.Created);
        Assert.Throws<ObjectDisposedException>(() => a.Invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:9/"), CancellationToken.None).GetAwaiter().GetResult());
    }

    [Fact]
    public void Dispose_DisposesEveryInvoker_AndRefusesNewOnes()
    {
        var cache = new InvokerCache(NullLogger.Instance, TimeSpan.FromMilliseconds(50));
        var a = cache.Acquire(Key("a:443"), []);

        cache.Dispose();
        cache.Dispose();

        Assert.Equal(0, cache.Count);
        Assert.Throws<ObjectDisposedException>(() => cache.Acquire(Key("b:443"), []));
        Assert.Throws<ObjectDisposedException>(() => a.Invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:9/"), CancellationToken.None).GetAwaiter().GetResult());
        cache.Release(a); // after Dispose: nothing left to schedule, and no exception
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }
}
