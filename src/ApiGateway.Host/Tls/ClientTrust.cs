using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;

namespace ApiGateway.Host.Tls;

/// <summary>
/// The trust of one configuration revision for client certificates: the uploaded CA certificates (roots as trust
/// anchors, intermediates to complete chains), and the system roots as a second chance for <c>Verify()</c>.
/// </summary>
internal sealed class ClientTrust
{
    private readonly ConditionalWeakTable<X509Certificate2, CertificateVerification> _verifications = new();

    /// <param name="roots">Uploaded CA certificates stored as Root.</param>
    /// <param name="intermediates">Uploaded CA certificates stored as CertificateAuthority.</param>
    /// <param name="revocationMode">How revocation is checked (service.revocation.mode).</param>
    /// <param name="crls">The operator's CRL files (service.revocation.crlFolder), or null.</param>
    /// <param name="time">The gateway's clock (<c>GatewayServices.Time</c>): revocation answers' lifetimes and the CRLs' dates.</param>
    /// <param name="cacheCapacity">Certificates whose facts and system-trust status are kept (<see cref="FactsCapacity"/>; tests give less).</param>
    public ClientTrust(X509Certificate2Collection roots, X509Certificate2Collection intermediates,
        ApiGateway.Core.Configuration.RevocationMode revocationMode = ApiGateway.Core.Configuration.RevocationMode.Online, CrlStore? crls = null,
        TimeProvider? time = null, int cacheCapacity = FactsCapacity)
    {
        Roots = roots;
        Intermediates = intermediates;
        RevocationMode = revocationMode;
        Crls = crls;
        _time = time ?? TimeProvider.System;
        _cacheCapacity = cacheCapacity;
        Revocation = new RevocationCache((certificate, extra, system, mode) => Build(certificate, extra, system, mode),
            crls is null ? null : FromFiles,
            crls is null ? null : () => crls.Generation,
            offline: revocationMode == ApiGateway.Core.Configuration.RevocationMode.Offline,
            _time);
    }

    private readonly TimeProvider _time;
    private readonly int _cacheCapacity;

    /// <summary>How revocation is checked; NoCheck makes every revocation check pass.</summary>
    public ApiGateway.Core.Configuration.RevocationMode RevocationMode { get; }

    /// <summary>The operator's CRL files, or null.</summary>
    public CrlStore? Crls { get; }

    /// <summary>Revocation answers of this trust set, never fetched on a request's thread.</summary>
    public RevocationCache Revocation { get; }

