using System.Xml.Linq;
using ApiGateway.ModuleTools;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.ModuleFolder;

/// <summary>
/// Get-Help works for every cmdlet: module/help/&lt;Verb-Noun&gt;.md holds the prose (synopsis, description,
/// examples, every parameter), the build generates en-US/ApiGateway.dll-Help.xml (MAML) from it and the cmdlet
/// metadata. Checked here on the sources, on an in-memory generation, and on the file in the built module folder.
/// </summary>
public sealed class HelpTests
{
    private static readonly IReadOnlyList<CmdletDescription> Cmdlets = CmdletCatalog.Describe(BuildInfo.ModuleAssembly);
    private static readonly string Sources = BuildInfo.InRepo("module", "help");

    private static List<(CmdletDescription Cmdlet, HelpDocument Help)> Pairs(out List<string> errors)
    {
        errors = [];
        return ApiGateway.ModuleTools.Program.Pair(Cmdlets, Sources, errors);
    }

    [Fact]
    public void EveryCmdlet_HasAHelpSourceThatDocumentsEveryParameter()
    {
        var pairs = Pairs(out var errors);

        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors));
        Assert.Equal(Cmdlets.Count, pairs.Count);
        foreach (var (cmdlet, help) in pairs)
        {
            Assert.False(string.IsNullOrWhiteSpace(help.Synopsis), cmdlet.Name);
            Assert.NotEmpty(help.Description);
            Assert.NotEmpty(help.Examples);
            Assert.All(help.Examples, e => Assert.False(string.IsNullOrWhiteSpace(e.Code), cmdlet.Name));
            Assert.All(cmdlet.Parameters, p => Assert.True(help.Parameters.ContainsKey(p.Name), $"{cmdlet.Name} -{p.Name}"));
        }
    }

    [Fact]
    public void GeneratedMaml_IsWellFormedAndHasEverythingGetHelpShows()
    {
        var pairs = Pairs(out _);
        var text = MamlWriter.Write(pairs).ToString();

        AssertCompleteMaml(XDocument.Parse(text));
    }

    [Fact]
    public void ParametersList_RequiredOnlyWhenRequiredInEverySet_WithDefaultsAndASyntaxPerSet()
    {
        var pairs = Pairs(out _);
        var command = Command(MamlWriter.Write(pairs), "Remove-GatewayCertificate");
        var c = MamlWriter.Command;
        var m = MamlWriter.Maml;

        Assert.Equal(2, command.Element(c + "syntax")!.Elements(c + "syntaxItem").Count());
        var context = command.Element(c + "parameters")!.Elements(c + "parameter").Single(p => p.Element(m + "name")!.Value == "Context");
        Assert.Equal("false", context.Attribute("required")!.Value);
        Assert.Equal("true (ByValue, ByPropertyName)", context.Attribute("pipelineInput")!.Value);
        Assert.Equal("ConfigurationPath", context.Attribute("aliases")!.Value);
        var id = command.Element(c + "parameters")!.Elements(c + "parameter").Single(p => p.Element(m + "name")!.Value == "CertificateId");
        Assert.Equal("true", id.Attribute("required")!.Value);
        Assert.Equal("0", id.Attribute("position")!.Value);
        Assert.Contains(command.Element(c + "parameters")!.Elements(c + "parameter"), p => p.Element(m + "name")!.Value == "WhatIf");
        var storeLocation = Command(MamlWriter.Write(pairs), "Add-GatewayCertificate").Element(c + "parameters")!.Elements(c + "parameter").Single(p => p.Element(m + "name")!.Value == "StoreLocation");
        Assert.Equal("CurrentUser", storeLocation.Element(MamlWriter.Dev + "defaultValue")!.Value);
        var wildcard = Command(MamlWriter.Write(pairs), "Get-GatewayCertificate").Element(c + "parameters")!.Elements(c + "parameter").Single(p => p.Element(m + "name")!.Value == "CertificateId");
        Assert.Equal("true", wildcard.Attribute("globbing")!.Value);
    }

    [Fact]
    public void HelpSource_ReportsEveryProblemWithItsLine()
    {
        var errors = new List<string>();
        const string text = """
            # Get-Thing

            ## SYNOPSIS

            ## EXAMPLES

            ### Example 1: no code

            Just words.

            ## PARAMETERS

            ### Name

            ## Odd
            """;

        var doc = HelpSource.Parse(text, "Get-Thing.md", errors);

        Assert.Equal("Get-Thing", doc.CommandName);
        Assert.Contains(errors, e => e.Contains("SYNOPSIS", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("DESCRIPTION", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("exactly one ```powershell code block", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'### -Name'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("unknown section '## Odd'", StringComparison.Ordinal));
    }

    [Fact]
    public void HelpSource_JoinsSoftWrappedLinesAndKeepsListItemsAndCode()
    {
        var errors = new List<string>();
        const string text = """
            # Get-Thing

            ## SYNOPSIS

            Gets
            things.

            ## DESCRIPTION

            First line
            continues.

            - one
            - two

            ## EXAMPLES

            ### Example 1: Get one

            ```powershell
            Get-Thing -Name a
            | Format-List
            ```

            Gets a.
            """;

        var doc = HelpSource.Parse(text, "Get-Thing.md", errors);

        Assert.Empty(errors);
        Assert.Equal("Gets things.", doc.Synopsis);
        Assert.Equal(["First line continues.", "- one\n- two"], doc.Description);
        Assert.Equal("Get-Thing -Name a\n| Format-List", doc.Examples.Single().Code);
        Assert.Equal("Get one", doc.Examples.Single().Title.Split(": ")[1]);
    }

    [Fact]
    public void Check_FindsUndocumentedAndUnknownParameters()
    {
        var cmdlet = Cmdlets.Single(c => c.Name == "Get-GatewayApi");
        var help = new HelpDocument("Get-GatewayApi", "s", ["d"], [new HelpExample("e", "code", ["r"])],
            new Dictionary<string, IReadOnlyList<string>> { ["Context"] = ["c"], ["Bogus"] = ["b"] },
            new Dictionary<string, IReadOnlyList<string>>(), new Dictionary<string, IReadOnlyList<string>> { ["Int32"] = ["x"] }, [], [], "Get-GatewayApi.md");

        var problems = MamlWriter.Check(cmdlet, help);

        Assert.Contains(problems, p => p.Contains("-ApiId of Get-GatewayApi is not described", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'### -Bogus'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("output type 'Int32'", StringComparison.Ordinal));
    }

    internal static XElement Command(XDocument maml, string name) =>
        maml.Root!.Elements(MamlWriter.Command + "command").Single(e => e.Element(MamlWriter.Command + "details")!.Element(MamlWriter.Command + "name")!.Value == name);

    /// <summary>Synopsis, description, at least one example with code, and every parameter with a description, for every cmdlet.</summary>
    internal static void AssertCompleteMaml(XDocument maml)
    {
        var c = MamlWriter.Command;
        var m = MamlWriter.Maml;
        var d = MamlWriter.Dev;
        Assert.Equal(MamlWriter.Msh + "helpItems", maml.Root!.Name);
        Assert.Equal("maml", maml.Root.Attribute("schema")!.Value);
        Assert.Equal(Cmdlets.Count, maml.Root.Elements(c + "command").Count());
        foreach (var cmdlet in Cmdlets)
        {
            var command = Command(maml, cmdlet.Name);
            var details = command.Element(c + "details")!;
            Assert.Equal(cmdlet.Verb, details.Element(c + "verb")!.Value);
            Assert.Equal(cmdlet.Noun, details.Element(c + "noun")!.Value);
            Assert.False(string.IsNullOrWhiteSpace(details.Element(m + "description")!.Value), cmdlet.Name + " synopsis");
            Assert.False(string.IsNullOrWhiteSpace(command.Element(m + "description")!.Value), cmdlet.Name + " description");
            var examples = command.Element(c + "examples")!.Elements(c + "example").ToList();
            Assert.NotEmpty(examples);
            Assert.All(examples, e => Assert.False(string.IsNullOrWhiteSpace(e.Element(d + "code")!.Value), cmdlet.Name));
            var parameters = command.Element(c + "parameters")!.Elements(c + "parameter").ToDictionary(p => p.Element(m + "name")!.Value);
            foreach (var p in cmdlet.Parameters)
            {
                Assert.True(parameters.ContainsKey(p.Name), $"{cmdlet.Name} -{p.Name} missing from MAML");
                Assert.False(string.IsNullOrWhiteSpace(parameters[p.Name].Element(m + "description")!.Value), $"{cmdlet.Name} -{p.Name} has no description");
            }
            if (cmdlet.SupportsShouldProcess)
                Assert.True(parameters.ContainsKey("WhatIf") && parameters.ContainsKey("Confirm"), cmdlet.Name);
            Assert.Equal(cmdlet.ParameterSetNames.Count, command.Element(c + "syntax")!.Elements(c + "syntaxItem").Count());
            Assert.Equal(cmdlet.OutputTypes.Select(t => t.FullName), command.Element(c + "returnValues")!.Elements(c + "returnValue").Select(r => r.Element(d + "type")!.Element(m + "name")!.Value));
        }
    }
}
