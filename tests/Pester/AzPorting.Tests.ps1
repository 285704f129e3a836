# An Az.ApiManagement script (certificate, backend, API and policy CRUD, written the way Az's own scenario tests and
# docs write it) runs against the gateway once its cmdlets are renamed by the table in docs/cmdlets.md
# ("Porting an Az.ApiManagement script"). The only other lines a port needs are the ones that table lists: the
# context, a SecureString password, and -Force or $ConfirmPreference for the removals.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule

    # The rename table of docs/cmdlets.md, longest names first so that ...Backend does not eat ...BackendCredential.
    $script:Renames = [ordered]@{
        'New-AzApiManagementBackendCredential' = 'New-GatewayBackendCredential'
        'New-AzApiManagementCertificate'       = 'Add-GatewayCertificate'
        'Get-AzApiManagementCertificate'       = 'Get-GatewayCertificate'
        'Set-AzApiManagementCertificate'       = 'Set-GatewayCertificate'
        'Remove-AzApiManagementCertificate'    = 'Remove-GatewayCertificate'
        'New-AzApiManagementBackend'           = 'New-GatewayBackend'
        'Get-AzApiManagementBackend'           = 'Get-GatewayBackend'
        'Set-AzApiManagementBackend'           = 'Set-GatewayBackend'
        'Remove-AzApiManagementBackend'        = 'Remove-GatewayBackend'
        'New-AzApiManagementApi'               = 'New-GatewayApi'
        'Get-AzApiManagementApi'               = 'Get-GatewayApi'
        'Set-AzApiManagementApi'               = 'Set-GatewayApi'
        'Remove-AzApiManagementApi'            = 'Remove-GatewayApi'
        'Get-AzApiManagementPolicy'            = 'Get-GatewayPolicy'
        'Set-AzApiManagementPolicy'            = 'Set-GatewayPolicy'
        'Remove-AzApiManagementPolicy'         = 'Remove-GatewayPolicy'
    }

    function ConvertTo-GatewayScript {
        param([Parameter(Mandatory)] [string] $AzScript)
        $text = $AzScript
        foreach ($name in $Renames.Keys) {
            $text = $text -replace "\b$([regex]::Escape($name))\b", $Renames[$name]
        }
        [scriptblock]::Create($text)
    }

    # Written as for Az, against New-AzApiManagementContext's $context; assertions as plain throws.
    $script:AzScript = @'
$ErrorActionPreference = 'Stop'

# Certificate CRUD
$cert = New-AzApiManagementCertificate -Context $context -CertificateId $certId -PfxFilePath $certPath -PfxPassword $certPassword
if ($cert.CertificateId -ne $certId -or $cert.Thumbprint -ne $certThumbprint -or $cert.Subject -ne 'CN=porting-client') { throw "certificate: $($cert | Out-String)" }
$cert = Get-AzApiManagementCertificate -Context $context -CertificateId $certId
if ($cert.ExpirationDate -le (Get-Date)) { throw 'certificate: ExpirationDate' }
if (@(Get-AzApiManagementCertificate -Context $context).Count -ne 1) { throw 'certificate: list' }

# Backend CRUD, with a credential
$credential = New-AzApiManagementBackendCredential -CertificateThumbprint $cert.Thumbprint -AuthorizationHeaderScheme basic -AuthorizationHeaderParameter $authParameter -Query @{ 'sv' = @('xx', 'bb'); 'sr' = @('cc') } -Header @{ 'x-my-1' = @('val1', 'val2') }
$backend = New-AzApiManagementBackend -Context $context -BackendId $backendId -Url 'https://contoso.com/awesomeapi' -Protocol http -Title 'first backend' -SkipCertificateChainValidation $true -Credential $credential -Description 'my backend'
if ($backend.BackendId -ne $backendId -or $backend.Protocol -ne 'http' -or $backend.Title -ne 'first backend') { throw "backend: $($backend | Out-String)" }
if ($backend.Credentials.Authorization.Scheme -ne 'basic') { throw 'backend: Credentials.Authorization.Scheme' }
if ($backend.Credentials.Certificate -notcontains $cert.Thumbprint) { throw 'backend: Credentials.Certificate' }
if ($backend.Credentials.Query['sv'].Count -ne 2 -or $backend.Credentials.Header['x-my-1'][1] -ne 'val2') { throw 'backend: Query/Header' }
if (-not $backend.Properties.skipCertificateChainValidation) { throw 'backend: Properties' }
$backend = Set-AzApiManagementBackend -Context $context -BackendId $backendId -Description 'changed' -SkipCertificateNameValidation $true -PassThru
if ($backend.Description -ne 'changed' -or -not $backend.Properties.skipCertificateNameValidation) { throw 'backend: set' }
$backend = Get-AzApiManagementBackend -Context $context -BackendId $backendId
if ($backend.Credentials.Authorization.Scheme -ne 'basic') { throw 'backend: the credential survives a set' }