    /// <summary>Certificates whose handshake facts are kept (beyond it the cache starts again: new certificates cannot grow it).</summary>
    public const int FactsCapacity = 10_000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Thumbprint, string? Issuer), CertificateFacts> _facts = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _systemStatus = new();

    /// <summary>
    /// What a handshake and the identity checks need of a certificate (EKU, names, SANs), decoded once per
    /// certificate and issuer for this trust set instead of once per connection; the trust set is one revision's, so
    /// a reload starts empty. Bounded by <see cref="FactsCapacity"/>.
    /// </summary>
    public CertificateFacts FactsOf(X509Certificate2 certificate, string? issuerThumbprint)
    {
        var key = (certificate.Thumbprint, issuerThumbprint);
        if (_facts.TryGetValue(key, out var known))
            return known;
        if (_facts.Count >= _cacheCapacity)
            _facts.Clear();
        return _facts.GetOrAdd(key, _ => new CertificateFacts(certificate, issuerThumbprint));
    }

    /// <summary>The chain status against the system roots, built once per certificate for this trust set (only without client-sent intermediates, which change the chain).</summary>
    internal X509ChainStatusFlags SystemStatusOf(X509Certificate2 certificate, X509Certificate2[]? extra)
    {
        if (extra is { Length: > 0 })
            return Build(certificate, extra, systemTrust: true, checkRevocation: false);
        var thumbprint = certificate.Thumbprint;
        if (_systemStatus.TryGetValue(thumbprint, out var known))
            return (X509ChainStatusFlags)known;
        var status = Build(certificate, null, systemTrust: true, checkRevocation: false);
        if (_systemStatus.Count >= _cacheCapacity)
            _systemStatus.Clear();
        _systemStatus[thumbprint] = (int)status;
        return status;
    }

    /// <summary>Uploaded CA certificates stored as Root.</summary>
    public X509Certificate2Collection Roots { get; }

    /// <summary>Uploaded CA certificates stored as CertificateAuthority.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>
    /// The chain policy of a handshake: uploaded roots as the only trust anchors, no revocation and no downloads (a
    /// handshake never waits on the network). A new instance per connection because SslStream adds the certificates
    /// the client sent to its ExtraStore.
    /// </summary>
    public X509ChainPolicy CreateHandshakePolicy()
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
            VerificationTimeIgnored = true,
        };
        policy.CustomTrustStore.AddRange(Roots);
        policy.ExtraStore.AddRange(Intermediates);
        return policy;
    }

    /// <summary>The verification state of a certificate that did not come from a handshake (e.g. one of context.Deployment.Certificates).</summary>
    public CertificateVerification VerificationOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return _verifications.GetValue(certificate, c => new CertificateVerification(this, c, null, null));
    }

    /// <summary>Builds the chain of <paramref name="certificate"/> against the uploaded roots (custom) or the system roots; returns its status.</summary>
    internal X509ChainStatusFlags Build(X509Certificate2 certificate, X509Certificate2[]? extra, bool systemTrust, bool checkRevocation) =>
        Build(certificate, extra, systemTrust, checkRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck);

    /// <summary>
    /// What the CRL files say of the certificate's chain: each certificate but the self-signed root against the
    /// next one, its issuer (RFC 5280 §6.3 for every certificate of the path). Revoked when one is revoked; not
    /// known when one has no current CRL signed by its issuer, or the chain does not reach a self-signed root.
    /// </summary>
    internal RevocationAnswer FromFiles(X509Certificate2 certificate, X509Certificate2[]? extra, bool systemTrust)
    {
        var crls = Crls ?? throw new InvalidOperationException("No CRL folder is configured.");
        using var chain = new X509Chain();
        Configure(chain.ChainPolicy, extra, systemTrust, X509RevocationMode.NoCheck);
        try
        {
            chain.Build(certificate);
            var elements = chain.ChainElements;
            if (elements.Count == 0)
                return RevocationAnswer.Unknown("its chain could not be built");
            var now = _time.GetUtcNow();
            DateTimeOffset? until = null;
            for (var i = 0; i < elements.Count - 1; i++)
            {
                var answer = crls.Check(elements[i].Certificate, elements[i + 1].Certificate, now);
                if (!answer.IsConclusive || answer.Flags != X509ChainStatusFlags.NoError)
                {
                    return i == 0 ? answer : answer with
                    {
                        Problem = $"its issuing CA certificate '{elements[i].Certificate.Subject}': {answer.Problem}",
                    };
                }
                if (answer.ValidUntil is { } u && (until is null || u < until))
                    until = u;
            }
            var top = elements[^1].Certificate;
            if (!top.SubjectName.RawData.AsSpan().SequenceEqual(top.IssuerName.RawData))
                return RevocationAnswer.Unknown($"its chain ends at '{top.Subject}', whose issuer is not known, so its CRL cannot be checked");
            return new RevocationAnswer(X509ChainStatusFlags.NoError, until, null);
        }
        finally
        {
            foreach (var element in chain.ChainElements)
                element.Certificate.Dispose();
        }
    }

    /// <summary>As above; <see cref="X509RevocationMode.Offline"/> reads only the CRLs cached locally (no network).</summary>
    internal X509ChainStatusFlags Build(X509Certificate2 certificate, X509Certificate2[]? extra, bool systemTrust, X509RevocationMode revocation)
    {
        using var chain = new X509Chain();
        Configure(chain.ChainPolicy, extra, systemTrust, revocation);
        try
        {
            var built = chain.Build(certificate);
            var flags = X509ChainStatusFlags.NoError;
            foreach (var status in chain.ChainStatus)
                flags |= status.Status;
            if (!built && flags == X509ChainStatusFlags.NoError)
                flags = X509ChainStatusFlags.PartialChain;
            return flags;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
                element.Certificate.Dispose();
        }
    }

    private void Configure(X509ChainPolicy policy, X509Certificate2[]? extra, bool systemTrust, X509RevocationMode revocation)
    {
        policy.TrustMode = systemTrust ? X509ChainTrustMode.System : X509ChainTrustMode.CustomRootTrust;
        if (!systemTrust)
            policy.CustomTrustStore.AddRange(Roots);
        else
            policy.ExtraStore.AddRange(Roots);
        policy.ExtraStore.AddRange(Intermediates);
        if (extra is not null)
            policy.ExtraStore.AddRange(extra);
        policy.VerificationTimeIgnored = true;
        policy.RevocationMode = revocation;
        policy.RevocationFlag = X509RevocationFlag.ExcludeRoot;
        policy.DisableCertificateDownloads = revocation != X509RevocationMode.Online;
        policy.UrlRetrievalTimeout = TimeSpan.FromSeconds(5);
    }
}

