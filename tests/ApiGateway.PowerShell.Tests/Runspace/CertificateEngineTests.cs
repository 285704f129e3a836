using System.Management.Automation;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Runspace;

/// <summary>
/// The certificate cmdlets in a real engine: what the pipeline binds (certificate objects, Cert: drive items, files,
/// path strings, output objects), parameter sets, ShouldProcess, and the error records a script sees.
/// </summary>
public sealed class CertificateEngineTests(ModuleFolderFixture module) : EngineTestBase(module)
{
    [Fact]
    public void AddGatewayCertificate_BindsAPipedX509Certificate2ToCertificate_AndMakesTheIdFromItsName()
    {
        Session.Set("piped", Client("CN=piped.contoso.com"));

        var added = Session.Ok("$piped | Add-GatewayCertificate -Context $context").Single();

        Assert.Equal("piped-contoso-com", added.Prop("CertificateId"));
        Assert.Equal(((System.Security.Cryptography.X509Certificates.X509Certificate2)Session.Get("piped")!).Thumbprint, added.Prop("Thumbprint"));
        Assert.Equal(true, added.Prop("HasPrivateKey"));
    }

    [Fact]
    public void AddGatewayCertificate_BindsACertDriveItem_ByValue_NotItsPSPath()
    {
        // What Get-Item Cert:\CurrentUser\My\<thumbprint> returns on Windows: the certificate with the provider's note
        // properties. The Certificate provider exists only on Windows, so the item is built as the provider builds it.
        Session.Set("certificate", Client("CN=store-item"));
        var added = Session.Ok("""
            $item = [psobject]::new($certificate)
            $item | Add-Member -NotePropertyName PSPath -NotePropertyValue ('Microsoft.PowerShell.Security\Certificate::CurrentUser\My\' + $certificate.Thumbprint)
            $item | Add-Member -NotePropertyName PSProvider -NotePropertyValue 'Certificate'
            $item | Add-Member -NotePropertyName PSIsContainer -NotePropertyValue $false
            $item | Add-Member -NotePropertyName PSChildName -NotePropertyValue $certificate.Thumbprint
            $item | Add-Member -NotePropertyName PSParentPath -NotePropertyValue 'Microsoft.PowerShell.Security\Certificate::CurrentUser\My'
            $item | Add-Member -NotePropertyName PSDrive -NotePropertyValue 'Cert'
            $item | Add-GatewayCertificate -Context $context
            """).Single();

        Assert.Equal("store-item", added.Prop("CertificateId"));
        Assert.Equal("Uploaded", added.Prop("Source")?.ToString());
    }

    [Fact]
    public void AddGatewayCertificate_BindsFilesFromGetChildItem_AndPathStrings()
    {
        WritePfx("batch-a", "batch");
        WritePfx("batch-b", "batch");
        WritePfx("by-string");

        var fromFiles = Session.Ok("Get-ChildItem -LiteralPath ./batch -Filter *.pfx | Add-GatewayCertificate -Context $context -PfxPassword $password");
        var fromString = Session.Ok("'./by-string.pfx' | Add-GatewayCertificate -Context $context -PfxPassword $password");

        Assert.Equal(["batch-a", "batch-b"], fromFiles.Select(o => (string)o.Prop("CertificateId")!).Order());
        Assert.Equal("by-string", fromString.Single().Prop("CertificateId"));
    }

    [Fact]
    public void AddGatewayCertificate_TwoSources_IsAnAmbiguousParameterSet()
    {
        WritePfx("both");
        Session.Set("certificate", Client("CN=both"));
        var before = ConfigurationHash();

        var error = Session.Run("Add-GatewayCertificate -Context $context -PfxFilePath ./both.pfx -Certificate $certificate").SingleError();

        Assert.StartsWith("AmbiguousParameterSet,", error.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationHash());
    }

    [Fact]
    public void AddGatewayCertificate_PasswordAsPlainString_IsRefusedByBinding()
    {
        WritePfx("plain");

        var error = Session.Run("Add-GatewayCertificate -Context $context -PfxFilePath ./plain.pfx -PfxPassword 'Example-Pass-1'").SingleError();

        Assert.IsType<ParameterBindingException>(error.Exception, exactMatch: false);
        Assert.Equal("PfxPassword", ((ParameterBindingException)error.Exception).ParameterName);
        Assert.Empty(Session.Ok("Get-GatewayCertificate -Context $context"));
    }

