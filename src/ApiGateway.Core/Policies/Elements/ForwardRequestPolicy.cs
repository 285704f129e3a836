using System.Globalization;
using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary><c>&lt;forward-request timeout="seconds" follow-redirects="false" /&gt;</c>.</summary>
internal sealed record ForwardRequestPolicy(int Line, int Column) : PolicyNode(Line, Column)
{
    internal const string XmlName = "forward-request";

    /// <summary>The longest timeout APIM accepts: 240 minutes.</summary>
    private const int MaxTimeoutSeconds = 240 * 60;

    /// <summary>Seconds to wait for the backend's response headers (APIM's default: 300).</summary>
    public int TimeoutSeconds { get; init; } = 300;

    public bool FollowRedirects { get; init; }

    public override string ElementName => XmlName;

    internal static ForwardRequestPolicy Parse(PolicyParser p, XElement e, ElementPlace at)
    {
        p.Attributes(e, "timeout", "follow-redirects");
        p.NoChildren(e);
        var node = new ForwardRequestPolicy(at.Line, at.Column);
        if (e.Attribute("timeout") is { } t)
        {
            if (int.TryParse(t.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= MaxTimeoutSeconds)
                node = node with { TimeoutSeconds = seconds };
            else
                p.Error(t, $"timeout=\"{t.Value}\" must be a whole number of seconds from 1 to {MaxTimeoutSeconds.ToString(CultureInfo.InvariantCulture)}");
        }
        if (e.Attribute("follow-redirects") is { } f)
            node = node with { FollowRedirects = p.Bool(f) };
        return node;
    }
}
