using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace ApiGateway.Core.Hosting;

/// <summary>
/// A warm <c>ApiGateway.Host explain --serve</c> per configuration, kept for the session: the first dry run pays the
/// host's start and the configuration load (reading certificates, compiling every expression: seconds), the next ones
/// a line over a pipe (milliseconds) — a Pester file of policy cases runs in seconds. The host reloads by itself when
/// the configuration changes, exits when this process goes away (its standard input closes) or after five idle
/// minutes, and is started again when it is gone.
/// </summary>
internal sealed class ExplainServer : IDisposable
{
    /// <summary>Warm hosts kept at once (one per configuration tested); the least recently used goes first.</summary>
    public const int MaxServers = 4;

    private static readonly Dictionary<string, ExplainServer> Servers = new(StringComparer.Ordinal);
    private static readonly Lock ServersLock = new();

    private readonly Process _process;
    private readonly StringBuilder _errors = new();
    private readonly Lock _lock = new();
    private long _lastUsed;

    private ExplainServer(Process process)
    {
        _process = process;
    }

    /// <summary>The answer line of <paramref name="requestLine"/> from the warm host of this configuration (started when needed).</summary>
    public static JsonDocument Ask(string muxer, string host, string config, string requestLine, TimeSpan timeout)
    {
        var key = muxer + "\n" + host + "\n" + config;
        for (var attempt = 0; ; attempt++)
        {
            ExplainServer server;
            lock (ServersLock)
            {
                if (!Servers.TryGetValue(key, out server!) || server._process.HasExited)
                {
                    server?.Dispose();
                    Servers.Remove(key);
                    while (Servers.Count >= MaxServers)
                    {
                        var oldest = Servers.MinBy(s => s.Value._lastUsed);
                        Servers.Remove(oldest.Key);
                        oldest.Value.Dispose();
                    }
                    server = Start(muxer, host, config);
                    Servers[key] = server;
                }
                server._lastUsed = Environment.TickCount64;
            }
            try
            {
                return server.Send(requestLine, timeout, config);
            }
            catch (IOException) when (attempt == 0)
            {
                // It exited between the check and the write (its idle timeout): start a new one, once.
                lock (ServersLock)
                {
                    if (Servers.TryGetValue(key, out var current) && ReferenceEquals(current, server))
                        Servers.Remove(key);
                }
                server.Dispose();
            }
            catch
            {
                lock (ServersLock)
                {
                    if (Servers.TryGetValue(key, out var current) && ReferenceEquals(current, server))
                        Servers.Remove(key);
                }
                server.Dispose();
                throw;
            }
        }
    }

    private static ExplainServer Start(string muxer, string host, string config)
    {
        var start = new ProcessStartInfo(muxer)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            WorkingDirectory = Path.GetDirectoryName(config)!,
        };
        foreach (var argument in new[] { host, "explain", "--config", config, "--serve" })
            start.ArgumentList.Add(argument);
        var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            process.Dispose();
            throw new GatewayException("Gateway", "DryRunFailed", GatewayErrorCategory.InvalidOperation, $"'{muxer}' could not be started: {ex.Message}", muxer, ex);
        }
        var server = new ExplainServer(process);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (server._errors)
            {
                if (server._errors.Length < 16 * 1024)
                    server._errors.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        return server;
    }

    private JsonDocument Send(string requestLine, TimeSpan timeout, string config)
    {
        lock (_lock)
        {
            _process.StandardInput.WriteLine(requestLine);
            _process.StandardInput.Flush();
            var read = _process.StandardOutput.ReadLineAsync();
            if (!read.Wait(timeout))
            {
                throw new GatewayException("Gateway", "DryRunTimeout", GatewayErrorCategory.Unavailable,
                    $"The dry run of '{config}' did not finish within {timeout.TotalSeconds:0} s and was stopped.", config);
            }
            var line = read.Result;
            if (line is null)
            {
                _process.WaitForExit(5000);
                string errors;
                lock (_errors)
                    errors = _errors.ToString().Trim();
                throw new GatewayException("Gateway", "DryRunFailed", GatewayErrorCategory.InvalidOperation,
                    $"The gateway host stopped during the dry run of '{config}'{(_process.HasExited ? $" (exit code {_process.ExitCode})" : string.Empty)}: {(errors.Length > 0 ? errors : "it printed nothing")}", config);
            }
            return JsonDocument.Parse(line);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(2000))
                    _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}
