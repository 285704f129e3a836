using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using ApiGateway.Host.Context;
using ApiGateway.Host.Pipeline.Steps;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace ApiGateway.Host.Backends.Http1;

/// <summary>
/// forward-request toward an HTTP/1.1 backend over the gateway's own kept-alive connections (<see cref="Http1Pool"/>):
/// the request head written in one piece from the client's request as the policies left it, the body streamed both
/// ways, the response's status and headers handed to outbound before its body. It replaces HttpClient and YARP's
/// forwarder for HTTP/1.1 backends, where they cost about a fifth of the gateway's CPU per kept-alive request
/// (bench/RESULTS.md, "Own HTTP/1.1 backend client"); HTTP/2 backends, upgrades (WebSockets), CONNECT and
/// follow-redirects stay with YARP.
/// <para>
/// The message rules (RFC 9110, RFC 9112), each tested in tests/ApiGateway.Host.Tests/Backends/Http1ForwarderTests.cs.
/// Request: connection-specific fields and those the Connection header names are not forwarded (RFC 9110 7.6.1);
/// the framing is the gateway's own: Content-Length when the client gave one, else chunked when the request has a
/// body (RFC 9112 6.1, 7.1); <c>Expect: 100-continue</c> is answered by the gateway, which asks the client for the
/// body once the request head is on its way (RFC 9110 10.1.1); a header value with CR, LF or NUL, or outside ASCII,
/// is refused (no request splitting), a field name that is not a token is dropped (as HttpClient does).
/// Response: 1xx interim responses are not passed on (101 is refused: nothing asked for an upgrade); Transfer-Encoding
/// takes precedence over Content-Length and a response with both is not kept alive, conflicting lengths are refused
/// (RFC 9112 6.3); obs-fold and whitespace before the colon are refused (RFC 9112 5.1, 5.2); a body is read by
/// Content-Length, chunked coding (trailers dropped), or to the end of the connection; HEAD, 204 and 304 have none;
/// the head is at most 64 KB and every chunk line at most 4 KB, so a hostile backend cannot make the gateway buffer
/// without bound. A kept-alive connection that the backend closed while idle is retried once on a new one when
/// nothing of the request body had to be read from the client yet.
/// </para>
/// </summary>
internal static class Http1Forwarder
{
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();
    private static readonly byte[] LastChunk = "0\r\n\r\n"u8.ToArray();

    /// <summary>Bytes of a request body that has fully arrived and is sent with its head in one write.</summary>
    private const int InlineBodyLimit = 16 * 1024;

    /// <summary>False when <c>APIGATEWAY_BACKEND_CLIENT=yarp</c>: every request goes to YARP (bench/ compares the two).</summary>
    internal static readonly bool Enabled = !string.Equals(Environment.GetEnvironmentVariable("APIGATEWAY_BACKEND_CLIENT"), "yarp", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether this request goes through the gateway's HTTP/1.1 client: not an upgrade (WebSockets) nor CONNECT, not
    /// follow-redirects, and the backend has not chosen HTTP/2.
    /// </summary>
    public static bool Handles(HttpContext http, Http1Pool pool, bool followRedirects) =>
        Enabled && !followRedirects && !pool.SpeaksHttp2
        && !HttpMethods.IsConnect(http.Request.Method)
        && http.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true }
        && http.Features.Get<IHttpExtendedConnectFeature>() is not { IsExtendedConnect: true };

