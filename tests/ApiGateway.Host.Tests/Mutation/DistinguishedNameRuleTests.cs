using ApiGateway.Host.Expressions;

namespace ApiGateway.Host.Tests.Mutation;

/// <summary>
/// The distinguished-name comparison that policy expressions (<c>Certificate.Issuer != "CN=..."</c>) and the
/// <c>subject</c>/<c>issuer-subject</c> identities use, rule by rule as docs/gateway.md ("Comparing distinguished
/// names") states it: attribute types by their RFC 4519 / X.520 names and OIDs without regard to case; values without
/// regard to case, with RFC 4514 section 2.4 escapes (<c>\,</c>, hex pairs) and quotes undone and white space around
/// the separators ignored; RDNs in order, a multi-valued RDN a set; text that is not a well-formed DN compared exactly.
/// Every case is checked both ways round, since the comparison is symmetric.
/// </summary>
public sealed class DistinguishedNameRuleTests
{
    private static void Same(string a, string b)
    {
        Assert.True(DistinguishedName.Equals(a, b), $"'{a}' = '{b}'");
        Assert.True(DistinguishedName.Equals(b, a), $"'{b}' = '{a}'");
    }

    private static void Different(string a, string b)
    {
        Assert.False(DistinguishedName.Equals(a, b), $"'{a}' <> '{b}'");
        Assert.False(DistinguishedName.Equals(b, a), $"'{b}' <> '{a}'");
    }

    // RFC 4519 section 2 (NAME and OID of each attribute type), PKCS #9 for emailAddress, RFC 4519 2.4/2.39 for
    // dc/uid; the short names are the ones .NET prints (S for st, E for emailAddress, G for givenName, T for title).
    // The last column is another attribute, which the name must not be taken for.
    [Theory]
    [InlineData("commonName", "CN", "OU")]
    [InlineData("2.5.4.3", "CN", "OU")]
    [InlineData("organizationName", "O", "OU")]
    [InlineData("2.5.4.10", "O", "OU")]
    [InlineData("organizationalUnitName", "OU", "O")]
    [InlineData("2.5.4.11", "OU", "O")]
    [InlineData("countryName", "C", "L")]
    [InlineData("2.5.4.6", "C", "L")]
    [InlineData("localityName", "L", "C")]
    [InlineData("2.5.4.7", "L", "C")]
    [InlineData("ST", "S", "L")]
    [InlineData("stateOrProvinceName", "S", "L")]
    [InlineData("2.5.4.8", "S", "L")]
    [InlineData("street", "STREET", "L")]
    [InlineData("streetAddress", "STREET", "L")]
    [InlineData("2.5.4.9", "STREET", "L")]
    [InlineData("emailAddress", "E", "CN")]
    [InlineData("email", "E", "CN")]
    [InlineData("1.2.840.113549.1.9.1", "E", "CN")]
    [InlineData("domainComponent", "DC", "CN")]
    [InlineData("0.9.2342.19200300.100.1.25", "DC", "CN")]
    [InlineData("userid", "UID", "CN")]
    [InlineData("0.9.2342.19200300.100.1.1", "UID", "CN")]
    [InlineData("serialNumber", "SERIALNUMBER", "CN")]
    [InlineData("2.5.4.5", "SERIALNUMBER", "CN")]
    [InlineData("surname", "SN", "G")]
    [InlineData("2.5.4.4", "SN", "G")]
    [InlineData("givenName", "G", "SN")]
    [InlineData("2.5.4.42", "G", "SN")]
    [InlineData("title", "T", "CN")]
    [InlineData("2.5.4.12", "T", "CN")]
    public void AttributeType_EveryNameAndOidOfAnAttribute_IsThatAttribute(string written, string shortName, string other)
    {
        Same($"{written}=Contoso", $"{shortName}=Contoso");
        Same($"{written.ToUpperInvariant()}=Contoso", $"{shortName.ToLowerInvariant()}=contoso");
        if (char.IsAsciiDigit(written[0]))
        {
            Same($"OID.{written}=Contoso", $"{shortName}=Contoso");
            Same($"oid.{written}=Contoso", $"{shortName}=Contoso");
        }
        // Inside a multi-valued RDN (the other comparison path) the type is the same attribute too.
        Same($"{written}=Contoso + CN=x, C=US", $"CN=x+{shortName}=Contoso,C=US");
        Different($"{written}=Contoso", $"{other}=Contoso");
        Different($"{written}=Contoso + CN=x", $"CN=x+{other}=Contoso");
    }