# API CRUD
$api = New-AzApiManagementApi -Context $context -ApiId $apiId -Name $apiName -Description $apiDescription -Protocols @('https') -Path $apiPath -ServiceUrl $serviceUrl
if ($api.ApiId -ne $apiId -or $api.Name -ne $apiName -or $api.Description -ne $apiDescription -or $api.Path -ne $apiPath -or $api.ServiceUrl -ne $serviceUrl) { throw "api: $($api | Out-String)" }
if ($api.Protocols.Length -ne 1 -or $api.Protocols[0] -ne 'https') { throw 'api: Protocols' }
$apis = Get-AzApiManagementApi -Context $context -Name $apiName
if (@($apis).Count -ne 1 -or $apis[0].ApiId -ne $apiId) { throw 'api: by name' }
$api = Set-AzApiManagementApi -Context $context -ApiId $apiId -Name 'Echo API v2' -Description 'second' -Protocols @('https') -ServiceUrl 'https://echo.internal/v2' -PassThru
if ($api.Name -ne 'Echo API v2' -or $api.Description -ne 'second' -or $api.ServiceUrl -ne 'https://echo.internal/v2') { throw 'api: set' }
$api = Set-AzApiManagementApi -InputObject $api -Name 'Echo API v3' -Description 'third' -ServiceUrl $api.ServiceUrl -Protocols $api.Protocols -PassThru
if ($api.Name -ne 'Echo API v3' -or $api.Path -ne $apiPath) { throw 'api: set by InputObject' }

# API policy CRUD
$apiValid = '<policies><inbound><base /><set-header name="x-echo" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("x-a", "") == "b" && 1 < 2 ? "yes" : "no")</value></set-header></inbound><outbound><base /></outbound></policies>'
Set-AzApiManagementPolicy -Context $context -ApiId $apiId -Policy $apiValid -Format 'application/vnd.ms-azure-apim.policy.raw+xml'
$policy = Get-AzApiManagementPolicy -Context $context -ApiId $apiId
if (-not $policy -or -not ($policy -like '*<set-header name="x-echo" exists-action="override">*')) { throw "policy: $policy" }
Get-AzApiManagementPolicy -Context $context -ApiId $apiId -SaveAs (Join-Path $outFolder 'ApiPolicy.xml') -Format 'RawXml' -Force
$saved = Get-Content (Join-Path $outFolder 'ApiPolicy.xml')
if (-not ($saved -like '*== "b" && 1 < 2*')) { throw "policy: saved $saved" }
$removed = Remove-AzApiManagementPolicy -Context $context -ApiId $apiId -PassThru
if (-not $removed) { throw 'policy: removed' }
$policy = Get-AzApiManagementPolicy -Context $context -ApiId $apiId
if ($null -ne $policy) { throw "policy: still there after the removal: $policy" }

# Tenant (global) policy CRUD
$tenantValid = '<policies><inbound><set-header name="ETag" exists-action="skip"><value>bbyby</value></set-header></inbound><backend><forward-request /></backend><outbound /></policies>'
Set-AzApiManagementPolicy -Context $context -Policy $tenantValid
Get-AzApiManagementPolicy -Context $context -SaveAs (Join-Path $outFolder 'TenantPolicy.xml') -Force
if (-not ((Get-Content (Join-Path $outFolder 'TenantPolicy.xml')) -like '*<value>bbyby</value>*')) { throw 'tenant policy: saved' }
$removed = Remove-AzApiManagementPolicy -Context $context -PassThru
if (-not $removed -or $null -ne (Get-AzApiManagementPolicy -Context $context)) { throw 'tenant policy: removed' }

# Clean-up, in the order APIM needs too
if (-not (Remove-AzApiManagementApi -Context $context -ApiId $apiId -PassThru)) { throw 'api: removed' }
if (-not (Remove-AzApiManagementBackend -Context $context -BackendId $backendId -PassThru)) { throw 'backend: removed' }
if (-not (Remove-AzApiManagementCertificate -Context $context -CertificateId $certId -PassThru)) { throw 'certificate: removed' }
if (@(Get-AzApiManagementCertificate -Context $context).Count -ne 0) { throw 'certificate: still listed' }
'ported script done'
'@
}

Describe 'Porting an Az.ApiManagement script' {
    BeforeAll {
        $ca = New-TestCertificate -Subject 'CN=Porting CA' -CertificateAuthority
        $script:Client = New-TestCertificate -Subject 'CN=porting-client' -Issuer $ca -ClientAuth
        Export-TestCertificate $Client -Path (Join-Path $TestDrive 'client') -Password $TestPassword
    }

    It 'runs certificate, backend, API and policy CRUD once the cmdlets are renamed' {
        # The lines a port changes besides the names (docs/cmdlets.md): the context, a SecureString password, and no
        # confirmation prompt for ConfirmImpact High removals in a script.
        $context = New-TestGateway -Name 'porting'
        $certPassword = $TestPassword
        $authParameter = ConvertTo-SecureString 'opensesame' -AsPlainText -Force
        $ConfirmPreference = 'None'
        # The script's own inputs.
        $certId = 'porting-client'
        $certPath = Join-Path $TestDrive 'client.pfx'
        $certThumbprint = $Client.Thumbprint
        $backendId = 'porting-backend'
        $apiId = 'echo-api'
        $apiName = 'Echo API'
        $apiDescription = 'first'
        $apiPath = 'echo'
        $serviceUrl = 'https://echo.internal/api'
        $outFolder = $TestDrive

        $result = & (ConvertTo-GatewayScript $AzScript)

        $result | Should -Be 'ported script done'
        Get-GatewayApi -Context $context | Should -BeNullOrEmpty
    }

    It 'renames every cmdlet of the script' {
        (ConvertTo-GatewayScript $AzScript).ToString() | Should -Not -Match 'AzApiManagement'
        foreach ($name in $Renames.Values) {
            Get-Command -Name $name -Module ApiGateway -ErrorAction Stop | Should -Not -BeNullOrEmpty
        }
    }
}