    /// <summary>
    /// Sends the request and copies the response. Null when the backend turned out to speak HTTP/2 (nothing was sent:
    /// the caller hands the request to YARP). A failure is returned as the error YARP would report, with its exception
    /// in <see cref="IForwarderErrorFeature"/>, so <see cref="BackendForwarder"/> classifies both clients' failures alike.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<ForwarderError?> SendAsync(PolicyContext context, BackendTarget target, Http1Pool pool, ForwardSettings settings)
    {
        var http = context.State.Http;
        var request = http.Request;
        var aborted = http.RequestAborted;
        var body = BodyOf(http);
        var isHead = HttpMethods.IsHead(request.Method);
        var writer = new HeadWriter(1024);
        Http1Connection? connection = null;
        try
        {
            try
            {
                WriteHead(ref writer, context, target, pool, body);
            }
            catch (InvalidOperationException ex)
            {
                return Fail(http, ForwarderError.Request, ex);
            }
            Exchange exchange = null!;
            for (var attempt = 0; ; attempt++)
            {
                connection = pool.TryRent();
                if (connection is null)
                {
                    try
                    {
                        using var connecting = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                        connecting.CancelAfter(settings.Timeout);
                        connection = await pool.ConnectAsync(connecting.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (aborted.IsCancellationRequested)
                    {
                        return Fail(http, ForwarderError.RequestCanceled, null);
                    }
                    catch (OperationCanceledException ex)
                    {
                        return Fail(http, ForwarderError.RequestTimedOut, ex);
                    }
                    catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException)
                    {
                        return Fail(http, ForwarderError.Request, ex);
                    }
                    if (connection is null)
                        return null; // HTTP/2: YARP's turn
                }

                if (attempt == 0)
                {
                    // A small body that has already arrived in full goes out with the head, in one write.
                    try
                    {
                        if (body.Length is > 0 and <= InlineBodyLimit && request.BodyReader.TryRead(out var ready))
                        {
                            if (ready.IsCompleted && ready.Buffer.Length == body.Length)
                            {
                                writer.Write(ready.Buffer);
                                request.BodyReader.AdvanceTo(ready.Buffer.End);
                                body = body with { Sent = true };
                            }
                            else
                            {
                                request.BodyReader.AdvanceTo(ready.Buffer.Start);
                            }
                        }
                    }
                    catch (IOException ex)
                    {
                        // BadHttpRequestException: a body over the listener's limit (413), or cut short.
                        pool.Return(connection);
                        connection = null;
                        return ClientBodyFailed(http, ex);
                    }
                    exchange = new Exchange(context, settings, body, isHead);
                }

                exchange.Reset(connection);
                Outcome outcome;
                using (aborted.UnsafeRegister(static c => ((Http1Connection)c!).Cancel(), connection))
                    outcome = await exchange.RunAsync(writer.Written).ConfigureAwait(false);
                if (outcome == Outcome.Retry && attempt < 2)
                {
                    // A kept-alive connection the backend had closed: none of the request was taken; a new connection.
                    connection.Abort();
                    connection = null;
                    continue;
                }
                if (outcome == Outcome.KeepAlive)
                    pool.Return(connection);
                else
                    connection.Abort();
                connection = null;
                return exchange.Error == ForwarderError.None ? ForwarderError.None : Report(http, exchange);
            }
        }
        finally
        {
            connection?.Abort();
            writer.Dispose();
        }
    }

    private static ForwarderError Report(HttpContext http, Exchange exchange)
    {
        var error = exchange.Error;
        if (http.Response.HasStarted)
        {
            // The client has part of the response: only a cut connection tells it the rest is missing.
            http.Abort();
        }
        else if (exchange.HeadersCopied)
        {
            // The backend's status and headers were copied but nothing was sent: the error response replaces them.
            http.Response.Clear();
        }
        if (http.RequestAborted.IsCancellationRequested && error is not (ForwarderError.ResponseBodyClient or ForwarderError.RequestBodyClient))
            error = exchange.HeadersCopied ? ForwarderError.ResponseBodyCanceled : ForwarderError.RequestCanceled;
        if (error == ForwarderError.RequestBodyClient && !http.Response.HasStarted && exchange.Exception is not null)
            return ClientBodyFailed(http, exchange.Exception);
        return Fail(http, error, exchange.Exception);
    }

    /// <summary>
    /// The client's body could not be read: the answer is the status Kestrel gave the reason (413 over the body size
    /// limit, 400 for a body cut short or malformed), as YARP answers it; the client may no longer be there to read it.
    /// </summary>
    private static ForwarderError ClientBodyFailed(HttpContext http, Exception exception)
    {
        if (!http.Response.HasStarted)
            http.Response.StatusCode = exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest;
        return Fail(http, ForwarderError.RequestBodyClient, exception);
    }

    private static ForwarderError Fail(HttpContext http, ForwarderError error, Exception? exception)
    {
        http.Features.Set<IForwarderErrorFeature>(new ErrorFeature(error, exception));
        return error;
    }

    /// <summary>What went wrong, as YARP's own feature says it.</summary>
    private sealed class ErrorFeature(ForwarderError error, Exception? exception) : IForwarderErrorFeature
    {
        public ForwarderError Error { get; } = error;

        public Exception? Exception { get; } = exception;
    }

    internal enum Outcome
    {
        KeepAlive,
        Close,
        Retry,
    }

    /// <summary>The request's body as the client sends it: none, a known length, or chunked (length unknown); Sent once it went with the head.</summary>
    internal readonly record struct RequestBody(bool Present, long? Length, bool Sent)
    {
        public bool Chunked => Present && Length is null;
    }

    private static RequestBody BodyOf(HttpContext http)
    {
        if (http.Request.ContentLength is { } length)
            return new RequestBody(length > 0, length, length == 0);
        var canHaveBody = http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? false;
        return new RequestBody(canHaveBody, null, !canHaveBody);
    }

    /// <summary>
    /// The request head: request line, Host, the client's fields less the connection's own and those the gateway
    /// writes itself, X-Forwarded-For, the backend's credentials, the client certificate headers, the framing.
    /// </summary>
    private static void WriteHead(ref HeadWriter writer, PolicyContext context, BackendTarget target, Http1Pool pool, RequestBody body)
    {
        var http = context.State.Http;
        var request = http.Request;
        writer.WriteAscii(request.Method);
        writer.Write((byte)' ');
        writer.WriteAscii(RequestTarget(context, target));
        writer.Write(" HTTP/1.1\r\nHost: "u8);
        var headers = request.Headers;
        if (context.State.HostHeaderSet && headers.Host is { Count: > 0 } host)
            writer.WriteValue("Host", host.ToString());
        else
            writer.WriteAscii(pool.HostHeader);
        writer.Write(Crlf);

        var forwarding = context.State.ApiRoute.Api.ForwardClientCertificate != Core.Configuration.ClientCertificateForwarding.None;
        var connectionOptions = headers.Connection;
        foreach (var (name, values) in headers)
        {
            if (Http1Syntax.IsHopByHopRequest(name)
                || string.Equals(name, ForwardedRequest.ForwardedForHeader, StringComparison.OrdinalIgnoreCase)
                || target.Authorization is not null && string.Equals(name, "Authorization", StringComparison.OrdinalIgnoreCase)
                || forwarding && IsCertificateHeader(name)
                || Replaced(target, name)
                || connectionOptions.Count > 0 && Named(connectionOptions, name)
                || name.StartsWith(':'))
            {
                continue;
            }
            // HttpClient drops a field whose name is not a token (TryAddWithoutValidation refuses it); so does this.
            if (!Http1Syntax.IsToken(name))
                continue;
            WriteField(ref writer, name, values);
        }
        if (ForwardedRequest.ForwardedFor(http) is { } forwarded)
            WriteField(ref writer, ForwardedRequest.ForwardedForHeader, forwarded);
        foreach (var (name, values) in target.Headers)
            WriteField(ref writer, name, values);
        if (target.Authorization is { } authorization)
            WriteField(ref writer, "Authorization", authorization);
        if (forwarding)
        {
            foreach (var (name, value) in ForwardedRequest.CertificateHeaders(context))
                WriteField(ref writer, name, value);
        }

        if (body.Length is { } length)
        {
            writer.Write("Content-Length: "u8);
            writer.WriteNumber(length);
            writer.Write(Crlf);
        }
        else if (body.Chunked)
        {
            writer.Write("Transfer-Encoding: chunked\r\n"u8);
        }
        else if (HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method) || HttpMethods.IsPatch(request.Method))
        {
            // As HttpClient: a method that means to send content says it has none (some servers answer 411 otherwise).
            writer.Write("Content-Length: 0\r\n"u8);
        }
        writer.Write(Crlf);
    }

