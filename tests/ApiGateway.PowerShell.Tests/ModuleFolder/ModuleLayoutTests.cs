using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.Loader;
using System.Xml.Linq;
using ApiGateway.ModuleTools;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.ModuleFolder;

/// <summary>
/// The importable module folder that `dotnet publish src/ApiGateway.PowerShell` assembles (out/ApiGateway/&lt;version&gt;/),
/// checked as pwsh would see it: manifest, binaries, format file, help, the host, and nothing that could clash with
/// pwsh's own assemblies.
/// </summary>
[Collection(ModuleFolderGroup.Name)]
public sealed class ModuleLayoutTests
{
    private readonly ModuleFolderFixture _module;

    public ModuleLayoutTests(ModuleFolderFixture module)
    {
        _module = module;
    }

    [Fact]
    public void Folder_IsNamedByTheVersionFromDirectoryBuildProps()
    {
        Assert.Equal(BuildInfo.VersionPrefix, new DirectoryInfo(_module.Directory).Name);
        Assert.Equal("ApiGateway", new DirectoryInfo(_module.Directory).Parent!.Name);
    }

    [Fact]
    public void Folder_HoldsManifestBinariesFormatHelpAndHost()
    {
        var root = Directory.GetFiles(_module.Directory).Select(Path.GetFileName).Order().ToList();

        Assert.Equal(["ApiGateway.Core.dll", "ApiGateway.dll", "ApiGateway.format.ps1xml", "ApiGateway.psd1", "CHANGELOG.md", "LICENSE"],
            root.Where(f => !f!.EndsWith(".pdb", StringComparison.Ordinal)).ToList());
        Assert.True(File.Exists(_module.File("en-US", "ApiGateway.dll-Help.xml")));
        Assert.Equal(File.ReadAllText(BuildInfo.InRepo("module", "en-US", "about_ApiGateway.help.txt")), File.ReadAllText(_module.File("en-US", "about_ApiGateway.help.txt")));
        Assert.Equal(File.ReadAllText(BuildInfo.InRepo("deploy", "systemd", "apigateway@.service")), File.ReadAllText(_module.File("systemd", "apigateway@.service")));
        // One portable host, run as `dotnet ApiGateway.Host.dll`: no native apphost of the build machine.
        Assert.False(File.Exists(_module.File("host", "ApiGateway.Host")) || File.Exists(_module.File("host", "ApiGateway.Host.exe")));
        Assert.True(File.Exists(_module.File("host", "ApiGateway.Host.dll")));
        Assert.True(File.Exists(_module.File("host", "ApiGateway.Host.runtimeconfig.json")));
        Assert.Equal(File.ReadAllText(BuildInfo.InRepo("module", "ApiGateway.format.ps1xml")), File.ReadAllText(_module.File("ApiGateway.format.ps1xml")));
    }

    [Fact]
    public void Root_HoldsOnlyOurOwnAssemblies_NothingThatCouldClashWithPwsh()
    {
        // The rule (docs/cmdlets.md): only ApiGateway*.dll load into pwsh; everything else stays in host/ (its own process).
        Assert.All(Directory.GetFiles(_module.Directory, "*.dll"), f => Assert.StartsWith("ApiGateway", Path.GetFileName(f), StringComparison.Ordinal));
        Assert.False(File.Exists(_module.File("System.Management.Automation.dll")));

        // And they reference nothing outside the shared framework but System.Management.Automation (pwsh's own) and each other.
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        foreach (var dll in Directory.GetFiles(_module.Directory, "*.dll"))
        {
            foreach (var reference in References(dll))
            {
                var allowed = reference == "System.Management.Automation"
                    || File.Exists(Path.Combine(_module.Directory, reference + ".dll"))
                    || File.Exists(Path.Combine(framework, reference + ".dll"))
                    || reference == "netstandard";
                Assert.True(allowed, $"{Path.GetFileName(dll)} references {reference}, which pwsh would have to load from the module folder.");
            }
        }
    }

    [Fact]
    public void Manifest_HasTheVersionAndExportsExactlyTheCmdletsOfTheBuiltAssembly()
    {
        var manifest = new ManifestFile(File.ReadAllText(_module.File("ApiGateway.psd1")));
        var context = new AssemblyLoadContext("module-under-test", isCollectible: true);
        context.Resolving += (alc, name) => File.Exists(_module.File(name.Name + ".dll")) ? alc.LoadFromAssemblyPath(_module.File(name.Name + ".dll")) : null;
        try
        {
            var built = context.LoadFromAssemblyPath(_module.File("ApiGateway.dll"));
            var names = CmdletCatalog.Describe(built).Select(c => c.Name).ToList();

            Assert.Equal(BuildInfo.VersionPrefix, manifest.Scalar("ModuleVersion"));
            Assert.Equal(names.Order(), manifest.Array("CmdletsToExport")!.Order());
            Assert.Empty(ApiGateway.ModuleTools.Program.CheckManifest(manifest, names, "ApiGateway.dll"));
            Assert.Equal(CmdletCatalog.Describe(BuildInfo.ModuleAssembly).Select(c => c.Name), names);
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void Help_InTheFolderIsCompleteMaml()
    {
        HelpTests.AssertCompleteMaml(XDocument.Load(_module.File("en-US", "ApiGateway.dll-Help.xml")));
    }

    private static List<string> References(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        return reader.AssemblyReferences.Select(h => reader.GetString(reader.GetAssemblyReference(h).Name)).ToList();
    }
}
