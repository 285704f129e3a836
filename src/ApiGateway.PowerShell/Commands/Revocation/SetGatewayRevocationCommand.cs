using System.Management.Automation;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Revocation;

/// <summary>
/// <c>Set-GatewayRevocation [-Mode Online|Offline|NoCheck] [-CrlFolder &lt;path&gt; | -RemoveCrlFolder]</c>: how the
/// gateway checks revocation where a policy asks for it (validate-client-certificate validate-revocation, Verify()),
/// service-wide, in <c>service.revocation</c>. What is not given keeps its value. The folder is resolved through the
/// PowerShell provider like every path of this module and need not exist yet.
/// </summary>
[Cmdlet(VerbsCommon.Set, "GatewayRevocation", SupportsShouldProcess = true)]
[OutputType(typeof(GatewayRevocation))]
public sealed class SetGatewayRevocationCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>Online (CRL files first, then the certificate's CRL/OCSP server), Offline (CRL files only) or NoCheck.</summary>
    [Parameter]
    public RevocationMode? Mode { get; set; }

    /// <summary>The folder of CRL files (.crl DER or PEM, .pem) the gateway watches.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CrlFolder { get; set; }

    /// <summary>Stop reading CRL files.</summary>
    [Parameter]
    public SwitchParameter RemoveCrlFolder { get; set; }

    /// <summary>Output the settings afterwards.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        string? folder = null;
        if (CrlFolder is not null && !TryInvoke(() => ResolvePath(CrlFolder), out folder))
            return;
        var what = string.Join(", ", new[]
        {
            Mode is { } m ? "mode " + m : null,
            folder is not null ? "CRL folder " + folder : null,
            RemoveCrlFolder ? "no CRL folder" : null,
        }.OfType<string>());
        if (!ShouldProcess(Target("revocation settings", what.Length == 0 ? null : what, service), "Set revocation"))
            return;
        if (!TryInvoke(() => Set(service, folder), out var result))
            return;
        foreach (var warning in result.Warnings)
            WriteWarning(warning);
        if (PassThru)
            WriteObject(result.Value);
    }

    /// <summary>The Core operation with this cmdlet's inputs (<paramref name="folder"/>: the resolved -CrlFolder).</summary>
    internal OperationResult<GatewayRevocation> Set(GatewayService service, string? folder) => service.SetRevocation(Mode, folder, RemoveCrlFolder);
}
