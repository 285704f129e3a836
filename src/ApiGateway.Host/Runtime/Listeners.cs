using System.Globalization;
using System.Net;
using System.Net.Security;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Tls;

namespace ApiGateway.Host.Runtime;

/// <summary>A socket the gateway binds: listen address (<c>*</c>, <c>localhost</c> or an IP) and port.</summary>
internal readonly record struct EndpointKey(string Address, int Port)
{
    public static EndpointKey Of(string address, int port) =>
        new(address == "*" ? "*" : string.Equals(address, "localhost", StringComparison.OrdinalIgnoreCase) ? "localhost" : IPAddress.Parse(address).ToString(), port);

    public override string ToString() =>
        Address.Contains(':', StringComparison.Ordinal) ? $"[{Address}]:{Port.ToString(CultureInfo.InvariantCulture)}" : $"{Address}:{Port.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>The TLS settings of one hostname.</summary>
internal sealed class HostnameTls
{
    public HostnameTls(string hostName, int port, ClientCertificateNegotiation mode, ServedCertificate certificate, TlsOffer offer)
    {
        Offer = offer;
        HostName = hostName;
        Port = port;
        Mode = mode;
        Certificate = certificate;
        ServerCertificate = SslStreamCertificateContext.Create(certificate.Certificate, certificate.Chain, offline: true);
    }

    public string HostName { get; }
    public int Port { get; }
    public ClientCertificateNegotiation Mode { get; }
    public ServedCertificate Certificate { get; }

    /// <summary>Protocols and cipher suites of the hostname's TLS profile.</summary>
    public TlsOffer Offer { get; }

    /// <summary>The server certificate with its chain, ready for SslStream.</summary>
    public SslStreamCertificateContext ServerCertificate { get; }

    public string Url => Port == 443 ? $"https://{HostName}/" : $"https://{HostName}:{Port.ToString(CultureInfo.InvariantCulture)}/";
}

/// <summary>The hostnames served on one socket; the handshake picks one by SNI.</summary>
internal sealed class ListenerGroup
{
    public ListenerGroup(EndpointKey key, IReadOnlyList<HostnameTls> hosts)
    {
        Key = key;
        Hosts = hosts;
    }

    public EndpointKey Key { get; }

    /// <summary>In configuration order; the first is the fallback for clients without SNI (or an unknown name).</summary>
    public IReadOnlyList<HostnameTls> Hosts { get; }

    /// <summary>The hostname for the SNI <paramref name="serverName"/>: exact, else a matching wildcard (<c>*.contoso.com</c>), else the first.</summary>
    public HostnameTls Select(string? serverName)
    {
        if (!string.IsNullOrEmpty(serverName))
        {
            foreach (var host in Hosts)
            {
                if (string.Equals(host.HostName, serverName, StringComparison.OrdinalIgnoreCase))
                    return host;
            }
            foreach (var host in Hosts)
            {
                if (host.HostName.StartsWith("*.", StringComparison.Ordinal))
                {
                    var dot = serverName.IndexOf('.', StringComparison.Ordinal);
                    if (dot > 0 && serverName.AsSpan(dot).Equals(host.HostName.AsSpan(1), StringComparison.OrdinalIgnoreCase))
                        return host;
                }
            }
        }
        return Hosts[0];
    }
}
