using System.Buffers;
using System.Net.Sockets;

namespace ApiGateway.Host.Backends.Http1;

/// <summary>
/// One kept-alive HTTP/1.1 connection to a backend (TCP, or TLS over it): its stream, what it has read and not yet
/// consumed, and the timer of the request it carries. One request at a time; the pool hands it out and takes it back.
/// </summary>
internal sealed class Http1Connection : IAsyncDisposable
{
    private const int InitialBuffer = 4096;

    private readonly Socket _socket;
    private readonly Stream _stream;
    private byte[] _buffer = new byte[InitialBuffer];
    private int _start;
    private int _end;
    private CancellationTokenSource _timer = new();

    public Http1Connection(Socket socket, Stream stream)
    {
        _socket = socket;
        _stream = stream;
    }

    /// <summary>Where the fields of the response head just read lie in the buffer.</summary>
    public HeaderTable Headers { get; } = new();

    /// <summary>Reads from the connection itself (nothing may be buffered: see <see cref="BufferedCount"/>).</summary>
    public ValueTask<int> ReadFromStreamAsync(Memory<byte> into, CancellationToken cancellationToken) => _stream.ReadAsync(into, cancellationToken);

    /// <summary>Stopwatch timestamp of when it went back to the pool.</summary>
    public long IdleSince { get; set; }

    /// <summary>Whether it carried a request before this one (a stale kept-alive connection may be retried once).</summary>
    public bool Reused { get; set; }

    /// <summary>Bytes read from the backend and not consumed yet.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    public int BufferedCount => _end - _start;

    /// <summary>
    /// The token of the request now on this connection: cancelled after <paramref name="timeout"/> (which
    /// <see cref="Restart"/> sets again), or by <see cref="Cancel"/>.
    /// </summary>
    public CancellationToken Begin(TimeSpan timeout)
    {
        if (!_timer.TryReset())
        {
            _timer.Dispose();
            _timer = new CancellationTokenSource();
        }
        _timer.CancelAfter(timeout);
        return _timer.Token;
    }

    /// <summary>Whether the request's timer, not the client, cancelled it.</summary>
    public bool TimedOut => _timer.IsCancellationRequested;

    /// <summary>The timer set again: activity on a streaming body keeps the request alive.</summary>
    public void Restart(TimeSpan timeout) => _timer.CancelAfter(timeout);

    /// <summary>Cancels the request's work now (the client went away).</summary>
    public void Cancel() => _timer.Cancel();

    /// <summary>The timer stopped: the connection is going back to the pool.</summary>
    public void End() => _timer.CancelAfter(Timeout.InfiniteTimeSpan);

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => _stream.WriteAsync(data, cancellationToken);

    public Task FlushAsync(CancellationToken cancellationToken) => _stream.FlushAsync(cancellationToken);

    /// <summary>Consumes <paramref name="count"/> buffered bytes.</summary>
    public void Consume(int count)
    {
        _start += count;
        if (_start == _end)
            _start = _end = 0;
    }

    /// <summary>
    /// Reads more from the backend into the buffer, growing it up to <paramref name="limit"/> when it is full;
    /// false at the end of the stream. Throws <see cref="InvalidDataException"/> when the limit is reached.
    /// </summary>
    public async ValueTask<bool> FillAsync(int limit, CancellationToken cancellationToken)
    {
        if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            else
            {
                if (_buffer.Length >= limit)
                    throw new InvalidDataException($"the backend's response head is longer than {limit / 1024} KB");
                Array.Resize(ref _buffer, Math.Min(limit, _buffer.Length * 2));
            }
        }
        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        _end += read;
        return read > 0;
    }

    /// <summary>Reads body bytes: what is buffered first, else straight into <paramref name="into"/>; 0 at the end of the stream.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> into, CancellationToken cancellationToken)
    {
        if (_end > _start)
        {
            var count = Math.Min(into.Length, _end - _start);
            _buffer.AsSpan(_start, count).CopyTo(into.Span);
            Consume(count);
            return count;
        }
        return await _stream.ReadAsync(into, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads up to and including the next CRLF (a chunk-size line or its data's end), at most <paramref name="limit"/> bytes; the line without CRLF.</summary>
    public async ValueTask<(int Start, int Length)> ReadLineAsync(int limit, CancellationToken cancellationToken)
    {
        var searched = 0;
        while (true)
        {
            var lf = Buffered[searched..].IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var start = _start;
                var length = searched + lf;
                Consume(length + 1);
                if (length > 0 && _buffer[start + length - 1] == (byte)'\r')
                    length--;
                return (start, length);
            }
            searched = BufferedCount;
            if (searched > limit)
                throw new InvalidDataException($"a chunk line of the backend's response is longer than {limit} bytes");
            if (!await FillAsync(Math.Max(limit * 2, InitialBuffer), cancellationToken).ConfigureAwait(false))
                throw new IOException("The backend closed the connection in the middle of a chunked response body.");
        }
    }

    /// <summary>The bytes of a line returned by <see cref="ReadLineAsync"/>, valid until the next read.</summary>
    public ReadOnlySpan<byte> Line((int Start, int Length) line) => _buffer.AsSpan(line.Start, line.Length);

    /// <summary>Whether the idle connection still looks usable: no bytes and no end of stream waiting (a backend that closed it).</summary>
    public bool LooksAlive()
    {
        try
        {
            return _end == _start && !_socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _timer.Dispose();
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // Closing a connection that already broke.
        }
        _socket.Dispose();
    }

    /// <summary>Disposes without waiting (a connection dropped on an error path).</summary>
    public void Abort()
    {
        _timer.Dispose();
        try
        {
            _socket.Dispose();
            _stream.Dispose();
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>A rented buffer for a request head.</summary>
    public static byte[] Rent(int size) => ArrayPool<byte>.Shared.Rent(size);

    public static void Return(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);
}
