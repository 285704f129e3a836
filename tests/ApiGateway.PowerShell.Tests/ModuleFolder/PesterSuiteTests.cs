using System.Text.RegularExpressions;
using ApiGateway.ModuleTools;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.ModuleFolder;

/// <summary>
/// The shape of the Pester suite that build.ps1 runs in a child pwsh (whether it passes is that run's job): every
/// cmdlet has a Describe, every file imports the built module through common.ps1, and no key material is committed.
/// </summary>
public sealed partial class PesterSuiteTests
{
    private static readonly string Folder = BuildInfo.InRepo("tests", "Pester");

    [Fact]
    public void EveryCmdlet_HasADescribeBlock()
    {
        var describes = Directory.GetFiles(Folder, "*.Tests.ps1")
            .SelectMany(f => DescribeLine().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToList();

        foreach (var cmdlet in CmdletCatalog.Describe(BuildInfo.ModuleAssembly))
            Assert.True(describes.Any(d => Regex.IsMatch(d, $@"\b{Regex.Escape(cmdlet.Name)}\b")), $"no Describe names {cmdlet.Name}");
    }

    [Fact]
    public void Suite_ImportsTheBuiltModuleAndCommitsNoKeyMaterial()
    {
        Assert.True(File.Exists(Path.Combine(Folder, "common.ps1")));
        Assert.Contains("out", File.ReadAllText(Path.Combine(Folder, "common.ps1")), StringComparison.Ordinal);
        foreach (var file in Directory.GetFiles(Folder, "*.Tests.ps1"))
            Assert.Contains("common.ps1", File.ReadAllText(file), StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(Folder, "*.*", SearchOption.AllDirectories), f => f.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".key", StringComparison.OrdinalIgnoreCase));
    }

    [GeneratedRegex(@"(?m)^\s*Describe\s+['""]([^'""]+)['""]")]
    private static partial Regex DescribeLine();
}
