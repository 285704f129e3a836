using System.Runtime.InteropServices;
using ApiGateway.Host;

// Regular expressions in policy expressions must not hang a request: every Regex without its own timeout gets one.
AppContext.SetData("REGEX_DEFAULT_MATCH_TIMEOUT", TimeSpan.FromSeconds(2));
// Before any socket exists: the sockets engine reads these once (ApiGateway.Host.Runtime.TransportTuning).
ApiGateway.Host.Runtime.TransportTuning.PreferInlineCompletions();
ApiGateway.Host.Runtime.TransportTuning.PreferFewerEventThreads();
return await CommandLine.RunAsync(args).ConfigureAwait(false);

namespace ApiGateway.Host
{
    /// <summary>The commands of the gateway executable.</summary>
    internal static class CommandLine
    {
        public const string Usage = """
            ApiGateway.Host — the ApiGateway gateway (mutual TLS, APIM policies, YARP forwarding)

            Usage:
              ApiGateway.Host run --config <gateway.json> [options]   serve in the foreground (systemd, containers, Kubernetes)
              ApiGateway.Host validate --config <gateway.json> [--format text|json] [--expiring-in-days <n>] [--store <dir>]
                                                                     load everything, report every problem, exit
              ApiGateway.Host quickstart [--folder <dir>] [--port <n>]
                                                                     a working demo: CA, certificates, a backend that
                                                                     requires the gateway's client certificate, curl commands
              ApiGateway.Host explain --config <gateway.json> --api <id> [--certificate <file> | --no-certificate]
                                    [--host <name>] [--method <m>] [--path <p>] [--header "<name>: <value>"]...
                                    [--format text|json]
                                                                     a dry run: what the gateway would decide for this
                                                                     request and client certificate, and the trace of
                                                                     each policy element evaluated (nothing is sent)
              ApiGateway.Host explain --config <gateway.json> --requests <requests.json> [--format json]
                                                                     the same for each request of a JSON array
                                                                     ({apiId, certificate: base64 DER, hostName,
                                                                     method, path, headers}), one configuration load
              ApiGateway.Host explain --config <gateway.json> --serve
                                                                     the same for each line of standard input (a JSON
                                                                     array of requests), one JSON line out per line in;
                                                                     reloads only when the configuration changed
              ApiGateway.Host --version

            Options of run:
              --status-port <n>      status endpoint port on 127.0.0.1 (default: an ephemeral port; 'none' for none)
              --health-address <address:port>
                                     also serve /healthz, /readyz and /metrics (never /status or /shutdown) there,
                                     e.g. 0.0.0.0:8080, [::]:8080, *:8080 (for a kubelet or a load balancer)
              --listen-address <ip>  bind every hostname's port on this address (or *) instead of the configured
                                     one: several instances of one configuration on one host
              --access-log <path>    append one JSON line per request to <path> ('-': standard output): time, API,
                                     method, path (never the query), status, client certificate, decision, backend,
                                     latency (docs/gateway.md "Access log"; off by default)
              --drain-timeout <s>    how long a stop lets requests in flight finish (default 30)
              --shutdown-delay <s>   how long a stop keeps accepting connections with /readyz at 503 first (default 0)
              --no-state-file        do not write <config>.state.json (Get-GatewayStatus/Stop-Gateway will not find it)
              --log-level <level>    Trace, Debug, Information (default), Warning, Error
              --log-format <format>  simple (default), json, systemd
              --log-file <path>      append all output to <path> instead of the console
              --detach               leave the terminal's process group (used by Start-Gateway)

            Options of validate:
              --format <format>      text (default), or json: one document with every problem (severity, errorId,
                                     subject, section, line, column, message, fix) for scripts and the module
              --expiring-in-days <n> also warn about certificates in use that expire within n days (default 30)
              --store <dir>          the certificate store folder (default: <config>.store beside the file)

            Signals: SIGTERM, SIGINT, SIGQUIT stop gracefully (drain); SIGHUP reloads the configuration.
            Exit codes: 0 stopped normally; 1 bad command line; 2 configuration invalid; 3 cannot listen; 4 other failure.
            """;

