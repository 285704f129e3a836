using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Management;

/// <summary>GatewayService.Get/SetRevocation: what is written, what is refused, and that a refusal leaves the file as it was.</summary>
public sealed class RevocationOperationsTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly GatewayService _service;

    public RevocationOperationsTests()
    {
        _service = new GatewayService(_folder.File("gateway.json"));
        _service.Open("test");
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Set_WritesServiceRevocation_AndReadsBack()
    {
        var crls = Directory.CreateDirectory(_folder.File("crls")).FullName;

        var result = _service.SetRevocation(RevocationMode.Offline, crls + Path.DirectorySeparatorChar);

        Assert.Empty(result.Warnings);
        Assert.Equal(new RevocationSettings { Mode = RevocationMode.Offline, CrlFolder = crls }, _service.Read().Service.Revocation);
        Assert.Equal(RevocationMode.Offline, _service.GetRevocation().Mode);
        Assert.Equal(0, _service.GetRevocation().CrlFileCount);
        Assert.Contains("\"mode\": \"offline\"", File.ReadAllText(_folder.File("gateway.json")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("relative/crls", "CrlFolderInvalid")]
    [InlineData("", "CrlFolderInvalid")]
    public void Set_ARelativeFolder_IsRefused(string folder, string condition)
    {
        var ex = Assert.Throws<GatewayException>(() => _service.SetRevocation(null, folder));

        Assert.Equal(condition, ex.Condition);
        Assert.Null(_service.Read().Service.Revocation);
    }

    [Fact]
    public void Set_OfflineWithoutFolder_LeavesTheConfigurationAsItWas()
    {
        var before = File.ReadAllText(_folder.File("gateway.json"));

        var ex = Assert.Throws<GatewayException>(() => _service.SetRevocation(RevocationMode.Offline, null));

        Assert.Equal("CrlFolderRequired", ex.Condition);
        Assert.Equal(GatewayErrorCategory.InvalidArgument, ex.Category);
        Assert.Equal(before, File.ReadAllText(_folder.File("gateway.json")));
    }

    [Fact]
    public void Validator_RefusesOfflineWithoutFolder_AndRelativeFolders_InAHandEditedFile()
    {
        var offline = new GatewayConfiguration { Service = new ServiceSettings { Revocation = new RevocationSettings { Mode = RevocationMode.Offline } } };
        var relative = new GatewayConfiguration { Service = new ServiceSettings { Revocation = new RevocationSettings { CrlFolder = "crls" } } };

        Assert.Contains(ConfigurationValidator.Validate(offline), e => e.Contains("Offline", StringComparison.Ordinal));
        Assert.Contains(ConfigurationValidator.Validate(relative), e => e.Contains("must be an absolute path", StringComparison.Ordinal));
    }
}
