using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Configuration;

/// <summary>
/// The per-API forwarding setting (model, file, operations) and the header values against RFC 9440 / RFC 8941 and
/// the X-ARR-ClientCert convention.
/// </summary>
public sealed class ClientCertificateForwardingTests : ServiceTestBase
{
    private JsonElement ApiInFile(string id)
    {
        using var file = JsonDocument.Parse(ConfigurationBytes());
        return file.RootElement.GetProperty("apis").GetProperty(id).Clone();
    }

    [Fact]
    public void NewApi_ForwardsNothingByDefault_AndTheFileLeavesTheSettingOut()
    {
        var api = Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", ServiceUrl = "https://a.example.com/" });

        Assert.Equal(ClientCertificateForwarding.None, api.ForwardClientCertificate);
        Assert.False(ApiInFile("a").TryGetProperty("forwardClientCertificate", out _));
    }

    [Fact]
    public void Both_AreWrittenAsOneCommaSeparatedValue_AndReadBack()
    {
        Service.NewApi(new ApiDefinition
        {
            ApiId = "a", Path = "a", ServiceUrl = "https://a.example.com/",
            ForwardClientCertificate = ClientCertificateForwarding.XArrClientCert | ClientCertificateForwarding.ClientCert,
        });

        Assert.Equal("xArrClientCert, clientCert", ApiInFile("a").GetProperty("forwardClientCertificate").GetString());
        var read = ConfigurationSerializer.Deserialize(ConfigurationBytes(), "gateway.json");
        Assert.Equal(ClientCertificateForwarding.XArrClientCert | ClientCertificateForwarding.ClientCert, read.Apis["a"].ForwardClientCertificate);
        Assert.Equal(ConfigurationBytes(), ConfigurationSerializer.Serialize(read));
    }

    [Fact]
    public void SetApi_ChangesOnlyWhenGiven()
    {
        Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", ServiceUrl = "https://a.example.com/", ForwardClientCertificate = ClientCertificateForwarding.ClientCert });

        var untouched = Service.SetApi("a", new ApiDefinition { DisplayName = "Renamed" });
        var off = Service.SetApi("a", new ApiDefinition { ForwardClientCertificate = ClientCertificateForwarding.None });

        Assert.Equal(ClientCertificateForwarding.ClientCert, untouched.ForwardClientCertificate);
        Assert.Equal(ClientCertificateForwarding.None, off.ForwardClientCertificate);
        Assert.Equal(ClientCertificateForwarding.None, Service.GetApis("a").Single().ForwardClientCertificate);
    }

    [Fact]
    public void UnknownFlag_IsRefused_AndThePreviousConfigurationStays()
    {
        Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", ServiceUrl = "https://a.example.com/" });
        var before = ConfigurationBytes();

        var error = Fails(() => Service.SetApi("a", new ApiDefinition { ForwardClientCertificate = (ClientCertificateForwarding)8 }));

        Assert.Equal("ApiInvalidClientCertificateForwarding", error.ErrorId);
        Assert.Contains("XArrClientCert", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationBytes());
    }

    [Fact]
    public void AFileWithAnUnknownForwardingValue_IsUnreadable_NamingTheProperty()
    {
        Service.NewApi(new ApiDefinition { ApiId = "a", Path = "a", ServiceUrl = "https://a.example.com/", ForwardClientCertificate = ClientCertificateForwarding.ClientCert });
        var text = Encoding.UTF8.GetString(ConfigurationBytes()).Replace("\"clientCert\"", "\"clientCertificate\"", StringComparison.Ordinal);

        var error = Assert.Throws<GatewayException>(() => ConfigurationSerializer.Deserialize(Encoding.UTF8.GetBytes(text), "gateway.json"));

        Assert.Contains("forwardClientCertificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HeaderValues_FollowTheirSpecifications()
    {
        byte[] der = [0x30, 0x82, 0x01, 0xFF, 0xFE];

        // X-ARR-ClientCert: plain base64, no delimiters.
        Assert.Equal("MIIB//4=", ClientCertificateHeaders.XArrValue(der));
        // RFC 8941 section 3.3.5: a byte sequence is base64 (RFC 4648 section 4, padded) between colons.
        Assert.Equal(":MIIB//4=:", ClientCertificateHeaders.ByteSequence(der));
        // RFC 8941 section 3.1: list members separated by a comma and optional white space; RFC 9440 section 2.3
        // sends no empty Client-Cert-Chain.
        Assert.Equal(":AQ==:, :AgM=:", ClientCertificateHeaders.ByteSequenceList([[1], [2, 3]]));
        Assert.Null(ClientCertificateHeaders.ByteSequenceList([]));
        Assert.Equal(["X-ARR-ClientCert", "Client-Cert", "Client-Cert-Chain"], ClientCertificateHeaders.All);
    }

    [Fact]
    public void ForwardedChain_IsIssuerFirst_WithoutLeafOrTrustAnchor_ButKeepsTheTopOfAPartialChain()
    {
        using var root = TestCertificates.CreateCa("CN=Root");
        using var issuing = TestCertificates.CreateIntermediate("CN=Issuing", root);
        using var leaf = TestCertificates.Create("CN=leaf", issuing, clientAuth: true);

        using var complete = new X509Chain();
        complete.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        complete.ChainPolicy.CustomTrustStore.Add(root);
        complete.ChainPolicy.ExtraStore.Add(issuing);
        complete.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(complete.Build(leaf));
        var forwarded = ClientCertificateHeaders.ForwardedChain(complete);
        Assert.Equal([issuing.RawData], forwarded);

        using var partial = new X509Chain();
        partial.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        partial.ChainPolicy.ExtraStore.Add(issuing);
        partial.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.False(partial.Build(leaf));
        Assert.Equal([issuing.RawData], ClientCertificateHeaders.ForwardedChain(partial));

        using var alone = new X509Chain();
        alone.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        alone.ChainPolicy.CustomTrustStore.Add(root);
        alone.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var direct = TestCertificates.Create("CN=direct", root, clientAuth: true);
        Assert.True(alone.Build(direct));
        Assert.Empty(ClientCertificateHeaders.ForwardedChain(alone));
    }
}
