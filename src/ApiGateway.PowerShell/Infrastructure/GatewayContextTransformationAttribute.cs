using System.Management.Automation;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>
/// Lets <c>-Context</c> take a configuration path as well as a context object. Together with the parameter's
/// alias <c>ConfigurationPath</c> and <c>ValueFromPipelineByPropertyName</c>, it lets every output object of the
/// module (they all carry <c>ConfigurationPath</c>) find its configuration again when piped into another cmdlet:
/// <c>Get-GatewayBackend -Context $c | Set-GatewayBackend -SkipCertificateNameValidation $true</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class GatewayContextTransformationAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        ArgumentNullException.ThrowIfNull(engineIntrinsics);
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        try
        {
            return ContextResolver.Transform(value, path => PathResolution.Resolve(engineIntrinsics.SessionState.Path, path));
        }
        catch (PathResolutionException ex)
        {
            throw new ArgumentTransformationMetadataException(ex.Message, ex);
        }
    }
}
