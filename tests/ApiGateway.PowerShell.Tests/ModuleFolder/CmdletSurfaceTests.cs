using System.Management.Automation;
using System.Reflection;
using System.Security;
using ApiGateway.ModuleTools;
using ApiGateway.PowerShell.Infrastructure;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.ModuleFolder;

/// <summary>
/// The module's public contract. <c>CmdletSurface.txt</c> lists every cmdlet, parameter, type, alias, completer,
/// validation, parameter set (mandatory, position, pipeline binding), ShouldProcess, ConfirmImpact and output type;
/// reflection over ApiGateway.dll must match it exactly. To change the surface deliberately, regenerate the table
/// and review the diff in the commit:
/// <code>APIGATEWAY_UPDATE_SURFACE=1 dotnet test tests/ApiGateway.PowerShell.Tests --filter CmdletSurface</code>
/// </summary>
public sealed class CmdletSurfaceTests
{
    private static readonly IReadOnlyList<CmdletDescription> Cmdlets = CmdletCatalog.Describe(BuildInfo.ModuleAssembly);

    private static CmdletDescription Cmdlet(string name) => Cmdlets.Single(c => c.Name == name);

    [Fact]
    public void CmdletSurface_MatchesTheCheckedInTable()
    {
        var path = BuildInfo.InRepo("tests", "ApiGateway.PowerShell.Tests", "CmdletSurface.txt");
        var actual = CmdletCatalog.Surface(Cmdlets);
        if (Environment.GetEnvironmentVariable("APIGATEWAY_UPDATE_SURFACE") == "1")
            File.WriteAllText(path, actual);
        var expected = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : string.Empty;

        if (expected != actual)
        {
            Assert.Fail("The cmdlet surface differs from CmdletSurface.txt (- table, + code):\n" + TextDiff.Unified(expected, actual)
                + "\nIf the change is intended: APIGATEWAY_UPDATE_SURFACE=1 dotnet test tests/ApiGateway.PowerShell.Tests --filter CmdletSurface, and commit the table.");
        }
    }

    [Fact]
    public void EveryCmdlet_IsASealedVerbNounCommandOnTheSharedBase()
    {
        Assert.Equal(36, Cmdlets.Count);
        foreach (var c in Cmdlets)
        {
            Assert.True(c.Type.IsSealed, c.Name);
            Assert.Equal(c.Verb + c.Noun + "Command", c.Type.Name);
            Assert.True(typeof(GatewayCmdlet).IsAssignableFrom(c.Type), c.Name);
            Assert.NotEmpty(c.OutputTypes);
        }
    }

    [Fact]
    public void EveryVerb_IsAnApprovedPowerShellVerb()
    {
        var approved = new[] { typeof(VerbsCommon), typeof(VerbsData), typeof(VerbsLifecycle), typeof(VerbsDiagnostic), typeof(VerbsCommunications), typeof(VerbsSecurity), typeof(VerbsOther) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static)).Select(f => (string)f.GetRawConstantValue()!).ToHashSet();

