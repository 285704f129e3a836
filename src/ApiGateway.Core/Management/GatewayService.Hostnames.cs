using ApiGateway.Core.Configuration;

namespace ApiGateway.Core.Management;

/// <summary>What Set-GatewayHostname gives: null means "not given" (new: the default; existing: unchanged).</summary>
internal sealed record HostnameDefinition
{
    public required string HostName { get; init; }
    public int? Port { get; init; }
    public string? ListenAddress { get; init; }
    public string? CertificateId { get; init; }
    public bool? NegotiateClientCertificate { get; init; }
    public bool? RequireClientCertificate { get; init; }

    /// <summary>The TLS profile; cipher suites without a profile mean <see cref="TlsProfile.Custom"/>.</summary>
    public TlsProfile? TlsProfile { get; init; }

    /// <summary>IANA names of the suites of the custom profile.</summary>
    public IReadOnlyList<string>? CipherSuites { get; init; }
}

internal sealed partial class GatewayService
{
    private const string ListHostnames = "Get-GatewayHostname";

    /// <summary>
    /// Adds or changes the hostname <see cref="HostnameDefinition.HostName"/>. A new hostname needs a server
    /// certificate with a private key. Strict mode (<see cref="HostnameDefinition.RequireClientCertificate"/>)
    /// implies negotiating the client certificate.
    /// </summary>
    public GatewayHostname SetHostname(HostnameDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var name = definition.HostName?.Trim() ?? string.Empty;
        if (!ConfigurationValidator.IsHostName(name))
        {
            throw new GatewayException("Hostname", "Invalid", GatewayErrorCategory.InvalidArgument,
                $"'{definition.HostName}' is not a host name. Give a DNS name such as api.contoso.com or localhost.", definition.HostName);
        }
        if (definition.Port is { } port && port is < 1 or > 65535)
        {
            throw new GatewayException("Hostname", "InvalidPort", GatewayErrorCategory.InvalidArgument,
                $"Hostname '{name}' cannot use port {port}: give a port from 1 to 65535.", port);
        }
        if (definition.RequireClientCertificate == true && definition.NegotiateClientCertificate == false)
        {
            throw new GatewayException("Hostname", "InvalidClientCertificateMode", GatewayErrorCategory.InvalidArgument,
                $"Hostname '{name}' cannot require client certificates without negotiating them: drop -NegotiateClientCertificate $false, or -RequireClientCertificate $true.", name);
        }
        var suites = definition.CipherSuites?.Select(n => n?.Trim() ?? string.Empty).ToList();
        var profile = definition.TlsProfile ?? (suites is { Count: > 0 } ? TlsProfile.Custom : null);
        if (suites is { Count: > 0 } && profile != TlsProfile.Custom)
        {
            throw new GatewayException("Hostname", "InvalidTlsProfile", GatewayErrorCategory.InvalidArgument,
                $"Hostname '{name}' cannot take cipher suites with the TLS profile '{profile}', which has its own. Give -TlsProfile Custom with -CipherSuite, or leave -CipherSuite out.", name);
        }
        foreach (var suite in suites ?? [])
        {
            if (!TlsProfiles.TryParse(suite, out _))
            {
                throw new GatewayException("Hostname", "InvalidCipherSuite", GatewayErrorCategory.InvalidArgument,
                    $"Hostname '{name}' cannot use the cipher suite '{suite}': it is not an IANA TLS cipher suite name. Use names such as TLS_AES_128_GCM_SHA256 or TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.", suite);
            }
        }
        HostnameEntry entry = null!;
        Change("Hostname", before =>
        {
            var hostnames = before.Service.Hostnames;
            var index = hostnames.IndexOf(hostnames.FirstOrDefault(h => string.Equals(h.HostName, name, StringComparison.OrdinalIgnoreCase))!);
            var exists = index >= 0;
            if (!exists && definition.CertificateId is null)
            {
                throw new GatewayException("Hostname", "CertificateRequired", GatewayErrorCategory.InvalidArgument,
                    $"Hostname '{name}' is new and needs a server certificate: give -CertificateId (a certificate with a private key, see Get-GatewayCertificate).", name);
            }
            string? certificateId = null;
            if (definition.CertificateId is { } cid)
            {
                (certificateId, var cert) = Existing(before.Certificates, cid, "Certificate", "Certificate", ListCertificates);
                if (!cert.HasPrivateKey)
                {
                    throw new GatewayException("Certificate", "NoPrivateKey", GatewayErrorCategory.InvalidArgument,
                        $"Hostname '{name}' cannot use certificate '{certificateId}' as its server certificate: it has no private key. Add the certificate from a PFX with its key.", certificateId);
                }
            }
            var old = exists ? hostnames[index] : new HostnameEntry { HostName = name, CertificateId = certificateId! };
            var require = definition.RequireClientCertificate ?? old.RequireClientCertificate;
            entry = old with
            {
                HostName = exists ? old.HostName : name,
                Port = definition.Port ?? old.Port,
                ListenAddress = definition.ListenAddress?.Trim() ?? old.ListenAddress,
                CertificateId = certificateId ?? old.CertificateId,
                NegotiateClientCertificate = definition.NegotiateClientCertificate ?? (require || old.NegotiateClientCertificate),
                RequireClientCertificate = require,
                TlsProfile = profile switch
                {
                    null => old.TlsProfile,
                    TlsProfile.Intermediate => null, // the default is not written: the file keeps following it
                    _ => profile,
                },
                CipherSuites = profile switch
                {
                    null => old.CipherSuites,
                    TlsProfile.Custom => suites is { Count: > 0 } ? [.. suites.Select(Canonical)] : old.CipherSuites,
                    _ => null,
                },
            };
            if (entry.TlsProfile == TlsProfile.Custom && entry.CipherSuites is not { Length: > 0 })
            {
                throw new GatewayException("Hostname", "CipherSuiteRequired", GatewayErrorCategory.InvalidArgument,
                    $"Hostname '{name}' needs cipher suites for the custom TLS profile: give -CipherSuite with IANA names such as TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.", name);
            }
            if (entry.RequireClientCertificate && !entry.NegotiateClientCertificate)
            {
                throw new GatewayException("Hostname", "InvalidClientCertificateMode", GatewayErrorCategory.InvalidArgument,
                    $"Hostname '{name}' requires client certificates, so it must negotiate them. Give -RequireClientCertificate $false first.", name);
            }
            if (entry.RequireClientCertificate && before.CaCertificates.Count == 0)
            {
                throw new GatewayException("Hostname", "NoCaCertificate", GatewayErrorCategory.InvalidOperation,
                    $"Hostname '{name}' cannot require client certificates that chain to an uploaded CA: there is none. Add one with Add-GatewayCaCertificate first.", name);
            }
            var updated = exists ? hostnames.SetItem(index, entry) : hostnames.Add(entry);
            return before with { Service = before.Service with { Hostnames = updated } };
        });
        return ToOutput(entry);
    }

