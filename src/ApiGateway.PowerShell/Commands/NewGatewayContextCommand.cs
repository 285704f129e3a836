using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands;

/// <summary>
/// <c>New-GatewayContext -Path &lt;config&gt; [-ServiceName]</c>: opens a gateway configuration file, creating it
/// (and saying so in the information stream) when it does not exist, and returns the context every other cmdlet takes as <c>-Context</c>.
/// </summary>
[Cmdlet(VerbsCommon.New, "GatewayContext", SupportsShouldProcess = true)]
[OutputType(typeof(GatewayContext))]
public sealed class NewGatewayContextCommand : GatewayCmdlet
{
    /// <summary>The configuration file (JSON); the certificate store is the folder beside it with the extension <c>.store</c>.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LiteralPath", "ConfigurationPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = null!;

    /// <summary>Name of the gateway service, recorded when the file is created.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? ServiceName { get; set; }

    protected override void ProcessRecord()
    {
        if (!TryInvoke(() => ResolvePath(Path), out var fullPath))
            return;
        if (!System.IO.File.Exists(fullPath) && !ShouldProcess(fullPath, "Create gateway configuration"))
            return;
        if (!TryInvoke(() => Open(fullPath), out var result))
            return;
        foreach (var warning in result.Warnings)
            WriteWarning(warning);
        if (result.Value.Created)
        {
            // "Creates it, saying so" without making scripts and CI noisy: an information record without the PSHOST tag
            // is not shown by default ($InformationPreference is SilentlyContinue), is shown with -InformationAction
            // Continue, and is captured by -InformationVariable; -Verbose says the same.
            var message = $"Created the gateway configuration '{result.Value.ConfigurationPath}' for service '{result.Value.ServiceName}'.";
            WriteVerbose(message);
            WriteInformation(message, ["ApiGateway", "Created"]);
        }
        WriteObject(result.Value);
    }

    /// <summary>The Core operation: open (or create) the configuration at <paramref name="fullPath"/>.</summary>
    internal OperationResult<GatewayContext> Open(string fullPath)
    {
        var service = new GatewayService(fullPath, engine: GatewayContext.Engine);
        var opened = service.Open(ServiceName);
        return new OperationResult<GatewayContext>(GatewayContext.Opened(service, opened.Value), opened.Warnings);
    }
}
