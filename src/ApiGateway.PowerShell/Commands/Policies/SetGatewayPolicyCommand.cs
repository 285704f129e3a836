using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.Core.Policies;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Policies;

/// <summary>
/// <c>Set-GatewayPolicy [-ApiId] -Policy &lt;xml&gt; | -PolicyFilePath &lt;file&gt;</c>: replaces an API's policy (or,
/// without <c>-ApiId</c>, the global one). Every error of the document is reported with line and column; the
/// previous policy stays as it was.
/// </summary>
[Cmdlet(VerbsCommon.Set, "GatewayPolicy", SupportsShouldProcess = true, DefaultParameterSetName = ParameterSets.Policy)]
[OutputType(typeof(GatewayPolicy))]
public sealed class SetGatewayPolicyCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The API; without it, the global ("All APIs") policy.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ApiIdCompleter))]
    public string? ApiId { get; set; }

    /// <summary>The policy XML (APIM format, with @(...) expressions).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.Policy, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Policy { get; set; }

    /// <summary>A file holding the policy XML.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.PolicyFilePath)]
    [ValidateNotNullOrEmpty]
    public string? PolicyFilePath { get; set; }

    /// <summary>
    /// How the document is written: Xml, RawXml (an &amp; inside an expression is the C# character) or Az's media
    /// types; default: either (raw operators and entities both read). Binds by property name from Get-GatewayPolicy -Format.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PolicyFormatCompleter))]
    public string? Format { get; set; }

    /// <summary>Output the policy as stored.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!ShouldProcess(PolicyTarget(ApiId, service), "Replace policy"))
            return;
        if (TryInvoke(() => Set(service, ResolvePath), out var policy) && PassThru)
            WriteObject(policy);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal GatewayPolicy Set(GatewayService service, Func<string, string> resolvePath)
    {
        ArgumentNullException.ThrowIfNull(resolvePath);
        var text = Policy ?? PolicySource.ReadFile(resolvePath(PolicyFilePath ?? throw new ArgumentException("Give the policy with -Policy or -PolicyFilePath.")));
        return service.SetPolicy(string.IsNullOrEmpty(ApiId) ? null : ApiId, text, PolicyFormats.Parse(Format));
    }
}
