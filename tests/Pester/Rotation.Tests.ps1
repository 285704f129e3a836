# The documented scenario as a script an operator would run: upload a PFX, give an API its gateway credential,
# a self-signed backend, an inbound policy that checks the client certificate, then rotate the certificate
# (add the new one -> Set-ApiGatewayCredential -> remove the old one) with no moment where the API has none.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Ca = New-TestCertificate -Subject 'CN=Contoso Issuing CA' -CertificateAuthority -NotBefore ([DateTimeOffset]::UtcNow.AddDays(-90)) -NotAfter ([DateTimeOffset]::UtcNow.AddYears(2))

    # The rotation script under test: what README.md shows.
    function Invoke-CertificateRotation {
        [CmdletBinding(SupportsShouldProcess)]
        param($Context, [string] $ApiId, [string] $OldId, [string] $NewId, [string] $PfxPath, [securestring] $Password)
        $null = Add-GatewayCertificate -Context $Context -CertificateId $NewId -PfxFilePath $PfxPath -PfxPassword $Password -ErrorAction Stop
        Set-ApiGatewayCredential -Context $Context -ApiId $ApiId -CertificateId $NewId -ErrorAction Stop
        Remove-GatewayCertificate -Context $Context -CertificateId $OldId -Force -ErrorAction Stop
    }
}

Describe 'Rotating a gateway credential (Add-GatewayCertificate, Set-ApiGatewayCredential, Remove-GatewayCertificate)' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'rotation'
        $old = New-TestCertificate -Subject 'CN=gateway-client-2025' -Issuer $Ca -ClientAuth
        Export-TestCertificate $old -Path (Join-Path $TestDrive 'backend-2025') -Password $TestPassword
        $script:New = New-TestCertificate -Subject 'CN=gateway-client-2026' -Issuer $Ca -ClientAuth
        Export-TestCertificate $New -Path (Join-Path $TestDrive 'backend-2026') -Password $TestPassword

        $null = Add-GatewayCertificate -Context $Context -CertificateId backend-2025 -PfxFilePath (Join-Path $TestDrive 'backend-2025.pfx') -PfxPassword $TestPassword
        $backend = New-GatewayBackend -Context $Context -Url 'https://contoso.com/myapi' -Protocol http -SkipCertificateChainValidation $true
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -BackendId $backend.BackendId
        Set-ApiGatewayCredential -Context $Context -ApiId orders -CertificateId backend-2025
        # The check goes after <base /> in the inbound section (the first <base /> of the API policy).
        $check = @'
<base />
    <choose>
      <when condition="@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)">
        <return-response>
          <set-status code="403" reason="Invalid client certificate" />
        </return-response>
      </when>
    </choose>
'@
        $policy = ([regex] '<base />').Replace((Get-GatewayPolicy -Context $Context -ApiId orders).Policy, $check, 1)
        Set-GatewayPolicy -Context $Context -ApiId orders -Policy $policy
    }

    It 'refuses to remove the old certificate while the API presents it' {
        $err = $null

        Remove-GatewayCertificate -Context $Context -CertificateId backend-2025 -Force -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoveGatewayCertificateInUse,*'
    }

    It 'rotates from a script: add the new certificate, move the API, remove the old one' {
        Invoke-CertificateRotation -Context $Context -ApiId orders -OldId backend-2025 -NewId backend-2026 -PfxPath (Join-Path $TestDrive 'backend-2026.pfx') -Password $TestPassword

        (Get-GatewayApi -Context $Context -ApiId orders).GatewayCredentialCertificateId | Should -Be 'backend-2026'
        (Get-GatewayCertificate -Context $Context).CertificateId | Should -Be 'backend-2026'
        (Get-GatewayCertificate -Context $Context -CertificateId backend-2026).Thumbprint | Should -Be $New.Thumbprint
    }

    It 'keeps the rest of the API policy through the rotation' {
        $policy = (Get-GatewayPolicy -Context $Context -ApiId orders).Policy

        $policy | Should -BeLike '*reason="Invalid client certificate"*'
        $policy | Should -BeLike '*<authentication-certificate certificate-id="backend-2026" />*'
        $policy | Should -Not -BeLike '*backend-2025*'
    }
}
