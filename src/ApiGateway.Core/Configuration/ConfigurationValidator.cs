using System.Net;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Policies;

namespace ApiGateway.Core.Configuration;

/// <summary>
/// Checks a whole configuration and collects every problem, each a sentence that quotes the id and states the rule:
/// the gateway refuses to start (or reload) with any of them, and lists them all at once; the management
/// operations refuse a change that would add one.
/// </summary>
internal static class ConfigurationValidator
{
    /// <summary>Every problem of <paramref name="configuration"/>; empty when it is valid.</summary>
    public static IReadOnlyList<string> Validate(GatewayConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new List<string>();
        var c = configuration;

        if (c.SchemaVersion > GatewayConfiguration.CurrentSchemaVersion)
            errors.Add($"The configuration has schema version {c.SchemaVersion}; this version understands up to {GatewayConfiguration.CurrentSchemaVersion}. Update ApiGateway.");

        var hostNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var h in c.Service.Hostnames)
        {
            if (!IsHostName(h.HostName))
                errors.Add($"Hostname '{h.HostName}' must be a DNS name such as api.contoso.com or localhost.");
            if (!hostNames.Add(h.HostName))
                errors.Add($"Hostname '{h.HostName}' is configured twice.");
            if (h.Port is < 1 or > 65535)
                errors.Add($"Hostname '{h.HostName}' must have a port from 1 to 65535, not {h.Port}.");
            if (!IsListenAddress(h.ListenAddress))
                errors.Add($"Hostname '{h.HostName}' has listen address '{h.ListenAddress}'; use '*', 'localhost' or an IP address.");
            CheckCertificate(c, h.CertificateId, $"Hostname '{h.HostName}'", needsKey: true, errors);
            if (h.RequireClientCertificate && c.CaCertificates.Count == 0)
                errors.Add($"Hostname '{h.HostName}' requires client certificates that chain to an uploaded CA certificate, but there is none. Add one with Add-GatewayCaCertificate.");
            errors.AddRange(TlsProfiles.Validate(h));
        }
        if (c.Service.Limits is { } limits)
            errors.AddRange(limits.Validate());

        foreach (var (id, cert) in c.Certificates)
        {
            if (!Ids.IsValid(id))
                errors.Add($"Certificate id '{id}' must be {Ids.Rule}.");
            if (cert.Source == CertificateSource.LinkedFile && string.IsNullOrEmpty(cert.Path))
                errors.Add($"Certificate '{id}' is linked to a file but has no path.");
            if (cert.Source == CertificateSource.Store && string.IsNullOrEmpty(cert.StoreName))
                errors.Add($"Certificate '{id}' is a certificate store entry but names no store.");
        }
        foreach (var id in c.CaCertificates.Keys)
        {
            if (!Ids.IsValid(id))
                errors.Add($"CA certificate id '{id}' must be {Ids.Rule}.");
        }

        foreach (var (id, backend) in c.Backends)
        {
            if (!Ids.IsValid(id))
                errors.Add($"Backend id '{id}' must be {Ids.Rule}.");
            if (!IsHttpUrl(backend.Url))
                errors.Add($"Backend '{id}' must have an absolute https or http URL, not '{backend.Url}'.");
            if (backend.Credentials is { } credentials)
            {
                foreach (var certificateId in credentials.CertificateIds)
                    CheckCertificate(c, certificateId, $"Backend '{id}'", needsKey: true, errors);
                foreach (var thumbprint in credentials.CertificateThumbprints)
                    CheckThumbprint(c, thumbprint, $"Backend '{id}'", errors);
            }
        }

