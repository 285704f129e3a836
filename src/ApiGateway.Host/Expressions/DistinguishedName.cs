namespace ApiGateway.Host.Expressions;

/// <summary>
/// Compares distinguished names the way a person reads them: relative distinguished names (RDNs) one by one, in
/// order; attribute types without regard to case and with their synonyms (<c>S</c> = <c>ST</c>, <c>E</c> =
/// <c>EMAILADDRESS</c>, <c>OID.2.5.4.3</c> = <c>CN</c>, …); values without regard to case, white space around the
/// separators ignored, quoting and backslash escapes undone (<c>O="Contoso, Inc."</c> = <c>O=Contoso\, Inc.</c>).
/// <c>,</c> and <c>;</c> separate RDNs; <c>+</c> joins the attributes of one multi-valued RDN, which is a set (RFC 4514
/// section 2.2, X.501): <c>CN=a+OU=x</c> equals <c>OU=x+CN=a</c> but never <c>CN=a, OU=x</c> (two RDNs). A string that
/// is not a DN (no <c>=</c>, or not parseable) is compared exactly, so <c>"trusted-issuer"</c> never equals
/// <c>"CN=trusted-issuer"</c>. Allocation-free unless a name has a multi-valued RDN.
/// </summary>
internal static class DistinguishedName
{
    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> name the same entity (see the type's rule).</summary>
    public static bool Equals(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        a = a.Trim();
        b = b.Trim();
        // The same text is the same name whatever the rules below (and whether it parses): the common case of a
        // policy that quotes a certificate's name as .NET prints it costs one comparison instead of two parses.
        if (a.SequenceEqual(b))
            return true;
        if (a.IndexOf('=') < 0 || b.IndexOf('=') < 0)
            return a.SequenceEqual(b);
        if (a.IndexOf('+') >= 0 || b.IndexOf('+') >= 0)
            return MultiValuedEquals(a, b);
        var ra = new Reader(a);
        var rb = new Reader(b);
        while (true)
        {
            var hasA = ra.Next(out var typeA, out var valueA, out var quotedA);
            var hasB = rb.Next(out var typeB, out var valueB, out var quotedB);
            if (ra.Failed || rb.Failed)
                return a.SequenceEqual(b);
            if (hasA != hasB)
                return false;
            if (!hasA)
                return true;
            if (!TypeEquals(typeA, typeB) || !ValueEquals(valueA, quotedA, valueB, quotedB))
                return false;
        }
    }

    /// <summary>
    /// The comparison when a name may have a multi-valued RDN (a <c>+</c>, which may also be escaped or quoted in a
    /// value): both names as lists of RDNs, each a set of normalized attribute/value pairs.
    /// </summary>
    private static bool MultiValuedEquals(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var na = Normalize(a);
        var nb = Normalize(b);
        if (na is null || nb is null)
            return a.SequenceEqual(b);
        if (na.Count != nb.Count)
            return false;
        for (var i = 0; i < na.Count; i++)
        {
            if (na[i].Count != nb[i].Count)
                return false;
            var unmatched = new List<string>(nb[i]);
            foreach (var pair in na[i])
            {
                if (!unmatched.Remove(pair))
                    return false;
            }
        }
        return true;
    }

    /// <summary>RDNs of <paramref name="text"/> as sets of "TYPE=VALUE" (canonical type, escapes undone, upper case), or null when it does not parse.</summary>
    private static List<List<string>>? Normalize(ReadOnlySpan<char> text)
    {
        var rdns = new List<List<string>> { new() };
        var reader = new Reader(text);
        while (reader.Next(out var type, out var value, out var quoted))
        {
            var builder = new System.Text.StringBuilder().Append(Canonical(type)).Append('=');
            var i = 0;
            while (NextChar(value, quoted, ref i, out var c))
                builder.Append(c);
            rdns[^1].Add(builder.ToString().ToUpperInvariant());
            if (!reader.JoinedWithNext)
                rdns.Add([]);
        }
        if (reader.Failed)
            return null;
        if (rdns[^1].Count == 0)
            rdns.RemoveAt(rdns.Count - 1);
        return rdns;
    }

    private static bool TypeEquals(ReadOnlySpan<char> a, ReadOnlySpan<char> b) =>
        Canonical(a).Equals(Canonical(b), StringComparison.OrdinalIgnoreCase);

    /// <summary>The short name .NET shows for an attribute type, for the OIDs and long names people also write.</summary>
    private static ReadOnlySpan<char> Canonical(ReadOnlySpan<char> type)
    {
        if (type.StartsWith("OID.", StringComparison.OrdinalIgnoreCase))
            type = type[4..];
        // Short names (CN, O, OU, C, L, E, DC, ...) are their own canonical form except ST; every synonym below is longer.
        if (type.Length <= 2)
            return Is(type, "ST") ? "S" : type;
        return type switch
        {
            _ when Is(type, "2.5.4.3") || Is(type, "COMMONNAME") => "CN",
            _ when Is(type, "2.5.4.10") || Is(type, "ORGANIZATIONNAME") => "O",
            _ when Is(type, "2.5.4.11") || Is(type, "ORGANIZATIONALUNITNAME") => "OU",
            _ when Is(type, "2.5.4.6") || Is(type, "COUNTRYNAME") => "C",
            _ when Is(type, "2.5.4.7") || Is(type, "LOCALITYNAME") => "L",
            _ when Is(type, "2.5.4.8") || Is(type, "ST") || Is(type, "STATEORPROVINCENAME") => "S",
            _ when Is(type, "2.5.4.9") || Is(type, "STREETADDRESS") => "STREET",
            _ when Is(type, "1.2.840.113549.1.9.1") || Is(type, "EMAILADDRESS") || Is(type, "EMAIL") => "E",
            _ when Is(type, "0.9.2342.19200300.100.1.25") || Is(type, "DOMAINCOMPONENT") => "DC",
            _ when Is(type, "0.9.2342.19200300.100.1.1") || Is(type, "USERID") => "UID",
            _ when Is(type, "2.5.4.5") => "SERIALNUMBER",
            _ when Is(type, "2.5.4.4") || Is(type, "SURNAME") => "SN",
            _ when Is(type, "2.5.4.42") || Is(type, "GIVENNAME") => "G",
            _ when Is(type, "2.5.4.12") || Is(type, "TITLE") => "T",
            _ => type,
        };
    }

    private static bool Is(ReadOnlySpan<char> type, string name) => type.Equals(name, StringComparison.OrdinalIgnoreCase);

    private static bool ValueEquals(ReadOnlySpan<char> a, bool quotedA, ReadOnlySpan<char> b, bool quotedB)
    {
        int i = 0, j = 0;
        while (true)
        {
            var hasA = NextChar(a, quotedA, ref i, out var ca);
            var hasB = NextChar(b, quotedB, ref j, out var cb);
            if (hasA != hasB)
                return false;
            if (!hasA)
                return true;
            if (ca != cb && char.ToUpperInvariant(ca) != char.ToUpperInvariant(cb))
                return false;
        }
    }

    /// <summary>The next character of a value with escapes undone: <c>\,</c> → ',', <c>\4F</c> → 'O', <c>""</c> in quotes → '"'.</summary>
    private static bool NextChar(ReadOnlySpan<char> s, bool quoted, ref int i, out char c)
    {
        if (i >= s.Length)
        {
            c = default;
            return false;
        }
        c = s[i];
        if (c == '\\' && i + 1 < s.Length)
        {
            if (i + 2 < s.Length && char.IsAsciiHexDigit(s[i + 1]) && char.IsAsciiHexDigit(s[i + 2]))
            {
                c = (char)((HexValue(s[i + 1]) << 4) | HexValue(s[i + 2]));
                i += 3;
                return true;
            }
            c = s[i + 1];
            i += 2;
            return true;
        }
        if (quoted && c == '"' && i + 1 < s.Length && s[i + 1] == '"')
        {
            i += 2;
            return true;
        }
        i++;
        return true;
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>Reads <c>type=value</c> pairs; values keep their escapes (undone when compared).</summary>
    private ref struct Reader
    {
        private readonly ReadOnlySpan<char> _text;
        private int _position;

        public Reader(ReadOnlySpan<char> text)
        {
            _text = text;
            _position = 0;
            Failed = false;
        }

        public bool Failed { get; private set; }

        /// <summary>Whether the pair just read is followed by <c>+</c>: the next pair belongs to the same RDN.</summary>
        public bool JoinedWithNext { get; private set; }

        public bool Next(out ReadOnlySpan<char> type, out ReadOnlySpan<char> value, out bool quoted)
        {
            type = default;
            value = default;
            quoted = false;
            JoinedWithNext = false;
            SkipSpaces();
            if (_position >= _text.Length)
                return false;

            var start = _position;
            while (_position < _text.Length && _text[_position] != '=')
            {
                if (_text[_position] is ',' or ';' or '+' or '"' or '\\')
                    return Fail();
                _position++;
            }
            if (_position >= _text.Length)
                return Fail();
            type = _text[start.._position].Trim();
            if (type.IsEmpty)
                return Fail();
            _position++;
            SkipSpaces();

            if (_position < _text.Length && _text[_position] == '"')
            {
                quoted = true;
                _position++;
                var valueStart = _position;
                while (true)
                {
                    if (_position >= _text.Length)
                        return Fail();
                    var c = _text[_position];
                    if (c == '\\')
                    {
                        _position += 2;
                        continue;
                    }
                    if (c == '"')
                    {
                        if (_position + 1 < _text.Length && _text[_position + 1] == '"')
                        {
                            _position += 2;
                            continue;
                        }
                        break;
                    }
                    _position++;
                }
                value = _text[valueStart.._position];
                _position++;
                SkipSpaces();
            }
            else
            {
                var valueStart = _position;
                var end = _position;
                while (_position < _text.Length)
                {
                    var c = _text[_position];
                    if (c == '\\')
                    {
                        // A backslash escapes the character after it; one at the end escapes nothing (not a DN).
                        if (_position + 1 >= _text.Length)
                            return Fail();
                        _position += 2;
                        end = _position;
                        continue;
                    }
                    if (c is ',' or ';' or '+')
                        break;
                    _position++;
                    if (!char.IsWhiteSpace(c))
                        end = _position;
                }
                value = _text[valueStart..end];
            }

            if (_position < _text.Length)
            {
                if (_text[_position] is not (',' or ';' or '+'))
                    return Fail();
                JoinedWithNext = _text[_position] == '+';
                _position++;
                // A separator with nothing after it (the text is trimmed) ends in an empty RDN: not a DN (RFC 4514 2.1).
                if (_position >= _text.Length)
                    return Fail();
            }
            return true;
        }

        private void SkipSpaces()
        {
            while (_position < _text.Length && char.IsWhiteSpace(_text[_position]))
                _position++;
        }

        private bool Fail()
        {
            Failed = true;
            return false;
        }
    }
}
