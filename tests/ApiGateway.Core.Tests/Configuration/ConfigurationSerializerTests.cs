using System.Collections.Immutable;
using System.Text;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Tests.Configuration;

public class ConfigurationSerializerTests
{
    private static GatewayConfiguration Sample() => new()
    {
        Revision = 42,
        Service = new ServiceSettings
        {
            Name = "contoso",
            Hostnames = [new HostnameEntry { HostName = "api.contoso.com", Port = 8443, CertificateId = "server", NegotiateClientCertificate = true }],
        },
        Certificates = Ids.EmptyMap<CertificateEntry>()
            .Add("zeta", new CertificateEntry { Thumbprint = "AA", Subject = "CN=z", Issuer = "CN=ca", SerialNumber = "01", NotBefore = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), NotAfter = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), HasPrivateKey = true })
            .Add("Alpha", new CertificateEntry { Thumbprint = "BB", Subject = "CN=a", Issuer = "CN=ca", SerialNumber = "02", SubjectAlternativeNames = ["DNS:a.example.com"], Source = CertificateSource.LinkedFile, Path = "/etc/ssl/a.pem" }),
        Backends = Ids.EmptyMap<BackendEntry>().Add("orders", new BackendEntry
        {
            Url = "https://orders.internal/",
            Tls = new BackendTls { ValidateCertificateChain = false },
            Credentials = new BackendCredentials
            {
                CertificateIds = ["zeta"],
                Header = Ids.EmptyMap<ImmutableArray<string>>().Add("x-key", ["1", "2"]),
                Authorization = new BackendAuthorization { Scheme = "Bearer", ParameterSecret = "abc" },
            },
        }),
        Apis = Ids.EmptyMap<ApiEntry>().Add("orders", new ApiEntry
        {
            DisplayName = "Orders",
            Path = "orders",
            BackendId = "orders",
            Policy = "<policies>\n  <inbound>\n    <base />\n    <choose>\n      <when condition=\"@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)\">\n        <return-response><set-status code=\"403\" reason=\"Invalid client certificate\" /></return-response>\n      </when>\n    </choose>\n  </inbound>\n</policies>",
        }),
    };

    [Fact]
    public void RoundTrip_LoadThenSave_IsByteIdentical()
    {
        var first = ConfigurationSerializer.Serialize(Sample());
        var second = ConfigurationSerializer.Serialize(ConfigurationSerializer.Deserialize(first, "sample.json"));

        Assert.Equal(first, second);
    }

    [Fact]
    public void Output_IsIndentedWithLf_EndsWithNewline_AndKeepsPoliciesLegible()
    {
        var text = Encoding.UTF8.GetString(ConfigurationSerializer.Serialize(Sample()));

        Assert.DoesNotContain("\r", text, StringComparison.Ordinal);
        Assert.EndsWith("}\n", text, StringComparison.Ordinal);
        Assert.StartsWith("{\n  \"schemaVersion\": 1,\n  \"revision\": 42,\n  \"service\": {", text, StringComparison.Ordinal);
        // One JSON string per policy line, XML characters unescaped.
        Assert.Contains("        \"      <when condition=\\\"@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)\\\">\",\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u003C", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\\n", text, StringComparison.Ordinal);
        Assert.Contains("\"notAfter\": \"2026-01-01T00:00:00Z\"", text, StringComparison.Ordinal);
        Assert.Contains("\"source\": \"linkedFile\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Maps_AreWrittenSortedById_WithoutRegardToCase()
    {
        var text = Encoding.UTF8.GetString(ConfigurationSerializer.Serialize(Sample()));

        Assert.True(text.IndexOf("\"Alpha\"", StringComparison.Ordinal) < text.IndexOf("\"zeta\"", StringComparison.Ordinal));
    }

    [Fact]
    public void PropertyOrder_IsStable_WhateverOrderTheFileHad()
    {
        var shuffled = """
            {
              "apis": {},
              "service": { "hostnames": [], "name": "x" },
              "revision": 3,
              "schemaVersion": 1
            }
            """;

        var text = Encoding.UTF8.GetString(ConfigurationSerializer.Serialize(ConfigurationSerializer.Deserialize(Encoding.UTF8.GetBytes(shuffled), "x.json")));

        Assert.True(text.IndexOf("schemaVersion", StringComparison.Ordinal) < text.IndexOf("revision", StringComparison.Ordinal));
        Assert.True(text.IndexOf("revision", StringComparison.Ordinal) < text.IndexOf("service", StringComparison.Ordinal));
        Assert.True(text.IndexOf("\"name\"", StringComparison.Ordinal) < text.IndexOf("hostnames", StringComparison.Ordinal));
    }

    [Fact]
    public void Policy_MayBeWrittenByHandAsOneString()
    {
        var json = "{ \"schemaVersion\": 1, \"policy\": \"<policies>\\r\\n  <inbound />\\r\\n</policies>\" }";

        var configuration = ConfigurationSerializer.Deserialize(Encoding.UTF8.GetBytes(json), "x.json");

        Assert.Equal("<policies>\n  <inbound />\n</policies>", configuration.Policy);
    }

    // Found by the fuzzer: a line of the array holding a line break of its own read as one line, and was written back
    // as two, so a policy error moved from one line to another between a read and the next write.
    [Theory]
    [InlineData("a\\rb")]
    [InlineData("a\\r\\nb")]
    [InlineData("a\\u2028b")]
    public void Policy_ALineWithALineBreakOfItsOwn_ReadsAsTheLinesWrittenBack(string escaped)
    {
        var json = "{ \"schemaVersion\": 1, \"policy\": [\"<policies>\", \"" + escaped + "\", \"</policies>\"] }";

        var configuration = ConfigurationSerializer.Deserialize(Encoding.UTF8.GetBytes(json), "x.json");
        var again = ConfigurationSerializer.Deserialize(ConfigurationSerializer.Serialize(configuration), "x.json");

        Assert.Equal("<policies>\na\nb\n</policies>", configuration.Policy);
        Assert.Equal(configuration.Policy, again.Policy);
    }

    [Fact]
    public void Ids_CompareWithoutRegardToCase_AndADuplicateInOtherCaseIsAnError()
    {
        var configuration = ConfigurationSerializer.Deserialize(ConfigurationSerializer.Serialize(Sample()), "x.json");
        Assert.True(configuration.Certificates.ContainsKey("ALPHA"));

        var json = "{\n  \"backends\": {\n    \"orders\": { \"url\": \"https://a/\" },\n    \"Orders\": { \"url\": \"https://b/\" }\n  }\n}";
        var error = Assert.Throws<GatewayException>(() => ConfigurationSerializer.Deserialize(Encoding.UTF8.GetBytes(json), "x.json"));
        Assert.Contains("'Orders' appears twice", error.Message, StringComparison.Ordinal);
        Assert.Contains("line 4", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ \"schemaVersion\": 1, \"revison\": 2 }", "unknown property 'revison' in the configuration")]
    [InlineData("{ \"backends\": { \"b\": { \"url\": \"https://x/\", \"protocol\": \"ftp\" } } }", "in 'b' at protocol: the value is not one of 'http', 'soap'")]
    [InlineData("{ \"backends\": { \"b\": { \"title\": \"x\" } } }", "in 'b': a backend is missing the required 'url'")]
    [InlineData("{ \"service\": { \"hostnames\": [ { \"hostName\": \"h\", \"certificateId\": \"c\", \"port\": \"443\" } ] } }", "the value is not a whole number")]
    [InlineData("", "the file is empty")]
    [InlineData("[]", "expected '{'")]
    [InlineData("{ \"schemaVersion\": 1, // comment\n }", "line 1")]
    public void Unreadable_ExplainsWhatAndWhere_InTheFilesOwnTerms(string json, string expected)
    {
        var error = Assert.Throws<GatewayException>(() => ConfigurationSerializer.Deserialize(Encoding.UTF8.GetBytes(json), "/etc/apigw/gateway.json"));

        Assert.Equal("ConfigurationUnreadable", error.ErrorId);
        Assert.Contains("'/etc/apigw/gateway.json'", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ApiGateway.Core", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ByteOrderMark_IsAccepted()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("{ \"revision\": 5 }")).ToArray();

        Assert.Equal(5, ConfigurationSerializer.Deserialize(bytes, "x.json").Revision);
    }

    [Fact]
    public void NoKeyMaterial_IsEverPartOfTheModel()
    {
        var properties = typeof(CertificateEntry).GetProperties().Select(p => p.Name);

        Assert.DoesNotContain(properties, p => p.Contains("Key", StringComparison.Ordinal) && p is not "HasPrivateKey" and not "KeyPath");
        Assert.DoesNotContain(properties, p => p.Contains("Password", StringComparison.Ordinal) && p != "PasswordSecret");
    }
}

public class RevisionHeaderTests
{
    [Fact]
    public void WithRevision_GivesExactlyWhatAFullSerializationGives()
    {
        var before = new GatewayConfiguration { Revision = 99, Service = new ServiceSettings { Name = "x" } };
        var after = before with { Revision = 100, Backends = Ids.EmptyMap<BackendEntry>().Add("b", new BackendEntry { Url = "https://b/" }) };
        var candidate = ConfigurationSerializer.Serialize(after with { Revision = before.Revision });

        Assert.Equal(ConfigurationSerializer.Serialize(after), ConfigurationSerializer.WithRevision(candidate, before, after));
    }
}