/// <summary>
/// The checks of one certificate, each worked out at most once: the chain against the uploaded CA certificates
/// (taken from the handshake when there was one), against the system roots (only when the first fails), and the
/// online revocation check (only when a policy asks for it).
/// </summary>
internal sealed class CertificateVerification
{
    /// <summary>The validity-period flags, which validate-not-before/-not-after judge separately from trust.</summary>
    public const X509ChainStatusFlags TimeFlags = X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested;

    /// <summary>The flags that mean the revocation status is not known to be good.</summary>
    public const X509ChainStatusFlags RevocationFlags = X509ChainStatusFlags.Revoked | X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation;

    /// <summary>
    /// The revocation answer of a chain built with revocation checking. A chain that stops short of a root
    /// (PartialChain) leaves the certificate's revocation unchecked — its issuer, whose CRL would answer, is unknown
    /// (RFC 5280 6.3) — yet .NET on Linux then reports no revocation flag at all: that is "unknown", not "good".
    /// </summary>
    public static X509ChainStatusFlags RevocationOf(X509ChainStatusFlags chainStatus)
    {
        var flags = chainStatus & RevocationFlags;
        if ((chainStatus & X509ChainStatusFlags.PartialChain) != 0 && (flags & X509ChainStatusFlags.Revoked) == 0)
            flags |= X509ChainStatusFlags.RevocationStatusUnknown;
        return flags;
    }

    private const int Unknown = -1;

    private readonly ClientTrust _trust;
    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2[]? _extra;
    private int _custom;
    private int _system = Unknown;
    private int _revocation = Unknown;

    public CertificateVerification(ClientTrust trust, X509Certificate2 certificate, X509ChainStatusFlags? handshakeStatus, X509Certificate2[]? extra)
    {
        _trust = trust;
        _certificate = certificate;
        _extra = extra;
        _custom = handshakeStatus is { } status ? (int)status : Unknown;
    }

    /// <summary>Status of the chain against the uploaded CA certificates.</summary>
    public X509ChainStatusFlags CustomStatus => Lazy(ref _custom, systemTrust: false, checkRevocation: false);

    /// <summary>Status of the chain against the system roots.</summary>
    public X509ChainStatusFlags SystemStatus
    {
        get
        {
            if (Volatile.Read(ref _system) == Unknown)
                Volatile.Write(ref _system, (int)_trust.SystemStatusOf(_certificate, _extra));
            return (X509ChainStatusFlags)_system;
        }
    }

