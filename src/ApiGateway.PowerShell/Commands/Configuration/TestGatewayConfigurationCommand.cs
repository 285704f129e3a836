using System.Management.Automation;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Configuration;

/// <summary>
/// <c>Test-GatewayConfiguration</c>: every problem of a configuration at once, as objects, found by the gateway's own
/// engine (<c>ApiGateway.Host validate</c>): dangling references, duplicate API paths, policy XML and expression
/// errors with line and column, certificates expired or expiring within <c>-ExpiringInDays</c>, hostnames without a
/// server certificate, CA certificates missing for a strict hostname. <c>-Quiet</c>: <c>$true</c> or <c>$false</c>.
/// </summary>
/// <remarks>
/// Errors are what the gateway refuses to load; warnings are what it loads but should not be left alone (a certificate
/// about to expire, an API that never forwards). <c>-Quiet</c> is <c>$false</c> on any error, and on warnings too only
/// with <c>-TreatWarningsAsErrors</c>: a CI gate that should fail a month before a certificate expires asks for that.
/// </remarks>
[Cmdlet(VerbsDiagnostic.Test, "GatewayConfiguration")]
[OutputType(typeof(GatewayConfigurationProblem))]
[OutputType(typeof(bool))]
public sealed class TestGatewayConfigurationCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>Warn about certificates in use that expire within this many days (default 30; 0: only expired ones).</summary>
    [Parameter]
    [ValidateRange(0, 3650)]
    public int ExpiringInDays { get; set; } = CertificateExpiry.DefaultDays;

    /// <summary>Return only <c>$true</c> (no error) or <c>$false</c>, for scripts and CI.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <summary>Count warnings (e.g. expiring certificates) as failures: <c>-Quiet</c> returns <c>$false</c> on them too.</summary>
    [Parameter]
    public SwitchParameter TreatWarningsAsErrors { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        if (!TryInvoke(() => Test(service), out var problems))
        {
            if (Quiet)
                WriteObject(false);
            return;
        }
        if (Quiet)
            WriteObject(Passes(problems, TreatWarningsAsErrors));
        else
            WriteObject(problems, enumerateCollection: true);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal IReadOnlyList<GatewayConfigurationProblem> Test(GatewayService service) => service.Test(ExpiringInDays).Problems;

    /// <summary>What <c>-Quiet</c> answers: no error (and, with <paramref name="strict"/>, no warning either).</summary>
    internal static bool Passes(IEnumerable<GatewayConfigurationProblem> problems, bool strict) =>
        !problems.Any(p => p.Severity == GatewayProblemSeverity.Error || (strict && p.Severity == GatewayProblemSeverity.Warning));
}
