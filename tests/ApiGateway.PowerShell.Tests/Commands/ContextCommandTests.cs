using System.Management.Automation;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Commands;

namespace ApiGateway.PowerShell.Tests.Commands;

public sealed class ContextCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void NewGatewayContext_MissingFile_IsCreatedAndSaysSo()
    {
        var path = _temp.File("gateway.json");

        var result = new NewGatewayContextCommand { Path = "gateway.json", ServiceName = "contoso" }.Open(path);

        Assert.True(File.Exists(path));
        Assert.True(result.Value.Created);
        Assert.Equal("contoso", result.Value.ServiceName);
        Assert.Equal(1, result.Value.Revision);
        Assert.Equal(path, result.Value.ConfigurationPath);
        Assert.Equal(_temp.File("gateway.store"), result.Value.StorePath);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void NewGatewayContext_ExistingFile_IsOpenedUnchangedWithAWarningForAnotherServiceName()
    {
        var path = _temp.File("gateway.json");
        new NewGatewayContextCommand { ServiceName = "contoso" }.Open(path);
        var before = File.ReadAllBytes(path);

        var result = new NewGatewayContextCommand { ServiceName = "fabrikam" }.Open(path);

        Assert.False(result.Value.Created);
        Assert.Equal("contoso", result.Value.ServiceName);
        Assert.Contains(result.Warnings, w => w.Contains("'fabrikam' was not applied", StringComparison.Ordinal));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void NewGatewayContext_MissingFolder_FailsWithFolderNotFound()
    {
        var mapped = Failures.Of<NewGatewayContextCommand>(() => new NewGatewayContextCommand().Open(_temp.File("nope/gateway.json")));

        Assert.Equal("NewGatewayContextFolderNotFound", mapped.ErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, mapped.Category);
        Assert.True(mapped.Terminating);
    }

    [Fact]
    public void NewGatewayContext_UnreadableFile_IsReportedAndNeverReplaced()
    {
        var path = _temp.Write("gateway.json", "{ \"schemaVersion\": 1, oops");

        var mapped = Failures.Of<NewGatewayContextCommand>(() => new NewGatewayContextCommand().Open(path));

        Assert.Equal(ErrorCategory.InvalidData, mapped.Category);
        Assert.StartsWith("NewGatewayContext", mapped.ErrorId, StringComparison.Ordinal);
        Assert.Equal("{ \"schemaVersion\": 1, oops", File.ReadAllText(path));
    }
}
