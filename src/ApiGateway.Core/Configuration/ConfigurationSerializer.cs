using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace ApiGateway.Core.Configuration;

/// <summary>
/// Reads and writes the configuration file. The output is canonical: two-space indentation, LF line ends, a final
/// newline, properties in declaration order, maps sorted by id, dates as ISO 8601 UTC, policies as arrays of lines.
/// Reading what it wrote and writing it again gives the same bytes.
/// </summary>
internal static class ConfigurationSerializer
{
    private static readonly JsonSerializerOptions WriteOptions = CreateOptions(JsonUnmappedMemberHandling.Disallow);
    private static readonly JsonSerializerOptions StrictReadOptions = CreateOptions(JsonUnmappedMemberHandling.Disallow);
    private static readonly JsonSerializerOptions LenientReadOptions = CreateOptions(JsonUnmappedMemberHandling.Skip);

    private static JsonSerializerOptions CreateOptions(JsonUnmappedMemberHandling unmapped)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DictionaryKeyPolicy = null,
            WriteIndented = true,
            IndentSize = 2,
            NewLine = "\n",
            // Policies are XML: keep '<', '>', '&' and quotes readable. The file is never embedded in HTML.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            UnmappedMemberHandling = unmapped,
            ReadCommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = true,
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.Converters.Add(new UtcDateConverter());
        options.Converters.Add(new IdMapConverterFactory());
        options.Converters.Add(new ListConverterFactory());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>The canonical UTF-8 bytes of <paramref name="configuration"/>, ending with a newline.</summary>
    public static byte[] Serialize(GatewayConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var json = JsonSerializer.SerializeToUtf8Bytes(configuration, WriteOptions);
        var result = new byte[json.Length + 1];
        json.CopyTo(result, 0);
        result[^1] = (byte)'\n';
        return result;
    }

    /// <summary>
    /// The canonical bytes of <paramref name="after"/> made from <paramref name="canonical"/>, the canonical bytes of
    /// the same configuration with <paramref name="before"/>'s schema version and revision, by rewriting the header
    /// line that holds the revision instead of serializing the whole file again (it can be megabytes). Null when the
    /// header is not in the expected place, so the caller serializes instead.
    /// </summary>
    internal static byte[]? WithRevision(byte[] canonical, GatewayConfiguration before, GatewayConfiguration after)
    {
        var oldHeader = Encoding.UTF8.GetBytes($"{{\n  \"schemaVersion\": {before.SchemaVersion},\n  \"revision\": {before.Revision},\n");
        if (!canonical.AsSpan().StartsWith(oldHeader))
            return null;
        var newHeader = Encoding.UTF8.GetBytes($"{{\n  \"schemaVersion\": {after.SchemaVersion},\n  \"revision\": {after.Revision},\n");
        var result = new byte[canonical.Length - oldHeader.Length + newHeader.Length];
        newHeader.CopyTo(result, 0);
        canonical.AsSpan(oldHeader.Length).CopyTo(result.AsSpan(newHeader.Length));
        return result;
    }

    /// <summary>The canonical text of <paramref name="configuration"/>.</summary>
    public static string SerializeToString(GatewayConfiguration configuration) => Encoding.UTF8.GetString(Serialize(configuration));

    /// <summary>
    /// Parses a configuration file's bytes. <paramref name="sourceName"/> (the path) is quoted in errors, which give
    /// the line and position of the problem. A schema newer than this version understands is read leniently
    /// (unknown properties are skipped); the store refuses to write it.
    /// </summary>
    public static GatewayConfiguration Deserialize(ReadOnlySpan<byte> utf8, string sourceName)
    {
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        if (utf8.StartsWith(bom))
            utf8 = utf8[3..];
        if (utf8.Trim(" \t\r\n"u8).IsEmpty)
            throw Unreadable(sourceName, null, "the file is empty");
        var schema = PeekSchemaVersion(utf8, sourceName);
        var options = schema > GatewayConfiguration.CurrentSchemaVersion ? LenientReadOptions : StrictReadOptions;
        try
        {
            var configuration = JsonSerializer.Deserialize<GatewayConfiguration>(utf8, options)
                ?? throw Unreadable(sourceName, null, "the file holds 'null' instead of a configuration object");
            return configuration;
        }
        catch (JsonException ex)
        {
            throw Unreadable(sourceName, ex, Describe(ex));
        }
    }

