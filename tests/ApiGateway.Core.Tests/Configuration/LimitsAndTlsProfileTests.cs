using System.Text;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Configuration;

public sealed class LimitsAndTlsProfileTests : ServiceTestBase
{
    [Fact]
    public void NoLimitsSet_TheFileHasNoLimitsProperty_AndEveryLimitIsItsDefault()
    {
        var text = Encoding.UTF8.GetString(ConfigurationBytes());

        Assert.DoesNotContain("limits", text, StringComparison.Ordinal);
        Assert.All(Service.GetLimits(), l => Assert.True(l.IsDefault && l.Value == l.Default, l.Name));
        Assert.Equal(15, Service.GetLimits("RequestHeadersTimeoutSeconds").Single().Value);
    }

    [Fact]
    public void SetLimits_WritesOnlyWhatWasSet_InCamelCase_AndReadsBack()
    {
        Service.SetLimits(new Dictionary<string, double> { ["maxrequestbodysize"] = 1_000_000, ["KeepAliveTimeoutSeconds"] = 30.5 });

        var text = Encoding.UTF8.GetString(ConfigurationBytes());
        Assert.Contains("\"limits\": {\n      \"keepAliveTimeoutSeconds\": 30.5,\n      \"maxRequestBodySize\": 1000000\n    }", text, StringComparison.Ordinal);
        var limits = Service.Read().Service.Limits!;
        Assert.Equal(1_000_000, limits.MaxRequestBodySize);
        Assert.Equal(30.5, limits.KeepAliveTimeoutSeconds);
        Assert.Null(limits.MaxConcurrentConnections);
        Assert.Equal(10_000, limits.Resolve().MaxConcurrentConnections);
    }