    /// <summary>Hostnames matching <paramref name="hostName"/> (wildcards allowed; null: all).</summary>
    public IReadOnlyList<GatewayHostname> GetHostnames(string? hostName = null)
    {
        var hostnames = Read().Service.Hostnames;
        IEnumerable<HostnameEntry> selected = hostnames;
        if (!string.IsNullOrEmpty(hostName))
        {
            var wildcard = new Wildcard(hostName);
            selected = hostnames.Where(h => wildcard.IsMatch(h.HostName));
        }
        var result = selected.Select(ToOutput).ToList();
        RequireFound(result.Count, hostName, "Hostname", "Hostname", ListHostnames);
        return result;
    }

    /// <summary>Removes a hostname: the gateway stops listening for it.</summary>
    public GatewayHostname RemoveHostname(string hostName)
    {
        GatewayHostname removed = null!;
        Change("Hostname", before =>
        {
            var entry = before.Service.Hostnames.FirstOrDefault(h => string.Equals(h.HostName, hostName, StringComparison.OrdinalIgnoreCase))
                ?? throw NotFound("Hostname", "Hostname", hostName, ListHostnames);
            removed = ToOutput(entry);
            return before with { Service = before.Service with { Hostnames = before.Service.Hostnames.Remove(entry) } };
        });
        return removed;
    }

    private GatewayHostname ToOutput(HostnameEntry entry) => new()
    {
        HostName = entry.HostName,
        Port = entry.Port,
        ListenAddress = entry.ListenAddress,
        CertificateId = entry.CertificateId,
        NegotiateClientCertificate = entry.NegotiateClientCertificate,
        RequireClientCertificate = entry.RequireClientCertificate,
        TlsProfile = entry.TlsProfile ?? TlsProfile.Intermediate,
        CipherSuites = entry.CipherSuites is { } suites ? suites : [],
        ConfigurationPath = ConfigurationPath,
    };

    private static string Canonical(string suite) => TlsProfiles.TryParse(suite, out var parsed) ? TlsProfiles.NameOf(parsed) : suite;
}
