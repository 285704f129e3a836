using ApiGateway.Host.Expressions;

namespace ApiGateway.Host.Tests.Expressions;

public sealed class DistinguishedNameTests
{
    [Theory]
    [InlineData("CN=a, O=b", "CN=a,O=b")]
    [InlineData("CN=a, O=b", "cn=A , o=B")]
    [InlineData("CN=a; O=b", "CN=a, O=b")]
    [InlineData("CN=a + OU=x, O=b", "CN=a,OU=x,O=b")]
    [InlineData("O=\"Contoso, Inc.\", C=US", "O=Contoso\\, Inc., C=US")]
    [InlineData("O=\"Say \"\"hi\"\"\"", "O=Say \\\"hi\\\"")]
    [InlineData("CN=\\41bc", "CN=Abc")]
    [InlineData("S=Washington, E=a@b.c", "ST=Washington, EMAILADDRESS=a@b.c")]
    [InlineData("OID.2.5.4.3=a", "CN=a")]
    [InlineData("  CN=a  ", "CN=a")]
    [InlineData("plain", "plain")]
    public void SameName_IsEqual(string a, string b)
    {
        Assert.True(DistinguishedName.Equals(a, b));
        Assert.True(DistinguishedName.Equals(b, a));
    }

    [Theory]
    [InlineData("CN=a, O=b", "O=b, CN=a")]
    [InlineData("CN=a, O=b", "CN=a")]
    [InlineData("CN=a", "CN=ab")]
    [InlineData("CN=a, O=b", "CN=a, OU=b")]
    [InlineData("CN=trusted-issuer", "trusted-issuer")]
    [InlineData("plain", "Plain")]
    [InlineData("CN=a b", "CN=ab")]
    public void DifferentName_IsNotEqual(string a, string b)
    {
        Assert.False(DistinguishedName.Equals(a, b));
        Assert.False(DistinguishedName.Equals(b, a));
    }

    [Fact]
    public void Comparing_DoesNotAllocate()
    {
        DistinguishedName.Equals("CN=a, O=\"b, c\"", "cn=A,o=b\\, c");
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            DistinguishedName.Equals("CN=a, O=\"b, c\"", "cn=A,o=b\\, c");
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
