namespace ApiGateway.Host.Backends.Http1;

/// <summary>Where each field of the response head just read lies in the connection's buffer (reused for every response).</summary>
internal sealed class HeaderTable
{
    private (int NameStart, int NameLength, int ValueStart, int ValueLength)[] _fields = new (int, int, int, int)[16];

    public int Count { get; private set; }

    /// <summary>The values of the response's Connection fields (the names they list are not forwarded), or null.</summary>
    public string? ConnectionOptions { get; set; }

    public (int NameStart, int NameLength, int ValueStart, int ValueLength) this[int index] => _fields[index];

    public void Clear()
    {
        Count = 0;
        ConnectionOptions = null;
    }

    public void Add(int nameStart, int nameLength, int valueStart, int valueLength)
    {
        if (Count == _fields.Length)
            Array.Resize(ref _fields, _fields.Length * 2);
        _fields[Count++] = (nameStart, nameLength, valueStart, valueLength);
    }
}
