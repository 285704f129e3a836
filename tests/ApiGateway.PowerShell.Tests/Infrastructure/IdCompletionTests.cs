using System.Collections;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Infrastructure;

public sealed class IdCompletionTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly GatewayService _service;

    public IdCompletionTests()
    {
        _service = new GatewayService(_temp.File("gateway.json"));
        _service.Open("contoso");
        using var a = TestCertificates.Create("CN=backend 2025");
        using var b = TestCertificates.Create("CN=Backend 2026");
        using var server = TestCertificates.Create("CN=localhost", serverAuth: true, dnsNames: ["localhost"]);
        _service.AddCertificate("backend-2025", CertificateInput.FromCertificate(a));
        _service.AddCertificate("Backend-2026", CertificateInput.FromCertificate(b));
        _service.AddCertificate("server", CertificateInput.FromCertificate(server));
        _service.NewBackend(new BackendDefinition { BackendId = "billing", Url = "https://billing.internal/" });
        _service.NewApi(new ApiDefinition { ApiId = "orders", Path = "orders", BackendId = "billing" });
        _service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = 8443, CertificateId = "server" });
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Complete_Nothing_OffersEveryIdInOrder()
    {
        var items = IdCompletion.Complete(_service.Read(), IdKind.Certificate, "");

        Assert.Equal(["backend-2025", "Backend-2026", "server"], items.Select(i => i.CompletionText));
    }

    [Fact]
    public void Complete_Prefix_MatchesWithoutRegardToCase()
    {
        var items = IdCompletion.Complete(_service.Read(), IdKind.Certificate, "BACK");

        Assert.Equal(["backend-2025", "Backend-2026"], items.Select(i => i.ListItemText));
    }

    [Fact]
    public void Complete_WildcardOrQuote_IsUnderstood()
    {
        Assert.Equal(["Backend-2026"], IdCompletion.Complete(_service.Read(), IdKind.Certificate, "*2026").Select(i => i.CompletionText));
        Assert.Equal(["server"], IdCompletion.Complete(_service.Read(), IdKind.Certificate, "'ser").Select(i => i.CompletionText));
        Assert.Empty(IdCompletion.Complete(_service.Read(), IdKind.Certificate, "[b"));
    }

    [Fact]
    public void Complete_ToolTips_TellSimilarIdsApart()
    {
        var item = IdCompletion.Complete(_service.Read(), IdKind.Certificate, "backend-2025").Single();

        Assert.Contains("CN=backend 2025", item.ToolTip, StringComparison.Ordinal);
        Assert.Contains("expires", item.ToolTip, StringComparison.Ordinal);
    }

    [Fact]
    public void Complete_EachKind_OffersItsOwnIds()
    {
        var configuration = _service.Read();

        Assert.Equal(["billing"], IdCompletion.Complete(configuration, IdKind.Backend, "").Select(i => i.CompletionText));
        Assert.Equal(["orders"], IdCompletion.Complete(configuration, IdKind.Api, "o").Select(i => i.CompletionText));
        Assert.Equal(["localhost"], IdCompletion.Complete(configuration, IdKind.Hostname, "").Select(i => i.CompletionText));
        Assert.Empty(IdCompletion.Complete(configuration, IdKind.CaCertificate, ""));
        Assert.Contains("billing", IdCompletion.Complete(configuration, IdKind.Api, "").Single().ToolTip, StringComparison.Ordinal);
    }

    [Fact]
    public void Completer_ReadsTheConfigurationOfTheContextOnTheCommandLine()
    {
        var byPath = new CertificateIdCompleter().CompleteArgument("Get-GatewayCertificate", "CertificateId", "back", null!, new Hashtable { ["Context"] = _service.ConfigurationPath });
        var byContext = new BackendIdCompleter().CompleteArgument("Get-GatewayBackend", "BackendId", "", null!, new Hashtable { ["context"] = GatewayContext.ForPath(_service.ConfigurationPath) });

        Assert.Equal(2, byPath.Count());
        Assert.Single(byContext);
    }

    [Fact]
    public void Completer_WithoutContextOrWithAMissingFile_OffersNothingAndNeverThrows()
    {
        Assert.Empty(new ApiIdCompleter().CompleteArgument("Get-GatewayApi", "ApiId", "", null!, new Hashtable()));
        Assert.Empty(new ApiIdCompleter().CompleteArgument("Get-GatewayApi", "ApiId", "", null!, new Hashtable { ["Context"] = _temp.File("missing.json") }));
        File.WriteAllText(_temp.File("broken.json"), "{ not json");
        Assert.Empty(new ApiIdCompleter().CompleteArgument("Get-GatewayApi", "ApiId", "", null!, new Hashtable { ["Context"] = _temp.File("broken.json") }));
        Assert.Empty(new HostNameCompleter().CompleteArgument("Get-GatewayHostname", "HostName", "", null!, null!));
    }
}
