using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ApiGateway.Core.Configuration;

/// <summary>
/// Which headers carry the client's TLS certificate to an API's backend. Flags: an API can send both forms while its
/// backends move from one to the other. Whatever the setting, the same headers sent by the client are removed first.
/// </summary>
[Flags]
public enum ClientCertificateForwarding
{
    /// <summary>Nothing is forwarded (the default).</summary>
    None = 0,

    /// <summary><c>X-ARR-ClientCert</c>: the leaf certificate as base64 DER, the APIM / App Service convention.</summary>
    XArrClientCert = 1,

    /// <summary>
    /// RFC 9440: <c>Client-Cert</c> (the leaf as a structured-field byte sequence, <c>:base64:</c>) and, when the
    /// certificate came with intermediates, <c>Client-Cert-Chain</c> (a list of byte sequences, issuer first).
    /// </summary>
    ClientCert = 2,
}

/// <summary>The names and values of the client-certificate headers (RFC 9440 and X-ARR-ClientCert).</summary>
internal static class ClientCertificateHeaders
{
    /// <summary>The App Service / APIM header: base64 DER of the leaf, without delimiters.</summary>
    public const string XArrClientCert = "X-ARR-ClientCert";

    /// <summary>RFC 9440 section 2.2.</summary>
    public const string ClientCert = "Client-Cert";

    /// <summary>RFC 9440 section 2.3.</summary>
    public const string ClientCertChain = "Client-Cert-Chain";

    /// <summary>Every header that claims to carry the client certificate: removed from every client request, forwarding or not.</summary>
    public static IReadOnlyList<string> All { get; } = [XArrClientCert, ClientCert, ClientCertChain];

    /// <summary>The X-ARR-ClientCert value of <paramref name="der"/>: plain base64 (RFC 4648, with padding).</summary>
    public static string XArrValue(ReadOnlySpan<byte> der) => Convert.ToBase64String(der);

    /// <summary>
    /// The Client-Cert value of <paramref name="der"/>: an RFC 8941 byte sequence, base64 (with padding) between
    /// colons.
    /// </summary>
    public static string ByteSequence(ReadOnlySpan<byte> der) => ":" + Convert.ToBase64String(der) + ":";

    /// <summary>
    /// The Client-Cert-Chain value: an RFC 8941 list of byte sequences, members separated by <c>", "</c>, in the
    /// order given (the leaf's issuer first). Null for an empty chain: RFC 9440 sends no empty header.
    /// </summary>
    public static string? ByteSequenceList(IReadOnlyList<byte[]> chain)
    {
        if (chain.Count == 0)
            return null;
        var text = new StringBuilder();
        foreach (var der in chain)
        {
            if (text.Length > 0)
                text.Append(", ");
            text.Append(':').Append(Convert.ToBase64String(der)).Append(':');
        }
        return text.ToString();
    }

    /// <summary>
    /// The certificates of <paramref name="chain"/> that Client-Cert-Chain carries: every element after the leaf in
    /// chain order, without the trust anchor (the last element of a chain that reached one; RFC 9440 section 2.3 lets
    /// it be left out, and the backend has its own). A partial chain keeps its last element: it is not an anchor.
    /// </summary>
    public static byte[][] ForwardedChain(X509Chain chain)
    {
        var elements = chain.ChainElements;
        if (elements.Count <= 1)
            return [];
        var partial = false;
        foreach (var status in chain.ChainStatus)
        {
            if ((status.Status & X509ChainStatusFlags.PartialChain) != 0)
                partial = true;
        }
        var end = partial ? elements.Count : elements.Count - 1;
        var result = new byte[Math.Max(0, end - 1)][];
        for (var i = 1; i < end; i++)
            result[i - 1] = elements[i].Certificate.RawData;
        return result;
    }
}
