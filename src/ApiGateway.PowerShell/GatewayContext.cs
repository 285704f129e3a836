using ApiGateway.Core.Certificates;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;

namespace ApiGateway.PowerShell;

/// <summary>
/// An opened gateway configuration: what <c>New-GatewayContext</c> returns and every other cmdlet takes as
/// <c>-Context</c>. It wraps the Core <see cref="GatewayService"/> of one configuration file. A context holds no
/// state beyond the path: every cmdlet reads the file afresh, so several sessions (and the running gateway) can
/// share one configuration.
/// </summary>
public sealed class GatewayContext
{
    private GatewayContext(GatewayService service, string? serviceName, long? revision, bool created)
    {
        Service = service;
        ServiceName = serviceName;
        Revision = revision;
        Created = created;
    }

    /// <summary>The service name recorded in the configuration (null for a context made from a bare path).</summary>
    public string? ServiceName { get; }

    /// <summary>Absolute path of the configuration file.</summary>
    public string ConfigurationPath => Service.ConfigurationPath;

    /// <summary>The folder that holds the encrypted certificates and secrets beside the configuration.</summary>
    public string StorePath => Service.CertificateStore.Directory;

    /// <summary>The configuration's revision when the context was opened (null for a context made from a bare path).</summary>
    public long? Revision { get; }

    /// <summary>Whether <c>New-GatewayContext</c> created the configuration file.</summary>
    public bool Created { get; }

    /// <summary>The Core operations over this configuration.</summary>
    internal GatewayService Service { get; }

    /// <summary>A context for the configuration <paramref name="info"/> describes (New-GatewayContext).</summary>
    internal static GatewayContext Opened(GatewayService service, GatewayContextInfo info) =>
        new(service, info.ServiceName, info.Revision, info.Created);

    /// <summary>
    /// A context for an absolute configuration path, as <c>-Context ./gateway.json</c> or a pipeline object's
    /// <c>ConfigurationPath</c> gives it. The file is not read here: the cmdlet's operation reports a missing or
    /// damaged file with its own error id.
    /// </summary>
    internal static GatewayContext ForPath(string fullPath) =>
        new(new GatewayService(fullPath, CertificateStore.DirectoryFor(fullPath), engine: Engine), null, null, false);

    /// <summary>
    /// The gateway's own engine (the host the module ships, run as <c>validate</c>): every change a cmdlet makes to a
    /// policy expression is checked by it before it is saved, and Test-GatewayConfiguration runs it.
    /// </summary>
    internal static ConfigurationEngine Engine { get; } = new();

    /// <summary>The configuration path, so that <c>"$context"</c> and string conversions give something useful.</summary>
    public override string ToString() => ConfigurationPath;
}