        public static async Task<int> RunAsync(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                Console.Out.WriteLine(Usage);
                return args.Length == 0 ? 1 : 0;
            }
            if (args[0] is "--version" or "version")
            {
                Console.Out.WriteLine(GatewayServer.Version);
                return 0;
            }
            Options options;
            try
            {
                options = Options.Parse(args.AsSpan(1));
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine(ex.Message);
                Console.Error.WriteLine("Run 'ApiGateway.Host --help' for the usage.");
                return 1;
            }
            return args[0] switch
            {
                "run" => await RunGatewayAsync(options).ConfigureAwait(false),
                "validate" => Validate(options),
                "quickstart" => await Quickstart.Quickstart.RunAsync(options).ConfigureAwait(false),
                "explain" => await Runtime.Explain.RunAsync(options).ConfigureAwait(false),
                _ => Unknown(args[0]),
            };
        }

        private static int Unknown(string command)
        {
            Console.Error.WriteLine($"Unknown command '{command}'. Commands: run, validate, quickstart, explain. Run 'ApiGateway.Host --help' for the usage.");
            return 1;
        }

        private static async Task<int> RunGatewayAsync(Options options)
        {
            if (options.Config is null)
            {
                Console.Error.WriteLine("run needs --config <path of the configuration file>, e.g. ApiGateway.Host run --config /etc/apigateway/gateway.json");
                return 1;
            }
            if (options.Detach)
                ProcessDetach.LeaveTerminal();
            if (options.LogFile is not null)
                ProcessDetach.RedirectOutput(options.LogFile);

            using var loggerFactory = Logging.Create(options.LogLevel, options.LogFormat);
            // Signals are taken before the start, which writes the state file: a SIGTERM or SIGHUP sent as soon as the
            // state file appears must not meet the default action (the process ending with 143 or 129).
            using var signals = new ProcessSignals();
            GatewayServer server;
            try
            {
                server = await GatewayServer.StartAsync(new GatewayServerOptions
                {
                    ConfigurationPath = options.Config,
                    LoggerFactory = loggerFactory,
                    StatusPort = options.StatusPort,
                    WriteStateFile = options.WriteStateFile,
                    LogPath = options.LogFile is null ? null : Path.GetFullPath(options.LogFile),
                    HealthAddress = options.HealthAddress,
                    ListenAddress = options.ListenAddress,
                    DrainTimeout = options.DrainTimeout,
                    ShutdownDelay = options.ShutdownDelay,
                    AccessLogPath = options.AccessLog,
                }).ConfigureAwait(false);
            }
            catch (GatewayStartException ex)
            {
                PrintProblems(ex.Message, ex.Errors);
                return ex.ExitCode;
            }

            signals.Attach(server);
            var systemd = new Microsoft.Extensions.Hosting.Systemd.SystemdNotifier();
            if (systemd.IsEnabled)
            {
                // Type=notify: systemd starts dependent units (and `systemctl start` returns) only now that every listener is bound.
                systemd.Notify(new Microsoft.Extensions.Hosting.Systemd.ServiceState($"READY=1\nSTATUS=Serving revision {server.Snapshot.Revision}"));
            }
            var reason = await server.ShutdownRequested.ConfigureAwait(false);
            Log.ShutdownRequested(server.Runtime.Services.Logger, reason, server.DrainTimeout.TotalSeconds);
            if (systemd.IsEnabled)
                systemd.Notify(Microsoft.Extensions.Hosting.Systemd.ServiceState.Stopping);
            await server.StopAsync().ConfigureAwait(false);
            return 0;
        }


