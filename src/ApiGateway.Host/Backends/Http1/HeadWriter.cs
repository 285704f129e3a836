using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace ApiGateway.Host.Backends.Http1;

/// <summary>A request head built in one rented buffer (written to the backend in one write), growing as needed.</summary>
internal struct HeadWriter : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public HeadWriter(int size)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(size);
        _length = 0;
    }

    public readonly ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + count));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        return _buffer.AsSpan(_length, count);
    }

    public void Write(byte value)
    {
        Reserve(1)[0] = value;
        _length++;
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        _length += bytes.Length;
    }

    public void Write(in ReadOnlySequence<byte> bytes)
    {
        foreach (var segment in bytes)
            Write(segment.Span);
    }

    /// <summary>Text known to be ASCII (a method token, an escaped request target, a host name).</summary>
    public void WriteAscii(string text)
    {
        var written = Encoding.ASCII.GetBytes(text, Reserve(text.Length));
        _length += written;
    }

    public void WriteNumber(long value)
    {
        Utf8Formatter.TryFormat(value, Reserve(20), out var written);
        _length += written;
    }

    /// <summary>A field value, refused when it could split the message or is not ASCII (as HttpClient refuses it).</summary>
    public void WriteValue(string name, string value)
    {
        if (!Http1Syntax.IsWritableValue(value))
        {
            throw new InvalidOperationException(
                $"The request header '{name}' holds a line break, a NUL or a non-ASCII character, which a header cannot carry; check the policy that sets it.");
        }
        WriteAscii(value);
    }

    /// <summary><c>name: value CRLF</c>.</summary>
    public void WriteField(string name, string value)
    {
        WriteAscii(name);
        Write(": "u8);
        WriteValue(name, value);
        Write("\r\n"u8);
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _length = 0;
    }
}
