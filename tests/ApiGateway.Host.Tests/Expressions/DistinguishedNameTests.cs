using ApiGateway.Host.Expressions;

namespace ApiGateway.Host.Tests.Expressions;

public sealed class DistinguishedNameTests
{
    [Theory]
    [InlineData("CN=a, O=b", "CN=a,O=b")]
    [InlineData("CN=a, O=b", "cn=A , o=B")]
    [InlineData("CN=a; O=b", "CN=a, O=b")]
    [InlineData("CN=a + OU=x, O=b", "CN=a+OU=x,O=b")]
    [InlineData("CN=a + OU=x, O=b", "OU=x + CN=a, O=b")]
    [InlineData("CN=a + OU=x, O=b", "cn=A+ou=X, o=B")]
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
    // RFC 4514 2.2: '+' joins the attributes of one multi-valued RDN; ',' starts another RDN.
    [InlineData("CN=a + OU=x, O=b", "CN=a,OU=x,O=b")]
    [InlineData("CN=a + OU=x", "CN=a, OU=x")]
    [InlineData("CN=a + OU=x, O=b", "CN=a, OU=x + O=b")]
    [InlineData("CN=a + OU=x", "CN=a + OU=y")]
    [InlineData("CN=a + OU=x", "CN=a + OU=x + O=b")]
    [InlineData("CN=a\\+OU=x", "CN=a+OU=x")]
    public void DifferentName_IsNotEqual(string a, string b)
    {
        Assert.False(DistinguishedName.Equals(a, b));
        Assert.False(DistinguishedName.Equals(b, a));
    }

    [Fact]
    public void MultiValuedRdn_AsDotNetPrintsIt_EqualsItsWrittenForm_NotTwoRdns()
    {
        // DER of "CN=a + OU=x, O=b" (the string form lists RDNs from the last to the first, RFC 4514 2.1): the last RDN
        // is a SET of two attribute/value pairs.
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSetOf())
                Pair(writer, "2.5.4.10", "b");
            using (writer.PushSetOf())
            {
                Pair(writer, "2.5.4.3", "a");
                Pair(writer, "2.5.4.11", "x");
            }
        }
        var name = new System.Security.Cryptography.X509Certificates.X500DistinguishedName(writer.Encode()).Name;

        Assert.True(DistinguishedName.Equals(name, "CN=a + OU=x, O=b"), name);
        Assert.True(DistinguishedName.Equals(name, "OU=x+CN=a,O=b"), name);
        Assert.False(DistinguishedName.Equals(name, "CN=a, OU=x, O=b"), name);

        static void Pair(System.Formats.Asn1.AsnWriter w, string oid, string value)
        {
            using (w.PushSequence())
            {
                w.WriteObjectIdentifier(oid);
                w.WriteCharacterString(System.Formats.Asn1.UniversalTagNumber.UTF8String, value);
            }
        }
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
