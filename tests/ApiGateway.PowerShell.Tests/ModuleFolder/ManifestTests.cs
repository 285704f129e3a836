using ApiGateway.ModuleTools;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.ModuleFolder;

public sealed class ManifestTests
{
    private static readonly ManifestFile Source = new(File.ReadAllText(BuildInfo.InRepo("ApiGateway.psd1")));

    [Fact]
    public void SourceManifest_ExportsExactlyTheCmdletClassesAndNothingElse()
    {
        var names = CmdletCatalog.Describe(BuildInfo.ModuleAssembly).Select(c => c.Name).ToList();

        var problems = ApiGateway.ModuleTools.Program.CheckManifest(Source, names, "ApiGateway.dll");

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        Assert.Equal(names.Order(), Source.Array("CmdletsToExport")!.Order());
        Assert.Equal(["ApiGateway.format.ps1xml"], Source.Array("FormatsToProcess"));
    }

    [Fact]
    public void SourceManifest_LeavesTheVersionToTheBuild()
    {
        Assert.Equal("0.0.0", Source.Scalar("ModuleVersion"));
        var built = Source.WithVersion(BuildInfo.VersionPrefix);
        Assert.Equal(BuildInfo.VersionPrefix, built.Scalar("ModuleVersion"));
        Assert.Equal(Source.Text.Length - "0.0.0".Length + BuildInfo.VersionPrefix.Length, built.Text.Length);
    }

    [Fact]
    public void CheckManifest_ReportsMissingExtraAndNonEmptyExports()
    {
        var manifest = new ManifestFile("""
            @{
                RootModule = 'ApiGateway.dll'
                ModuleVersion = '1.0.0'
                GUID = 'not-a-guid'
                PowerShellVersion = '7.4'
                CmdletsToExport = @('Get-A', 'Get-C')  # 'Get-B' is missing
                FunctionsToExport = '*'
                VariablesToExport = @()
                # AliasesToExport = @()
            }
            """);

        var problems = ApiGateway.ModuleTools.Program.CheckManifest(manifest, ["Get-A", "Get-B"], "ApiGateway.dll");

        Assert.Contains("CmdletsToExport does not list Get-B.", problems);
        Assert.Contains("CmdletsToExport lists Get-C, which ApiGateway.dll does not define.", problems);
        Assert.Contains(problems, p => p.StartsWith("FunctionsToExport", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("AliasesToExport", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("PowerShellVersion", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("CompatiblePSEditions", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("GUID", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.StartsWith("VariablesToExport", StringComparison.Ordinal));
        // What a repository shows: a package without them is incomplete.
        Assert.Contains("Description must be set (repositories show it).", problems);
        Assert.Contains("Author must be set (repositories show it).", problems);
        Assert.Contains("PrivateData.PSData.LicenseUri must be an absolute https URL.", problems);
        Assert.Contains("PrivateData.PSData.ProjectUri must be an absolute https URL.", problems);
        Assert.Contains(problems, p => p.StartsWith("PrivateData.PSData.Tags", StringComparison.Ordinal));
    }

    [Fact]
    public void ReleaseNotes_AreTheVersionsSectionOfTheChangelog_QuotedForPowerShell()
    {
        const string changelog = """
            # Changelog

            ## [0.2.0]

            - It's newer.

            ## [0.1.0] - 2026-01-01

            - First.
            """;

        Assert.Equal("- It's newer.", ManifestFile.ChangelogSection(changelog, "0.2.0"));
        Assert.Equal("- First.", ManifestFile.ChangelogSection(changelog, "0.1.0"));
        Assert.Null(ManifestFile.ChangelogSection(changelog, "0.3.0"));
        var built = Source.WithReleaseNotes("- It's newer.");
        Assert.Contains("ReleaseNotes = '- It''s newer.'", built.Text, StringComparison.Ordinal);
        // The repository's own changelog has the section of the version being built (the build fails without it).
        Assert.NotNull(ManifestFile.ChangelogSection(File.ReadAllText(BuildInfo.InRepo("CHANGELOG.md")), BuildInfo.VersionPrefix));
    }

    [Fact]
    public void WithVersion_RefusesSomethingThatIsNotAVersion()
    {
        Assert.Throws<ArgumentException>(() => Source.WithVersion("1.0-beta"));
    }
}
