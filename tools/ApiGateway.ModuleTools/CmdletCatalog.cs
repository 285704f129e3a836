using System.Collections.ObjectModel;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace ApiGateway.ModuleTools;

/// <summary>Membership of a parameter in one parameter set (one [Parameter] attribute).</summary>
public sealed record ParameterSetMembership(string SetName, bool Mandatory, int? Position, bool ValueFromPipeline, bool ValueFromPipelineByPropertyName)
{
    /// <summary>PowerShell's name for "every set".</summary>
    public const string AllSets = "__AllParameterSets";

    /// <summary>"true (ByValue, ByPropertyName)" / "false", as Get-Help shows it.</summary>
    public string PipelineInput
    {
        get
        {
            var kinds = new List<string>();
            if (ValueFromPipeline)
                kinds.Add("ByValue");
            if (ValueFromPipelineByPropertyName)
                kinds.Add("ByPropertyName");
            return kinds.Count == 0 ? "false" : $"true ({string.Join(", ", kinds)})";
        }
    }
}

/// <summary>A cmdlet parameter as PowerShell sees it.</summary>
public sealed record ParameterDescription(
    string Name,
    Type Type,
    IReadOnlyList<string> Aliases,
    IReadOnlyList<ParameterSetMembership> Sets,
    string? Completer,
    IReadOnlyList<string> Attributes,
    int Order,
    string? DefaultValue = null)
{
    public bool IsSwitch => Type.FullName == "System.Management.Automation.SwitchParameter";

    public bool SupportsWildcards => Attributes.Contains("SupportsWildcards");

    /// <summary>The membership for <paramref name="setName"/> (or the all-sets one).</summary>
    public ParameterSetMembership? In(string setName) =>
        Sets.FirstOrDefault(s => s.SetName == setName) ?? Sets.FirstOrDefault(s => s.SetName == ParameterSetMembership.AllSets);
}

/// <summary>A cmdlet class as PowerShell sees it: names, ShouldProcess, output types, parameters and sets.</summary>
public sealed record CmdletDescription(
    string Verb,
    string Noun,
    Type Type,
    bool SupportsShouldProcess,
    string ConfirmImpact,
    string? DefaultParameterSetName,
    IReadOnlyList<Type> OutputTypes,
    IReadOnlyList<ParameterDescription> Parameters)
{
    public string Name => Verb + "-" + Noun;

    /// <summary>The named parameter sets, default first; just the all-sets set when there are none.</summary>
    public IReadOnlyList<string> ParameterSetNames
    {
        get
        {
            var names = Parameters.SelectMany(p => p.Sets).Select(s => s.SetName).Where(n => n != ParameterSetMembership.AllSets)
                .Distinct(StringComparer.Ordinal).OrderBy(n => n == DefaultParameterSetName ? 0 : 1).ThenBy(n => n, StringComparer.Ordinal).ToList();
            return names.Count == 0 ? [ParameterSetMembership.AllSets] : names;
        }
    }

    /// <summary>Parameters of one set in the order PowerShell's syntax shows them: positional, then mandatory, then the rest.</summary>
    public IEnumerable<ParameterDescription> ParametersOf(string setName) =>
        Parameters.Where(p => p.In(setName) is not null)
            .OrderBy(p => p.In(setName)!.Position ?? int.MaxValue)
            .ThenBy(p => p.In(setName)!.Mandatory ? 0 : 1)
            .ThenBy(p => p.Order);
}

/// <summary>
/// Reads cmdlet classes through <see cref="CustomAttributeData"/> (attribute metadata), so it works on the
/// compile-time PowerShellStandard stub, whose attribute properties have empty bodies. The source of truth for the
/// surface table, the help's syntax and parameter metadata, and the manifest check.
/// </summary>
public static class CmdletCatalog
{
    private const string Sma = "System.Management.Automation.";

