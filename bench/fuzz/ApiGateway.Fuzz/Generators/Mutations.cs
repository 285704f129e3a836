using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ApiGateway.Fuzz.Generators;

/// <summary>
/// Edits of valid inputs, each driven by random numbers the generator drew (so a case is a pure function of its seed):
/// text edits with a dictionary of tokens, byte edits of a file, and structural edits of JSON (a value replaced by
/// one of another kind, a property removed, renamed or doubled in another case, nesting deepened).
/// </summary>
internal static class Mutations
{
    /// <summary>Applies one edit per three numbers of <paramref name="seeds"/> to <paramref name="text"/>.</summary>
    public static string EditText(string text, int[] seeds, string[] tokens)
    {
        var s = new StringBuilder(text);
        for (var i = 0; i + 2 < seeds.Length; i += 3)
        {
            var (kind, a, b) = (seeds[i] % 6, seeds[i + 1], seeds[i + 2]);
            var at = s.Length == 0 ? 0 : a % (s.Length + 1);
            var length = s.Length - at == 0 ? 0 : 1 + (b % Math.Min(16, s.Length - at));
            switch (kind)
            {
                case 0 or 1:
                    s.Insert(at, tokens[b % tokens.Length]);
                    break;
                case 2:
                    s.Remove(at, length);
                    break;
                case 3:
                    s.Insert(at, s.ToString(at, length));
                    break;
                case 4 when length > 0:
                    s[at] = (char)(b % 0x3000);
                    break;
                default:
                    var other = s.Length == 0 ? 0 : b % s.Length;
                    var piece = s.ToString(at, length);
                    s.Remove(at, length);
                    s.Insert(Math.Min(other, s.Length), piece);
                    break;
            }
        }
        return s.ToString();
    }

    private static readonly byte[][] ByteTokens =
    [
        "{"u8.ToArray(), "}"u8.ToArray(), "["u8.ToArray(), "]"u8.ToArray(), "\""u8.ToArray(), ":"u8.ToArray(), ","u8.ToArray(),
        "null"u8.ToArray(), "true"u8.ToArray(), "-1"u8.ToArray(), "1e309"u8.ToArray(), "-0"u8.ToArray(), "0.5"u8.ToArray(),
        "99999999999999999999"u8.ToArray(), "\"\\u0000\""u8.ToArray(), "\"\\ud800\""u8.ToArray(), "\\"u8.ToArray(),
        "/*"u8.ToArray(), "//"u8.ToArray(), [0xEF, 0xBB, 0xBF], [0xC3, 0x28], [0xFF], [0xF0, 0x9F, 0x98], [0x00], "\r\n"u8.ToArray(),
        "\"schemaVersion\": 2,"u8.ToArray(), "\"revision\": -1,"u8.ToArray(), "\"policy\": ["u8.ToArray(),
    ];

    /// <summary>One byte edit per three numbers: a bit flipped, a byte set, a range deleted, doubled, a token inserted, the file cut.</summary>
    public static byte[] EditBytes(byte[] input, int[] seeds)
    {
        var bytes = new List<byte>(input);
        for (var i = 0; i + 2 < seeds.Length; i += 3)
        {
            var (kind, a, b) = (seeds[i] % 7, seeds[i + 1], seeds[i + 2]);
            var at = bytes.Count == 0 ? 0 : a % bytes.Count;
            var length = bytes.Count - at == 0 ? 0 : 1 + (b % Math.Min(64, bytes.Count - at));
            switch (kind)
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << (b % 8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = (byte)b;
                    break;
                case 2:
                    bytes.RemoveRange(at, length);
                    break;
                case 3:
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                case 4 or 5:
                    bytes.InsertRange(at, ByteTokens[b % ByteTokens.Length]);
                    break;
                default:
                    if (b % 4 == 0)
                        bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }
        return [.. bytes];
    }

    /// <summary>
    /// One structural edit per three numbers of a JSON document; the result is written back (compact or indented).
    /// Returns the input unchanged when it is not JSON.
    /// </summary>
    public static byte[] EditJson(byte[] input, int[] seeds)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(input, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, MaxDepth = 1024 });
        }
        catch (JsonException)
        {
            return input;
        }
        if (root is null)
            return input;
        for (var i = 0; i + 2 < seeds.Length; i += 3)
        {
            var nodes = Flatten(root).ToList();
            var (kind, a, b) = (seeds[i] % 6, seeds[i + 1], seeds[i + 2]);
            var node = nodes[a % nodes.Count];
            switch (kind)
            {
                case 0 or 1:
                    Replace(node, Value(b));
                    break;
                case 2 when node.Parent is JsonObject parent:
                    parent.Remove(node.GetPropertyName());
                    break;
                case 3 when node.Parent is JsonObject parent:
                    var name = node.GetPropertyName();
                    var twin = b % 2 == 0 ? name.ToUpperInvariant() : name + "X";
                    if (!parent.ContainsKey(twin))
                        parent[twin] = node.DeepClone();
                    break;
                case 4 when node is JsonObject obj:
                    var unknown = "fuzz" + (b % 7).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (!obj.ContainsKey(unknown))
                        obj[unknown] = Value(b / 7);
                    break;
                default:
                    Replace(node, new JsonArray(node.DeepClone()));
                    break;
            }
        }
        return Encoding.UTF8.GetBytes(root.ToJsonString(new JsonSerializerOptions { WriteIndented = seeds.Length % 2 == 0, MaxDepth = 1024 }));
    }

    private static IEnumerable<JsonNode> Flatten(JsonNode node)
    {
        yield return node;
        var children = node switch
        {
            JsonObject o => o.Select(p => p.Value),
            JsonArray a => a,
            _ => [],
        };
        foreach (var child in children)
        {
            if (child is null)
                continue;
            foreach (var n in Flatten(child))
                yield return n;
        }
    }

    private static void Replace(JsonNode node, JsonNode? value)
    {
        switch (node.Parent)
        {
            case JsonObject o:
                o[node.GetPropertyName()] = value;
                break;
            case JsonArray a:
                a[node.GetElementIndex()] = value;
                break;
        }
    }

    private static JsonNode? Value(int b) => (b % 16) switch
    {
        0 => null,
        1 => JsonValue.Create(true),
        2 => JsonValue.Create(-1),
        3 => JsonValue.Create(0),
        4 => JsonValue.Create(long.MaxValue),
        5 => JsonValue.Create(1.5),
        6 => JsonValue.Create(""),
        7 => JsonValue.Create("x"),
        8 => JsonValue.Create(new string('a', 300)),
        9 => JsonValue.Create("2025-13-45T99:00:00Z"),
        10 => new JsonObject(),
        11 => new JsonArray(),
        12 => new JsonArray(JsonValue.Create("a"), JsonValue.Create(1)),
        13 => JsonValue.Create("\u0000\ud83d\ude00<&>"),
        14 => JsonValue.Create(int.MinValue),
        _ => Deep(b / 16 % 200 + 1),
    };

    private static JsonNode Deep(int depth)
    {
        JsonNode node = new JsonArray();
        for (var i = 1; i < depth; i++)
            node = new JsonArray(node);
        return node;
    }
}