    [Fact]
    public void AddGatewayCertificate_WrongPassword_IsANonTerminatingSecurityError_AndThePipelineGoesOn()
    {
        WritePfx("first");
        WritePfx("second");
        var result = Session.Run("""
            $wrong = ConvertTo-SecureString 'nope' -AsPlainText -Force
            './first.pfx' | Add-GatewayCertificate -Context $context -PfxPassword $wrong
            'after the error'
            """);

        var error = result.SingleError();
        Assert.Equal("AddGatewayCertificateWrongPassword,ApiGateway.PowerShell.Commands.Certificates.AddGatewayCertificateCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.SecurityError, error.CategoryInfo.Category);
        Assert.Equal("after the error", result.Output.Single().BaseObject);
    }

    [Fact]
    public void AddGatewayCertificate_ErrorActionStop_MakesTheErrorTerminating()
    {
        Upload("taken");
        Session.Set("again", Client("CN=taken"));

        var result = Session.Run("try { Add-GatewayCertificate -Context $context -CertificateId taken -Certificate $again -ErrorAction Stop; 'not reached' } catch { $_.FullyQualifiedErrorId; $_.CategoryInfo.Category.ToString(); $_.TargetObject }");

        Assert.Equal("AddGatewayCertificateExists,ApiGateway.PowerShell.Commands.Certificates.AddGatewayCertificateCommand", result.Output[0].BaseObject);
        Assert.Equal("ResourceExists", result.Output[1].BaseObject);
        Assert.Equal("taken", result.Output[2].BaseObject);
    }

    [Fact]
    public void AddGatewayCaCertificate_BindsAPipedX509Certificate2_AndAFileFromGetItem()
    {
        using var intermediate = ApiGateway.Core.Tests.Support.TestCertificates.CreateCa("CN=Issuing CA");
        Session.Set("intermediate", intermediate);
        File.WriteAllText(Session.File("root.cer"), Ca.ExportCertificatePem());

        var piped = Session.Run("$intermediate | Add-GatewayCaCertificate -Context $context -StoreName CertificateAuthority");
        var fromFile = Session.Ok("Get-Item ./root.cer | Add-GatewayCaCertificate -Context $context -CertificateId clients-root");

        piped.ThrowIfFailed();
        Assert.Equal("issuing-ca", piped.Output.Single().Prop("CertificateId"));
        Assert.Equal("CertificateAuthority", piped.Output.Single().Prop("StoreName")?.ToString());
        Assert.Contains(piped.Warnings, w => w.Contains("private key", StringComparison.Ordinal));
        Assert.Equal("clients-root", fromFile.Single().Prop("CertificateId"));
        Assert.Equal("Root", fromFile.Single().Prop("StoreName")?.ToString());
    }

    [Fact]
    public void SetGatewayCertificate_TakesAPipedCertificateObject_AndTheIdByPropertyNameFromGet()
    {
        Upload("backend-2025");
        Session.Set("renewed", Client("CN=backend-2025 renewed"));
        WritePfx("renewed-file");

        var byValue = Session.Ok("$renewed | Set-GatewayCertificate -Context $context -CertificateId backend-2025 -PassThru").Single();
        var byName = Session.Ok("Get-GatewayCertificate -Context $context -CertificateId backend-2025 | Set-GatewayCertificate -PfxFilePath ./renewed-file.pfx -PfxPassword $password -PassThru").Single();

        Assert.Equal("CN=backend-2025 renewed", byValue.Prop("Subject"));
        Assert.Equal("CN=renewed-file", byName.Prop("Subject"));
        Assert.Equal("backend-2025", byName.Prop("CertificateId"));
    }

    [Fact]
    public void GetGatewayCertificate_PipedIntoRemove_RemovesEach_WithForce()
    {
        Upload("old-1");
        Upload("old-2");
        Upload("keep");

        var removed = Session.Ok("Get-GatewayCertificate -Context $context -CertificateId old-* | Remove-GatewayCertificate -Force -PassThru");

        Assert.Equal(["old-1", "old-2"], removed.Select(o => (string)o.Prop("CertificateId")!).Order());
        Assert.Equal(["keep"], Session.Ok("Get-GatewayCertificate -Context $context").Select(o => (string)o.Prop("CertificateId")!));
    }

    [Fact]
    public void RemoveGatewayCertificate_ForceWhatIf_RemovesNothing_AndWritesNothing()
    {
        Upload("old-1");
        var before = ConfigurationHash();
        var storeBefore = Directory.GetFiles(Session.File("gateway.store"), "*", SearchOption.AllDirectories).Order().ToList();

        var result = Session.Run("Get-GatewayCertificate -Context $context | Remove-GatewayCertificate -Force -WhatIf");

        result.ThrowIfFailed();
        Assert.Empty(result.Output);
        Assert.Contains("What if: Performing the operation \"Remove certificate\"", Session.Host.Text, StringComparison.Ordinal);
        Assert.Equal(before, ConfigurationHash());
        Assert.Equal(storeBefore, Directory.GetFiles(Session.File("gateway.store"), "*", SearchOption.AllDirectories).Order().ToList());
        Assert.Single(Session.Ok("Get-GatewayCertificate -Context $context"));
    }

    [Fact]
    public void RemoveGatewayCertificate_WithoutForce_AsksFirst_NoKeepsIt_YesRemovesIt()
    {
        Upload("asked");

        Session.Host.Answer("No");
        var declined = Session.Run("Remove-GatewayCertificate -Context $context -CertificateId asked");
        Session.Host.Answer("Yes");
        var accepted = Session.Run("Remove-GatewayCertificate -Context $context -CertificateId asked -PassThru");

        declined.ThrowIfFailed();
        accepted.ThrowIfFailed();
        Assert.Equal(2, Session.Host.Prompts.Count);
        Assert.Contains("asked", Session.Host.Prompts[0], StringComparison.Ordinal);
        Assert.Empty(declined.Output);
        Assert.Equal("asked", accepted.Output.Single().Prop("CertificateId"));
        Assert.Empty(Session.Ok("Get-GatewayCertificate -Context $context"));
    }

    [Fact]
    public void RemoveGatewayCertificate_ForceWithExplicitConfirm_StillAsks()
    {
        Upload("confirm-me");
        Session.Host.Answer("No");

        Session.Ok("Remove-GatewayCertificate -Context $context -CertificateId confirm-me -Force -Confirm");

        Assert.Single(Session.Host.Prompts);
        Assert.Single(Session.Ok("Get-GatewayCertificate -Context $context"));
    }

    [Fact]
    public void RemoveGatewayCertificate_InUse_WritesANonTerminatingError_NamingTheUser_AndRemovesTheRest()
    {
        Upload("server-tls");
        Upload("unused-1");
        Upload("unused-2");
        Session.Ok("Set-GatewayHostname -Context $context -HostName localhost -Port 8443 -CertificateId server-tls");

        var result = Session.Run("Get-GatewayCertificate -Context $context | Sort-Object CertificateId -Descending | Remove-GatewayCertificate -Force -PassThru");

        var error = result.SingleError();
        Assert.Equal("RemoveGatewayCertificateInUse,ApiGateway.PowerShell.Commands.Certificates.RemoveGatewayCertificateCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceBusy, error.CategoryInfo.Category);
        Assert.Equal("server-tls", error.TargetObject);
        Assert.Contains("localhost", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(["unused-2", "unused-1"], result.Output.Select(o => (string)o.Prop("CertificateId")!));
        Assert.Equal(["server-tls"], Session.Ok("Get-GatewayCertificate -Context $context").Select(o => (string)o.Prop("CertificateId")!));
    }

    [Fact]
    public void GetGatewayCertificateReference_NamesWhatUsesACertificate_AndPipesIntoTheCredentialCmdlet()
    {
        Upload("backend-2025");
        Upload("backend-2026");
        Session.Ok("""
            New-GatewayApi -Context $context -ApiId orders -Path orders -ServiceUrl https://orders.internal/ | Out-Null
            Set-ApiGatewayCredential -Context $context -ApiId orders -CertificateId backend-2025 | Out-Null
            """);

        var references = Session.Ok("Get-GatewayCertificateReference -Context $context -CertificateId backend-2025");
        Session.Ok("""
            Get-GatewayCertificateReference -Context $context -CertificateId backend-2025 |
                Where-Object Usage -eq GatewayCredential |
                ForEach-Object { Set-ApiGatewayCredential -Context $context -ApiId $_.ReferrerId -CertificateId backend-2026 } | Out-Null
            """);

        var reference = references.Single();
        Assert.Equal("orders", reference.Prop("ReferrerId"));
        Assert.Equal("GatewayCredential", reference.Prop("Usage")?.ToString());
        Assert.Empty(Session.Ok("Get-GatewayCertificateReference -Context $context -CertificateId backend-2025"));
    }

    [Fact]
    public void GetGatewayCertificate_ExpiringInDays_FindsOnlyThoseThatExpireSoon()
    {
        Session.Set("soon", Client("CN=soon", DateTimeOffset.UtcNow.AddDays(10)));
        Session.Set("later", Client("CN=later", DateTimeOffset.UtcNow.AddDays(200)));
        Session.Ok("$soon, $later | Add-GatewayCertificate -Context $context | Out-Null");

        var expiring = Session.Ok("Get-GatewayCertificate -Context $context -ExpiringInDays 30");

        Assert.Equal("soon", expiring.Single().Prop("CertificateId"));
    }
}
