using Microsoft.Extensions.Logging;

namespace ApiGateway.Host;

/// <summary>
/// Every log line of the gateway, source-generated with stable event ids (an operator can alert on "event 8"). Nothing
/// is logged per request at Information; failures are logged where they happen, once.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Serving revision {Revision} of '{ConfigurationPath}' (service '{ServiceName}'): {ApiCount} API(s), {HostnameCount} hostname(s), {ExpressionCount} expression(s) ({CompiledCount} compiled now).", EventName = "ConfigurationLoaded")]
    public static partial void ConfigurationLoaded(ILogger logger, long revision, string configurationPath, string serviceName, int apiCount, int hostnameCount, int expressionCount, int compiledCount);

    [LoggerMessage(2, LogLevel.Error, "A change of '{ConfigurationPath}' (revision {Revision}) was refused; revision {ServingRevision} keeps serving. {ErrorCount} problem(s):{Errors}", EventName = "ReloadRefused")]
    public static partial void ReloadRefused(ILogger logger, string configurationPath, string revision, long servingRevision, int errorCount, string errors);

    [LoggerMessage(4, LogLevel.Information, "Listening on {Address} for {HostNames}.", EventName = "ListenerStarted")]
    public static partial void ListenerStarted(ILogger logger, string address, string hostNames);

    [LoggerMessage(5, LogLevel.Information, "Stopped listening on {Address}.", EventName = "ListenerStopped")]
    public static partial void ListenerStopped(ILogger logger, string address);

    [LoggerMessage(6, LogLevel.Error, "Cannot listen on {Address}: {Reason}", EventName = "ListenerFailed")]
    public static partial void ListenerFailed(ILogger logger, string address, string reason);

    [LoggerMessage(7, LogLevel.Information, "Status endpoint on {Url} (state file '{StateFile}').", EventName = "StatusEndpoint")]
    public static partial void StatusEndpoint(ILogger logger, string url, string stateFile);

    [LoggerMessage(8, LogLevel.Warning, "Backend {Backend}: TLS with {Authority} failed: {TlsError}", EventName = "BackendTlsFailed")]
    public static partial void BackendTlsFailed(ILogger logger, string backend, string authority, string tlsError);

    [LoggerMessage(9, LogLevel.Warning, "Backend {Backend}: the request to {Authority} failed ({ForwarderError}): {Reason}", EventName = "BackendFailed")]
    public static partial void BackendFailed(ILogger logger, string backend, string authority, string forwarderError, string reason);

    [LoggerMessage(10, LogLevel.Warning, "Backend {Backend}: {Authority} did not answer within {TimeoutSeconds} s.{Once}", EventName = "BackendTimedOut")]
    public static partial void BackendTimedOut(ILogger logger, string backend, string authority, double timeoutSeconds, string once);

    [LoggerMessage(11, LogLevel.Warning, "{Where} failed while handling a request to API '{ApiId}': {Error}", EventName = "PolicyFailed")]
    public static partial void PolicyFailed(ILogger logger, string where, string apiId, string error);

    [LoggerMessage(12, LogLevel.Debug, "Refused a TLS handshake for {HostName}: {Reason}.", EventName = "HandshakeRejected")]
    public static partial void HandshakeRejected(ILogger logger, string hostName, string reason);

    [LoggerMessage(13, LogLevel.Information, "Shutting down ({Source}); draining requests for up to {DrainSeconds} s.", EventName = "ShutdownRequested")]
    public static partial void ShutdownRequested(ILogger logger, string source, double drainSeconds);

    [LoggerMessage(14, LogLevel.Information, "Stopped.", EventName = "Stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(15, LogLevel.Debug, "Change detected; reloading '{ConfigurationPath}'.", EventName = "ChangeDetected")]
    public static partial void ChangeDetected(ILogger logger, string configurationPath);

    [LoggerMessage(30, LogLevel.Information, "A newer change of '{ConfigurationPath}' arrived while the previous one was being built: that build is abandoned and the newest is built instead.", EventName = "ReloadSuperseded")]
    public static partial void ReloadSuperseded(ILogger logger, string configurationPath);

    [LoggerMessage(16, LogLevel.Warning, "{Message}", EventName = "ConfigurationWarning")]
    public static partial void ConfigurationWarning(ILogger logger, string message);

    [LoggerMessage(17, LogLevel.Warning, "The state file '{Path}' could not be written: {Reason}. Get-GatewayStatus and Stop-Gateway will not find this gateway.", EventName = "StateFileFailed")]
    public static partial void StateFileFailed(ILogger logger, string path, string reason);

    [LoggerMessage(18, LogLevel.Debug, "validate-client-certificate refused a request to API '{ApiId}': {Reason}", EventName = "ClientCertificateRefused")]
    public static partial void ClientCertificateRefused(ILogger logger, string apiId, string reason);

    [LoggerMessage(19, LogLevel.Debug, "Disposed the unused backend connection pool for {Authority}.", EventName = "InvokerDisposed")]
    public static partial void InvokerDisposed(ILogger logger, string authority);

    [LoggerMessage(20, LogLevel.Error, "Unexpected failure while handling a request to {Path}.", EventName = "RequestFailed")]
    public static partial void RequestFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(21, LogLevel.Warning, "Watching '{Folder}' for changes failed ({Reason}); changes are still found by polling every {PollMilliseconds} ms.", EventName = "WatcherFailed")]
    public static partial void WatcherFailed(ILogger logger, string folder, string reason, double pollMilliseconds);

    [LoggerMessage(22, LogLevel.Information, "A change of '{ConfigurationPath}' loads again after a refused one: serving revision {Revision}.", EventName = "ReloadRecovered")]
    public static partial void ReloadRecovered(ILogger logger, string configurationPath, long revision);

    [LoggerMessage(23, LogLevel.Warning, "Changed limits that apply only when the gateway restarts (Kestrel fixes them when a listener binds): {Changes}. Restart it (Stop-Gateway, Start-Gateway) to apply them.", EventName = "LimitsNeedRestart")]
    public static partial void LimitsNeedRestart(ILogger logger, string changes);

    [LoggerMessage(24, LogLevel.Warning, "{Message}", EventName = "TlsOfferWarning")]
    public static partial void TlsOfferWarning(ILogger logger, string message);

    [LoggerMessage(26, LogLevel.Information, "Reload requested ({Source}); reading '{ConfigurationPath}' again.", EventName = "ReloadRequested")]
    public static partial void ReloadRequested(ILogger logger, string source, string configurationPath);

    [LoggerMessage(27, LogLevel.Information, "Health endpoint on {Url} (/healthz, /readyz, /metrics).", EventName = "HealthEndpoint")]
    public static partial void HealthEndpoint(ILogger logger, string url);

    [LoggerMessage(28, LogLevel.Information, "Draining: /readyz answers 503; still accepting connections for {DelaySeconds} s before they are refused.", EventName = "ShutdownDelay")]
    public static partial void ShutdownDelayStarted(ILogger logger, double delaySeconds);

    [LoggerMessage(25, LogLevel.Information, "Backend {Backend}: {Authority} answers again, after {FailedRequests} failed request(s).", EventName = "BackendRecovered")]
    public static partial void BackendRecovered(ILogger logger, string backend, string authority, int failedRequests);

    [LoggerMessage(45, LogLevel.Information, "CRL folder '{Folder}': {Crls} CRL(s) read from {Files} file(s); revocation answers from the previous files are dropped.", EventName = "CrlFolderRead")]
    public static partial void CrlFolderRead(ILogger logger, string folder, int crls, int files);

    [LoggerMessage(46, LogLevel.Warning, "CRL file '{File}' is not used: {Reason}.", EventName = "CrlFileRefused")]
    public static partial void CrlFileRefused(ILogger logger, string file, string reason);
    [LoggerMessage(40, LogLevel.Warning, "Certificate '{CertificateId}' in use has {DaysLeft} day(s) left: {Message}", EventName = "CertificateExpiring")]
    public static partial void CertificateExpiring(ILogger logger, string certificateId, int daysLeft, string message);
}
