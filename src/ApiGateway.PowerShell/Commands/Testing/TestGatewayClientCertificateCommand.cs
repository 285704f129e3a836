using System.Collections;
using System.Management.Automation;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using ApiGateway.Core.Hosting;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Testing;

/// <summary>
/// <c>Test-GatewayClientCertificate -ApiId &lt;id&gt; -Certificate &lt;X509Certificate2 | path | Cert: item&gt; [-HostName]
/// [-Method] [-Path]</c>: a dry run of the request without a running gateway — whether the gateway would forward it
/// (Allowed), or the handshake refusal or status and reason the client would get, and the trace of every policy
/// element evaluated, each condition's value and the entry that decided. The gateway host makes it (the same
/// snapshot, handshake decision and policy pipeline as a served request; a warm host per configuration, see
/// <see cref="ExplainServer"/>); nothing is sent anywhere. Piped certificates are tested in one request to it.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "GatewayClientCertificate", DefaultParameterSetName = ParameterSets.Certificate)]
[OutputType(typeof(GatewayDecision))]
public sealed class TestGatewayClientCertificateCommand : GatewayCmdlet
{
    private readonly List<DryRunCase> _cases = [];
    private string? _configurationPath;

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The API the request goes to.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ApiIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string ApiId { get; set; } = null!;

    /// <summary>The client certificate: an X509Certificate2, a Cert: drive item or path, or a PFX/PEM/DER file. Its public part is enough.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ParameterSetName = ParameterSets.Certificate)]
    [ValidateNotNull]
    public object Certificate { get; set; } = null!;

    /// <summary>The password of a PFX file given as -Certificate.</summary>
    [Parameter(ParameterSetName = ParameterSets.Certificate)]
    public SecureString? CertificatePassword { get; set; }

    /// <summary>A client that presents no certificate.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.NoCertificate)]
    public SwitchParameter NoCertificate { get; set; }

    /// <summary>The hostname the client connects to (SNI). Default: the first configured.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? HostName { get; set; }

    /// <summary>The request method. Default: GET.</summary>
    [Parameter]
    [ValidatePattern("^[A-Za-z]{1,32}$")]
    public string Method { get; set; } = "GET";

    /// <summary>The path below the API's path (with any query string), e.g. <c>/orders/1</c>.</summary>
    [Parameter]
    public string? Path { get; set; }

    /// <summary>Request headers the policy may read.</summary>
    [Parameter]
    public IDictionary? Headers { get; set; }

    /// <summary>The gateway host (ApiGateway.Host.dll). Default: the one in the module's host folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HostPath { get; set; }

    /// <summary>Seconds the dry run may take. Default: 120.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 120;

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (_configurationPath is not null && !string.Equals(_configurationPath, service.ConfigurationPath, StringComparison.Ordinal))
            Flush();
        _configurationPath = service.ConfigurationPath;
        X509Certificate2? certificate = null;
        if (!NoCertificate.IsPresent && !TryInvoke(() => ClientCertificateArgument.Resolve(this, Certificate, CertificatePassword, needPrivateKey: false), out certificate))
            return;
        _cases.Add(Case(certificate));
    }

    protected override void EndProcessing() => Flush();

    /// <summary>One dry-run case of this cmdlet's inputs.</summary>
    internal DryRunCase Case(X509Certificate2? certificate) => new()
    {
        ApiId = ApiId,
        Certificate = certificate,
        HostName = HostName,
        Method = Method.ToUpperInvariant(),
        Path = Path,
        Headers = HeaderArguments.ToDictionary(Headers),
    };

    private void Flush()
    {
        if (_cases.Count == 0 || _configurationPath is null)
            return;
        var cases = _cases.ToList();
        _cases.Clear();
        if (TryInvoke(() => GatewayDryRun.Explain(_configurationPath, cases, HostPath is null ? ModuleHostPath() : ResolvePath(HostPath), timeout: TimeSpan.FromSeconds(TimeoutSec)), out var decisions))
        {
            foreach (var decision in decisions)
                WriteObject(decision);
        }
    }

    private string? ModuleHostPath() =>
        MyInvocation.MyCommand.Module?.ModuleBase is { Length: > 0 } moduleBase
            ? System.IO.Path.Combine(moduleBase, "host", "ApiGateway.Host.dll")
            : null;
}
