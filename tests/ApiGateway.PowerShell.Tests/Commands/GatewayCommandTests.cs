using System.Net;
using System.Net.Sockets;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Commands.Gateway;
using ApiGateway.PowerShell.Tests.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Commands;

/// <summary>
/// Start-Gateway, Get-GatewayStatus and Stop-Gateway through their Core calls, with the gateway host from the
/// assembled module folder (host/ApiGateway.Host.dll) as a real background process.
/// </summary>
[Collection(ModuleFolderGroup.Name)]
public sealed class GatewayCommandTests : CommandTestBase
{
    private readonly ModuleFolderFixture _module;

    public GatewayCommandTests(ModuleFolderFixture module)
    {
        _module = module;
    }

    [Fact]
    public void Status_WithNothingRunning_IsNotRunning()
    {
        var status = GetGatewayStatusCommand.Get(Service.ConfigurationPath);

        Assert.False(status.IsRunning);
        Assert.Equal(Service.ConfigurationPath, status.ConfigurationPath);
    }

    [Fact]
    public void Stop_WithNothingRunning_IsNotAnError()
    {
        var stopped = new StopGatewayCommand().Stop(Service.ConfigurationPath);

        Assert.False(stopped.WasRunning);
    }

    [Fact]
    public void Start_WithTheHostOfTheModuleFolder_ServesThenStatusThenStopsGracefully()
    {
        using var server = TestCertificates.Create("CN=localhost", Ca, serverAuth: true, dnsNames: ["localhost", "127.0.0.1"]);
        Service.AddCertificate("server", CertificateInput.FromCertificate(server));
        var port = FreePort();
        Service.SetHostname(new HostnameDefinition { HostName = "localhost", Port = port, ListenAddress = "127.0.0.1", CertificateId = "server" });
        var start = new StartGatewayCommand { HostPath = _module.File("host", "ApiGateway.Host.dll"), TimeoutSec = 120 };

        var started = start.Start(Service.ConfigurationPath, Resolve);
        try
        {
            Assert.True(started.Pid > 0);
            Assert.Equal("contoso", started.ServiceName);
            Assert.Equal(Service.Read().Revision, started.Revision);
            Assert.Contains(started.ListeningUrls, u => u.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

            var status = GetGatewayStatusCommand.Get(Service.ConfigurationPath);
            Assert.True(status.IsRunning);
            Assert.Equal(started.Pid, status.Pid);
            Assert.Null(status.LastReloadError);

            var again = Failure<StartGatewayCommand>(() => start.Start(Service.ConfigurationPath, Resolve));
            Assert.Equal("StartGatewayAlreadyRunning", again.ErrorId);
        }
        finally
        {
            var stopped = new StopGatewayCommand { TimeoutSec = 30 }.Stop(Service.ConfigurationPath);
            Assert.True(stopped.WasRunning);
            Assert.True(stopped.Graceful);
        }
        Assert.False(GetGatewayStatusCommand.Get(Service.ConfigurationPath).IsRunning);
    }

    [Fact]
    public void Start_WithAMissingHost_NamesTheFix()
    {
        var mapped = Failure<StartGatewayCommand>(() => new StartGatewayCommand { HostPath = "no-such-host/ApiGateway.Host.dll" }.Start(Service.ConfigurationPath, Resolve));

        Assert.Equal("StartGatewayHostNotFound", mapped.ErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.ObjectNotFound, mapped.Category);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
