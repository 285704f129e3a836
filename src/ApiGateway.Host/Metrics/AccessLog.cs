using System.Buffers;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;

namespace ApiGateway.Host.Metrics;

/// <summary>One answered request, as the request thread hands it over (no formatting, no I/O there).</summary>
internal readonly record struct AccessLogEntry(
    DateTime Time,
    string? Api,
    string Method,
    string Path,
    int Status,
    string? Thumbprint,
    string? Subject,
    string Decision,
    string? Error,
    string? Backend,
    double Milliseconds,
    IPAddress? Client,
    string Protocol);

/// <summary>
/// The opt-in access log (<c>run --access-log PATH</c>, or <c>-</c> for standard output): one JSON object per line
/// per request with the time, API, method, path, status, client certificate (thumbprint and subject), the policy's
/// decision, the backend and the latency.
/// <para>
/// What it never writes: query strings (where signatures, tokens and API keys travel), headers, bodies, the
/// backend's URL beyond scheme, host and port (no user information), policy variables. A line says who called what
/// and what the gateway decided, which is what an audit or an incident needs, and nothing an attacker could replay.
/// </para>
/// <para>
/// The request thread only enqueues a struct into a bounded channel; one background thread formats and writes, in
    /// batches gathered for <see cref="BatchDelay"/>. When
/// the writer falls behind (a slow disk, a blocked pipe), new lines are dropped and counted
/// (<c>apigateway_access_log_dropped_total</c>) instead of slowing requests or growing memory.
/// </para>
/// </summary>
internal sealed class AccessLog : IAsyncDisposable
{
    /// <summary>Lines waiting for the writer before new ones are dropped.</summary>
    public const int DefaultCapacity = 16_384;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private readonly Channel<AccessLogEntry> _channel;
    private readonly Stream _output;
    private readonly bool _ownsOutput;
    private readonly Task _writer;
    private readonly Action<long>? _onDropped;
    private long _dropped;
    private long _written;

    /// <param name="output">Where lines go (appended).</param>
    /// <param name="ownsOutput">Whether disposing the log disposes <paramref name="output"/>.</param>
    /// <param name="capacity">Lines that may wait for the writer.</param>
    /// <param name="onDropped">Told of every dropped line (the metric).</param>
    public AccessLog(Stream output, bool ownsOutput, int capacity = DefaultCapacity, Action<long>? onDropped = null)
    {
        _output = output;
        _ownsOutput = ownsOutput;
        _onDropped = onDropped;
        _channel = Channel.CreateBounded<AccessLogEntry>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        }, OnDropped); // DropWrite answers TryWrite with true even when it drops: only this callback tells.
        // Its own thread, writing synchronously: the request threads and the thread pool never wait on the disk.
        _writer = Task.Factory.StartNew(WriteLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Opens the access log at <paramref name="path"/> (<c>-</c>: standard output), appending.</summary>
    public static AccessLog Open(string path, Action<long>? onDropped = null)
    {
        if (path == "-")
            return new AccessLog(Console.OpenStandardOutput(), ownsOutput: false, onDropped: onDropped);
        var full = System.IO.Path.GetFullPath(path);
        if (System.IO.Path.GetDirectoryName(full) is { } folder)
            Directory.CreateDirectory(folder);
        var stream = new FileStream(full, new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete, BufferSize = 0 });
        return new AccessLog(stream, ownsOutput: true, onDropped: onDropped);
    }

    /// <summary>Lines dropped because the writer was behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Lines written so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Hands a line to the writer; never blocks (a full queue drops it and counts).</summary>
    public void Write(in AccessLogEntry entry)
    {
        if (!_channel.Writer.TryWrite(entry))
            OnDropped(entry); // completed: the gateway is stopping
    }

    private void OnDropped(AccessLogEntry entry)
    {
        Interlocked.Increment(ref _dropped);
        _onDropped?.Invoke(1);
    }

    /// <summary>
    /// How long the writer lets lines gather after the first one arrives: one write per batch, and while it sleeps a
    /// request's TryWrite wakes nobody (a reader waiting on every line would cost a thread-pool hop per request).
    /// </summary>
    internal static readonly TimeSpan BatchDelay = TimeSpan.FromMilliseconds(5);

    private void WriteLoop()
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var reader = _channel.Reader;
        using var json = new Utf8JsonWriter(buffer, WriterOptions);
        while (reader.TryPeek(out _) || reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            if (!reader.Completion.IsCompleted)
                Thread.Sleep(BatchDelay);
            var count = 0;
            while (count < 4096 && reader.TryRead(out var entry))
            {
                json.Reset(buffer);
                Format(json, entry);
                json.Flush();
                buffer.Write("\n"u8);
                count++;
            }
            if (count == 0)
                continue;
            try
            {
                _output.Write(buffer.WrittenSpan);
                _output.Flush();
                Interlocked.Add(ref _written, count);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException or NotSupportedException)
            {
                // A full disk or a closed pipe must not end the gateway: these lines are lost, and counted.
                Interlocked.Add(ref _dropped, count);
                _onDropped?.Invoke(count);
            }
            buffer.ResetWrittenCount();
        }
    }

    /// <summary>The JSON of one line (field names are the documented ones: docs/gateway.md "Access log").</summary>
    internal static void Format(Utf8JsonWriter json, in AccessLogEntry e)
    {
        json.WriteStartObject();
        json.WriteString("time"u8, e.Time);
        json.WriteString("api"u8, e.Api);
        json.WriteString("method"u8, e.Method);
        json.WriteString("path"u8, e.Path);
        json.WriteString("protocol"u8, e.Protocol);
        json.WriteNumber("status"u8, e.Status);
        json.WriteString("decision"u8, e.Decision);
        if (e.Error is not null)
            json.WriteString("error"u8, e.Error);
        json.WriteString("backend"u8, e.Backend);
        json.WriteNumber("latencyMs"u8, Math.Round(e.Milliseconds, 3));
        json.WriteString("client"u8, e.Client?.ToString());
        json.WriteString("certificateThumbprint"u8, e.Thumbprint);
        json.WriteString("certificateSubject"u8, e.Subject);
        json.WriteEndObject();
    }

    /// <summary>Writes what is queued, then closes the output (a stop loses no line that was handed over).</summary>
    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        if (_ownsOutput)
            await _output.DisposeAsync().ConfigureAwait(false);
    }
}
