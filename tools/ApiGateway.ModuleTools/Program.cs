using System.Reflection;
using System.Xml;

namespace ApiGateway.ModuleTools;

/// <summary>
/// <code>
/// ApiGateway.ModuleTools help     --assembly ApiGateway.dll --sources module/help --output en-US/ApiGateway.dll-Help.xml
/// ApiGateway.ModuleTools manifest --assembly ApiGateway.dll --source ApiGateway.psd1 --version 0.1.0 --changelog CHANGELOG.md --output out/.../ApiGateway.psd1
/// ApiGateway.ModuleTools surface  --assembly ApiGateway.dll
/// </code>
/// Problems are printed as "error : ..." lines (MSBuild shows them as build errors) and the exit code is 1.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0)
            return Usage();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i + 1 < args.Length; i += 2)
            options[args[i]] = args[i + 1];
        try
        {
            var errors = args[0] switch
            {
                "help" => Help(Load(Require(options, "--assembly")), Require(options, "--sources"), Require(options, "--output")),
                "manifest" => Manifest(Load(Require(options, "--assembly")), Require(options, "--source"), Require(options, "--version"), Require(options, "--changelog"), Require(options, "--output")),
                "surface" => Surface(Load(Require(options, "--assembly"))),
                _ => null,
            };
            if (errors is null)
                return Usage();
            foreach (var error in errors)
                Console.Error.WriteLine("error : " + error);
            return errors.Count == 0 ? 0 : 1;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or InvalidDataException or BadImageFormatException or ReflectionTypeLoadException)
        {
            Console.Error.WriteLine("error : " + ex.Message);
            return 1;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: ApiGateway.ModuleTools help|manifest|surface --assembly <ApiGateway.dll> [options]");
        return 2;
    }

    private static string Require(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) ? value : throw new ArgumentException($"missing {name} <value>");

    // LoadFrom resolves ApiGateway.Core.dll from the same folder; System.Management.Automation is this tool's own (stub) copy.
    private static Assembly Load(string path) => Assembly.LoadFrom(Path.GetFullPath(path));

    /// <summary>Generates the MAML help; every cmdlet needs a source and every parameter a description.</summary>
    public static List<string> Help(Assembly assembly, string sourcesFolder, string output)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var errors = new List<string>();
        var pairs = Pair(CmdletCatalog.Describe(assembly), sourcesFolder, errors);
        if (errors.Count > 0)
            return errors;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        var settings = new XmlWriterSettings { Indent = true, IndentChars = "  ", Encoding = new System.Text.UTF8Encoding(false) };
        using (var writer = XmlWriter.Create(output, settings))
            MamlWriter.Write(pairs).Save(writer);
        Console.WriteLine($"Help for {pairs.Count} cmdlets -> {output}");
        return errors;
    }

    /// <summary>Each cmdlet with its parsed help source; problems (missing or extra sources, undocumented parameters) are added to <paramref name="errors"/>.</summary>
    public static List<(CmdletDescription Cmdlet, HelpDocument Help)> Pair(IReadOnlyList<CmdletDescription> cmdlets, string sourcesFolder, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(cmdlets);
        ArgumentNullException.ThrowIfNull(errors);
        var pairs = new List<(CmdletDescription, HelpDocument)>();
        var files = Directory.GetFiles(sourcesFolder, "*.md").ToDictionary(f => Path.GetFileNameWithoutExtension(f), StringComparer.OrdinalIgnoreCase);
        foreach (var cmdlet in cmdlets)
        {
            if (!files.Remove(cmdlet.Name, out var file))
            {
                errors.Add($"{cmdlet.Name} has no help source: add {Path.Combine(sourcesFolder, cmdlet.Name + ".md")}.");
                continue;
            }
            var help = HelpSource.Parse(File.ReadAllText(file), file, errors);
            errors.AddRange(MamlWriter.Check(cmdlet, help));
            pairs.Add((cmdlet, help));
        }
        foreach (var extra in files.Values)
            errors.Add($"{extra} documents a cmdlet the module does not have.");
        return pairs;
    }

    /// <summary>Writes the manifest with the version and its release notes filled in, after checking it against the assembly.</summary>
    public static List<string> Manifest(Assembly assembly, string source, string version, string changelog, string output)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var notes = ManifestFile.ChangelogSection(File.ReadAllText(changelog), version);
        if (notes is null)
            return [$"{changelog}: there is no '## [{version}]' section with the release notes of version {version}. Add it (the build copies it into the manifest's ReleaseNotes)."];
        var manifest = new ManifestFile(File.ReadAllText(source)).WithVersion(version).WithReleaseNotes(notes);
        var errors = CheckManifest(manifest, CmdletCatalog.Describe(assembly).Select(c => c.Name).ToList(), Path.GetFileName(assembly.Location));
        if (errors.Count > 0)
            return errors.Select(e => $"{source}: {e}").ToList();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, manifest.Text, new System.Text.UTF8Encoding(false));
        Console.WriteLine($"Manifest {version} -> {output}");
        return errors;
    }

    /// <summary>The rules the manifest must follow (the module's export contract).</summary>
    public static List<string> CheckManifest(ManifestFile manifest, IReadOnlyCollection<string> cmdletNames, string rootModule)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(cmdletNames);
        var errors = new List<string>();
        var exported = manifest.Array("CmdletsToExport");
        if (exported is null)
        {
            errors.Add("CmdletsToExport = @(...) is missing: list every cmdlet explicitly.");
        }
        else
        {
            foreach (var missing in cmdletNames.Except(exported, StringComparer.OrdinalIgnoreCase))
                errors.Add($"CmdletsToExport does not list {missing}.");
            foreach (var extra in exported.Except(cmdletNames, StringComparer.OrdinalIgnoreCase))
                errors.Add($"CmdletsToExport lists {extra}, which ApiGateway.dll does not define.");
            foreach (var twice in exported.GroupBy(e => e, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
                errors.Add($"CmdletsToExport lists {twice.Key} twice.");
        }
        foreach (var key in new[] { "FunctionsToExport", "VariablesToExport", "AliasesToExport" })
        {
            if (manifest.Array(key) is not { Count: 0 })
                errors.Add($"{key} must be @() (the module exports cmdlets only).");
        }
        if (!string.Equals(manifest.Scalar("RootModule"), rootModule, StringComparison.Ordinal))
            errors.Add($"RootModule must be '{rootModule}'.");
        if (manifest.Scalar("PowerShellVersion") != "7.6")
            errors.Add("PowerShellVersion must be '7.6'.");
        if (manifest.Array("CompatiblePSEditions") is not ["Core"])
            errors.Add("CompatiblePSEditions must be @('Core').");
        if (manifest.Array("FormatsToProcess") is not { Count: > 0 })
            errors.Add("FormatsToProcess must list the format file.");
        if (!Guid.TryParse(manifest.Scalar("GUID"), out _))
            errors.Add("GUID must be a fixed GUID.");
        // What a repository (PSResourceGet, the PowerShell Gallery) shows and searches: a package needs all of them.
        foreach (var key in new[] { "Description", "Author", "Copyright" })
        {
            if (string.IsNullOrWhiteSpace(manifest.Scalar(key)))
                errors.Add($"{key} must be set (repositories show it).");
        }
        foreach (var key in new[] { "LicenseUri", "ProjectUri" })
        {
            if (!Uri.TryCreate(manifest.Scalar(key), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
                errors.Add($"PrivateData.PSData.{key} must be an absolute https URL.");
        }
        if (manifest.Array("Tags") is not { Count: > 0 } tags || !tags.Contains("PSEdition_Core"))
            errors.Add("PrivateData.PSData.Tags must list the module's tags, PSEdition_Core among them.");
        return errors;
    }

    private static List<string> Surface(Assembly assembly)
    {
        Console.Write(CmdletCatalog.Surface(CmdletCatalog.Describe(assembly)));
        return [];
    }
}
