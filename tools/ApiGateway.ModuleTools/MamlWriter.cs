using System.Globalization;
using System.Xml.Linq;

namespace ApiGateway.ModuleTools;

/// <summary>
/// Writes PowerShell's MAML help (<c>&lt;Module&gt;.dll-Help.xml</c>, schema "maml", namespaces http://msh,
/// maml/2004/10, maml/dev/command/2004/10, maml/dev/2004/10): per command its details (name, verb, noun, synopsis),
/// description, one syntax item per parameter set, parameters (required, position, pipeline input, globbing,
/// aliases, type), input and return types, notes, examples and related links. Prose comes from the markdown
/// sources, everything else from the cmdlet class.
/// </summary>
public static class MamlWriter
{
    public static readonly XNamespace Msh = "http://msh";
    public static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    public static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    public static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    /// <summary>Descriptions of the ShouldProcess common parameters, which PowerShell adds to every cmdlet that supports them.</summary>
    public static readonly IReadOnlyDictionary<string, string> ShouldProcessParameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["WhatIf"] = "Shows what would happen if the cmdlet runs. Nothing is changed.",
        ["Confirm"] = "Prompts you for confirmation before the change is made.",
    };

    /// <summary>
    /// Problems that make the help of <paramref name="cmdlet"/> incomplete or wrong: a different name, a parameter
    /// without a description, a described parameter that does not exist, an input or output type the cmdlet does not have.
    /// </summary>
    public static List<string> Check(CmdletDescription cmdlet, HelpDocument help)
    {
        ArgumentNullException.ThrowIfNull(cmdlet);
        ArgumentNullException.ThrowIfNull(help);
        var problems = new List<string>();
        if (!string.Equals(help.CommandName, cmdlet.Name, StringComparison.Ordinal))
            problems.Add($"{help.SourcePath}: the title is '# {help.CommandName}', expected '# {cmdlet.Name}'.");
        foreach (var p in cmdlet.Parameters.Where(p => !help.Parameters.ContainsKey(p.Name)))
            problems.Add($"{help.SourcePath}: parameter -{p.Name} of {cmdlet.Name} is not described (add '### -{p.Name}' under '## PARAMETERS').");
        foreach (var name in help.Parameters.Keys.Where(n => !cmdlet.Parameters.Any(p => p.Name.Equals(n, StringComparison.OrdinalIgnoreCase))
            && !(cmdlet.SupportsShouldProcess && ShouldProcessParameters.ContainsKey(n))))
        {
            problems.Add($"{help.SourcePath}: '### -{name}' describes a parameter {cmdlet.Name} does not have.");
        }

        foreach (var name in help.Inputs.Keys.Where(n => !InputTypes(cmdlet).Any(t => Matches(t, n))))
            problems.Add($"{help.SourcePath}: input type '{name}' is not a pipeline input of {cmdlet.Name}.");
        foreach (var name in help.Outputs.Keys.Where(n => !cmdlet.OutputTypes.Any(t => Matches(t, n))))
            problems.Add($"{help.SourcePath}: output type '{name}' is not an [OutputType] of {cmdlet.Name}.");
        return problems;
    }

    private static bool Matches(Type type, string name) =>
        name.Equals(CmdletCatalog.TypeName(type), StringComparison.OrdinalIgnoreCase) || name.Equals(CmdletCatalog.TypeName(type, full: false), StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<Type> InputTypes(CmdletDescription cmdlet) =>
        cmdlet.Parameters.Where(p => p.Sets.Any(s => s.ValueFromPipeline || s.ValueFromPipelineByPropertyName))
            .Select(p => p.Type.IsArray ? p.Type.GetElementType()! : p.Type)
            .Distinct();

    public static XDocument Write(IEnumerable<(CmdletDescription Cmdlet, HelpDocument Help)> commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        var root = new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
            new XAttribute(XNamespace.Xmlns + "maml", Maml.NamespaceName),
            new XAttribute(XNamespace.Xmlns + "command", Command.NamespaceName),
            new XAttribute(XNamespace.Xmlns + "dev", Dev.NamespaceName));
        foreach (var (cmdlet, help) in commands.OrderBy(c => c.Cmdlet.Name, StringComparer.OrdinalIgnoreCase))
            root.Add(CommandElement(cmdlet, help));
        return new XDocument(new XDeclaration("1.0", "utf-8", null), root);
    }

    private static XElement CommandElement(CmdletDescription cmdlet, HelpDocument help)
    {
        var all = AllParameters(cmdlet, help).ToList();
        return new XElement(Command + "command",
            new XElement(Command + "details",
                new XElement(Command + "name", cmdlet.Name),
                new XElement(Command + "verb", cmdlet.Verb),
                new XElement(Command + "noun", cmdlet.Noun),
                Description(help.Synopsis)),
            Description(help.Description),
            new XElement(Command + "syntax",
                cmdlet.ParameterSetNames.Select(set => new XElement(Command + "syntaxItem",
                    new XElement(Maml + "name", cmdlet.Name),
                    all.Where(p => p.Parameter is null || p.Parameter.In(set) is not null)
                        .OrderBy(p => p.Parameter?.In(set)?.Position ?? int.MaxValue)
                        .ThenBy(p => p.Parameter?.In(set)?.Mandatory == true ? 0 : 1)
                        .ThenBy(p => p.Order)
                        .Select(p => ParameterElement(p, set, inSyntax: true))))),
            new XElement(Command + "parameters", all.OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase).Select(p => ParameterElement(p, null, inSyntax: false))),
            new XElement(Command + "inputTypes", TypeEntries(InputTypes(cmdlet).ToList(), help.Inputs, "None", "This cmdlet takes no pipeline input.").Select(t => new XElement(Command + "inputType", t))),
            new XElement(Command + "returnValues", TypeEntries(cmdlet.OutputTypes, help.Outputs, "None", "This cmdlet returns no output.").Select(t => new XElement(Command + "returnValue", t))),
            new XElement(Maml + "alertSet", new XElement(Maml + "alert", Paragraphs(help.Notes))),
            new XElement(Command + "examples", help.Examples.Select((e, i) => new XElement(Command + "example",
                new XElement(Maml + "title", $"--------- Example {i + 1}: {StripExampleNumber(e.Title)} ---------"),
                new XElement(Dev + "code", e.Code),
                new XElement(Dev + "remarks", Paragraphs(e.Remarks))))),
            new XElement(Command + "relatedLinks", help.RelatedLinks.Select(l => new XElement(Maml + "navigationLink",
                new XElement(Maml + "linkText", l.Text),
                new XElement(Maml + "uri", l.Uri ?? string.Empty)))));
    }

    private sealed record HelpParameter(string Name, ParameterDescription? Parameter, Type? Type, IReadOnlyList<string> Description, int Order);

    private static IEnumerable<HelpParameter> AllParameters(CmdletDescription cmdlet, HelpDocument help)
    {
        foreach (var p in cmdlet.Parameters)
            yield return new HelpParameter(p.Name, p, p.Type, help.Parameters.TryGetValue(p.Name, out var d) ? d : [], p.Order);
        if (!cmdlet.SupportsShouldProcess)
            yield break;
        var order = int.MaxValue - 10;
        foreach (var (name, text) in ShouldProcessParameters)
            yield return new HelpParameter(name, null, null, help.Parameters.TryGetValue(name, out var d) ? d : [text], order++);
    }

    private static XElement ParameterElement(HelpParameter p, string? set, bool inSyntax)
    {
        // In a syntax item: the parameter in that set. In the parameters list: required only when required in
        // every set it belongs to (Get-Help shows one answer per parameter).
        var membership = p.Parameter is null ? null : set is null ? p.Parameter.Sets.OrderBy(s => s.Position ?? int.MaxValue).First() : p.Parameter.In(set);
        var required = p.Parameter is not null && (set is null ? p.Parameter.Sets.All(s => s.Mandatory) : membership!.Mandatory);
        var isSwitch = p.Parameter?.IsSwitch ?? true;
        var typeName = p.Type is null ? "SwitchParameter" : ShortTypeName(p.Type);
        var element = new XElement(Command + "parameter",
            new XAttribute("required", required ? "true" : "false"),
            new XAttribute("variableLength", p.Type?.IsArray == true ? "true" : "false"),
            new XAttribute("globbing", p.Parameter?.SupportsWildcards == true ? "true" : "false"),
            new XAttribute("pipelineInput", membership is null ? "false" : PipelineInput(p.Parameter!, set)),
            new XAttribute("position", membership?.Position is { } position ? position.ToString(CultureInfo.InvariantCulture) : "named"),
            new XAttribute("aliases", p.Parameter is { Aliases.Count: > 0 } ? string.Join(", ", p.Parameter.Aliases) : "none"),
            new XElement(Maml + "name", p.Name),
            Description(p.Description));
        if (!(inSyntax && isSwitch))
            element.Add(new XElement(Command + "parameterValue", new XAttribute("required", isSwitch ? "false" : "true"), new XAttribute("variableLength", "false"), typeName));
        element.Add(new XElement(Dev + "type", new XElement(Maml + "name", p.Type is null ? "System.Management.Automation.SwitchParameter" : CmdletCatalog.TypeName(p.Type)), new XElement(Maml + "uri")));
        element.Add(new XElement(Dev + "defaultValue", isSwitch ? "False" : p.Parameter?.DefaultValue ?? "None"));
        return element;
    }

    /// <summary>Pipeline input across the sets shown (the parameters list merges all sets).</summary>
    private static string PipelineInput(ParameterDescription parameter, string? set)
    {
        if (set is not null)
            return parameter.In(set)!.PipelineInput;
        var byValue = parameter.Sets.Any(s => s.ValueFromPipeline);
        var byName = parameter.Sets.Any(s => s.ValueFromPipelineByPropertyName);
        return new ParameterSetMembership("", false, null, byValue, byName).PipelineInput;
    }

    /// <summary>What Get-Help shows after a parameter name: <c>String</c>, <c>Int32</c> (for int?), <c>GatewayContext</c>.</summary>
    public static string ShortTypeName(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (Nullable.GetUnderlyingType(type) is { } underlying)
            return ShortTypeName(underlying);
        return CmdletCatalog.TypeName(type, full: false);
    }

    private static IEnumerable<XElement[]> TypeEntries(IReadOnlyList<Type> types, IReadOnlyDictionary<string, IReadOnlyList<string>> descriptions, string none, string noneText)
    {
        if (types.Count == 0)
        {
            yield return [new XElement(Dev + "type", new XElement(Maml + "name", none)), Description(noneText)];
            yield break;
        }
        foreach (var type in types)
        {
            var text = descriptions.FirstOrDefault(d => Matches(type, d.Key)).Value ?? [];
            yield return [new XElement(Dev + "type", new XElement(Maml + "name", CmdletCatalog.TypeName(type)), new XElement(Maml + "uri")), Description(text)];
        }
    }

    private static XElement Description(string text) => Description(string.IsNullOrEmpty(text) ? [] : [text]);

    private static XElement Description(IEnumerable<string> paragraphs) => new(Maml + "description", Paragraphs(paragraphs));

    private static IEnumerable<XElement> Paragraphs(IEnumerable<string> paragraphs)
    {
        var list = paragraphs.ToList();
        return list.Count == 0 ? [new XElement(Maml + "para")] : list.Select(p => new XElement(Maml + "para", p));
    }

    private static string StripExampleNumber(string title)
    {
        var colon = title.IndexOf(':', StringComparison.Ordinal);
        return title.StartsWith("Example", StringComparison.OrdinalIgnoreCase) && colon > 0 ? title[(colon + 1)..].Trim() : title;
    }
}
