using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ApiGateway.Fuzz;

/// <summary>What a case is fed to.</summary>
internal enum FuzzTarget
{
    /// <summary>The bytes of a configuration file: read, validated, written again, and loaded as the gateway loads it.</summary>
    Configuration,
    /// <summary>The text of a policy document: parsed, validated in a configuration, loaded and run against a request.</summary>
    Policy,
    /// <summary>The code of a policy expression: compiled with the allow-list and the budget, then run in the pipeline.</summary>
    Expression,
}

/// <summary>Where an expression stands, which decides what it must produce (the host's ExpressionKind).</summary>
internal enum ExpressionPlace
{
    Condition,
    Text,
    StatusCode,
    Value,
}

/// <summary>
/// One input: its target, its bytes (UTF-8 for policies and expressions), and for expressions where it stands and
/// whether it is a <c>@{...}</c> block. <see cref="Origin"/> says how it was made (generated, mutated, a regression file).
/// </summary>
internal sealed record FuzzCase(FuzzTarget Target, byte[] Input, string Origin, ExpressionPlace Place = ExpressionPlace.Condition, bool Block = false)
{
    /// <summary>The input as text (invalid UTF-8 is replaced; only configurations are fed as bytes).</summary>
    public string Text => Encoding.UTF8.GetString(Input);

    public static FuzzCase OfText(FuzzTarget target, string text, string origin, ExpressionPlace place = ExpressionPlace.Condition, bool block = false) =>
        new(target, Encoding.UTF8.GetBytes(text), origin, place, block);

    /// <summary>A short stable name: target and the first 12 hex digits of the SHA-256 of what the case is.</summary>
    public string Name
    {
        get
        {
            var header = Encoding.UTF8.GetBytes($"{Target}|{Place}|{Block}|");
            var hash = SHA256.HashData([.. header, .. Input]);
            return $"{Target.ToString().ToLowerInvariant()}-{Convert.ToHexStringLower(hash)[..12]}";
        }
    }
}

/// <summary>
/// A regression case on disk (<c>&lt;name&gt;.case</c>): a few <c>key: value</c> header lines, a line <c>---</c>, then
/// the input byte for byte (so a configuration with a stray byte or a policy with a CR stays exactly what failed).
/// </summary>
internal static class CaseFile
{
    private static readonly byte[] Separator = "\n---\n"u8.ToArray();

    public static byte[] Write(FuzzCase c, string finding)
    {
        var header = new StringBuilder();
        header.Append(CultureInfo.InvariantCulture, $"target: {c.Target}\n");
        if (c.Target == FuzzTarget.Expression)
        {
            header.Append(CultureInfo.InvariantCulture, $"place: {c.Place}\n");
            header.Append(CultureInfo.InvariantCulture, $"block: {(c.Block ? "true" : "false")}\n");
        }
        header.Append(CultureInfo.InvariantCulture, $"origin: {OneLine(c.Origin)}\n");
        header.Append(CultureInfo.InvariantCulture, $"finding: {OneLine(finding)}");
        return [.. Encoding.UTF8.GetBytes(header.ToString()), .. Separator, .. c.Input];
    }

    public static FuzzCase Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var cut = bytes.AsSpan().IndexOf(Separator);
        if (cut < 0)
            throw new FormatException($"'{path}' is not a fuzz case: it has no line '---' between the header and the input.");
        var fields = Encoding.UTF8.GetString(bytes, 0, cut).Split('\n')
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        string Field(string name) => fields.TryGetValue(name, out var v) ? v : throw new FormatException($"'{path}' has no '{name}:' header line.");
        var target = Enum.Parse<FuzzTarget>(Field("target"), ignoreCase: true);
        var place = fields.TryGetValue("place", out var p) ? Enum.Parse<ExpressionPlace>(p, ignoreCase: true) : ExpressionPlace.Condition;
        var block = fields.TryGetValue("block", out var b) && bool.Parse(b);
        var origin = fields.TryGetValue("origin", out var o) ? o : "regression " + Path.GetFileName(path);
        return new FuzzCase(target, bytes[(cut + Separator.Length)..], origin, place, block);
    }

    private static string OneLine(string s)
    {
        var line = s.ReplaceLineEndings(" ");
        return line.Length <= 400 ? line : line[..397] + "...";
    }
}
