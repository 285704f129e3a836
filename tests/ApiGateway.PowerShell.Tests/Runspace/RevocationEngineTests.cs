using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Runspace;

/// <summary>Get-/Set-GatewayRevocation in a real engine: provider paths, what is kept, the errors scripts see, -WhatIf.</summary>
public sealed class RevocationEngineTests(ModuleFolderFixture module) : EngineTestBase(module)
{
    [Fact]
    public void Get_OnANewConfiguration_IsOnlineWithoutFolder()
    {
        var revocation = (GatewayRevocation)Session.Ok("Get-GatewayRevocation -Context $context").Single().BaseObject;

        Assert.Equal(RevocationMode.Online, revocation.Mode);
        Assert.Null(revocation.CrlFolder);
        Assert.Null(revocation.CrlFolderExists);
        Assert.Equal(ConfigurationPath, revocation.ConfigurationPath);
    }

    [Fact]
    public void Set_ResolvesTheFolderThroughTheProvider_AndKeepsWhatIsNotGiven()
    {
        Directory.CreateDirectory(Session.File("crls"));
        File.WriteAllText(Session.File("crls/ca.crl"), "placeholder");

        var set = (GatewayRevocation)Session.Ok("Set-GatewayRevocation -Context $context -Mode Offline -CrlFolder ./crls -PassThru").Single().BaseObject;
        var modeOnly = (GatewayRevocation)Session.Ok("$context | Set-GatewayRevocation -Mode Online -PassThru").Single().BaseObject;

        Assert.Equal(RevocationMode.Offline, set.Mode);
        Assert.Equal(Session.File("crls"), set.CrlFolder);
        Assert.True(set.CrlFolderExists);
        Assert.Equal(1, set.CrlFileCount);
        Assert.Equal(RevocationMode.Online, modeOnly.Mode);
        Assert.Equal(Session.File("crls"), modeOnly.CrlFolder);
        Assert.Contains("\"crlFolder\"", File.ReadAllText(ConfigurationPath), StringComparison.Ordinal);
    }

    [Fact]
    public void Set_OfflineWithoutFolder_IsRefused_AndTheFileIsUnchanged()
    {
        var before = ConfigurationHash();

        var result = Session.Run("Set-GatewayRevocation -Context $context -Mode Offline");

        var error = result.SingleError();
        Assert.Equal("SetGatewayRevocationCrlFolderRequired,ApiGateway.PowerShell.Commands.Revocation.SetGatewayRevocationCommand", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Contains("-CrlFolder <folder>", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationHash());
    }

    [Fact]
    public void Set_RemovingTheFolderOfOfflineMode_IsRefused_ButWithAnotherModeWorks()
    {
        Session.Ok("Set-GatewayRevocation -Context $context -Mode Offline -CrlFolder ./crls");

        var refused = Session.Run("Set-GatewayRevocation -Context $context -RemoveCrlFolder");
        var moved = (GatewayRevocation)Session.Ok("Set-GatewayRevocation -Context $context -Mode Online -RemoveCrlFolder -PassThru").Single().BaseObject;

        Assert.StartsWith("SetGatewayRevocationCrlFolderRequired,", refused.SingleError().FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Null(moved.CrlFolder);
        Assert.DoesNotContain("revocation", File.ReadAllText(ConfigurationPath), StringComparison.Ordinal); // the defaults are not written
    }

    [Fact]
    public void Set_AFileAsFolder_OrAMissingFolder_SaysSo()
    {
        File.WriteAllText(Session.File("ca.crl"), "x");

        var file = Session.Run("Set-GatewayRevocation -Context $context -CrlFolder ./ca.crl");
        var missing = Session.Run("Set-GatewayRevocation -Context $context -CrlFolder ./not-yet");
        var mode = Session.Run("Set-GatewayRevocation -Context $context -Mode Sometimes");

        Assert.StartsWith("SetGatewayRevocationCrlFolderInvalid,", file.SingleError().FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Empty(missing.AllErrors);
        Assert.Contains(missing.Warnings, w => w.Contains("does not exist yet", StringComparison.Ordinal));
        Assert.StartsWith("CannotConvertArgument", mode.SingleError().FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains("Online, Offline, NoCheck", mode.SingleError().Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Set_NoCheck_Warns_ThatRevocationIsOff()
    {
        var result = Session.Run("Set-GatewayRevocation -Context $context -Mode NoCheck");

        Assert.Empty(result.AllErrors);
        Assert.Contains(result.Warnings, w => w.Contains("without checking whether the certificate was revoked", StringComparison.Ordinal));
    }
}
