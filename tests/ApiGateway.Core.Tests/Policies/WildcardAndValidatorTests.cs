using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Tests.Policies;

public class WildcardTests
{
    [Theory]
    [InlineData("backend-*", "Backend-2025", true)]
    [InlineData("backend-*", "server", false)]
    [InlineData("b?ck*", "back-end", true)]
    [InlineData("orders-[eu]*", "orders-us", true)]
    [InlineData("orders-[a-d]*", "orders-us", false)]
    [InlineData("a`*b", "a*b", true)]
    [InlineData("a`*b", "axb", false)]
    [InlineData("exact", "EXACT", true)]
    public void Matches_LikePowerShell(string pattern, string value, bool expected)
    {
        Assert.Equal(expected, new Wildcard(pattern).IsMatch(value));
    }

    [Theory]
    [InlineData("plain", false)]
    [InlineData("a*", true)]
    [InlineData("a?", true)]
    [InlineData("a[1]", true)]
    [InlineData("a`[1`]", false)]
    public void ContainsWildcard(string pattern, bool expected)
    {
        Assert.Equal(expected, Wildcard.ContainsWildcard(pattern));
    }
}

public class ValidatorTests
{
    [Fact]
    public void Validate_ReportsEveryProblemAtOnce()
    {
        var configuration = new GatewayConfiguration
        {
            Service = new ServiceSettings
            {
                Hostnames =
                [
                    new HostnameEntry { HostName = "localhost", Port = 0, CertificateId = "missing" },
                    new HostnameEntry { HostName = "LOCALHOST", CertificateId = "missing", RequireClientCertificate = true },
                ],
            },
            Backends = Ids.EmptyMap<BackendEntry>().Add("b", new BackendEntry { Url = "not-a-url" }),
            Apis = Ids.EmptyMap<ApiEntry>()
                .Add("a", new ApiEntry { DisplayName = "A", Path = "same", BackendId = "ghost" })
                .Add("c", new ApiEntry { DisplayName = "C", Path = "SAME", ServiceUrl = "https://c.example.com/", Policy = "<policies><inbound><nope /></inbound></policies>" }),
        };

        var errors = ConfigurationValidator.Validate(configuration);

        Assert.Contains("Hostname 'localhost' must have a port from 1 to 65535, not 0.", errors);
        Assert.Contains("Hostname 'localhost' uses certificate 'missing', which does not exist.", errors);
        Assert.Contains("Hostname 'LOCALHOST' is configured twice.", errors);
        Assert.Contains(errors, e => e.StartsWith("Hostname 'LOCALHOST' requires client certificates that chain to an uploaded CA certificate", StringComparison.Ordinal));
        Assert.Contains("Backend 'b' must have an absolute https or http URL, not 'not-a-url'.", errors);
        Assert.Contains("API 'a' uses backend 'ghost', which does not exist.", errors);
        Assert.Contains("API 'c' has the same path 'SAME' as API 'a'; paths must be unique.", errors);
        Assert.Contains(errors, e => e.StartsWith("The policy of API 'c', line 1, column 20: unknown policy element <nope>", StringComparison.Ordinal));
        Assert.Contains("Hostname 'LOCALHOST' uses certificate 'missing', which does not exist.", errors);
        Assert.Equal(9, errors.Count);
    }

    [Fact]
    public void Validate_ANewConfiguration_HasNoProblems()
    {
        Assert.Empty(ConfigurationValidator.Validate(new GatewayConfiguration()));
    }
}