    public static IReadOnlyList<CmdletDescription> Describe(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false, IsPublic: true } && Find(t.GetCustomAttributesData(), "CmdletAttribute") is not null)
            .Select(Describe)
            .OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    public static CmdletDescription Describe(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var cmdlet = Find(type.GetCustomAttributesData(), "CmdletAttribute") ?? throw new ArgumentException($"{type} has no [Cmdlet].", nameof(type));
        var outputs = type.GetCustomAttributesData().Where(a => a.AttributeType.FullName == Sma + "OutputTypeAttribute")
            .SelectMany(a => a.ConstructorArguments.SelectMany(Values)).OfType<Type>().ToList();
        var instance = TryCreate(type);
        var parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Property: p, Data: p.GetCustomAttributesData()))
            .Where(p => p.Data.Any(a => a.AttributeType.FullName == Sma + "ParameterAttribute"))
            .Select(p => DescribeParameter(p.Property, p.Data, type))
            .Select(p => p.Sets.All(s => s.Mandatory) ? p : p with { DefaultValue = DefaultOf(type.GetProperty(p.Name)!, instance) })
            .OrderBy(p => p.Order)
            .ToList();
        return new CmdletDescription(
            (string)cmdlet.ConstructorArguments[0].Value!,
            (string)cmdlet.ConstructorArguments[1].Value!,
            type,
            Named(cmdlet, "SupportsShouldProcess") is true,
            Named(cmdlet, "ConfirmImpact") is { } impact ? EnumName(cmdlet.NamedArguments.First(n => n.MemberName == "ConfirmImpact").TypedValue.ArgumentType, impact) : "Medium",
            Named(cmdlet, "DefaultParameterSetName") as string,
            outputs,
            parameters);
    }

    private static ParameterDescription DescribeParameter(PropertyInfo property, IList<CustomAttributeData> data, Type cmdletType)
    {
        var sets = data.Where(a => a.AttributeType.FullName == Sma + "ParameterAttribute")
            .Select(a => new ParameterSetMembership(
                Named(a, "ParameterSetName") as string ?? ParameterSetMembership.AllSets,
                Named(a, "Mandatory") is true,
                Named(a, "Position") is int position && position >= 0 ? position : null,
                Named(a, "ValueFromPipeline") is true,
                Named(a, "ValueFromPipelineByPropertyName") is true))
            .OrderBy(s => s.SetName, StringComparer.Ordinal)
            .ToList();
        var aliases = data.Where(a => a.AttributeType.FullName == Sma + "AliasAttribute")
            .SelectMany(a => a.ConstructorArguments.SelectMany(Values)).OfType<string>().ToList();
        var completer = data.FirstOrDefault(a => a.AttributeType.FullName == Sma + "ArgumentCompleterAttribute")
            ?.ConstructorArguments.SelectMany(Values).OfType<Type>().FirstOrDefault()?.FullName;
        var skip = new[] { "ParameterAttribute", "AliasAttribute", "ArgumentCompleterAttribute" };
        var attributes = data
            .Where(a => !skip.Any(s => a.AttributeType.FullName == Sma + s)
                && (a.AttributeType.Namespace == "System.Management.Automation" || a.AttributeType.BaseType?.Namespace == "System.Management.Automation"))
            .Select(Render)
            .OrderBy(s => s, StringComparer.Ordinal)
            .ToList();
        // Declaration order: the cmdlet's own parameters first, then those of its base classes.
        var depth = 0;
        for (var t = cmdletType; t is not null && t != property.DeclaringType; t = t.BaseType)
            depth++;
        return new ParameterDescription(property.Name, property.PropertyType, aliases, sets, completer, attributes, depth * 100_000 + property.MetadataToken % 100_000);
    }

    /// <summary>
    /// A cmdlet object as PowerShell creates it before binding, to read parameter defaults from its property
    /// initializers (cmdlet constructors do nothing else; the stub base class constructs fine).
    /// </summary>
    private static object? TryCreate(Type type)
    {
        try
        {
            return Activator.CreateInstance(type);
        }
        catch (Exception ex) when (ex is TargetInvocationException or MissingMethodException or MemberAccessException or TypeLoadException)
        {
            return null;
        }
    }

    /// <summary>
    /// The default of an optional parameter as Get-Help shows it: the initial value, or null for none (null, false,
    /// empty). Mandatory parameters have none, whatever their type's default is.
    /// </summary>
    private static string? DefaultOf(PropertyInfo property, object? instance)
    {
        if (instance is null || property.GetMethod is null || property.PropertyType.FullName == Sma + "SwitchParameter")
            return null;
        object? value;
        try
        {
            value = property.GetValue(instance);
        }
        catch (TargetInvocationException)
        {
            return null;
        }
        return value switch
        {
            null or false => null,
            string text when text.Length == 0 => null,
            Array { Length: 0 } => null,
            _ => Convert.ToString(value, CultureInfo.InvariantCulture),
        };
    }

    private static CustomAttributeData? Find(IEnumerable<CustomAttributeData> data, string name) =>
        data.FirstOrDefault(a => a.AttributeType.FullName == Sma + name);

    private static object? Named(CustomAttributeData data, string name) =>
        data.NamedArguments.Where(n => n.MemberName == name).Select(n => n.TypedValue.Value).FirstOrDefault();

    private static IEnumerable<object?> Values(CustomAttributeTypedArgument argument) =>
        argument.Value is ReadOnlyCollection<CustomAttributeTypedArgument> many ? many.Select(m => m.Value) : [argument.Value];

    private static string EnumName(Type enumType, object value) =>
        (enumType.IsEnum ? Enum.ToObject(enumType, value).ToString() : Convert.ToString(value, CultureInfo.InvariantCulture)) ?? string.Empty;

    private static string Render(CustomAttributeData attribute)
    {
        var name = attribute.AttributeType.Name;
        if (name.EndsWith("Attribute", StringComparison.Ordinal))
            name = name[..^"Attribute".Length];
        var arguments = attribute.ConstructorArguments.SelectMany(Values).Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))
            .Concat(attribute.NamedArguments.Select(n => $"{n.MemberName}={Convert.ToString(n.TypedValue.Value, CultureInfo.InvariantCulture)}"))
            .ToList();
        return arguments.Count == 0 ? name : $"{name}({string.Join(", ", arguments)})";
    }

    /// <summary>A type as C#-neutral text: <c>System.Nullable[System.Int32]</c>, <c>System.String[]</c>.</summary>
    public static string TypeName(Type type, bool full = true)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type.IsArray)
            return TypeName(type.GetElementType()!, full) + "[]";
        if (type.IsGenericType)
        {
            var name = (full ? type.GetGenericTypeDefinition().FullName! : type.Name);
            name = name[..name.IndexOf('`', StringComparison.Ordinal)];
            return $"{name}[{string.Join(",", type.GetGenericArguments().Select(a => TypeName(a, full)))}]";
        }
        return full ? type.FullName ?? type.Name : type.Name;
    }

    /// <summary>
    /// The public contract as text: every cmdlet, its class, ShouldProcess, ConfirmImpact, default set and output
    /// types; every parameter with its type, aliases, completer, other attributes, and per set: mandatory,
    /// position, pipeline binding. Stable order, so a diff shows exactly what changed.
    /// </summary>
    public static string Surface(IEnumerable<CmdletDescription> cmdlets)
    {
        ArgumentNullException.ThrowIfNull(cmdlets);
        var sb = new StringBuilder();
        foreach (var c in cmdlets.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase))
        {
            sb.Append(c.Name).Append('\n');
            sb.Append("  Class: ").Append(c.Type.FullName).Append('\n');
            sb.Append("  SupportsShouldProcess: ").Append(c.SupportsShouldProcess).Append('\n');
            sb.Append("  ConfirmImpact: ").Append(c.ConfirmImpact).Append('\n');
            sb.Append("  DefaultParameterSet: ").Append(c.DefaultParameterSetName ?? "-").Append('\n');
            sb.Append("  OutputType: ").Append(string.Join(", ", c.OutputTypes.Select(t => TypeName(t)))).Append('\n');
            foreach (var p in c.Parameters.OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase))
            {
                sb.Append("  -").Append(p.Name).Append(" <").Append(TypeName(p.Type)).Append(">\n");
                if (p.Aliases.Count > 0)
                    sb.Append("    Aliases: ").Append(string.Join(", ", p.Aliases)).Append('\n');
                if (p.Completer is not null)
                    sb.Append("    Completer: ").Append(p.Completer).Append('\n');
                if (p.Attributes.Count > 0)
                    sb.Append("    Attributes: ").Append(string.Join(", ", p.Attributes)).Append('\n');
                if (p.DefaultValue is not null)
                    sb.Append("    Default: ").Append(p.DefaultValue).Append('\n');
                foreach (var s in p.Sets)
                {
                    sb.Append("    [").Append(s.SetName == ParameterSetMembership.AllSets ? "*" : s.SetName).Append("] ")
                        .Append(s.Mandatory ? "Mandatory" : "Optional")
                        .Append(s.Position is { } position ? $" Position={position}" : string.Empty)
                        .Append(s.ValueFromPipeline ? " ByValue" : string.Empty)
                        .Append(s.ValueFromPipelineByPropertyName ? " ByPropertyName" : string.Empty)
                        .Append('\n');
                }
            }
        }
        return sb.ToString();
    }
}
