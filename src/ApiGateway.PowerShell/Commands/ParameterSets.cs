namespace ApiGateway.PowerShell.Commands;

/// <summary>Parameter-set names shared by the cmdlets (the surface table lists them).</summary>
internal static class ParameterSets
{
    /// <summary>Identity sets: by id, or by a piped/-InputObject output object.</summary>
    public const string InputObject = "InputObject";
    public const string CertificateId = "CertificateId";
    public const string BackendId = "BackendId";
    public const string ApiId = "ApiId";
    public const string HostName = "HostName";

    /// <summary>Get-GatewayApi: by display name (Az's -Name) instead of id.</summary>
    public const string DisplayName = "DisplayName";

    /// <summary>Where certificate content comes from (Add-/Set-GatewayCertificate).</summary>
    public const string PfxFile = "PfxFile";
    public const string PfxBytes = "PfxBytes";
    public const string Certificate = "Certificate";
    public const string PemFile = "PemFile";
    public const string LinkedFile = "LinkedFile";
    public const string Store = "Store";

    /// <summary>Add-GatewayCaCertificate: a file (PFX, PEM or DER) or a certificate object.</summary>
    public const string File = "File";

    /// <summary>Where an API forwards to.</summary>
    public const string ServiceUrl = "ServiceUrl";

    /// <summary>Set-ApiGatewayCredential: by id, by thumbprint, or none.</summary>
    public const string CertificateThumbprint = "CertificateThumbprint";
    public const string None = "None";

    /// <summary>Set-GatewayPolicy: the XML as text or from a file.</summary>
    public const string Policy = "Policy";
    public const string PolicyFilePath = "PolicyFilePath";

    /// <summary>Test-GatewayClientCertificate: a client that presents no certificate.</summary>
    public const string NoCertificate = "NoCertificate";

    /// <summary>Invoke-GatewayRequest: by the whole request path instead of an API.</summary>
    public const string RequestPath = "Path";
}
