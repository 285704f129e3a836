using System.Diagnostics;
using ApiGateway.Core.Hosting;

namespace ApiGateway.Host.Tests.Support;

/// <summary>The gateway executable of this build as a real child process (what Start-Gateway runs).</summary>
internal static class HostProcess
{
    public static string HostPath => Path.Combine(AppContext.BaseDirectory, "ApiGateway.Host.dll");

    /// <summary>Starts <c>dotnet ApiGateway.Host.dll <paramref name="arguments"/></c> with its output redirected.</summary>
    public static Process Start(string[] arguments, Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(DotnetLocator.Find(HostPath, null))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment ?? [])
            start.Environment[name] = value;
        start.ArgumentList.Add(HostPath);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }

    /// <summary>The state file <paramref name="process"/> wrote once it serves (it fails when the process ends first).</summary>
    public static async Task<GatewayStateFile> WaitForStateFileAsync(string configurationPath, Process process)
    {
        var limit = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < limit && !process.HasExited)
        {
            if (GatewayStateFile.TryRead(configurationPath) is { } state && state.Pid == process.Id)
                return state;
            await Task.Delay(50);
        }
        throw new TimeoutException($"The gateway (process {process.Id}, exited: {process.HasExited}) wrote no state file.");
    }
}
