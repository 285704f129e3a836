using System.Management.Automation;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Hostnames;

/// <summary>
/// <c>Set-GatewayHostname -HostName -Port -CertificateId -NegotiateClientCertificate &lt;bool&gt;</c>: adds a hostname
/// the gateway listens on, or changes what is given of an existing one. A new hostname needs a server certificate
/// with a private key. <c>-RequireClientCertificate $true</c> (strict mode) implies negotiating one.
/// </summary>
[Cmdlet(VerbsCommon.Set, "GatewayHostname", SupportsShouldProcess = true)]
[OutputType(typeof(GatewayHostname))]
public sealed class SetGatewayHostnameCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The DNS name clients use (SNI), e.g. api.contoso.com or localhost.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string HostName { get; set; } = null!;

    /// <summary>TCP port (1-65535; a new hostname defaults to 443).</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Address to bind: * (all interfaces, the default), localhost, or an IP address.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ListenAddress { get; set; }

    /// <summary>The server certificate (with private key).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(CertificateIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string? CertificateId { get; set; }

    /// <summary>$true: ask clients for a certificate during the handshake and hand it to the policies.</summary>
    [Parameter]
    public bool? NegotiateClientCertificate { get; set; }

    /// <summary>$true: refuse the handshake unless the client certificate chains to an uploaded CA certificate.</summary>
    [Parameter]
    public bool? RequireClientCertificate { get; set; }

    /// <summary>Protocols and cipher suites: Intermediate (the default), Modern (TLS 1.3 only) or Custom (with -CipherSuite).</summary>
    [Parameter]
    public TlsProfile? TlsProfile { get; set; }

    /// <summary>IANA names of the cipher suites of the custom profile, in order of preference; implies -TlsProfile Custom.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CipherSuite { get; set; }

    /// <summary>Output the hostname.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!ShouldProcess(Target("hostname", HostName, service), "Set hostname"))
            return;
        if (TryInvoke(() => Set(service), out var hostname) && PassThru)
            WriteObject(hostname);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal GatewayHostname Set(GatewayService service) => service.SetHostname(new HostnameDefinition
    {
        HostName = HostName,
        Port = Port,
        ListenAddress = ListenAddress,
        CertificateId = CertificateId,
        NegotiateClientCertificate = NegotiateClientCertificate,
        RequireClientCertificate = RequireClientCertificate,
        TlsProfile = TlsProfile,
        CipherSuites = CipherSuite,
    });
}
