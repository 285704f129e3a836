# Certificates for the ApiGateway Pester suite, made at test time with .NET's CertificateRequest
# (New-SelfSignedCertificate exists only on Windows). No key material is ever committed: files go to $TestDrive.
#
#   $ca      = New-TestCertificate -Subject 'CN=Test CA' -CertificateAuthority
#   $client  = New-TestCertificate -Subject 'CN=client' -Issuer $ca -ClientAuth
#   $expired = New-TestCertificate -Subject 'CN=old' -Issuer $ca -ClientAuth -NotBefore (Get-Date).AddDays(-60) -NotAfter (Get-Date).AddDays(-1)
#   $server  = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost
#   Export-TestCertificate $client -Path "$TestDrive/client" -Password $secure   # client.pfx, client.crt, client.key, client.cer
using namespace System.Security.Cryptography
using namespace System.Security.Cryptography.X509Certificates

function New-TestCertificate {
    [CmdletBinding()]
    [OutputType([X509Certificate2])]
    param(
        [Parameter(Mandatory)] [string] $Subject,
        [X509Certificate2] $Issuer,
        [switch] $CertificateAuthority,
        [switch] $ClientAuth,
        [switch] $ServerAuth,
        [string[]] $DnsName,
        [DateTimeOffset] $NotBefore = [DateTimeOffset]::UtcNow.AddDays(-1),
        [DateTimeOffset] $NotAfter = [DateTimeOffset]::UtcNow.AddDays(90)
    )
    $key = [ECDsa]::Create([ECCurve+NamedCurves]::nistP256)
    $request = [CertificateRequest]::new($Subject, $key, [HashAlgorithmName]::SHA256)
    $request.CertificateExtensions.Add([X509BasicConstraintsExtension]::new($CertificateAuthority.IsPresent, $false, 0, $true))
    if ($CertificateAuthority) {
        $request.CertificateExtensions.Add([X509KeyUsageExtension]::new([X509KeyUsageFlags]'KeyCertSign, CrlSign, DigitalSignature', $true))
    }
    $usages = [OidCollection]::new()
    if ($ClientAuth) { [void]$usages.Add([Oid]::new('1.3.6.1.5.5.7.3.2')) }
    if ($ServerAuth) { [void]$usages.Add([Oid]::new('1.3.6.1.5.5.7.3.1')) }
    if ($usages.Count -gt 0) { $request.CertificateExtensions.Add([X509EnhancedKeyUsageExtension]::new($usages, $false)) }
    if ($DnsName) {
        $names = [SubjectAlternativeNameBuilder]::new()
        foreach ($name in $DnsName) { $names.AddDnsName($name) }
        $request.CertificateExtensions.Add($names.Build())
    }
    $request.CertificateExtensions.Add([X509SubjectKeyIdentifierExtension]::new($request.PublicKey, $false))
    if (-not $Issuer) { return $request.CreateSelfSigned($NotBefore, $NotAfter) }
    # A certificate cannot be valid outside its issuer's validity window.
    if ($NotBefore -lt $Issuer.NotBefore) { $NotBefore = [DateTimeOffset]$Issuer.NotBefore }
    if ($NotAfter -gt $Issuer.NotAfter) { $NotAfter = [DateTimeOffset]$Issuer.NotAfter }
    $serial = [byte[]]::new(12)
    [RandomNumberGenerator]::Fill($serial)
    $serial[0] = $serial[0] -band 0x7f
    $signed = $request.Create($Issuer, $NotBefore, $NotAfter, $serial)
    return [ECDsaCertificateExtensions]::CopyWithPrivateKey($signed, $key)
}

function Export-TestCertificate {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0)] [X509Certificate2] $Certificate,
        [Parameter(Mandatory)] [string] $Path,   # without extension
        [securestring] $Password
    )
    # The PFX password is opened only here, to call the .NET export API; the module itself never takes a plain string.
    $plain = if ($Password) { [System.Net.NetworkCredential]::new('', $Password).Password } else { $null }
    [System.IO.File]::WriteAllBytes("$Path.pfx", $Certificate.Export([X509ContentType]::Pfx, $plain))
    [System.IO.File]::WriteAllBytes("$Path.cer", $Certificate.Export([X509ContentType]::Cert))
    Set-Content -LiteralPath "$Path.crt" -Value $Certificate.ExportCertificatePem() -NoNewline
    $key = [ECDsaCertificateExtensions]::GetECDsaPrivateKey($Certificate)
    if ($key) { Set-Content -LiteralPath "$Path.key" -Value $key.ExportPkcs8PrivateKeyPem() -NoNewline }
}