        Assert.All(Cmdlets, c => Assert.Contains(c.Verb, approved));
    }

    [Fact]
    public void EveryChange_SupportsShouldProcess_AndSetAndRemoveHavePassThru()
    {
        // New-GatewayBackendCredential only builds an object; nothing is written.
        foreach (var c in Cmdlets.Where(c => c.Verb is "New" or "Add" or "Set" or "Remove" && c.Name != "New-GatewayBackendCredential"))
            Assert.True(c.SupportsShouldProcess, c.Name);
        foreach (var c in Cmdlets.Where(c => c.Verb is "Get"))
            Assert.False(c.SupportsShouldProcess, c.Name);
        foreach (var c in Cmdlets.Where(c => c.Verb is "Set" or "Remove"))
            Assert.Contains(c.Parameters, p => p.Name == "PassThru" && p.IsSwitch);
    }

    [Fact]
    public void EveryRemoval_IsHighImpactWithForce()
    {
        foreach (var c in Cmdlets.Where(c => c.Verb == "Remove"))
        {
            Assert.Equal("High", c.ConfirmImpact);
            Assert.Contains(c.Parameters, p => p.Name == "Force" && p.IsSwitch);
        }
        Assert.Equal("High", Cmdlet("Remove-GatewayCertificate").ConfirmImpact);
    }

    [Fact]
    public void EveryCmdletButTheTwoBuilders_TakesAContextThatAlsoBindsFromThePipeline()
    {
        foreach (var c in Cmdlets.Where(c => c.Name is not ("New-GatewayContext" or "New-GatewayBackendCredential")))
        {
            // Test-GatewayClientCertificate takes certificates (objects, files, path strings) by value: a piped
            // path string must never turn into a context, so its context binds by property name only.
            var byValue = c.Name != "Test-GatewayClientCertificate";
            var context = c.Parameters.Single(p => p.Name == "Context");
            Assert.Equal(typeof(GatewayContext), Nullable.GetUnderlyingType(context.Type) ?? context.Type);
            Assert.Contains("ConfigurationPath", context.Aliases);
            Assert.Contains("GatewayContextTransformation", context.Attributes);
            Assert.All(context.Sets, s => Assert.True(s.ValueFromPipelineByPropertyName, c.Name));
            Assert.Equal(byValue, context.Sets.Any(s => s.ValueFromPipeline));
            Assert.Contains(context.Sets, s => s.Mandatory);
        }
    }

    [Fact]
    public void EveryInputObjectSet_TakesTheOutputTypeAndItsIdBindsByPropertyName()
    {
        foreach (var c in Cmdlets.Where(c => c.Parameters.Any(p => p.Name == "InputObject")))
        {
            var inputObject = c.Parameters.Single(p => p.Name == "InputObject");
            var element = inputObject.Type.GetElementType()!;
            Assert.True(inputObject.Type.IsArray, c.Name);
            Assert.Contains(element, c.OutputTypes);
            Assert.True(inputObject.Sets.Single().ValueFromPipeline && inputObject.Sets.Single().Mandatory, c.Name);
            var id = c.Parameters.Single(p => p.Name is "CertificateId" or "BackendId" or "ApiId" or "HostName" && p.Sets.Any(s => s.Position == 0));
            Assert.NotNull(element.GetProperty(id.Name));
            Assert.All(id.Sets, s => Assert.True(s.ValueFromPipelineByPropertyName && s.Mandatory && s.Position == 0, c.Name));
            // Without -Context, the object's own ConfigurationPath is the configuration.
            Assert.False(c.Parameters.Single(p => p.Name == "Context").In(ParameterSets(inputObject))!.Mandatory, c.Name);
        }

        static string ParameterSets(ParameterDescription p) => p.Sets.Single().SetName;
    }

    [Fact]
    public void EveryOutputType_CarriesConfigurationPath_SoItCanBePipedOn()
    {
        // A primitive is what -Quiet (Test-GatewayConfiguration, Test-GatewayBackendTls) answers: a verdict, nothing to pipe on.
        foreach (var type in Cmdlets.SelectMany(c => c.OutputTypes).Distinct().Where(t => t.Name != "GatewayBackendCredential" && !t.IsPrimitive))
            Assert.NotNull(type.GetProperty("ConfigurationPath"));
    }

    [Fact]
    public void EverySecret_IsASecureString()
    {
        foreach (var p in Cmdlets.SelectMany(c => c.Parameters.Select(p => (Cmdlet: c.Name, Parameter: p))))
        {
            var name = p.Parameter.Name;
            if (name.Contains("Password", StringComparison.OrdinalIgnoreCase) || name.Contains("Secret", StringComparison.OrdinalIgnoreCase) || name == "AuthorizationHeaderParameter")
                Assert.True(p.Parameter.Type == typeof(SecureString) || p.Parameter.Type == typeof(PSCredential), $"{p.Cmdlet} -{name} is {p.Parameter.Type}");
        }
    }

    [Fact]
    public void ExistingIds_HaveCompleters_NewIdsDoNot()
    {
        var completers = new Dictionary<string, Type>
        {
            ["CertificateId"] = typeof(CertificateIdCompleter),
            ["BackendId"] = typeof(BackendIdCompleter),
            ["ApiId"] = typeof(ApiIdCompleter),
            ["HostName"] = typeof(HostNameCompleter),
        };
        foreach (var c in Cmdlets.Where(c => c.Verb is "Get" or "Set" or "Remove"))
        {
            foreach (var p in c.Parameters.Where(p => completers.ContainsKey(p.Name)))
            {
                var expected = c.Noun == "GatewayCaCertificate" ? typeof(CaCertificateIdCompleter) : completers[p.Name];
                Assert.True(expected.FullName == p.Completer, $"{c.Name} -{p.Name} completer is {p.Completer}");
            }
        }
        Assert.Null(Cmdlet("Add-GatewayCertificate").Parameters.Single(p => p.Name == "CertificateId").Completer);
        Assert.Equal(typeof(BackendIdCompleter).FullName, Cmdlet("New-GatewayApi").Parameters.Single(p => p.Name == "BackendId").Completer);
    }

    [Fact]
    public void IdentityParameters_ShareNamesWithTheOutputTypes()
    {
        Assert.NotNull(typeof(ApiGateway.Core.Management.GatewayCertificate).GetProperty("CertificateId"));
        Assert.NotNull(typeof(ApiGateway.Core.Management.GatewayHostname).GetProperty("CertificateId"));
        Assert.NotNull(typeof(ApiGateway.Core.Management.CertificateReference).GetProperty("CertificateId"));
        Assert.NotNull(typeof(ApiGateway.Core.Management.GatewayBackend).GetProperty("BackendId"));
        Assert.NotNull(typeof(ApiGateway.Core.Management.GatewayApi).GetProperty("BackendId"));
        Assert.NotNull(typeof(ApiGateway.Core.Management.GatewayPolicy).GetProperty("ApiId"));
    }

    [Fact]
    public void CmdletNames_ReadsVerbAndNounFromMetadata()
    {
        Assert.Equal(("Remove", "GatewayCertificate"), CmdletNames.Of(typeof(ApiGateway.PowerShell.Commands.Certificates.RemoveGatewayCertificateCommand)));
        Assert.Equal(Cmdlets.Select(c => c.Type).OrderBy(t => t.FullName), CmdletNames.CmdletTypes(BuildInfo.ModuleAssembly).OrderBy(t => t.FullName));
    }
}