    [Fact]
    public void SetLimits_RestartLimitChanged_WarnsAndNamesIt_OthersDoNot()
    {
        var live = Service.SetLimits(new Dictionary<string, double> { ["RequestHeadersTimeoutSeconds"] = 5 });
        var restart = Service.SetLimits(new Dictionary<string, double> { ["TlsHandshakeTimeoutSeconds"] = 5, ["MaxConcurrentConnections"] = 10_000 });

        Assert.Empty(live.Warnings);
        // MaxConcurrentConnections is set to its default value: nothing changes for it, so only the handshake timeout is named.
        var warning = Assert.Single(restart.Warnings);
        Assert.Contains("TlsHandshakeTimeoutSeconds", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("MaxConcurrentConnections", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void SetLimits_Reset_RemovesTheLimitsPropertyWhenNoneIsLeft()
    {
        Service.SetLimits(new Dictionary<string, double> { ["MaxRequestHeaderCount"] = 50 });
        Service.SetLimits(new Dictionary<string, double>(), ["MaxRequestHeaderCount"]);

        Assert.Null(Service.Read().Service.Limits);
        Assert.DoesNotContain("limits", Encoding.UTF8.GetString(ConfigurationBytes()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RequestHeadersTimeoutSeconds", 0)]
    [InlineData("MaxConcurrentConnections", 1.5)]
    [InlineData("DataRateGracePeriodSeconds", 1)]
    [InlineData("MaxRequestBodySize", -1)]
    [InlineData("Http2MaxStreamsPerConnection", 1001)]
    public void SetLimits_OutOfRange_IsRefusedNamingTheLimitTheRangeAndTheFix(string name, double value)
    {
        var before = ConfigurationBytes();

        var ex = Fails(() => Service.SetLimits(new Dictionary<string, double> { [name] = value }));

        Assert.Equal("LimitOutOfRange", ex.ErrorId);
        Assert.Contains($"'{name}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("from ", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"Set-GatewayLimit -{name}", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationBytes());
    }

    [Fact]
    public void SetLimits_UnknownName_IsNotFoundAndListsTheLimits()
    {
        var ex = Fails(() => Service.SetLimits(new Dictionary<string, double> { ["MaxBananas"] = 1 }));

        Assert.Equal("LimitNotFound", ex.ErrorId);
        Assert.Contains("MaxRequestBodySize", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FileWithALimitOutOfRange_IsAValidationError()
    {
        var configuration = Service.Read() with { Service = Service.Read().Service with { Limits = new GatewayLimits { KeepAliveTimeoutSeconds = 0 } } };

        var error = Assert.Single(ConfigurationValidator.Validate(configuration));

        Assert.Contains("'KeepAliveTimeoutSeconds' is 0; it must be from 1 to 3600 s (default 120)", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"maxConcurrentConnections\": \"many\"}", "the value is not a whole number")]
    [InlineData("{\"keepAliveTimeoutSeconds\": true}", "the value is not a number")]
    [InlineData("{\"maxBananas\": 1}", "unknown property 'maxBananas' in 'service.limits'")]
    public void FileWithAMistypedLimit_NamesThePlaceAndTheRule(string limits, string expected)
    {
        var json = $"{{\"schemaVersion\": 1, \"revision\": 1, \"service\": {{\"name\": \"x\", \"limits\": {limits}}}}}";

        var ex = Assert.Throws<GatewayException>(() => ConfigurationSerializer.Deserialize(Encoding.UTF8.GetBytes(json), "gateway.json"));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hostname_DefaultProfile_IsNotWritten_AndReadsAsIntermediate()
    {
        Upload("server");
        var hostname = Service.SetHostname(new HostnameDefinition { HostName = "api.contoso.com", CertificateId = "server" });

        Assert.Equal(TlsProfile.Intermediate, hostname.TlsProfile);
        Assert.DoesNotContain("tlsProfile", Encoding.UTF8.GetString(ConfigurationBytes()), StringComparison.Ordinal);
    }

    [Fact]
    public void Hostname_CipherSuites_ImplyCustom_AreCanonicalized_AndAnotherProfileDropsThem()
    {
        Upload("server");
        var custom = Service.SetHostname(new HostnameDefinition { HostName = "api.contoso.com", CertificateId = "server", CipherSuites = ["tls_aes_128_gcm_sha256", " TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 "] });
        var modern = Service.SetHostname(new HostnameDefinition { HostName = "api.contoso.com", TlsProfile = TlsProfile.Modern });

        Assert.Equal(TlsProfile.Custom, custom.TlsProfile);
        Assert.Equal(["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"], custom.CipherSuites);
        Assert.Equal(TlsProfile.Modern, modern.TlsProfile);
        Assert.Empty(modern.CipherSuites);
        Assert.Contains("\"tlsProfile\": \"modern\"", Encoding.UTF8.GetString(ConfigurationBytes()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ECDHE-RSA-AES128-GCM-SHA256")]
    [InlineData("TLS_NO_SUCH_SUITE")]
    [InlineData("")]
    public void Hostname_CipherSuiteThatIsNotIana_IsRefused(string suite)
    {
        Upload("server");

        var ex = Fails(() => Service.SetHostname(new HostnameDefinition { HostName = "api.contoso.com", CertificateId = "server", CipherSuites = [suite] }));

        Assert.Equal("HostnameInvalidCipherSuite", ex.ErrorId);
        Assert.Contains("IANA", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hostname_CustomWithoutSuites_OrSuitesWithAnotherProfile_AreRefused()
    {
        Upload("server");

        Assert.Equal("HostnameCipherSuiteRequired", Fails(() => Service.SetHostname(new HostnameDefinition { HostName = "a.contoso.com", CertificateId = "server", TlsProfile = TlsProfile.Custom })).ErrorId);
        Assert.Equal("HostnameInvalidTlsProfile", Fails(() => Service.SetHostname(new HostnameDefinition { HostName = "a.contoso.com", CertificateId = "server", TlsProfile = TlsProfile.Modern, CipherSuites = ["TLS_AES_128_GCM_SHA256"] })).ErrorId);
    }

    [Fact]
    public void FileWithSuitesOnAnIntermediateHostname_IsAValidationError()
    {
        Upload("server");
        Service.SetHostname(new HostnameDefinition { HostName = "api.contoso.com", CertificateId = "server" });
        var c = Service.Read();
        var broken = c with { Service = c.Service with { Hostnames = [c.Service.Hostnames[0] with { CipherSuites = ["TLS_AES_128_GCM_SHA256"] }] } };

        var error = Assert.Single(ConfigurationValidator.Validate(broken));

        Assert.Contains("lists cipher suites but its TLS profile is 'intermediate'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void IntermediateProfile_IsEcdheWithAeadOnly()
    {
        // The rule of Mozilla's intermediate profile without DHE: a one-line slip (a CBC or static-RSA suite) fails here.
        Assert.All(TlsProfiles.Intermediate, s =>
        {
            var name = s.ToString();
            Assert.True(name.Contains("_GCM_", StringComparison.Ordinal) || name.Contains("CHACHA20_POLY1305", StringComparison.Ordinal), name);
            Assert.True(TlsProfiles.Tls13.Contains(s) || name.StartsWith("TLS_ECDHE_", StringComparison.Ordinal), name);
        });
    }
}
