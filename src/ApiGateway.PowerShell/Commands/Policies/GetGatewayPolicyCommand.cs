using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.Core.Policies;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Policies;

/// <summary>
/// <c>Get-GatewayPolicy [-ApiId] [-Format Xml|RawXml] [-SaveAs &lt;file&gt; [-Force]]</c>: an API's policy, or the
/// global policy without <c>-ApiId</c>; nothing when it has none (as Get-AzApiManagementPolicy). With
/// <c>-SaveAs</c> the XML goes to a file instead of the pipeline, never over an existing file without <c>-Force</c>.
/// </summary>
[Cmdlet(VerbsCommon.Get, "GatewayPolicy")]
[OutputType(typeof(GatewayPolicy))]
public sealed class GetGatewayPolicyCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The API; without it, the global ("All APIs") policy.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ApiIdCompleter))]
    public string? ApiId { get; set; }

    /// <summary>Xml (expressions escaped), RawXml (expressions as C#) or Az's media types; default: as stored.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(PolicyFormatCompleter))]
    public string? Format { get; set; }

    /// <summary>A file to write the XML to instead of the pipeline (a script block can make one per piped API).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? SaveAs { get; set; }

    /// <summary>With -SaveAs: overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!TryInvoke(() => Get(service), out var policy))
            return;
        if (SaveAs is null)
        {
            if (policy is not null)
                WriteObject(policy);
            return;
        }
        if (TryInvoke(() => Save(policy, ResolvePath, Force.IsPresent), out var warning) && warning is not null)
            WriteWarning(warning);
    }

    /// <summary>The Core operation with this cmdlet's inputs: null when there is no policy of its own.</summary>
    internal GatewayPolicy? Get(GatewayService service) =>
        service.GetPolicy(string.IsNullOrEmpty(ApiId) ? null : ApiId, PolicyFormats.Parse(Format));

    /// <summary>
    /// Writes <paramref name="policy"/> to -SaveAs (over an existing file only with <paramref name="force"/>); when
    /// there is none, nothing is written and the returned warning says so.
    /// </summary>
    internal string? Save(GatewayPolicy? policy, Func<string, string> resolvePath, bool force)
    {
        ArgumentNullException.ThrowIfNull(resolvePath);
        var path = resolvePath(SaveAs ?? throw new ArgumentException("Give the file to write with -SaveAs."));
        if (policy is null)
        {
            var owner = string.IsNullOrEmpty(ApiId) ? "The configuration has no global policy of its own" : $"API '{ApiId}' has no policy of its own";
            return $"{owner} (the default applies), so nothing was written to '{path}'.";
        }
        PolicySource.WriteFile(path, policy.Policy, force);
        return null;
    }
}
