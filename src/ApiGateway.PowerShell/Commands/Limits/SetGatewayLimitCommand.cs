using System.Management.Automation;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Management;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Commands.Limits;

/// <summary>
/// <c>Set-GatewayLimit -RequestHeadersTimeoutSeconds 10 -MaxRequestBodySize 10MB ... [-Reset &lt;names&gt;]</c>: sets the
/// connection and request limits of every listener and the budgets of policy expressions (service-wide, in <c>service.limits</c>); what is not given keeps
/// its value, <c>-Reset</c> returns limits to their defaults. One parameter per limit, named as in the file and in
/// Get-GatewayLimit. Times are in seconds (not TimeSpan: a bare number bound to a TimeSpan is ticks).
/// </summary>
[Cmdlet(VerbsCommon.Set, "GatewayLimit", SupportsShouldProcess = true)]
[OutputType(typeof(GatewayLimit))]
public sealed class SetGatewayLimitCommand : GatewayCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ConfigurationPath")]
    [GatewayContextTransformation]
    [ValidateNotNull]
    public GatewayContext Context { get; set; } = null!;

    /// <summary>Open connections per listener (a restart applies a change).</summary>
    [Parameter]
    public int? MaxConcurrentConnections { get; set; }

    /// <summary>Seconds a client has to complete the TLS handshake (a restart applies a change).</summary>
    [Parameter]
    public double? TlsHandshakeTimeoutSeconds { get; set; }

    /// <summary>Seconds a client has to send the request line and headers.</summary>
    [Parameter]
    public double? RequestHeadersTimeoutSeconds { get; set; }

    /// <summary>Seconds an idle connection stays open.</summary>
    [Parameter]
    public double? KeepAliveTimeoutSeconds { get; set; }

    /// <summary>Bytes of the HTTP/1.1 request line.</summary>
    [Parameter]
    public int? MaxRequestLineSize { get; set; }

    /// <summary>Bytes of all request headers together.</summary>
    [Parameter]
    public int? MaxRequestHeadersTotalSize { get; set; }

    /// <summary>Number of request headers.</summary>
    [Parameter]
    public int? MaxRequestHeaderCount { get; set; }

    /// <summary>Bytes of a request body.</summary>
    [Parameter]
    public long? MaxRequestBodySize { get; set; }

    /// <summary>Minimum bytes per second of a request body after the grace period; 0 turns the check off.</summary>
    [Parameter]
    public int? MinRequestBodyDataRate { get; set; }

    /// <summary>Minimum bytes per second a client reads a response at after the grace period; 0 turns the check off.</summary>
    [Parameter]
    public int? MinResponseDataRate { get; set; }

    /// <summary>Seconds a transfer may run below the minimum data rates.</summary>
    [Parameter]
    public double? DataRateGracePeriodSeconds { get; set; }

    /// <summary>Concurrent requests per HTTP/2 connection.</summary>
    [Parameter]
    public int? Http2MaxStreamsPerConnection { get; set; }

    /// <summary>Steps one policy expression may run (loop iterations, lambda calls, sequence elements).</summary>
    [Parameter]
    public long? ExpressionMaxSteps { get; set; }

    /// <summary>How deep lambda and local-function calls may nest in one expression.</summary>
    [Parameter]
    public int? ExpressionMaxDepth { get; set; }

    /// <summary>Bytes one expression may allocate.</summary>
    [Parameter]
    public long? ExpressionMaxAllocatedBytes { get; set; }

    /// <summary>Milliseconds one expression may run.</summary>
    [Parameter]
    public double? ExpressionTimeoutMilliseconds { get; set; }

    /// <summary>Characters of one policy expression.</summary>
    [Parameter]
    public int? MaxExpressionLength { get; set; }

    /// <summary>How deep parentheses, brackets and braces may nest in one expression.</summary>
    [Parameter]
    public int? MaxExpressionNesting { get; set; }

    /// <summary>Characters of one policy document.</summary>
    [Parameter]
    public int? MaxPolicySize { get; set; }

    /// <summary>Seconds compiling a configuration's expressions may take.</summary>
    [Parameter]
    public double? ExpressionCompileTimeoutSeconds { get; set; }

    /// <summary>Limits to return to their defaults (names as Get-GatewayLimit shows them).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(LimitNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Reset { get; set; }

    /// <summary>Output every limit afterwards.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var service = ServiceFor(Context);
        var names = Values().Keys.Concat(Reset ?? []).ToList();
        if (!ShouldProcess(Target("limits", string.Join(", ", names), service), "Set limits"))
            return;
        if (!TryInvoke(() => Set(service), out var result))
            return;
        foreach (var warning in result.Warnings)
            WriteWarning(warning);
        if (PassThru)
            WriteObject(result.Value, enumerateCollection: true);
    }

    /// <summary>The Core operation with this cmdlet's inputs.</summary>
    internal OperationResult<IReadOnlyList<GatewayLimit>> Set(GatewayService service) => service.SetLimits(Values(), Reset);

    /// <summary>The limits given on the command line, by name.</summary>
    internal Dictionary<string, double> Values()
    {
        var given = new (string Name, double? Value)[]
        {
            (nameof(GatewayLimits.MaxConcurrentConnections), MaxConcurrentConnections),
            (nameof(GatewayLimits.TlsHandshakeTimeoutSeconds), TlsHandshakeTimeoutSeconds),
            (nameof(GatewayLimits.RequestHeadersTimeoutSeconds), RequestHeadersTimeoutSeconds),
            (nameof(GatewayLimits.KeepAliveTimeoutSeconds), KeepAliveTimeoutSeconds),
            (nameof(GatewayLimits.MaxRequestLineSize), MaxRequestLineSize),
            (nameof(GatewayLimits.MaxRequestHeadersTotalSize), MaxRequestHeadersTotalSize),
            (nameof(GatewayLimits.MaxRequestHeaderCount), MaxRequestHeaderCount),
            (nameof(GatewayLimits.MaxRequestBodySize), MaxRequestBodySize),
            (nameof(GatewayLimits.MinRequestBodyDataRate), MinRequestBodyDataRate),
            (nameof(GatewayLimits.MinResponseDataRate), MinResponseDataRate),
            (nameof(GatewayLimits.DataRateGracePeriodSeconds), DataRateGracePeriodSeconds),
            (nameof(GatewayLimits.Http2MaxStreamsPerConnection), Http2MaxStreamsPerConnection),
            (nameof(GatewayLimits.ExpressionMaxSteps), ExpressionMaxSteps),
            (nameof(GatewayLimits.ExpressionMaxDepth), ExpressionMaxDepth),
            (nameof(GatewayLimits.ExpressionMaxAllocatedBytes), ExpressionMaxAllocatedBytes),
            (nameof(GatewayLimits.ExpressionTimeoutMilliseconds), ExpressionTimeoutMilliseconds),
            (nameof(GatewayLimits.MaxExpressionLength), MaxExpressionLength),
            (nameof(GatewayLimits.MaxExpressionNesting), MaxExpressionNesting),
            (nameof(GatewayLimits.MaxPolicySize), MaxPolicySize),
            (nameof(GatewayLimits.ExpressionCompileTimeoutSeconds), ExpressionCompileTimeoutSeconds),
        };
        return given.Where(g => g.Value is not null).ToDictionary(g => g.Name, g => g.Value!.Value, StringComparer.OrdinalIgnoreCase);
    }
}
