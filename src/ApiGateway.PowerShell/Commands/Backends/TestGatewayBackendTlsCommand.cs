using System.Management.Automation;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Backends;

/// <summary>
/// <c>Test-GatewayBackendTls -BackendId &lt;id&gt;</c>: a live TLS handshake with the backend, made as the gateway
/// makes it (its certificate checks and client certificate), and a HEAD request to see whether the backend accepts
/// the client certificate. Writes one result per backend; a failed test is a result (<c>Succeeded</c> false, with
/// <c>Error</c> and <c>Advice</c>), not an error. Changes nothing, so no ShouldProcess.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "GatewayBackendTls")]
[OutputType(typeof(GatewayBackendTlsResult))]
[OutputType(typeof(bool))]
public sealed class TestGatewayBackendTlsCommand : GatewayCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>The backends to test; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BackendIdCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string BackendId { get; set; } = null!;

    /// <summary>Present these certificates instead of the backend's credential certificates (to try one before configuring it).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(CertificateIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? CertificateId { get; set; }

    /// <summary>Seconds the whole test of one backend may take (connect, handshake, answer).</summary>
    [Parameter]
    [ValidateRange(1, 300)]
    public int TimeoutSec { get; set; } = 10;

    /// <summary>Output only whether each test succeeded ($true or $false).</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!TryInvoke(() => service.GetBackends(BackendId), out var backends))
            return;
        foreach (var backend in backends)
        {
            WriteVerbose($"Testing TLS with backend '{backend.BackendId}' at {backend.Url} (at most {TimeoutSec} s).");
            if (!TryInvoke(() => Test(service, backend.BackendId, _stop.Token), out var result))
                continue;
            if (Quiet)
                WriteObject(result.Succeeded);
            else
                WriteObject(result);
        }
    }

    /// <summary>Ctrl+C ends a test that is still waiting.</summary>
    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal GatewayBackendTlsResult Test(GatewayService service, string backendId, CancellationToken cancellationToken) =>
        service.TestBackendTlsAsync(backendId, CertificateId, TimeSpan.FromSeconds(TimeoutSec), cancellationToken).GetAwaiter().GetResult();

    public void Dispose() => _stop.Dispose();
}