        private static int Validate(Options options)
        {
            if (options.Config is null)
            {
                Console.Error.WriteLine("validate needs --config <path of the configuration file>.");
                return 1;
            }
            using var loggerFactory = Logging.Create(Microsoft.Extensions.Logging.LogLevel.Warning, "simple");
            if (options.Format == "json")
            {
                // Machine-readable for the module (every cmdlet that writes a policy, Test-GatewayConfiguration): only the
                // report on stdout, nothing else, whatever the outcome; the exit code says the same as in text mode.
                var report = Runtime.SnapshotValidation.Report(options.Config, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, options.Store, options.ExpiringInDays);
                Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(report, ApiGateway.Core.Hosting.HostingJson.Options));
                Console.Out.Flush();
                return report.Valid ? 0 : 2;
            }
            var text = Runtime.SnapshotValidation.Report(options.Config, loggerFactory, options.Store, options.ExpiringInDays);
            foreach (var warning in text.Problems.Where(p => p.Severity == ApiGateway.Core.Configuration.GatewayProblemSeverity.Warning))
                Console.Out.WriteLine("warning: " + warning.Message);
            var errors = text.Problems.Where(p => p.Severity == ApiGateway.Core.Configuration.GatewayProblemSeverity.Error).Select(p => p.Message).ToList();
            if (!text.Valid)
            {
                PrintProblems($"'{Path.GetFullPath(options.Config)}' has {errors.Count} problem(s):", errors);
                return 2;
            }
            Console.Out.WriteLine($"'{Path.GetFullPath(options.Config)}' (revision {text.Revision}) is valid: it loads, and every policy expression compiles.");
            return 0;
        }

        internal static void PrintProblems(string headline, IReadOnlyList<string> errors)
        {
            Console.Error.WriteLine(headline);
            foreach (var error in errors)
                Console.Error.WriteLine("  - " + error);
            Console.Error.Flush();
        }
    }

    /// <summary>Parsed options (shared by the commands).</summary>
    internal sealed class Options
    {
        public string? Config { get; private set; }
        public int? StatusPort { get; private set; } = 0;
        public bool WriteStateFile { get; private set; } = true;
        public Microsoft.Extensions.Logging.LogLevel LogLevel { get; private set; } = Microsoft.Extensions.Logging.LogLevel.Information;
        public string LogFormat { get; private set; } = "simple";
        public string? LogFile { get; private set; }
        public bool Detach { get; private set; }
        public string? Folder { get; private set; }
        public int? Port { get; private set; }
        public Runtime.EndpointKey? HealthAddress { get; private set; }
        public string? ListenAddress { get; private set; }
        public TimeSpan DrainTimeout { get; private set; } = TimeSpan.FromSeconds(30);
        public TimeSpan ShutdownDelay { get; private set; } = TimeSpan.Zero;
        public string? AccessLog { get; private set; }
        public string? Api { get; private set; }
        public string? Certificate { get; private set; }
        public bool NoCertificate { get; private set; }
        public string? Host { get; private set; }
        public string Method { get; private set; } = "GET";
        public string? RequestPath { get; private set; }
        public List<KeyValuePair<string, string>> Headers { get; } = [];
        public string? Requests { get; private set; }
        public string Format { get; private set; } = "text";
        public bool Serve { get; private set; }
        public string? Store { get; private set; }
        public int ExpiringInDays { get; private set; } = ApiGateway.Core.Hosting.CertificateExpiry.DefaultDays;

        public static Options Parse(ReadOnlySpan<string> args)
        {
            var options = new Options();
            for (var i = 0; i < args.Length; i++)
            {
                var name = args[i];
                string Value(ReadOnlySpan<string> a, ref int index)
                {
                    if (index + 1 >= a.Length)
                        throw new ArgumentException($"{name} needs a value.");
                    return a[++index];
                }
                switch (name)
                {
                    case "--config" or "-c":
                        options.Config = Value(args, ref i);
                        break;
                    case "--status-port":
                        var port = Value(args, ref i);
                        options.StatusPort = port == "none" ? null : ParsePort(name, port, allowZero: true);
                        break;
                    case "--no-state-file":
                        options.WriteStateFile = false;
                        break;
                    case "--log-level":
                        var level = Value(args, ref i);
                        options.LogLevel = Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(level, ignoreCase: true, out var parsed)
                            ? parsed
                            : throw new ArgumentException($"--log-level '{level}' is not a level; use Trace, Debug, Information, Warning or Error.");
                        break;
                    case "--log-format":
                        var format = Value(args, ref i).ToLowerInvariant();
                        options.LogFormat = format is "simple" or "json" or "systemd"
                            ? format
                            : throw new ArgumentException("--log-format must be simple, json or systemd.");
                        break;
                    case "--log-file":
                        options.LogFile = Value(args, ref i);
                        break;
                    case "--detach":
                        options.Detach = true;
                        break;
                    case "--health-address":
                        options.HealthAddress = ParseAddress(name, Value(args, ref i));
                        break;
                    case "--listen-address":
                        var listen = Value(args, ref i);
                        options.ListenAddress = listen == "*" ? "*"
                            : System.Net.IPAddress.TryParse(listen.Trim('[', ']'), out var ip) ? ip.ToString()
                            : throw new ArgumentException($"--listen-address '{listen}' is not an IP address or *.");
                        break;
                    case "--drain-timeout":
                        options.DrainTimeout = ParseSeconds(name, Value(args, ref i), allowZero: false);
                        break;
                    case "--access-log":
                        var accessLog = Value(args, ref i);
                        options.AccessLog = accessLog.Length > 0 ? accessLog : throw new ArgumentException("--access-log needs a file path, or - for standard output.");
                        break;
                    case "--shutdown-delay":
                        options.ShutdownDelay = ParseSeconds(name, Value(args, ref i), allowZero: true);
                        break;
                    case "--api":
                        options.Api = Value(args, ref i);
                        break;
                    case "--certificate":
                        options.Certificate = Value(args, ref i);
                        break;
                    case "--no-certificate":
                        options.NoCertificate = true;
                        break;
                    case "--host":
                        options.Host = Value(args, ref i);
                        break;
                    case "--method":
                        var method = Value(args, ref i);
                        options.Method = method.Length is > 0 and <= 32 && method.All(char.IsAsciiLetter)
                            ? method.ToUpperInvariant()
                            : throw new ArgumentException($"--method '{method}' is not an HTTP method (letters only, e.g. GET, POST).");
                        break;
                    case "--path":
                        options.RequestPath = Value(args, ref i);
                        break;
                    case "--header":
                        var header = Value(args, ref i);
                        var colon = header.IndexOf(':', StringComparison.Ordinal);
                        if (colon <= 0)
                            throw new ArgumentException($"--header '{header}' is not 'Name: value'.");
                        options.Headers.Add(new(header[..colon].Trim(), header[(colon + 1)..].Trim()));
                        break;
                    case "--serve":
                        options.Serve = true;
                        break;
                    case "--requests":
                        options.Requests = Value(args, ref i);
                        break;
                    case "--format":
                        var output = Value(args, ref i).ToLowerInvariant();
                        options.Format = output is "text" or "json" ? output : throw new ArgumentException("--format must be text or json.");
                        break;
                    case "--store":
                        options.Store = Value(args, ref i);
                        break;
                    case "--expiring-in-days":
                        var days = Value(args, ref i);
                        options.ExpiringInDays = int.TryParse(days, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n <= 3650
                            ? n
                            : throw new ArgumentException($"--expiring-in-days '{days}' is not a number of days from 0 to 3650.");
                        break;
                    case "--folder":
                        options.Folder = Value(args, ref i);
                        break;
                    case "--port":
                        options.Port = ParsePort(name, Value(args, ref i), allowZero: false);
                        break;
                    default:
                        throw new ArgumentException($"Unknown option '{name}'.");
                }
            }
            return options;
        }

        /// <summary><c>address:port</c> with an IPv4 address, <c>[IPv6]</c>, <c>*</c> (every address) or <c>localhost</c>.</summary>
        internal static Runtime.EndpointKey ParseAddress(string name, string value)
        {
            var colon = value.LastIndexOf(':');
            var host = colon > 0 ? value[..colon] : string.Empty;
            if (host.StartsWith('[') && host.EndsWith(']'))
                host = host[1..^1];
            if (colon > 0 && (host is "*" or "localhost" || System.Net.IPAddress.TryParse(host, out _)))
                return Runtime.EndpointKey.Of(host, ParsePort(name, value[(colon + 1)..], allowZero: false));
            throw new ArgumentException($"{name} '{value}' is not an address and port: use e.g. 0.0.0.0:8080, [::]:8080, *:8080 or 127.0.0.1:8080.");
        }

        private static TimeSpan ParseSeconds(string name, string value, bool allowZero) =>
            double.TryParse(value, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                && seconds <= 3600 && (allowZero || seconds > 0)
                ? TimeSpan.FromSeconds(seconds)
                : throw new ArgumentException($"{name} '{value}' is not a number of seconds between {(allowZero ? "0" : "0 (exclusive)")} and 3600.");

        private static int ParsePort(string name, string value, bool allowZero) =>
            int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port <= 65535 && (allowZero || port > 0)
                ? port
                : throw new ArgumentException($"{name} '{value}' is not a port number.");
    }

    /// <summary>
    /// The signals of <c>run</c>: SIGTERM, SIGINT and SIGQUIT stop gracefully instead of killing the process; SIGHUP
    /// reloads (its default ends the process with 129, no drain and a stale state file; an operator means "reload", as
    /// for nginx). What arrives while the gateway is still starting is applied once it serves.
    /// </summary>
    internal sealed class ProcessSignals : IDisposable
    {
        private readonly List<PosixSignalRegistration> _registrations = [];
        private readonly Lock _lock = new();
        private GatewayServer? _server;
        private string? _pendingShutdown;
        private string? _pendingReload;

        public ProcessSignals()
        {
            _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, "SIGTERM")));
            _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, "SIGINT")));
            if (!OperatingSystem.IsWindows())
            {
                _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGQUIT, c => Stop(c, "SIGQUIT")));
                // Started with SIGHUP ignored (nohup, or a parent that ignores it: the disposition is inherited), the
                // kernel drops the signal before .NET's handler sees it and `kill -HUP` would do nothing. `run` means
                // SIGHUP = reload (nginx's convention, which also resets its handlers), so take the default back first.
                RestoreDefault(SigHup);
                _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, Reload));
            }
        }

        private const int SigHup = 1; // the same number on Linux and macOS

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "signal")]
        private static extern nint SetSignalHandler(int signal, nint handler);

        private static void RestoreDefault(int signal)
        {
            try
            {
                SetSignalHandler(signal, 0); // SIG_DFL
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // No libc by that name: keep the inherited disposition.
            }
        }

        /// <summary>From now on signals go to <paramref name="server"/>; one that came during the start is applied now.</summary>
        public void Attach(GatewayServer server)
        {
            lock (_lock)
            {
                _server = server;
                if (_pendingReload is { } reload)
                    server.RequestReload(reload);
                if (_pendingShutdown is { } shutdown)
                    server.RequestShutdown(shutdown);
            }
        }

        private void Stop(PosixSignalContext context, string name)
        {
            context.Cancel = true; // stop gracefully instead of being killed
            lock (_lock)
            {
                if (_server is null)
                    _pendingShutdown ??= name;
                else
                    _server.RequestShutdown(name);
            }
        }

        private void Reload(PosixSignalContext context)
        {
            context.Cancel = true;
            lock (_lock)
            {
                if (_server is null)
                    _pendingReload = "SIGHUP";
                else
                    _server.RequestReload("SIGHUP");
            }
        }

        public void Dispose()
        {
            foreach (var registration in _registrations)
                registration.Dispose();
        }
    }

    /// <summary>Console logging for systemd, containers and terminals; ASP.NET's own chatter only from Warning up.</summary>
    internal static class Logging
    {
        public static Microsoft.Extensions.Logging.ILoggerFactory Create(Microsoft.Extensions.Logging.LogLevel level, string format) =>
            Microsoft.Extensions.Logging.LoggerFactory.Create(builder =>
            {
                builder.SetMinimumLevel(level);
                builder.AddFilter("Microsoft", Microsoft.Extensions.Logging.LogLevel.Warning);
                builder.AddFilter("System", Microsoft.Extensions.Logging.LogLevel.Warning);
                builder.AddFilter("Yarp", Microsoft.Extensions.Logging.LogLevel.Warning);
                switch (format)
                {
                    case "json":
                        builder.AddJsonConsole(o => o.UseUtcTimestamp = true);
                        break;
                    case "systemd":
                        builder.AddSystemdConsole();
                        break;
                    default:
                        builder.AddSimpleConsole(o =>
                        {
                            o.SingleLine = true;
                            o.UseUtcTimestamp = true;
                            o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
                        });
                        break;
                }
            });
    }

    /// <summary>What a background gateway does to be independent of the terminal that started it.</summary>
    internal static partial class ProcessDetach
    {
        private static FileStream? s_log;

        /// <summary>Unix: a new session, so the terminal's Ctrl+C and hang-up never reach the gateway. Windows: ignore Ctrl+C.</summary>
        public static void LeaveTerminal()
        {
            if (OperatingSystem.IsWindows())
                SetConsoleCtrlHandler(IntPtr.Zero, true);
            else
                _ = setsid(); // fails only when already a session leader, which is fine
        }

        /// <summary>Appends everything written to stdout and stderr (including the runtime's own messages on Unix) to <paramref name="path"/>.</summary>
        public static void RedirectOutput(string path)
        {
            var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            s_log = new FileStream(Path.GetFullPath(path), options);
            if (OperatingSystem.IsWindows())
            {
                var writer = new StreamWriter(s_log) { AutoFlush = true };
                Console.SetOut(writer);
                Console.SetError(writer);
                return;
            }
            var fd = (int)s_log.SafeFileHandle.DangerousGetHandle();
            _ = dup2(fd, 1);
            _ = dup2(fd, 2);
        }

        [LibraryImport("libc", SetLastError = true)]
        private static partial int setsid();

        [LibraryImport("libc", SetLastError = true)]
        private static partial int dup2(int oldFileDescriptor, int newFileDescriptor);

        [LibraryImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static partial bool SetConsoleCtrlHandler(IntPtr handler, [MarshalAs(UnmanagedType.Bool)] bool add);
    }
}