    private static bool IsCertificateHeader(string name)
    {
        foreach (var certificateHeader in Core.Configuration.ClientCertificateHeaders.All)
        {
            if (string.Equals(name, certificateHeader, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    private static bool Replaced(BackendTarget target, string name)
    {
        foreach (var (credential, _) in target.Headers)
        {
            if (string.Equals(name, credential, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    /// <summary>Whether the Connection header lists <paramref name="name"/> (a field that belongs to the client's connection).</summary>
    private static bool Named(StringValues connection, string name)
    {
        foreach (var value in connection)
        {
            if (value is not null && Http1Syntax.ListContains(value, name))
                return true;
        }
        return false;
    }

    private static void WriteField(ref HeadWriter writer, string name, StringValues values)
    {
        if (values.Count == 0)
            return;
        if (values.Count == 1)
        {
            writer.WriteField(name, values[0] ?? string.Empty);
            return;
        }
        // One line per field, its values joined as HttpClient joins them ("; " for Cookie, RFC 6265 5.4).
        var separator = string.Equals(name, "Cookie", StringComparison.OrdinalIgnoreCase) ? "; " : ", ";
        writer.WriteField(name, string.Join(separator, values.ToArray()));
    }

    /// <summary>
    /// The request target: the backend URL's path, the path after the API's, the query. Written as it is when every
    /// character is one that neither encoding nor normalisation changes; else exactly as YARP builds it.
    /// </summary>
    private static string RequestTarget(PolicyContext context, BackendTarget target)
    {
        var (remainder, query) = ForwardedRequest.PathAndQuery(context, target);
        var prefix = target.PathPrefix;
        var path = remainder.Value ?? string.Empty;
        var queryText = query.Value ?? string.Empty;
        if (target.PlainPath && Http1Syntax.IsPlainTarget(path) && Http1Syntax.IsPlainTarget(queryText))
        {
            if (remainder.HasValue && prefix.EndsWith('/'))
                return string.Concat(prefix.AsSpan(0, prefix.Length - 1), path, queryText);
            return string.Concat(prefix, path, queryText);
        }
        return RequestUtilities.MakeDestinationAddress(target.DestinationPrefix, remainder, query).PathAndQuery;
    }

    /// <summary>One request's exchange with the backend on one connection (a retry runs it again on another).</summary>
    private sealed class Exchange(PolicyContext context, ForwardSettings settings, RequestBody body, bool isHead)
    {
        private Http1Connection _connection = null!;
        private bool _stoppingUpload;

        public ForwarderError Error { get; private set; }

        public Exception? Exception { get; private set; }

        /// <summary>The backend's status and headers are in the client's response.</summary>
        public bool HeadersCopied { get; private set; }

        public void Reset(Http1Connection connection)
        {
            _connection = connection;
            _stoppingUpload = false;
            Error = ForwarderError.None;
            Exception = null;
            HeadersCopied = false;
        }

        private Outcome Failed(ForwarderError error, Exception? exception)
        {
            Error = error;
            Exception = exception;
            return Outcome.Close;
        }

        private ForwarderError Cancelled => _connection.TimedOut ? ForwarderError.RequestTimedOut : ForwarderError.RequestCanceled;

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<Outcome> RunAsync(ReadOnlyMemory<byte> head)
        {
            var connection = _connection;
            var http = context.State.Http;
            var token = connection.Begin(settings.Timeout);
            // Retrying is safe while no byte of the body had to be taken from the client: none, or all of it in the head.
            var retryable = connection.Reused && (!body.Present || body.Sent);
            try
            {
                await connection.WriteAsync(head, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex)
            {
                return Failed(Cancelled, ex);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                return retryable ? Outcome.Retry : Failed(ForwarderError.Request, ex);
            }

            // The body streams while the backend may already answer (a backend can refuse a request before reading it).
            var upload = body.Sent ? null : UploadAsync(token);
            ResponseHead response;
            try
            {
                response = await ReadResponseHeadAsync(connection, isHead, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidDataException or OperationCanceledException)
            {
                // A failed upload (client gone, body cut) is the cause; the backend only stopped waiting.
                if (upload is not null && await StopUploadAsync(upload).ConfigureAwait(false) is { } failed)
                    return Failed(failed.Error, failed.Exception);
                if (ex is EndOfResponseException { NothingRead: true } && retryable)
                    return Outcome.Retry;
                return ex is OperationCanceledException ? Failed(Cancelled, ex) : Failed(ForwarderError.Request, ex);
            }

            try
            {
                CopyHead(http, response, connection);
            }
            catch (InvalidDataException ex)
            {
                if (upload is not null)
                    await StopUploadAsync(upload).ConfigureAwait(false);
                return Failed(ForwarderError.Request, ex);
            }
            connection.Consume(response.HeadLength);
            HeadersCopied = true;
            var reusable = response.KeepAlive;

            // Outbound runs on the backend's status and headers, before the body: it may replace the response.
            if (!context.State.ApiRoute.Pipeline.RunOutboundOnBackendResponse(context))
            {
                var uploaded = upload is null || upload.IsCompleted && await upload.ConfigureAwait(false) is null;
                if (!uploaded)
                    await StopUploadAsync(upload!).ConfigureAwait(false);
                // The backend's body is not wanted; only a connection with nothing left to read is kept.
                return response.Framing == Framing.None && uploaded && reusable ? Outcome.KeepAlive : Outcome.Close;
            }

            // From here the deadline is per read and write: a streaming body stays alive while it moves.
            connection.Restart(settings.Timeout);
            if (await CopyBodyAsync(http, connection, response, settings, token).ConfigureAwait(false) is { } copyError)
            {
                if (upload is not null && await StopUploadAsync(upload).ConfigureAwait(false) is { Error: ForwarderError.RequestBodyClient } clientError)
                    return Failed(clientError.Error, clientError.Exception);
                return Failed(copyError.Error, copyError.Exception);
            }
            if (upload is not null)
            {
                if (!upload.IsCompleted)
                {
                    // The backend answered in full before it had the whole body: that connection carries no other request.
                    await StopUploadAsync(upload).ConfigureAwait(false);
                    reusable = false;
                }
                else if (await upload.ConfigureAwait(false) is not null)
                {
                    reusable = false;
                }
            }
            return reusable && response.Framing != Framing.UntilClose ? Outcome.KeepAlive : Outcome.Close;
        }

        private async Task<Failure?> StopUploadAsync(Task<Failure?> upload)
        {
            if (!upload.IsCompleted)
            {
                _stoppingUpload = true;
                _connection.Cancel();
            }
            return await upload.ConfigureAwait(false);
        }

        /// <summary>Streams the client's body to the backend in its framing; the failure, or null when all of it went (or the exchange stopped it).</summary>
        private async Task<Failure?> UploadAsync(CancellationToken token)
        {
            var connection = _connection;
            var http = context.State.Http;
            var reader = http.Request.BodyReader;
            var frame = new byte[24];
            while (true)
            {
                ReadResult read;
                try
                {
                    read = await reader.ReadAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex)
                {
                    if (_stoppingUpload)
                        return null;
                    connection.Cancel();
                    return new Failure(http.RequestAborted.IsCancellationRequested ? ForwarderError.RequestBodyCanceled : Cancelled, ex);
                }
                catch (IOException ex)
                {
                    // BadHttpRequestException (a body shorter than its Content-Length, too large), ConnectionResetException.
                    connection.Cancel();
                    return new Failure(ForwarderError.RequestBodyClient, ex);
                }
                var buffer = read.Buffer;
                try
                {
                    foreach (var segment in buffer)
                    {
                        if (segment.IsEmpty)
                            continue;
                        if (body.Chunked)
                        {
                            var n = Http1Syntax.WriteHex(segment.Length, frame);
                            frame[n] = (byte)'\r';
                            frame[n + 1] = (byte)'\n';
                            await connection.WriteAsync(frame.AsMemory(0, n + 2), token).ConfigureAwait(false);
                            await connection.WriteAsync(segment, token).ConfigureAwait(false);
                            await connection.WriteAsync(Crlf, token).ConfigureAwait(false);
                        }
                        else
                        {
                            await connection.WriteAsync(segment, token).ConfigureAwait(false);
                        }
                        connection.Restart(settings.Timeout);
                    }
                    reader.AdvanceTo(buffer.End);
                    if (read.IsCompleted)
                    {
                        if (body.Chunked)
                            await connection.WriteAsync(LastChunk, token).ConfigureAwait(false);
                        return null;
                    }
                }
                catch (OperationCanceledException ex)
                {
                    if (_stoppingUpload)
                        return null;
                    return new Failure(http.RequestAborted.IsCancellationRequested ? ForwarderError.RequestBodyCanceled : Cancelled, ex);
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                    // The backend stopped taking the body; its answer (if any) is read by the exchange.
                    return _stoppingUpload ? null : new Failure(ForwarderError.RequestBodyDestination, ex);
                }
            }
        }
    }

    private readonly record struct Failure(ForwarderError Error, Exception? Exception);

    internal enum Framing
    {
        None,
        Length,
        Chunked,
        UntilClose,
    }

    /// <summary>A parsed response head; its fields' positions (from the start of the buffered bytes) are in the connection's header table.</summary>
    private readonly record struct ResponseHead(int Status, Framing Framing, long Length, bool KeepAlive, int HeaderCount, int HeadLength, int ReasonLength);

    /// <summary>The backend closed the connection before a complete response head.</summary>
    private sealed class EndOfResponseException(bool nothingRead) : IOException(nothingRead
        ? "The backend closed the connection before sending a response."
        : "The backend closed the connection in the middle of its response head.")
    {
        public bool NothingRead { get; } = nothingRead;
    }

    /// <summary>Reads the response head, skipping interim (1xx) responses; validates it whole before anything is copied.</summary>
    private static async ValueTask<ResponseHead> ReadResponseHeadAsync(Http1Connection connection, bool isHead, CancellationToken token)
    {
        var anything = connection.BufferedCount > 0;
        while (true)
        {
            int end;
            while ((end = HeadEnd(connection.Buffered)) < 0)
            {
                if (!await connection.FillAsync(Http1Syntax.MaxHeadLength, token).ConfigureAwait(false))
                    throw new EndOfResponseException(!anything && connection.BufferedCount == 0);
                anything = true;
            }
            var head = Parse(connection, end, isHead);
            if (head.Status >= 200)
                return head;
            connection.Consume(end);
            if (head.Status == 101)
                throw new InvalidDataException("the backend switched protocols (101) although the gateway asked for no upgrade");
            // 100 Continue, 102 Processing, 103 Early Hints: interim, not passed on; the final response follows.
        }
    }

    /// <summary>Index just past the empty line that ends the head (CRLF CRLF, or LF LF), or -1.</summary>
    internal static int HeadEnd(ReadOnlySpan<byte> data)
    {
        var from = 0;
        while (true)
        {
            var lf = data[from..].IndexOf((byte)'\n');
            if (lf < 0)
                return -1;
            var at = from + lf + 1;
            if (at < data.Length && data[at] == (byte)'\n')
                return at + 1;
            if (at + 1 < data.Length && data[at] == (byte)'\r' && data[at + 1] == (byte)'\n')
                return at + 2;
            if (at >= data.Length || (at + 1 >= data.Length && data[at] == (byte)'\r'))
                return -1;
            from = at;
        }
    }

    private static ResponseHead Parse(Http1Connection connection, int end, bool isHead)
    {
        var data = connection.Buffered[..end];
        var table = connection.Headers;
        table.Clear();
        var lineEnd = data.IndexOf((byte)'\n');
        var statusLine = TrimCr(data[..lineEnd]);
        // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4)
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || statusLine[8] != (byte)' '
            || statusLine[7] is not ((byte)'0' or (byte)'1')
            || !IsDigit(statusLine[9]) || !IsDigit(statusLine[10]) || !IsDigit(statusLine[11])
            || (statusLine.Length > 12 && statusLine[12] != (byte)' '))
        {
            throw new InvalidDataException("the backend's response does not start with an HTTP/1.x status line");
        }
        var minor = statusLine[7] - '0';
        var status = (statusLine[9] - '0') * 100 + (statusLine[10] - '0') * 10 + (statusLine[11] - '0');
        if (status < 100)
            throw new InvalidDataException($"the backend answered with status {status:000}, which HTTP does not define");
        var reason = statusLine.Length > 13 ? statusLine[13..] : [];
        if (!Http1Syntax.IsValidResponseValue(reason))
            throw new InvalidDataException("the backend's reason phrase holds control characters");

        long length = -1;
        var chunked = false;
        var transferEncoding = false;
        var close = minor == 0;
        var position = lineEnd + 1;
        while (true)
        {
            var rest = data[position..];
            var lf = rest.IndexOf((byte)'\n');
            var line = TrimCr(rest[..lf]);
            if (line.IsEmpty)
                break;
            if (line[0] is (byte)' ' or (byte)'\t')
                throw new InvalidDataException("the backend's response folds a header line (obs-fold), which RFC 9112 5.2 forbids");
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !Http1Syntax.IsTokenBytes(line[..colon]))
                throw new InvalidDataException("the backend's response has a header line that is not 'name: value' (RFC 9112 5.1)");
            var name = line[..colon];
            var raw = line[(colon + 1)..];
            var value = raw.Trim(" \t"u8);
            if (!Http1Syntax.IsValidResponseValue(value))
                throw new InvalidDataException($"the backend's header '{Encoding.ASCII.GetString(name)}' holds characters a header cannot carry");
            table.Add(position, colon, position + colon + 1 + (raw.Length - raw.TrimStart(" \t"u8).Length), value.Length);
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Http1Syntax.TryParseContentLength(Encoding.ASCII.GetString(value), out var parsed))
                    throw new InvalidDataException("the backend's Content-Length is not a number");
                if (length >= 0 && parsed != length)
                    throw new InvalidDataException("the backend's response has conflicting Content-Length headers");
                length = parsed;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                transferEncoding = true;
                chunked = Http1Syntax.LastListElement(Encoding.ASCII.GetString(value)).Equals("chunked", StringComparison.OrdinalIgnoreCase);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                var options = Encoding.ASCII.GetString(value);
                if (Http1Syntax.ListContains(options, "close"))
                    close = true;
                else if (minor == 0 && Http1Syntax.ListContains(options, "keep-alive"))
                    close = false;
                table.ConnectionOptions = table.ConnectionOptions is null ? options : table.ConnectionOptions + "," + options;
            }
            position += lf + 1;
        }

        Framing framing;
        if (status is 204 or 304 or < 200 || isHead)
        {
            framing = Framing.None;
        }
        else if (transferEncoding)
        {
            // RFC 9112 6.3: Transfer-Encoding overrides Content-Length; a response with both is not kept alive.
            framing = chunked ? Framing.Chunked : Framing.UntilClose;
            if (length >= 0)
                close = true;
            length = -1;
        }
        else if (length >= 0)
        {
            framing = length == 0 ? Framing.None : Framing.Length;
        }
        else
        {
            framing = Framing.UntilClose;
        }
        return new ResponseHead(status, framing, length, !close, table.Count, end, reason.Length);
    }

    /// <summary>The backend's status and end-to-end headers into the client's response (Kestrel writes the framing).</summary>
    private static void CopyHead(HttpContext http, ResponseHead head, Http1Connection connection)
    {
        var data = connection.Buffered;
        var table = connection.Headers;
        var response = http.Response;
        response.StatusCode = head.Status;
        if (head.ReasonLength > 0)
        {
            var lineEnd = data.IndexOf((byte)'\n');
            var reason = TrimCr(data[..lineEnd])[13..];
            var standard = Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(head.Status);
            if (!Ascii.Equals(reason, standard))
                http.Features.Get<IHttpResponseFeature>()!.ReasonPhrase = Encoding.ASCII.GetString(reason);
        }
        var headers = response.Headers;
        for (var i = 0; i < head.HeaderCount; i++)
        {
            var (nameStart, nameLength, valueStart, valueLength) = table[i];
            var name = KnownNames.Get(data.Slice(nameStart, nameLength));
            if (Http1Syntax.IsHopByHopResponse(name) || table.ConnectionOptions is { } options && Http1Syntax.ListContains(options, name))
                continue;
            var value = Encoding.ASCII.GetString(data.Slice(valueStart, valueLength));
            headers[name] = headers.TryGetValue(name, out var existing) ? StringValues.Concat(existing, value) : new StringValues(value);
        }
        if (head.Framing == Framing.Length || (head.Length >= 0 && head.Framing == Framing.None && head.Status is not (204 or 304)))
            response.ContentLength = head.Length;
        else if (head.Framing == Framing.None && !HttpMethods.IsHead(http.Request.Method) && head.Status is not (204 or 304))
            response.ContentLength = 0;
    }

    /// <summary>Copies the response body by its framing; the failure, or null when all of it reached the client.</summary>
    private static async ValueTask<Failure?> CopyBodyAsync(HttpContext http, Http1Connection connection, ResponseHead head, ForwardSettings settings, CancellationToken token)
    {
        var output = http.Response.BodyWriter;
        try
        {
            switch (head.Framing)
            {
                case Framing.None:
                    return null;
                case Framing.Length:
                    return await CopyAsync(output, connection, head.Length, settings, last: true, token).ConfigureAwait(false);
                case Framing.UntilClose:
                    return await CopyAsync(output, connection, long.MaxValue, settings, last: true, token).ConfigureAwait(false);
            }
            while (true)
            {
                var line = await connection.ReadLineAsync(Http1Syntax.MaxChunkLineLength, token).ConfigureAwait(false);
                if (!Http1Syntax.TryParseChunkSize(connection.Line(line), out var size))
                    return new Failure(ForwarderError.ResponseBodyDestination, new InvalidDataException("the backend's chunked body has a chunk size that is not hexadecimal"));
                if (size == 0)
                {
                    // The trailer section (dropped), up to its empty line, bounded as a head is.
                    var trailers = 0;
                    while ((line = await connection.ReadLineAsync(Http1Syntax.MaxChunkLineLength, token).ConfigureAwait(false)).Length > 0)
                    {
                        trailers += line.Length;
                        if (trailers > Http1Syntax.MaxHeadLength)
                            return new Failure(ForwarderError.ResponseBodyDestination, new InvalidDataException("the backend's trailer section is longer than 64 KB"));
                    }
                    return null;
                }
                if (await CopyAsync(output, connection, size, settings, last: false, token).ConfigureAwait(false) is { } failure)
                    return failure;
                if ((await connection.ReadLineAsync(Http1Syntax.MaxChunkLineLength, token).ConfigureAwait(false)).Length != 0)
                    return new Failure(ForwarderError.ResponseBodyDestination, new InvalidDataException("the backend's chunk data does not end where its size says"));
            }
        }
        catch (OperationCanceledException ex)
        {
            return new Failure(http.RequestAborted.IsCancellationRequested ? ForwarderError.ResponseBodyCanceled : ForwarderError.ResponseBodyDestination,
                connection.TimedOut ? new TimeoutException($"The backend sent nothing of its response body for {settings.Timeout.TotalSeconds:0.###} s.", ex) : ex);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidDataException)
        {
            return new Failure(ForwarderError.ResponseBodyDestination, ex);
        }
    }

    /// <summary>
    /// Copies <paramref name="count"/> bytes (long.MaxValue: to the end of the stream) from the backend to the client,
    /// reading straight into the response's pipe. What is already buffered and completes a last piece is written
    /// without a flush of its own: Kestrel sends it with the headers when the response ends.
    /// </summary>
    private static async ValueTask<Failure?> CopyAsync(PipeWriter output, Http1Connection connection, long count, ForwardSettings settings, bool last, CancellationToken token)
    {
        var untilClose = count == long.MaxValue;
        while (count > 0)
        {
            if (connection.BufferedCount > 0)
            {
                var take = (int)Math.Min(count, connection.BufferedCount);
                output.Write(connection.Buffered[..take]);
                connection.Consume(take);
                count -= take;
                if (count == 0 && last)
                    return null;
            }
            else
            {
                var memory = output.GetMemory(untilClose ? 16 * 1024 : (int)Math.Min(count, 16 * 1024));
                if (memory.Length > count)
                    memory = memory[..(int)count];
                var read = await connection.ReadFromStreamAsync(memory, token).ConfigureAwait(false);
                if (read == 0)
                {
                    if (untilClose)
                        return null;
                    return new Failure(ForwarderError.ResponseBodyDestination, new IOException("The backend closed the connection before the end of its response body."));
                }
                output.Advance(read);
                count -= read;
                connection.Restart(settings.Timeout);
                if (count == 0 && last)
                    return null;
            }
            FlushResult flushed;
            try
            {
                flushed = await output.FlushAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException)
            {
                return new Failure(ForwarderError.ResponseBodyClient, ex);
            }
            if (flushed.IsCanceled || flushed.IsCompleted)
                return new Failure(ForwarderError.ResponseBodyClient, new IOException("The client stopped reading the response."));
        }
        return null;
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) => line.Length > 0 && line[^1] == (byte)'\r' ? line[..^1] : line;

    /// <summary>Response field names backends send most, as interned strings (no allocation per request for them).</summary>
    private static class KnownNames
    {
        private static readonly string[] Names =
        [
            "Content-Type", "Content-Length", "Date", "Server", "Connection", "Cache-Control", "ETag", "Last-Modified",
            "Expires", "Vary", "Content-Encoding", "Transfer-Encoding", "Keep-Alive", "Location", "Set-Cookie",
            "Strict-Transport-Security", "X-Content-Type-Options", "Access-Control-Allow-Origin", "Content-Language",
            "Accept-Ranges", "Age", "Pragma", "WWW-Authenticate", "Retry-After", "Request-Context", "X-Powered-By",
        ];

        public static string Get(ReadOnlySpan<byte> name)
        {
            foreach (var known in Names)
            {
                if (known.Length == name.Length && Ascii.EqualsIgnoreCase(name, known))
                    return known;
            }
            return Encoding.ASCII.GetString(name);
        }
    }
}
