using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ApiGateway.ModuleTools;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.ModuleFolder;

/// <summary>
/// module/ApiGateway.format.ps1xml names only real properties (that every output type has a default table view the
/// engine uses is shown in Runspace/ModuleEngineTests).
/// </summary>
public sealed partial class FormatTests
{
    private static readonly XDocument Format = XDocument.Load(BuildInfo.InRepo("module", "ApiGateway.format.ps1xml"));

    private static IEnumerable<XElement> Views => Format.Root!.Element("ViewDefinitions")!.Elements("View");

    [Fact]
    public void EveryPropertyAViewNames_ExistsOnItsType()
    {
        var types = CmdletCatalog.Describe(BuildInfo.ModuleAssembly).SelectMany(c => c.OutputTypes).Distinct().ToDictionary(t => t.FullName!);
        foreach (var view in Views)
        {
            // Output types, and types their properties hold that have a view of their own (trace entries).
            var typeName = view.Element("ViewSelectedBy")!.Element("TypeName")!.Value;
            var type = types.TryGetValue(typeName, out var output) ? output : typeof(ApiGateway.Core.Hosting.GatewayTrace).Assembly.GetType(typeName, throwOnError: true)!;
            var table = view.Element("TableControl")!;
            var headers = table.Element("TableHeaders")!.Elements("TableColumnHeader").ToList();
            var items = table.Element("TableRowEntries")!.Element("TableRowEntry")!.Element("TableColumnItems")!.Elements("TableColumnItem").ToList();
            Assert.Equal(headers.Count, items.Count);
            foreach (var item in items)
            {
                var names = item.Element("PropertyName") is { } property
                    ? [property.Value]
                    : PropertyReference().Matches(item.Element("ScriptBlock")!.Value).Select(m => m.Groups[1].Value).ToList();
                Assert.NotEmpty(names);
                foreach (var name in names)
                    Assert.True(type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance) is not null, $"{type.Name} has no property {name}");
            }
        }
    }

    [GeneratedRegex(@"\$_\.([A-Za-z]+)")]
    private static partial Regex PropertyReference();
}
