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
            var name = view.Element("ViewSelectedBy")!.Element("TypeName")!.Value;
            // A view may also be for a type an output object holds (GatewayStatus.ExpiringCertificates), not a cmdlet's output.
            var type = types.TryGetValue(name, out var output)
                ? output
                : types.Values.Select(t => t.Assembly).Distinct().Select(a => a.GetType(name)).FirstOrDefault(t => t is not null);
            Assert.True(type is not null, $"the view {view.Element("Name")?.Value} is for {name}, which no assembly of the module has");
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
                foreach (var referenced in names)
                    Assert.True(type!.GetProperty(referenced, BindingFlags.Public | BindingFlags.Instance) is not null, $"{type.Name} has no property {referenced}");
            }
        }
    }

    [GeneratedRegex(@"\$_\.([A-Za-z]+)")]
    private static partial Regex PropertyReference();
}
