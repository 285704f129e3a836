using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Context;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// What the compiler substitutes into policy expressions keeps the C# meaning of what it replaces: <c>a == b</c> of
/// two names is false when just one is null (a null name is not the empty name); <c>certificate?.Verify()</c> is
/// null only for no certificate and otherwise APIM's Verify() (chains to an uploaded CA, within validity); the
/// certificate extensions refuse a null certificate as an argument error, and VerifyNoRevocation() outside an
/// expression says why it cannot answer.
/// </summary>
public sealed class ExpressionRuntimeRuleTests : IDisposable
{
    private readonly X509Certificate2 _root = TestCertificates.CreateCa("CN=Runtime Root");
    private readonly X509Certificate2 _trusted;
    private readonly X509Certificate2 _stranger = TestCertificates.Create("CN=stranger", clientAuth: true);

    public ExpressionRuntimeRuleTests()
    {
        _trusted = TestCertificates.Create("CN=client, O=Contoso", _root, clientAuth: true);
    }

    public void Dispose()
    {
        _trusted.Dispose();
        _stranger.Dispose();
        _root.Dispose();
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void DnEquals_NullAndTheEmptyName_AreNotEqual(string empty)
    {
        Assert.False(ExpressionRuntime.DnEquals((string?)null, empty));
        Assert.False(ExpressionRuntime.DnEquals(empty, (string?)null));
        Assert.True(ExpressionRuntime.DnEquals(empty, string.Empty));
        Assert.True(ExpressionRuntime.DnEquals((string?)null, (string?)null));
    }

    [Fact]
    public void VerifyOrNull_OfACertificate_IsVerifysAnswer()
    {
        // Revocation is not checked (NoCheck), so Verify() is about the chain and validity alone.
        var context = BudgetTestSnapshot.ContextWith(trust: new ClientTrust([X509CertificateLoader.LoadCertificate(_root.RawData)], [], RevocationMode.NoCheck));

        Assert.True(ExpressionRuntime.VerifyOrNull(context, _trusted));
        Assert.False(ExpressionRuntime.VerifyOrNull(context, _stranger));
        Assert.True(ExpressionRuntime.VerifyNoRevocationOrNull(context, _trusted));
        Assert.False(ExpressionRuntime.VerifyNoRevocationOrNull(context, _stranger));
    }

    [Fact]
    public void VerifyNoRevocation_OutsideAPolicyExpression_SaysWhereItIsEvaluated()
    {
        var error = Assert.Throws<InvalidOperationException>(() => _trusted.VerifyNoRevocation());

        Assert.Equal("VerifyNoRevocation() is evaluated by the gateway inside policy expressions only.", error.Message);
    }

    [Fact]
    public void CertificateExtensions_OfNoCertificate_AreArgumentErrors()
    {
        X509Certificate2 none = null!;

        Assert.Equal("certificate", Assert.Throws<ArgumentNullException>(() => none.GetDnsNames()).ParamName);
        Assert.Throws<ArgumentNullException>(() => none.GetUris());
        Assert.Throws<ArgumentNullException>(() => none.HasDnsName("a.example"));
        Assert.Throws<ArgumentNullException>(() => none.GetSpkiSha256());
    }
}