    // RFC 4514 section 2.4 (escaping when writing) and section 3 (pair = ESC ( ESC / special / hexpair )), and the
    // quoted form .NET prints for values with special characters (RFC 1779, which RFC 4514 section 3 lets a parser
    // accept): the escaped or quoted character is the character itself.
    [Theory]
    [InlineData(@"O=Contoso\, Inc.", @"O=""Contoso, Inc.""")]
    [InlineData(@"O=Contoso\2C Inc.", @"O=""Contoso, Inc.""")]
    [InlineData(@"O=Contoso\2c Inc.", @"O=Contoso\, Inc.")]
    [InlineData(@"CN=\4C", "CN=L")]
    [InlineData(@"CN=\4c", "CN=L")]
    [InlineData(@"CN=\6A\6b", "CN=jk")]
    [InlineData(@"CN=\39", "CN=9")]
    [InlineData(@"CN=\30x", "CN=0x")]
    [InlineData(@"CN=a\5Cb", @"CN=a\\b")]
    [InlineData(@"CN=a\2Bb", @"CN=a\+b")]
    [InlineData(@"CN=a\3Bb", @"CN=a\;b")]
    // A backslash before a character that does not start a hex pair escapes that one character, also at a value's end.
    [InlineData(@"CN=Room\4", "CN=room4")]
    [InlineData(@"CN=Room\4, O=Contoso", "CN=room4, O=Contoso")]
    [InlineData(@"CN=Room\4x", "CN=room4x")]
    // In quotes: a backslash escape, and "" for one quote (also first and last).
    [InlineData(@"CN=""\""hi\""""", @"CN=\""hi\""")]
    [InlineData(@"CN=""a\,b""", @"CN=a\,b")]
    [InlineData(@"O=""""""Contoso""""""", @"O=\""Contoso\""")]
    [InlineData(@"O=""Say """"hi""""""", @"O=Say \""hi\""")]
    [InlineData(@"O=""Contoso, Inc."" , C=US", @"O=Contoso\, Inc.,C=US")]
    [InlineData(@"O=""Contoso"";C=US", @"O=Contoso, C=US")]
    public void Value_EscapesAndQuotes_AreUndone(string a, string b) => Same(a, b);

    [Theory]
    // A hex pair is one character, not the two digits.
    [InlineData(@"CN=\4C", "CN=4C")]
    // Only inside quotes does "" stand for one quote.
    [InlineData(@"CN=a""""b", @"CN=a""b")]
    // An escaped separator is part of the value, not a separator.
    [InlineData(@"CN=a\, O=b", "CN=a, O=b")]
    [InlineData(@"O=""Contoso, Inc.""", "O=Contoso, Inc.")]
    public void Value_EscapedOrQuoted_IsNotTheUnescapedText(string a, string b) => Different(a, b);

    // docs/gateway.md: white space around '=' and the separators is ignored, types and values compare without regard
    // to case; white space inside a value is part of it.
    [Theory]
    [InlineData("CN = a , O = b", "CN=a,O=b")]
    [InlineData("  CN=a ;O=b  ", "CN=a, O=b")]
    [InlineData("CN = a + OU = x , O = b", "OU=x+CN=a,O=b")]
    [InlineData("cn=CONTOSO CA, o=CONTOSO", "CN=Contoso CA, O=Contoso")]
    [InlineData("CN=, O=b", "cn= ,o=B")]
    [InlineData("CN=", "cn=")]
    public void SpacesAndCase_AroundSeparators_DoNotCount(string a, string b) => Same(a, b);

    [Theory]
    [InlineData("CN=Contoso CA", "CN=ContosoCA")]
    [InlineData("CN=", "CN=a")]
    [InlineData("CN=a, O=b", "CN=a, O=")]
    public void SpacesAndCase_InsideAValue_Count(string a, string b) => Different(a, b);

    // RFC 4514 2.1/2.2: the RDNs are a sequence (order matters); the attributes of one RDN are a set.
    [Fact]
    public void RdnOrder_Counts_AttributeOrderInsideAMultiValuedRdn_DoesNot()
    {
        Different("CN=a, O=b, C=US", "CN=a, C=US, O=b");
        Same("CN=a + OU=x + O=y, C=US", "O=y+CN=a+OU=x, C=US");
        Different("CN=a + OU=x, O=y", "CN=a + O=y, OU=x");
        Different("CN=a + OU=x, C=US", "CN=a + OU=x");
    }

    // docs/gateway.md: "a string without '=', or one that is not a well-formed DN, is compared exactly". Each pair
    // is the same text but for case (or a trailing separator), which a lenient parse would take for the same name.
    [Theory]
    [InlineData("CN=a, O", "cn=A, o")] // an RDN without '='
    [InlineData("CN=a, O", "CN=a")]
    [InlineData("x, CN=a", "X, cn=A")] // ',' before the first '='
    [InlineData("x; CN=a", "X; cn=A")]
    [InlineData("x + CN=a", "X + cn=A")]
    [InlineData(@"""CN""=a", @"""cn""=A")] // a quote or backslash in a type
    [InlineData(@"C\N=a", @"c\n=A")]
    [InlineData("=a, CN=b", "=A, cn=B")] // an empty type
    [InlineData("CN=a, =b", "cn=A, =B")]
    [InlineData("CN=a,,O=b", "cn=A,,o=B")] // an empty RDN
    [InlineData(@"CN=""abc", @"cn=""ABC")] // an unterminated quote
    [InlineData(@"CN=""a""b", @"cn=""A""B")] // text after the closing quote
    [InlineData(@"CN=a\", @"cn=A\")] // a backslash that escapes nothing
    [InlineData(@"CN=a\", @"CN=a\\")]
    [InlineData(@"CN=a\, O=b\", @"CN=a\, O=b\5C")]
    [InlineData("CN=a,", "cn=A,")] // a separator after the last RDN
    [InlineData("CN=a,", "CN=a")]
    [InlineData("CN=a;", "CN=a")]
    [InlineData("CN=a + OU=x +", "CN=a + OU=x")]
    [InlineData("CN=a + OU=x", "CN=a + OU=x, O")] // one name multi-valued, the other malformed
    [InlineData("CN=a + OU=x, O", "cn=A + ou=X, o")]
    public void Malformed_IsComparedExactly(string a, string b)
    {
        Different(a, b);
        Same(a, a);
    }

    [Fact]
    public void NotADn_IsComparedExactly_WithoutParsing()
    {
        // The type's documentation: allocation-free unless a name has a multi-valued RDN. "trusted+issuer" is no DN
        // at all, so it is compared as text even though the other side has a '+'.
        Assert.False(DistinguishedName.Equals("trusted+issuer", "CN=trusted+issuer"));
        Assert.False(DistinguishedName.Equals("CN=a+OU=b", "a+b"));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            DistinguishedName.Equals("trusted+issuer", "CN=trusted+issuer");
            DistinguishedName.Equals("CN=a+OU=b", "a+b");
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
