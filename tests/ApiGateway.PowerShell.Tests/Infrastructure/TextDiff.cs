using System.Text;

namespace ApiGateway.PowerShell.Tests.Infrastructure;

/// <summary>A line diff (longest common subsequence) for readable failures of table comparisons.</summary>
internal static class TextDiff
{
    public static string Unified(string expected, string actual, int context = 2)
    {
        var a = expected.ReplaceLineEndings("\n").Split('\n');
        var b = actual.ReplaceLineEndings("\n").Split('\n');
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
        }
        var lines = new List<(char Kind, string Text)>();
        int x = 0, y = 0;
        while (x < a.Length && y < b.Length)
        {
            if (a[x] == b[y])
            {
                lines.Add((' ', a[x]));
                x++;
                y++;
            }
            else if (lcs[x + 1, y] >= lcs[x, y + 1])
            {
                lines.Add(('-', a[x++]));
            }
            else
            {
                lines.Add(('+', b[y++]));
            }
        }
        while (x < a.Length)
            lines.Add(('-', a[x++]));
        while (y < b.Length)
            lines.Add(('+', b[y++]));
        var show = new bool[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Kind == ' ')
                continue;
            for (var k = Math.Max(0, i - context); k <= Math.Min(lines.Count - 1, i + context); k++)
                show[k] = true;
        }
        var sb = new StringBuilder();
        var gap = false;
        for (var i = 0; i < lines.Count; i++)
        {
            if (!show[i])
            {
                gap = true;
                continue;
            }
            if (gap && sb.Length > 0)
                sb.Append("  ...\n");
            gap = false;
            sb.Append(lines[i].Kind).Append(' ').Append(lines[i].Text).Append('\n');
        }
        return sb.ToString();
    }
}