    private static int PeekSchemaVersion(ReadOnlySpan<byte> utf8, string sourceName)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read())
                throw Unreadable(sourceName, null, "the file is empty");
            if (reader.TokenType != JsonTokenType.StartObject)
                throw Unreadable(sourceName, null, $"line 1: expected '{{' at the start of the file but found {reader.TokenType}");
            while (reader.Read() && reader.CurrentDepth >= 1)
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("schemaVersion"u8))
                {
                    reader.Read();
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var v) ? v : 0;
                }
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    reader.Skip();
            }
            return GatewayConfiguration.CurrentSchemaVersion;
        }
        catch (JsonException ex)
        {
            throw Unreadable(sourceName, ex, Describe(ex));
        }
    }

    private static string Describe(JsonException ex)
    {
        var where = ex.LineNumber is { } line
            ? $"line {line + 1}, position {(ex.BytePositionInLine ?? 0) + 1}"
            : "unknown position";
        var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? string.Empty : $" (at {ex.Path})";
        return $"{where}{path}: {Humanize(ex.Message)}";
    }

    /// <summary>Restates System.Text.Json's messages (which name .NET types) in the file's own terms.</summary>
    internal static string Humanize(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0)
            cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0)
            message = message[..cut];
        message = message.TrimEnd('.', ' ');
        var m = Regex.Match(message, "^The JSON property '(?<p>[^']*)' could not be mapped to any .NET member contained in type '(?<t>[^']*)'", RegexOptions.None, Regex.InfiniteMatchTimeout);
        if (m.Success)
            return $"unknown property '{m.Groups["p"].Value}' in {Friendly(m.Groups["t"].Value)}; check its spelling (names are camelCase) or remove it";
        m = Regex.Match(message, "missing required properties including: (?<p>.*)$", RegexOptions.None, Regex.InfiniteMatchTimeout);
        if (m.Success)
            return $"{Friendly(Regex.Match(message, "type '(?<t>[^']*)'", RegexOptions.None, Regex.InfiniteMatchTimeout).Groups["t"].Value)} is missing the required {m.Groups["p"].Value}";
        m = Regex.Match(message, "The property or field '(?<p>[^']*)' on type '(?<t>[^']*)' doesn't allow setting null values", RegexOptions.None, Regex.InfiniteMatchTimeout);
        if (m.Success)
            return $"'{m.Groups["p"].Value}' in {Friendly(m.Groups["t"].Value)} must not be null";
        m = Regex.Match(message, "^The JSON value could not be converted to (?<t>[^ ]+)$", RegexOptions.None, Regex.InfiniteMatchTimeout);
        if (m.Success)
            return $"the value is not {Expected(m.Groups["t"].Value)}";
        return message;
    }

    private static string Friendly(string typeName) => typeName[(typeName.LastIndexOf('.') + 1)..] switch
    {
        nameof(GatewayConfiguration) => "the configuration",
        nameof(ServiceSettings) => "'service'",
        nameof(HostnameEntry) => "a hostname",
        nameof(GatewayLimits) => "'service.limits'",
        nameof(CertificateEntry) => "a certificate",
        nameof(CaCertificateEntry) => "a CA certificate",
        nameof(BackendEntry) => "a backend",
        nameof(BackendTls) => "a backend's 'tls'",
        nameof(BackendCredentials) => "a backend's 'credentials'",
        nameof(BackendAuthorization) => "a backend's 'authorization'",
        nameof(ApiEntry) => "an API",
        var other => $"'{other}'",
    };

    private static string Expected(string typeName)
    {
        // Optional values (the limits) are Nullable`1[[System.Int32, …]]: describe the value inside.
        var nullable = Regex.Match(typeName, @"^System\.Nullable`1\[\[?(?<t>[^,\]]+)", RegexOptions.None, Regex.InfiniteMatchTimeout);
        if (nullable.Success)
            typeName = nullable.Groups["t"].Value;
        var name = typeName[(typeName.LastIndexOf('.') + 1)..];
        var type = typeof(GatewayConfiguration).Assembly.GetType(typeName);
        if (type is { IsEnum: true })
            return "one of " + string.Join(", ", Enum.GetNames(type).Select(n => "'" + JsonNamingPolicy.CamelCase.ConvertName(n) + "'"));
        return name switch
        {
            "Boolean" => "true or false",
            "Int32" or "Int64" => "a whole number",
            "Double" => "a number",
            "String" => "a string",
            "DateTimeOffset" => "a date such as 2025-01-31T12:00:00Z",
            _ when name.StartsWith("ImmutableSortedDictionary", StringComparison.Ordinal) => "an object of id → entry",
            _ when name.StartsWith("ImmutableArray", StringComparison.Ordinal) => "an array",
            _ => $"a valid {name}",
        };
    }

    private static GatewayException Unreadable(string sourceName, Exception? inner, string detail) =>
        new GatewayException("Configuration", "Unreadable", GatewayErrorCategory.InvalidData,
            $"The configuration file '{sourceName}' cannot be read: {detail}. Correct the file by hand or restore it from a backup; it was not changed.",
            sourceName, inner);

    /// <summary>Dates as <c>2025-01-31T12:00:00Z</c> (UTC; fractions only when present).</summary>
    private sealed class UtcDateConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = reader.GetString();
            if (text is null || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
                throw new JsonException($"'{text}' is not a date; write it as 2025-01-31T12:00:00Z.");
            return value.ToUniversalTime();
        }

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
        {
            var utc = value.ToUniversalTime();
            var format = utc.Ticks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";
            writer.WriteStringValue(utc.ToString(format, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// Lists (of ids, thumbprints, cipher suites, header values, hostnames): a null element is an error of the file, as
    /// a null property is (RespectNullableAnnotations does not reach into collections, and a null element fails far
    /// later, as an exception of whatever reads it; found by the fuzzer with <c>[null]</c> in certificateIds and hostnames).
    /// </summary>
    private sealed class ListConverterFactory : JsonConverterFactory
    {
        public override bool CanConvert(Type typeToConvert) =>
            typeToConvert.IsGenericType
            && typeToConvert.GetGenericTypeDefinition() == typeof(ImmutableArray<>)
            && !typeToConvert.GetGenericArguments()[0].IsValueType;

        public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
            (JsonConverter)Activator.CreateInstance(typeof(ListConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;
    }

    private sealed class ListConverter<T> : JsonConverter<ImmutableArray<T>>
        where T : class
    {
        public override ImmutableArray<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
                throw new JsonException($"Expected an array, found {reader.TokenType}.");
            var builder = ImmutableArray.CreateBuilder<T>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.Null)
                    throw new JsonException("an element of this list is null; remove it or give a value");
                builder.Add(JsonSerializer.Deserialize<T>(ref reader, options)!);
            }
            return builder.ToImmutable();
        }

        public override void Write(Utf8JsonWriter writer, ImmutableArray<T> value, JsonSerializerOptions options)
        {
            writer.WriteStartArray();
            foreach (var item in value.IsDefault ? [] : value)
                JsonSerializer.Serialize(writer, item, options);
            writer.WriteEndArray();
        }
    }

    /// <summary>Id-keyed maps: sorted without regard to case, and a key that appears twice (in any case) is an error.</summary>
    private sealed class IdMapConverterFactory : JsonConverterFactory
    {
        public override bool CanConvert(Type typeToConvert) =>
            typeToConvert.IsGenericType
            && typeToConvert.GetGenericTypeDefinition() == typeof(ImmutableSortedDictionary<,>)
            && typeToConvert.GetGenericArguments()[0] == typeof(string);

        public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
            (JsonConverter)Activator.CreateInstance(typeof(IdMapConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[1]))!;
    }

    private sealed class IdMapConverter<T> : JsonConverter<ImmutableSortedDictionary<string, T>>
    {
        public override ImmutableSortedDictionary<string, T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new JsonException($"Expected an object of id → value, found {reader.TokenType}.");
            var builder = ImmutableSortedDictionary.CreateBuilder<string, T>(Ids.Comparer);
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var key = reader.GetString()!;
                if (builder.ContainsKey(key))
                    throw new JsonException($"'{key}' appears twice (ids are compared without regard to case)");
                reader.Read();
                T? value;
                try
                {
                    value = JsonSerializer.Deserialize<T>(ref reader, options);
                }
                catch (JsonException ex)
                {
                    // Keep the entry's id and the property inside it in the message: the outer path stops at the map.
                    var inner = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? string.Empty : $" at {ex.Path[2..]}";
                    throw new JsonException($"in '{key}'{inner}: {Humanize(ex.Message)}", ex);
                }
                if (value is null)
                    throw new JsonException($"'{key}' has no value");
                builder.Add(key, value);
            }
            return builder.ToImmutable();
        }

        public override void Write(Utf8JsonWriter writer, ImmutableSortedDictionary<string, T> value, JsonSerializerOptions options)
        {
            var valueConverter = (JsonConverter<T>)options.GetConverter(typeof(T));
            writer.WriteStartObject();
            // Written in the order of Ids.Comparer whatever comparer this instance carries, so the file is stable.
            foreach (var pair in value.KeyComparer == Ids.Comparer ? (IEnumerable<KeyValuePair<string, T>>)value : value.OrderBy(p => p.Key, Ids.Comparer))
            {
                writer.WritePropertyName(pair.Key);
                valueConverter.Write(writer, pair.Value, options);
            }
            writer.WriteEndObject();
        }
    }
}

/// <summary>
/// Multi-line text (policy XML) written as an array of lines, so the file stays legible and diffs line by line.
/// Reads either that array or a plain string.
/// </summary>
internal sealed class MultilineTextConverter : JsonConverter<string>
{
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
            return reader.GetString()!.ReplaceLineEndings("\n");
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException("Expected policy XML as an array of lines or a string.");
        var sb = new StringBuilder();
        var first = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
                throw new JsonException("Every line of a policy must be a string.");
            if (!first)
                sb.Append('\n');
            // A line holding a line break of its own (an escaped \r, U+2028, ...) reads as the lines the writer would
            // make of it: otherwise what is read and what is written again differ in their line numbers.
            sb.Append(reader.GetString()!.ReplaceLineEndings("\n"));
            first = false;
        }
        return sb.ToString();
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var line in value.ReplaceLineEndings("\n").Split('\n'))
            writer.WriteStringValue(line);
        writer.WriteEndArray();
    }
}
