using System.Management.Automation;
using System.Reflection;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>
/// Verb and noun of a cmdlet class, read from its <see cref="CmdletAttribute"/> as metadata (constructor
/// arguments) rather than through the attribute's properties, so the same code works in pwsh and in the build tool
/// (ApiGateway.ModuleTools), which loads the cmdlets against the compile-time PowerShellStandard reference.
/// </summary>
internal static class CmdletNames
{
    public static (string Verb, string Noun) Of(Type cmdletType)
    {
        ArgumentNullException.ThrowIfNull(cmdletType);
        var data = cmdletType.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == typeof(CmdletAttribute).FullName)
            ?? throw new ArgumentException($"{cmdletType.FullName} has no [Cmdlet] attribute.", nameof(cmdletType));
        return ((string)data.ConstructorArguments[0].Value!, (string)data.ConstructorArguments[1].Value!);
    }

    public static string Name(Type cmdletType)
    {
        var (verb, noun) = Of(cmdletType);
        return verb + "-" + noun;
    }

    /// <summary>The cmdlet classes of this module.</summary>
    public static IEnumerable<Type> CmdletTypes(Assembly assembly) =>
        assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false, IsPublic: true }
            && t.GetCustomAttributesData().Any(a => a.AttributeType.FullName == typeof(CmdletAttribute).FullName));
}
