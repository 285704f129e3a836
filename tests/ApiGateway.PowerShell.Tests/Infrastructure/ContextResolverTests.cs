using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Infrastructure;

public sealed class ContextResolverTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Transform_Context_IsReturnedAsIs()
    {
        var context = GatewayContext.ForPath(_temp.File("gateway.json"));

        Assert.Same(context, ContextResolver.Transform(context, _ => throw new InvalidOperationException("no resolution needed")));
    }

    [Fact]
    public void Transform_Path_ResolvesThroughTheCallerAndNamesTheStoreBesideIt()
    {
        var seen = new List<string>();

        var result = ContextResolver.Transform("./gateway.json", p =>
        {
            seen.Add(p);
            return _temp.File("gateway.json");
        });

        var context = Assert.IsType<GatewayContext>(result);
        Assert.Equal(["./gateway.json"], seen);
        Assert.Equal(_temp.File("gateway.json"), context.ConfigurationPath);
        Assert.Equal(_temp.File("gateway.store"), context.StorePath);
        Assert.Null(context.ServiceName);
        Assert.Null(context.Revision);
        Assert.False(context.Created);
    }

    [Fact]
    public void Transform_PathOfAConfiguration_WorksWithTheOperations()
    {
        var path = _temp.File("gateway.json");
        new GatewayService(path).Open("contoso");

        var context = (GatewayContext)ContextResolver.Transform(path, p => p)!;

        Assert.Equal("contoso", context.Service.Read().Service.Name);
    }

    [Fact]
    public void Transform_AnythingElse_IsLeftForTheBinderToReject()
    {
        var certificateOutput = new GatewayCertificate { CertificateId = "a", Subject = "CN=a", Issuer = "CN=a", Thumbprint = "AA", SerialNumber = "01" };
        var file = new FileInfo(_temp.File("x.pfx"));

        Assert.Same(certificateOutput, ContextResolver.Transform(certificateOutput, Fail));
        Assert.Same(file, ContextResolver.Transform(file, Fail));
        Assert.Equal(42, ContextResolver.Transform(42, Fail));
        Assert.Equal("  ", ContextResolver.Transform("  ", Fail));
        Assert.Null(ContextResolver.Transform(null, Fail));

        static string Fail(string path) => throw new InvalidOperationException("must not resolve " + path);
    }

    [Fact]
    public void ToString_IsTheConfigurationPath()
    {
        Assert.Equal(_temp.File("gateway.json"), GatewayContext.ForPath(_temp.File("gateway.json")).ToString());
    }

    [Fact]
    public void RequireFileSystem_OtherProvider_FailsAndNamesThePathAndTheAlternative()
    {
        PathResolution.RequireFileSystem("/tmp/a.pfx", "FileSystem");

        var ex = Assert.Throws<PathResolutionException>(() => PathResolution.RequireFileSystem(@"Cert:\CurrentUser\My\AB", "Certificate"));

        Assert.Equal(@"Cert:\CurrentUser\My\AB", ex.Path);
        Assert.Contains("Certificate provider", ex.Message, StringComparison.Ordinal);
        Assert.Contains("-StoreThumbprint", ex.Message, StringComparison.Ordinal);
    }
}
