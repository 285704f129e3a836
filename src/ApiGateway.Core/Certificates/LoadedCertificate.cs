using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Core.Certificates;

/// <summary>A certificate with its private key (when there is one) and the rest of its chain, in memory.</summary>
internal sealed class LoadedCertificate : IDisposable
{
    internal LoadedCertificate(X509Certificate2 leaf, X509Certificate2Collection extra)
    {
        Leaf = leaf;
        Chain = extra;
    }

    /// <summary>The end-entity certificate; <see cref="X509Certificate2.HasPrivateKey"/> tells whether the key came with it.</summary>
    public X509Certificate2 Leaf { get; }

    /// <summary>Intermediates (and roots) that came with it, leaf excluded.</summary>
    public X509Certificate2Collection Chain { get; }

    /// <summary>PKCS#12 of the leaf (with its key) and the chain, without a password: only ever stored encrypted.</summary>
    internal byte[] ExportPkcs12()
    {
        var all = new X509Certificate2Collection { Leaf };
        all.AddRange(Chain);
        return all.Export(X509ContentType.Pkcs12)!;
    }

    public void Dispose()
    {
        Leaf.Dispose();
        foreach (var c in Chain)
            c.Dispose();
    }
}