    /// <summary>
    /// Whether the chain builds to an uploaded CA certificate or a system root; validity periods count unless
    /// <paramref name="ignoreTime"/>. <paramref name="system"/> tells which trust anchored it; <paramref name="failure"/> why not.
    /// </summary>
    public bool IsTrusted(bool ignoreTime, out bool system, out X509ChainStatusFlags failure)
    {
        var mask = ignoreTime ? ~TimeFlags : ~X509ChainStatusFlags.NoError;
        system = false;
        failure = CustomStatus & mask;
        if (failure == X509ChainStatusFlags.NoError)
            return true;
        // Only an unknown root is worth a second try against the system store.
        if ((failure & ~(X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
            return false;
        var systemFailure = SystemStatus & mask;
        if (systemFailure == X509ChainStatusFlags.NoError)
        {
            system = true;
            return true;
        }
        return false;
    }

    /// <summary>
    /// The revocation flags (NoError: not revoked and status known), never waiting for the network: the trust set's
    /// cached answer or the locally cached CRLs. When neither knows, the online fetch starts in the background and
    /// this answers "unknown" until it is done; requests whose policy checks revocation await it first
    /// (<see cref="PrefetchRevocationAsync"/>), so they get the online answer as before, without holding a thread.
    /// </summary>
    public X509ChainStatusFlags RevocationStatus(bool system)
    {
        if (_trust.RevocationMode == ApiGateway.Core.Configuration.RevocationMode.NoCheck)
            return X509ChainStatusFlags.NoError;
        if (_trust.Crls is not null)
        {
            // Answers from CRL files change when the files do or a CRL goes stale: asked of the trust set's cache
            // (a lookup) on every request, not kept for the connection's lifetime.
            if (_trust.Revocation.TryGet(_certificate, _extra, system, out var fileFlags, out var problem))
            {
                RevocationProblem = fileFlags == X509ChainStatusFlags.NoError ? null : problem;
                return fileFlags;
            }
            RevocationProblem = problem;
        }
        if (Volatile.Read(ref _revocation) != Unknown)
            return (X509ChainStatusFlags)_revocation;
        if (_trust.Revocation.TryGet(_certificate, _extra, system, out var flags))
        {
            Volatile.Write(ref _revocation, (int)flags);
            return flags;
        }
        var fetch = _trust.Revocation.FetchAsync(_certificate, _extra, system);
        if (fetch.IsCompletedSuccessfully)
        {
            Volatile.Write(ref _revocation, (int)fetch.Result);
            return fetch.Result;
        }
        return X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation;
    }

    /// <summary>Why the last <see cref="RevocationStatus"/> was not good, when the CRL files said (null otherwise).</summary>
    public string? RevocationProblem { get; private set; }

    /// <summary>Makes the revocation answer ready (awaiting an online fetch when needed) before a policy asks for it.</summary>
    public async ValueTask PrefetchRevocationAsync()
    {
        if (Volatile.Read(ref _revocation) != Unknown || _trust.RevocationMode == ApiGateway.Core.Configuration.RevocationMode.NoCheck)
            return;
        IsTrusted(ignoreTime: true, out var system, out _);
        if (_trust.Revocation.TryGet(_certificate, _extra, system, out var flags))
        {
            // With CRL files RevocationStatus asks them on every request: their answer kept for the connection would
            // outlive a CRL that goes stale or leaves the folder.
            if (_trust.Crls is null)
                Volatile.Write(ref _revocation, (int)flags);
            return;
        }
        Volatile.Write(ref _revocation, (int)await _trust.Revocation.FetchAsync(_certificate, _extra, system).ConfigureAwait(false));
    }

    /// <summary>Verify(): trusted, within validity, and (when asked) not revoked.</summary>
    public bool Verify(bool checkRevocation) =>
        IsTrusted(ignoreTime: false, out var system, out _) && (!checkRevocation || RevocationStatus(system) == X509ChainStatusFlags.NoError);

    private X509ChainStatusFlags Lazy(ref int field, bool systemTrust, bool checkRevocation)
    {
        if (Volatile.Read(ref field) == Unknown)
            Volatile.Write(ref field, (int)_trust.Build(_certificate, _extra, systemTrust, checkRevocation));
        return (X509ChainStatusFlags)field;
    }
}
