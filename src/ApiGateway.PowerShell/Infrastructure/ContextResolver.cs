namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>
/// Turns what a user or the pipeline gives to <c>-Context</c> into a <see cref="GatewayContext"/>: a context
/// (as is), a configuration path (relative, <c>~</c> or on a PSDrive, resolved by the caller's
/// <c>resolvePath</c>). Anything else is returned unchanged so that
/// PowerShell's binder can go on to try other parameters (throwing here would stop pipeline binding:
/// PowerShell/PowerShell#7600) and report a type mismatch in its own words if nothing fits.
/// </summary>
internal static class ContextResolver
{
    // FileInfo is deliberately not taken: Add-GatewayCertificate binds piped PFX files by their PSPath, and a
    // FileInfo turned into a context would be taken for the configuration instead.
    public static object? Transform(object? value, Func<string, string> resolvePath)
    {
        ArgumentNullException.ThrowIfNull(resolvePath);
        return value switch
        {
            GatewayContext context => context,
            string path when !string.IsNullOrWhiteSpace(path) => GatewayContext.ForPath(resolvePath(path)),
            _ => value,
        };
    }
}
