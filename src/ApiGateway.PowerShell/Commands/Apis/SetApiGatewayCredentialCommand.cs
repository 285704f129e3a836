using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Apis;

/// <summary>
/// <c>Set-ApiGatewayCredential -ApiId -CertificateId | -CertificateThumbprint | -None</c>: the client certificate
/// an API presents to its backend (the API policy's <c>&lt;authentication-certificate&gt;</c>), the rest of the
/// policy unchanged. By id it follows a rotation (Set-GatewayCertificate); by thumbprint it does not.
/// </summary>
[Cmdlet(VerbsCommon.Set, "ApiGatewayCredential", SupportsShouldProcess = true, DefaultParameterSetName = ParameterSets.CertificateId)]
[OutputType(typeof(GatewayApi))]
public sealed class SetApiGatewayCredentialCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The API whose gateway credential to set.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ApiIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string ApiId { get; set; } = null!;

    /// <summary>The certificate (with private key) to present, by id.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.CertificateId)]
    [ArgumentCompleter(typeof(CertificateIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string? CertificateId { get; set; }

    /// <summary>The certificate to present, by thumbprint of an uploaded certificate.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.CertificateThumbprint)]
    [ValidateNotNullOrEmpty]
    public string? CertificateThumbprint { get; set; }

    /// <summary>Present no client certificate (removes &lt;authentication-certificate&gt;).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.None)]
    public SwitchParameter None { get; set; }

    /// <summary>Output the API.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        var what = CertificateId is not null ? $"certificate '{CertificateId}'"
            : CertificateThumbprint is not null ? $"certificate with thumbprint {CertificateThumbprint}"
            : "no certificate";
        if (!ShouldProcess(Target("API", ApiId, service), $"Present {what} to the backend"))
            return;
        if (TryInvoke(() => Set(service), out var api) && PassThru)
            WriteObject(api);
    }

    /// <summary>The Core operation with this cmdlet's inputs (neither id nor thumbprint: -None).</summary>
    internal GatewayApi Set(GatewayService service) => service.SetGatewayCredential(ApiId, CertificateId, CertificateThumbprint);
}