        var paths = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (id, api) in c.Apis)
        {
            if (!Ids.IsValid(id))
                errors.Add($"API id '{id}' must be {Ids.Rule}.");
            if (!ApiPaths.IsValid(api.Path))
                errors.Add($"API '{id}' has path '{api.Path}'; {ApiPaths.Rule}.");
            else if (paths.TryGetValue(api.Path, out var other))
                errors.Add($"API '{id}' has the same path '{api.Path}' as API '{other}'; paths must be unique.");
            else
                paths[api.Path] = id;
            if (api.BackendId is not null && api.ServiceUrl is not null)
                errors.Add($"API '{id}' has both a backend ('{api.BackendId}') and a service URL; give one.");
            if (api.BackendId is { } b && !c.Backends.ContainsKey(b))
                errors.Add($"API '{id}' uses backend '{b}', which does not exist.");
            if (api.ServiceUrl is { } url && !IsHttpUrl(url))
                errors.Add($"API '{id}' must have an absolute https or http service URL, not '{url}'.");
            if ((api.ForwardClientCertificate & ~(ClientCertificateForwarding.XArrClientCert | ClientCertificateForwarding.ClientCert)) != 0)
                errors.Add($"API '{id}' has forwardClientCertificate '{api.ForwardClientCertificate}'; give 'xArrClientCert', 'clientCert' or both ('xArrClientCert, clientCert').");
            CheckPolicy(c, api.Policy, PolicyScope.Api, $"API '{id}'", errors);
        }
        CheckPolicy(c, c.Policy, PolicyScope.Global, "the global policy", errors);
        return errors;
    }

    private static void CheckPolicy(GatewayConfiguration c, string text, PolicyScope scope, string owner, List<string> errors)
    {
        var limits = (c.Service.Limits ?? new GatewayLimits()).ResolveWithinRanges();
        if (ExpressionText.PolicySizeProblem(text.Length, limits) is { } tooLarge)
        {
            errors.Add($"The policy of {owner} is not accepted: {tooLarge}.");
            return;
        }
        var result = PolicyDocument.Parse(text, scope);
        foreach (var e in result.Errors)
            errors.Add($"The policy of {owner}, {e}.");
        if (result.Document is not { } document)
            return;
        foreach (var node in document.Descendants())
        {
            var where = $"The policy of {owner}, line {node.Line}";
            foreach (var (value, _) in node.ValueUses)
            {
                if (value?.Expression is { } expression && ExpressionText.LimitProblem(expression, limits) is { } problem)
                    errors.Add($"The policy of {owner}, line {expression.Line}: {problem}.");
            }
            switch (node)
            {
                case AuthenticationCertificatePolicy { CertificateId.Literal: { } id }:
                    CheckCertificate(c, id, where, needsKey: true, errors);
                    break;
                case AuthenticationCertificatePolicy { Thumbprint.Literal: { } thumbprint }:
                    CheckThumbprint(c, thumbprint, where, errors);
                    break;
                case SetBackendServicePolicy { BackendId.Literal: { } backend } when !c.Backends.ContainsKey(backend):
                    errors.Add($"{where}, uses backend '{backend}', which does not exist.");
                    break;
                case ValidateClientCertificatePolicy v:
                    foreach (var identity in v.Identities)
                    {
                        if (identity.CertificateId is { } cid && !c.Certificates.ContainsKey(cid))
                            errors.Add($"The policy of {owner}, line {identity.Line}, names certificate '{cid}' in an identity, which does not exist.");
                        if (identity.IssuerCertificateId is { } iid && !c.Certificates.ContainsKey(iid) && !c.CaCertificates.ContainsKey(iid))
                            errors.Add($"The policy of {owner}, line {identity.Line}, names issuer certificate '{iid}' in an identity, which is neither a certificate nor a CA certificate.");
                    }
                    break;
            }
        }
    }

    private static void CheckCertificate(GatewayConfiguration c, string id, string owner, bool needsKey, List<string> errors)
    {
        if (!c.Certificates.TryGetValue(id, out var cert))
            errors.Add($"{owner} uses certificate '{id}', which does not exist.");
        else if (needsKey && !cert.HasPrivateKey)
            errors.Add($"{owner} presents certificate '{id}', which has no private key. Replace it with one that has (Set-GatewayCertificate -CertificateId {id} -PfxFilePath ...).");
    }

    private static void CheckThumbprint(GatewayConfiguration c, string thumbprint, string owner, List<string> errors)
    {
        var normalized = CertificateMetadata.NormalizeThumbprint(thumbprint);
        var match = c.Certificates.Values.FirstOrDefault(e => string.Equals(e.Thumbprint, normalized, StringComparison.OrdinalIgnoreCase));
        if (match is null)
            errors.Add($"{owner} uses the certificate with thumbprint {normalized}, which is not among the uploaded certificates.");
        else if (!match.HasPrivateKey)
            errors.Add($"{owner} presents the certificate with thumbprint {normalized}, which has no private key.");
    }

    /// <summary>Whether <paramref name="url"/> is an absolute http or https URL without user info or fragment.</summary>
    public static bool IsHttpUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && uri.Scheme is "http" or "https"
        && uri.UserInfo.Length == 0
        && uri.Fragment.Length == 0
        && !string.IsNullOrEmpty(uri.Host);

    /// <summary>A DNS host name (letters, digits, '-', '.', a leading '*.' wildcard label allowed).</summary>
    public static bool IsHostName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 253)
            return false;
        var labels = name.Split('.');
        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i];
            if (i == 0 && label == "*" && labels.Length > 1)
                continue;
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' || !label.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '-'))
                return false;
        }
        return true;
    }

    private static bool IsListenAddress(string address) =>
        address is "*" || string.Equals(address, "localhost", StringComparison.OrdinalIgnoreCase) || IPAddress.TryParse(address, out _);
}

/// <summary>API path rules.</summary>
internal static class ApiPaths
{
    public const string Rule = "a path is empty (the root) or segments of letters, digits and - . _ ~ separated by '/', without leading or trailing '/'";

    /// <summary>Trims slashes and white space: <c>/orders/</c> → <c>orders</c>.</summary>
    public static string Normalize(string? path) => (path ?? string.Empty).Trim().Trim('/');

    public static bool IsValid(string? path)
    {
        if (path is null)
            return false;
        if (path.Length == 0)
            return true;
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or ".." || !segment.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.' or '_' or '~'))
                return false;
        }
        return true;
    }
}
