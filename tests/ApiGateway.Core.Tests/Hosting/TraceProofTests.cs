using ApiGateway.Core.Hosting;

namespace ApiGateway.Core.Tests.Hosting;

/// <summary>
/// The per-request proof that asks a gateway for a trace: valid only with the gateway's token, for the request it was
/// made for (method, path and query), and within its time window; anything else is refused.
/// </summary>
public sealed class TraceProofTests
{
    private const string Token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Proof_OfTheToken_ForThisRequest_IsValid_AndNamesItsNonce()
    {
        var proof = TraceProof.Create(Token, "get", "/orders/1?x=1", Now);

        Assert.True(TraceProof.Verify(Token, proof, "GET", "/orders/1?x=1", Now.AddSeconds(30), out var nonce));
        Assert.Equal(proof.Split(';')[2], nonce);
        Assert.DoesNotContain(Token, proof, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", "/orders/1?x=1", 0)]
    [InlineData("GET", "/orders/2?x=1", 0)]
    [InlineData("GET", "/orders/1?x=2", 0)]
    [InlineData("GET", "/orders/1", 0)]
    [InlineData("GET", "/orders/1?x=1", 121)]
    [InlineData("GET", "/orders/1?x=1", -121)]
    public void Proof_ForAnotherRequestOrTime_IsRefused(string method, string target, int seconds)
    {
        var proof = TraceProof.Create(Token, "GET", "/orders/1?x=1", Now);

        Assert.False(TraceProof.Verify(Token, proof, method, target, Now.AddSeconds(seconds), out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("yes")]
    [InlineData("v1;1;00000000000000000000000000000000;00")]
    [InlineData("v2;1764842400;00000000000000000000000000000000;00")]
    [InlineData("v1;-5;00000000000000000000000000000000;00")]
    [InlineData("v1;99999999999999999999;00000000000000000000000000000000;00")]
    public void Garbage_IsRefused(string? proof)
    {
        Assert.False(TraceProof.Verify(Token, proof, "GET", "/", Now, out _));
    }

    [Fact]
    public void Proof_OfAnotherToken_IsRefused_AndTheTokenItselfIsNoProof()
    {
        var other = TraceProof.Create("another-token", "GET", "/", Now);

        Assert.False(TraceProof.Verify(Token, other, "GET", "/", Now, out _));
        Assert.False(TraceProof.Verify(Token, Token, "GET", "/", Now, out _));
        var tampered = TraceProof.Create(Token, "GET", "/", Now);
        var parts = tampered.Split(';');
        parts[3] = (parts[3][0] == 'a' ? "b" : "a") + parts[3][1..];
        Assert.False(TraceProof.Verify(Token, string.Join(';', parts), "GET", "/", Now, out _));
        parts = tampered.Split(';');
        parts[1] = (long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(TraceProof.Verify(Token, string.Join(';', parts), "GET", "/", Now, out _));
    }
}
