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
    /// <summary>Every problem of <paramref name="configuration"/>, each the sentence of <see cref="Problems"/>; empty when it is valid.</summary>
    public static IReadOnlyList<string> Validate(GatewayConfiguration configuration) =>
        Problems(configuration).Select(p => p.Message).ToList();

    /// <summary>
    /// Every problem of <paramref name="configuration"/> as a structured problem (all errors: the gateway refuses a
    /// configuration with any of them), with the policy line and column where there is one.
    /// </summary>
    public static IReadOnlyList<GatewayConfigurationProblem> Problems(GatewayConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new ProblemList();
        var c = configuration;

        if (c.SchemaVersion > GatewayConfiguration.CurrentSchemaVersion)
            errors.Add("ConfigurationSchemaTooNew", "the configuration", $"The configuration has schema version {c.SchemaVersion}; this version understands up to {GatewayConfiguration.CurrentSchemaVersion}. Update ApiGateway.");

        var hostNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var h in c.Service.Hostnames)
        {
            var subject = $"Hostname '{h.HostName}'";
            if (!IsHostName(h.HostName))
                errors.Add("HostnameInvalid", subject, $"Hostname '{h.HostName}' must be a DNS name such as api.contoso.com or localhost.");
            if (!hostNames.Add(h.HostName))
                errors.Add("HostnameDuplicate", subject, $"Hostname '{h.HostName}' is configured twice.");
            if (h.Port is < 1 or > 65535)
                errors.Add("HostnamePortInvalid", subject, $"Hostname '{h.HostName}' must have a port from 1 to 65535, not {h.Port}.");
            if (!IsListenAddress(h.ListenAddress))
                errors.Add("HostnameListenAddressInvalid", subject, $"Hostname '{h.HostName}' has listen address '{h.ListenAddress}'; use '*', 'localhost' or an IP address.");
            CheckCertificate(c, h.CertificateId, subject, "Hostname", needsKey: true, errors);
            if (h.RequireClientCertificate && c.CaCertificates.Count == 0)
                errors.Add("HostnameCaCertificateMissing", subject, $"Hostname '{h.HostName}' requires client certificates that chain to an uploaded CA certificate, but there is none. Add one with Add-GatewayCaCertificate.");
            foreach (var tls in TlsProfiles.Validate(h))
                errors.Add("HostnameTlsInvalid", subject, tls);
        }
        if (c.Service.Limits is { } limits)
        {
            foreach (var limit in limits.Validate())
                errors.Add("LimitOutOfRange", "the limits", limit);
        }
        if (c.Service.Revocation is { } revocation)
        {
            foreach (var problem in ValidateRevocation(revocation))
                errors.Add("RevocationInvalid", "the revocation settings", problem);
        }

        foreach (var (id, cert) in c.Certificates)
        {
            var subject = $"Certificate '{id}'";
            if (!Ids.IsValid(id))
                errors.Add("CertificateIdInvalid", subject, $"Certificate id '{id}' must be {Ids.Rule}.");
            if (cert.Source == CertificateSource.LinkedFile && string.IsNullOrEmpty(cert.Path))
                errors.Add("CertificatePathMissing", subject, $"Certificate '{id}' is linked to a file but has no path.");
            if ((cert.Path is { } path && !CertificateStore.IsUsablePath(path)) || (cert.KeyPath is { } keyPath && !CertificateStore.IsUsablePath(keyPath)))
                errors.Add("CertificatePathInvalid", subject, $"Certificate '{id}' has an empty path or key path, or one holding a character no file path may hold (a NUL).");
            if (cert.Source == CertificateSource.Store && string.IsNullOrEmpty(cert.StoreName))
                errors.Add("CertificateStoreNameMissing", subject, $"Certificate '{id}' is a certificate store entry but names no store.");
            if (cert.Source == CertificateSource.Store && !Certificates.CertificateStore.TryStoreLocation(cert.StoreLocation, out _))
                errors.Add("CertificateStoreLocationInvalid", subject, $"Certificate '{id}' names the store location '{cert.StoreLocation}'; it must be CurrentUser or LocalMachine.");
        }
        foreach (var id in c.CaCertificates.Keys)
        {
            if (!Ids.IsValid(id))
                errors.Add("CaCertificateIdInvalid", $"CA certificate '{id}'", $"CA certificate id '{id}' must be {Ids.Rule}.");
        }

        foreach (var (id, backend) in c.Backends)
        {
            var subject = $"Backend '{id}'";
            if (!Ids.IsValid(id))
                errors.Add("BackendIdInvalid", subject, $"Backend id '{id}' must be {Ids.Rule}.");
            if (!IsHttpUrl(backend.Url))
                errors.Add("BackendUrlInvalid", subject, $"Backend '{id}' must have an absolute https or http URL, not '{backend.Url}'.");
            if (backend.Credentials is { } credentials)
            {
                foreach (var certificateId in credentials.CertificateIds)
                    CheckCertificate(c, certificateId, subject, "Backend", needsKey: true, errors);
                foreach (var thumbprint in credentials.CertificateThumbprints)
                    CheckThumbprint(c, thumbprint, subject, "Backend", errors);
            }
        }

        var paths = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (id, api) in c.Apis)
        {
            var subject = $"API '{id}'";
            if (!Ids.IsValid(id))
                errors.Add("ApiIdInvalid", subject, $"API id '{id}' must be {Ids.Rule}.");
            if (!ApiPaths.IsValid(api.Path))
                errors.Add("ApiPathInvalid", subject, $"API '{id}' has path '{api.Path}'; {ApiPaths.Rule}.");
            else if (paths.TryGetValue(api.Path, out var other))
                errors.Add("ApiPathDuplicate", subject, $"API '{id}' has the same path '{api.Path}' as API '{other}'; paths must be unique.", $"Give one of them another path: Set-GatewayApi -ApiId {id} -Path <path>.");
            else
                paths[api.Path] = id;
            if (api.BackendId is not null && api.ServiceUrl is not null)
                errors.Add("ApiBackendAmbiguous", subject, $"API '{id}' has both a backend ('{api.BackendId}') and a service URL; give one.");
            if (api.BackendId is { } b && !c.Backends.ContainsKey(b))
                errors.Add("ApiBackendNotFound", subject, $"API '{id}' uses backend '{b}', which does not exist.", $"Create it with New-GatewayBackend -BackendId {b} -Url <url>, or point the API elsewhere with Set-GatewayApi -ApiId {id} -BackendId <backend>.");
            if (api.ServiceUrl is { } url && !IsHttpUrl(url))
                errors.Add("ApiServiceUrlInvalid", subject, $"API '{id}' must have an absolute https or http service URL, not '{url}'.");
            if ((api.ForwardClientCertificate & ~(ClientCertificateForwarding.XArrClientCert | ClientCertificateForwarding.ClientCert)) != 0)
                errors.Add("ApiForwardClientCertificateInvalid", subject, $"API '{id}' has forwardClientCertificate '{api.ForwardClientCertificate}'; give 'xArrClientCert', 'clientCert' or both ('xArrClientCert, clientCert').");
            CheckPolicy(c, api.Policy, PolicyScope.Api, subject, errors);
        }
        CheckPolicy(c, c.Policy, PolicyScope.Global, "the global policy", errors);
        return errors.List.Count == 0 ? errors.List : ProblemSections.Fill(c, errors.List);
    }

    /// <summary>The problems found so far; each new one gets its fix split off its sentence (see <see cref="ProblemFix"/>).</summary>
    private sealed class ProblemList
    {
        public List<GatewayConfigurationProblem> List { get; } = [];

        public void Add(string errorId, string subject, string message, string? fix = null, int? line = null, int? column = null) =>
            List.Add(GatewayConfigurationProblem.Error(errorId, subject, message, fix ?? ProblemFix.Of(message), line, column));
    }

    private static void CheckPolicy(GatewayConfiguration c, string text, PolicyScope scope, string owner, ProblemList errors)
    {
        var limits = (c.Service.Limits ?? new GatewayLimits()).ResolveWithinRanges();
        if (ExpressionText.PolicySizeProblem(text.Length, limits) is { } tooLarge)
        {
            errors.Add("PolicyTooLarge", owner, $"The policy of {owner} is not accepted: {tooLarge}.");
            return;
        }
        var result = PolicyDocument.Parse(text, scope);
        foreach (var e in result.Errors)
            errors.Add("PolicyInvalid", owner, $"The policy of {owner}, {e}.", line: e.Line, column: e.Column);
        if (result.Document is not { } document)
            return;
        foreach (var node in document.Descendants())
        {
            var where = $"The policy of {owner}, line {node.Line}";
            foreach (var (value, _) in node.ValueUses)
            {
                if (value?.Expression is { } expression && ExpressionText.LimitProblem(expression, limits) is { } problem)
                    errors.Add("PolicyExpressionTooLarge", owner, $"The policy of {owner}, line {expression.Line}: {problem}.", line: expression.Line, column: expression.Column);
            }
            switch (node)
            {
                case AuthenticationCertificatePolicy { CertificateId.Literal: { } id }:
                    CheckCertificate(c, id, where, "Policy", needsKey: true, errors, owner, node.Line);
                    break;
                case AuthenticationCertificatePolicy { Thumbprint.Literal: { } thumbprint }:
                    CheckThumbprint(c, thumbprint, where, "Policy", errors, owner, node.Line);
                    break;
                case SetBackendServicePolicy { BackendId.Literal: { } backend } when !c.Backends.ContainsKey(backend):
                    errors.Add("PolicyBackendNotFound", owner, $"{where}, uses backend '{backend}', which does not exist.", $"Create it with New-GatewayBackend -BackendId {backend} -Url <url>, or change the policy's backend-id.", node.Line);
                    break;
                case ValidateClientCertificatePolicy v:
                    foreach (var identity in v.Identities)
                    {
                        if (identity.CertificateId is { } cid && !c.Certificates.ContainsKey(cid))
                            errors.Add("PolicyCertificateNotFound", owner, $"The policy of {owner}, line {identity.Line}, names certificate '{cid}' in an identity, which does not exist.", $"Add it with Add-GatewayCertificate -CertificateId {cid}, or change the identity.", identity.Line);
                        if (identity.IssuerCertificateId is { } iid && !c.Certificates.ContainsKey(iid) && !c.CaCertificates.ContainsKey(iid))
                            errors.Add("PolicyCertificateNotFound", owner, $"The policy of {owner}, line {identity.Line}, names issuer certificate '{iid}' in an identity, which is neither a certificate nor a CA certificate.", $"Add it with Add-GatewayCaCertificate -CertificateId {iid}, or change the identity.", identity.Line);
                    }
                    break;
            }
        }
    }

    private static void CheckCertificate(GatewayConfiguration c, string id, string owner, string kind, bool needsKey, ProblemList errors, string? subject = null, int? line = null)
    {
        if (!c.Certificates.TryGetValue(id, out var cert))
            errors.Add(kind + "CertificateNotFound", subject ?? owner, $"{owner} uses certificate '{id}', which does not exist.", $"Add it with Add-GatewayCertificate -CertificateId {id}, or name a certificate that exists (Get-GatewayCertificate lists them).", line);
        else if (needsKey && !cert.HasPrivateKey)
            errors.Add(kind + "CertificateWithoutKey", subject ?? owner, $"{owner} presents certificate '{id}', which has no private key. Replace it with one that has (Set-GatewayCertificate -CertificateId {id} -PfxFilePath ...).", line: line);
    }

    private static void CheckThumbprint(GatewayConfiguration c, string thumbprint, string owner, string kind, ProblemList errors, string? subject = null, int? line = null)
    {
        var normalized = CertificateMetadata.NormalizeThumbprint(thumbprint);
        var match = c.Certificates.Values.FirstOrDefault(e => string.Equals(e.Thumbprint, normalized, StringComparison.OrdinalIgnoreCase));
        if (match is null)
            errors.Add(kind + "CertificateNotFound", subject ?? owner, $"{owner} uses the certificate with thumbprint {normalized}, which is not among the uploaded certificates.", "Upload it with Add-GatewayCertificate, or name an uploaded one.", line);
        else if (!match.HasPrivateKey)
            errors.Add(kind + "CertificateWithoutKey", subject ?? owner, $"{owner} presents the certificate with thumbprint {normalized}, which has no private key.", "Replace it with a PFX that has its key (Set-GatewayCertificate -PfxFilePath ...).", line);
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

    /// <summary>The problems of the revocation settings: Offline needs CRL files, a CRL folder is an absolute path.</summary>
    internal static IEnumerable<string> ValidateRevocation(RevocationSettings revocation)
    {
        if (!Enum.IsDefined(revocation.Mode))
            yield return $"Revocation mode '{revocation.Mode}' is not one of Online, Offline or NoCheck.";
        if (revocation.CrlFolder is { } folder && (folder.Length == 0 || !CertificateStore.IsUsablePath(folder) || !Path.IsPathFullyQualified(folder)))
            yield return $"The CRL folder '{folder}' must be an absolute path. Set it with Set-GatewayRevocation -CrlFolder <folder>.";
        if (revocation.Mode == RevocationMode.Offline && string.IsNullOrEmpty(revocation.CrlFolder))
            yield return "Revocation mode Offline checks only the CRL files of a CRL folder, and none is set. Give one: Set-GatewayRevocation -Mode Offline -CrlFolder <folder>.";
    }
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
