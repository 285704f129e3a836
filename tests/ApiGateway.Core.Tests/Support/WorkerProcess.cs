using System.Diagnostics;

namespace ApiGateway.Core.Tests.Support;

/// <summary>Runs ApiGateway.Core.Tests.Worker (copied beside the tests) as a separate process.</summary>
public static class WorkerProcess
{
    public static Process Start(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "ApiGateway.Core.Tests.Worker.dll");
        var info = new ProcessStartInfo(DotNet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException("The worker did not start.");
    }

    /// <summary>The dotnet host running these tests (DOTNET_HOST_PATH is set by 'dotnet test').</summary>
    public static string DotNet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
}
