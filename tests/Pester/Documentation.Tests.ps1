# The documentation, executed: the README walkthrough (its PowerShell blocks, in order, as one story) and every
# example of every cmdlet's help (Get-Help -Examples), each against a configuration of its own in a fresh runspace
# with the built module. A documented command that no longer works fails here, so docs cannot drift from behaviour.
#
# What the examples take for granted is prepared for them, and nothing else: the files they name (PFX files, CA
# certificates, a policy file), the variables they use ($context, $password), a Read-Host that answers with the test
# password instead of prompting, and what each example's own setup below creates in the configuration. Absolute paths
# outside the test folder (/etc/letsencrypt/...) and fixed ports are mapped into the test's own folder and free ports.
BeforeDiscovery {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Examples = foreach ($command in Get-Command -Module ApiGateway -CommandType Cmdlet | Sort-Object Name) {
        $number = 0
        foreach ($example in @((Get-Help $command.Name -Examples).Examples.Example)) {
            $number++
            @{ Cmdlet = $command.Name; Number = $number; Title = "$($example.Title)".Trim('- ').Trim(); Code = "$($example.Code)" }
        }
    }
}

BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule

    # What each example needs in its configuration beyond the base (a server certificate server-tls and the hostname
    # localhost on a free port). Keyed "<Cmdlet> <number>"; every example must have an entry (empty when
    # it needs nothing), so a new example is a conscious addition here.
    $script:Setup = @{
        'Add-GatewayCaCertificate 1'       = ''
        'Add-GatewayCaCertificate 2'       = ''
        'Add-GatewayCertificate 1'         = ''
        'Add-GatewayCertificate 2'         = ''
        'Add-GatewayCertificate 3'         = ''
        'Get-GatewayApi 1'                 = 'New-Api orders'
        'Get-GatewayApi 2'                 = 'New-Api orders; New-Api billing; Add-Pfx backend-2026'
        'Get-GatewayBackend 1'             = 'New-Backend billing'
        'Get-GatewayBackend 2'             = 'New-Backend billing; New-Backend contoso-com'
        'Get-GatewayCaCertificate 1'       = ''
        'Get-GatewayCertificate 1'         = 'Add-Pfx backend-2025'
        'Get-GatewayCertificate 2'         = 'Add-Pfx backend-2025 -ExpiresInDays 20'
        'Get-GatewayCertificate 3'         = 'Add-Pfx backend-2024 -ExpiresInDays 10; Add-Pfx backend-2025 -ExpiresInDays 20; New-Api orders -Credential backend-2025'
        'Get-GatewayCertificateReference 1' = 'Add-Pfx backend-2025; New-Api orders -Credential backend-2025; New-Backend billing -Credential backend-2025'
        'Get-GatewayCertificateReference 2' = 'Add-Pfx backend-2024; Add-Pfx backend-2025; New-Api orders -Credential backend-2024; New-Api billing -Credential backend-2024'
        'Get-GatewayHostname 1'            = ''
        'Get-GatewayHostname 2'            = ''
        'Get-GatewayPolicy 1'              = ''
        'Get-GatewayPolicy 2'              = 'New-Api orders; New-Api billing'
        'Get-GatewayStatus 1'              = ''
        'Get-GatewayStatus 2'              = 'Start-Gateway -Context $context -TimeoutSec 120 | Out-Null'
        'Get-GatewayStatus 3'              = ''
        'New-GatewayApi 1'                 = 'New-Backend contoso-com'
        'New-GatewayApi 2'                 = ''
        'New-GatewayBackend 1'             = ''
        'New-GatewayBackend 2'             = 'Add-Pfx backend-2025'
        'New-GatewayBackendCredential 1'   = 'Add-Pfx backend-2025; New-Backend billing'
        'New-GatewayBackendCredential 2'   = ''
        'New-GatewayContext 1'             = ''
        'New-GatewayContext 2'             = '$null = New-Item -ItemType Directory -Force ~/gateways'
        'Remove-GatewayApi 1'              = 'New-Api echo'
        'Remove-GatewayBackend 1'          = 'New-Backend legacy'
        'Remove-GatewayCaCertificate 1'    = 'Add-GatewayCaCertificate -Context $context -CertificateId contoso-root-2019 -FilePath ./contoso-root.cer | Out-Null'
        'Remove-GatewayCertificate 1'      = 'Add-Pfx backend-2024'
        'Remove-GatewayCertificate 2'      = 'Add-Pfx backend-2024 -ExpiresInDays 10'
        'Remove-GatewayHostname 1'         = 'Set-GatewayHostname -Context $context -HostName old.contoso.com -Port (Get-FreePort) -CertificateId server-tls | Out-Null'
        'Set-ApiGatewayCredential 1'       = 'Add-Pfx backend-2025; New-Api orders'
        'Set-ApiGatewayCredential 2'       = 'Add-Pfx backend-2025; New-Api orders -Credential backend-2025'
        'Set-ApiGatewayCredential 3'       = 'Add-Pfx backend-2025; New-Api orders -Credential backend-2025'
        'Set-GatewayApi 1'                 = 'New-Api orders; New-Backend orders-v2'
        'Set-GatewayApi 2'                 = 'New-Api legacy-orders; New-Api legacy-billing'
        'Set-GatewayBackend 1'             = 'New-Backend billing; New-Backend contoso-com'
        'Set-GatewayBackend 2'             = 'New-Backend billing'
        'Set-GatewayCertificate 1'         = 'Add-Pfx backend-2025'
        'Set-GatewayCertificate 2'         = 'Add-Pfx backend-2024 -ExpiresInDays 10; Add-Pfx backend-2025 -ExpiresInDays 20'
        'Set-GatewayHostname 1'            = ''
        'Set-GatewayHostname 2'            = ''
        'Set-GatewayHostname 3'            = 'foreach ($name in ''api.contoso.com'', ''legacy.contoso.com'') { Set-GatewayHostname -Context $context -HostName $name -Port (Get-FreePort) -CertificateId server-tls | Out-Null }'
        'Get-GatewayLimit 1'               = ''
        'Get-GatewayLimit 2'               = ''
        'Set-GatewayLimit 1'               = ''
        'Set-GatewayLimit 2'               = ''
        'Set-GatewayLimit 3'               = 'Set-GatewayLimit -Context $context -MaxRequestBodySize 100MB -RequestHeadersTimeoutSeconds 10 | Out-Null'
        'Set-GatewayPolicy 1'              = 'New-Api orders'
        'Set-GatewayPolicy 2'              = ''
        'Start-Gateway 1'                  = ''
        'Start-Gateway 2'                  = ''
        'Stop-Gateway 1'                   = 'Start-Gateway -Context $context -TimeoutSec 120 | Out-Null'
        'Stop-Gateway 2'                   = 'Start-Gateway -Context $context -TimeoutSec 120 | Out-Null'
        'Get-GatewayApi 3' = 'New-GatewayApi -Context $context -ApiId orders -DisplayName ''Orders API'' -Path orders -ServiceUrl https://orders.internal/ | Out-Null'
        'Get-GatewayPolicy 3' = 'New-Api orders; Set-GatewayPolicy -Context $context -ApiId orders -Policy ''<policies><inbound><base /><set-header name="x-copied" exists-action="override"><value>1</value></set-header></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'' | Out-Null'
        'New-GatewayApi 3' = ''
        'Remove-GatewayPolicy 1' = 'Add-Pfx backend-2025; New-Api orders -Credential backend-2025'
        'Remove-GatewayPolicy 2' = 'Add-Pfx backend-2025; New-Api orders -Credential backend-2025; New-Api billing'
        'Remove-GatewayPolicy 3' = 'Set-GatewayPolicy -Context $context -PolicyFilePath ./policies/global.xml | Out-Null'
        'Set-GatewayApi 3' = 'New-Api orders'
        'Set-GatewayPolicy 3' = 'foreach ($name in ''staging'', ''production'') { $c = New-GatewayContext -Path "./$name.json"; New-GatewayApi -Context $c -ApiId orders -Path orders -ServiceUrl https://orders.internal/ | Out-Null }; Set-GatewayPolicy -Context ./staging.json -ApiId orders -Policy ''<policies><inbound><base /><set-header name="x-copied" exists-action="override"><value>1</value></set-header></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'' | Out-Null'
    }

    function Get-FreePort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }

    # A folder with every file the documentation names, and a CA that issued its certificates.
    function New-DocumentationFolder {
        param([Parameter(Mandatory)] [string] $Path)
        $null = New-Item -ItemType Directory -Path $Path, "$Path/certs", "$Path/renewed", "$Path/policies", "$Path/letsencrypt/live/api" -Force
        $ca = New-TestCertificate -Subject 'CN=Clients Root' -CertificateAuthority -NotBefore ([DateTimeOffset]::UtcNow.AddDays(-30)) -NotAfter ([DateTimeOffset]::UtcNow.AddYears(2))
        Set-Content -LiteralPath "$Path/clients-root.cer" -Value $ca.ExportCertificatePem() -NoNewline
        $other = New-TestCertificate -Subject 'CN=Contoso Root' -CertificateAuthority
        Set-Content -LiteralPath "$Path/contoso-root.cer" -Value $other.ExportCertificatePem() -NoNewline
        $issuing = New-TestCertificate -Subject 'CN=Contoso Issuing CA' -Issuer $other -CertificateAuthority
        Set-Content -LiteralPath "$Path/issuing-ca.cer" -Value $issuing.ExportCertificatePem() -NoNewline
        $server = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost
        Export-TestCertificate $server -Path "$Path/server" -Password $TestPassword
        foreach ($name in 'backend-2024', 'backend-2025', 'backend-2026', 'renewed', 'backend-2025-renewed') {
            Export-TestCertificate (New-TestCertificate -Subject "CN=$name" -Issuer $ca -ClientAuth -NotAfter ([DateTimeOffset]::UtcNow.AddDays(365))) -Path "$Path/$name" -Password $TestPassword
        }
        foreach ($name in 'backend-2024', 'backend-2025', 'backend-2026') {
            Export-TestCertificate (New-TestCertificate -Subject "CN=$name renewed" -Issuer $ca -ClientAuth -NotAfter ([DateTimeOffset]::UtcNow.AddDays(365))) -Path "$Path/renewed/$name" -Password $TestPassword
        }
        foreach ($name in 'folder-a', 'folder-b') {
            Export-TestCertificate (New-TestCertificate -Subject "CN=$name" -Issuer $ca -ClientAuth) -Path "$Path/certs/$name" -Password $TestPassword
        }
        $linked = New-TestCertificate -Subject 'CN=api.contoso.com' -ServerAuth -DnsName api.contoso.com
        Set-Content -LiteralPath "$Path/letsencrypt/live/api/fullchain.pem" -Value $linked.ExportCertificatePem() -NoNewline
        Export-TestCertificate $linked -Path "$Path/letsencrypt/live/api/priv"
        Move-Item -LiteralPath "$Path/letsencrypt/live/api/priv.key" -Destination "$Path/letsencrypt/live/api/privkey.pem"
        Set-Content -LiteralPath "$Path/policies/global.xml" -Value '<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>'
        # The CA with its key, for the setup's Add-Pfx.
        Set-Content -LiteralPath "$Path/ca-with-key.crt" -Value $ca.ExportCertificatePem() -NoNewline
        Set-Content -LiteralPath "$Path/ca-with-key.key" -Value ([System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($ca)).ExportPkcs8PrivateKeyPem() -NoNewline
    }

    # Runs documented code in a fresh runspace (the built module imported, location $Folder, $password and $context
    # set, Read-Host answering with the test password, the setup's helpers defined), bounded by $TimeoutSec.
    function Invoke-DocumentedCode {
        param(
            [Parameter(Mandatory)] [string] $Folder,
            [Parameter(Mandatory)] [string] $Code,
            [string] $Setup = '',
            [hashtable] $Replace = @{},
            [int] $TimeoutSec = 120,
            [switch] $NoContext
        )
        foreach ($key in $Replace.Keys) { $Code = $Code.Replace($key, $Replace[$key]) }
        $prelude = @'
param($Module, $Folder, $Password, $NoContext)
$ErrorActionPreference = 'Continue'
Import-Module $Module -ErrorAction Stop
Set-Location -LiteralPath $Folder
# ~ is the test folder, so that examples under the home folder write nothing outside it.
(Get-PSProvider FileSystem).Home = $Folder
$password = $Password
function Read-Host { param([string] $Prompt, [switch] $AsSecureString) if ($AsSecureString) { $password } else { 'answer' } }
function Get-FreePort { $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(); try { $l.LocalEndpoint.Port } finally { $l.Stop() } }
function Add-Pfx([string] $Id, [int] $ExpiresInDays = 365) {
    $ca = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile((Join-Path $Folder 'ca-with-key.crt'), (Join-Path $Folder 'ca-with-key.key'))
    $key = [System.Security.Cryptography.ECDsa]::Create([System.Security.Cryptography.ECCurve+NamedCurves]::nistP256)
    $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new("CN=$Id", $key, [System.Security.Cryptography.HashAlgorithmName]::SHA256)
    $serial = [byte[]]::new(12); [System.Security.Cryptography.RandomNumberGenerator]::Fill($serial); $serial[0] = $serial[0] -band 0x7f
    $certificate = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::CopyWithPrivateKey($request.Create($ca, [DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddDays($ExpiresInDays), $serial), $key)
    Add-GatewayCertificate -Context $context -CertificateId $Id -Certificate $certificate | Out-Null
}
function New-Backend([string] $Id, [string] $Credential) {
    $parameters = @{ Context = $context; BackendId = $Id; Url = "https://$Id.internal/"; Protocol = 'http' }
    if ($Credential) { $parameters.Credential = New-GatewayBackendCredential -CertificateId $Credential }
    New-GatewayBackend @parameters | Out-Null
}
function New-Api([string] $Id, [string] $Credential) {
    New-GatewayApi -Context $context -ApiId $Id -Path $Id -ServiceUrl "https://$Id.internal/" | Out-Null
    if ($Credential) { Set-ApiGatewayCredential -Context $context -ApiId $Id -CertificateId $Credential | Out-Null }
}
if (-not $NoContext) {
    $context = New-GatewayContext -Path ./gateway.json -ServiceName contoso
    Add-GatewayCertificate -Context $context -CertificateId server-tls -PfxFilePath ./server.pfx -PfxPassword $password | Out-Null
    Set-GatewayHostname -Context $context -HostName localhost -Port (Get-FreePort) -ListenAddress 127.0.0.1 -CertificateId server-tls | Out-Null
}
'@
        $state = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
        $runspace = [runspacefactory]::CreateRunspace($state)
        $runspace.Open()
        $shell = [powershell]::Create()
        $shell.Runspace = $runspace
        try {
            # Setup, then the documented code, in one global scope: errors of the setup fail the test on their own.
            $null = $shell.AddScript($prelude, $false).AddArgument((Get-ApiGatewayModulePath)).AddArgument($Folder).AddArgument($TestPassword).AddArgument([bool]$NoContext)
            $null = $shell.Invoke()
            $setupErrors = @($shell.Streams.Error)
            if ($Setup -and -not $setupErrors) {
                $shell.Commands.Clear(); $null = $shell.AddScript($Setup, $false); $null = $shell.Invoke()
                $setupErrors = @($shell.Streams.Error)
            }
            if ($setupErrors) { throw "The setup failed: $($setupErrors -join '; ')" }
            $shell.Commands.Clear()
            $shell.Streams.ClearStreams()
            $null = $shell.AddScript($Code, $false)
            $async = $shell.BeginInvoke()
            $finished = $async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($TimeoutSec))
            if (-not $finished) { $shell.Stop(); throw "The documented code did not finish within $TimeoutSec s." }
            $output = $shell.EndInvoke($async)
            [pscustomobject]@{ Output = @($output); Errors = @($shell.Streams.Error) }
        }
        finally {
            # A gateway the code started is stopped, whatever happened.
            $shell.Commands.Clear(); $shell.Streams.ClearStreams()
            $null = $shell.AddScript('Get-ChildItem -Filter *.json | ForEach-Object { Stop-Gateway -Context $_.FullName -ErrorAction SilentlyContinue }', $false)
            $null = $shell.Invoke()
            $shell.Dispose()
            $runspace.Dispose()
        }
    }

    function Format-Errors($errors) { ($errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $_" }) -join "`n" }
}

Describe 'Get-Help examples of every cmdlet (Get-GatewayCertificate, Set-GatewayPolicy, Start-Gateway, ...)' {
    It 'has a setup entry for every example' {
        $keys = $Examples | ForEach-Object { "$($_.Cmdlet) $($_.Number)" }
        @($keys | Where-Object { -not $Setup.ContainsKey($_) }) | Should -BeNullOrEmpty -Because 'a new example needs its setup in Documentation.Tests.ps1'
        @($Setup.Keys | Where-Object { $_ -notin $keys }) | Should -BeNullOrEmpty -Because 'an entry whose example is gone should go too'
    }

    It '<Cmdlet> example <Number> runs without errors: <Title>' -ForEach $Examples {
        $folder = Join-Path $TestDrive "$Cmdlet-$Number"
        New-DocumentationFolder -Path $folder
        $replace = @{ '/etc/letsencrypt/live/api/' = "$folder/letsencrypt/live/api/"; ' 9901 ' = " $(Get-FreePort) " }

        $result = Invoke-DocumentedCode -Folder $folder -Code $Code -Setup $Setup["$Cmdlet $Number"] -Replace $replace

        $result.Errors | Should -BeNullOrEmpty -Because (Format-Errors $result.Errors)
    }
}

Describe 'The README walkthrough, executed block by block' {
    BeforeAll {
        $script:Folder = Join-Path $TestDrive 'readme'
        New-DocumentationFolder -Path $Folder
        $readme = Get-Content -LiteralPath (Join-Path $RepoRoot 'README.md') -Raw
        $start = $readme.IndexOf('## Walkthrough')
        $end = $readme.IndexOf("`n## ", $start + 1)
        $script:Blocks = [regex]::Matches($readme.Substring($start, $end - $start), '(?s)```powershell\r?\n(.*?)```') | ForEach-Object { $_.Groups[1].Value }
        $script:Port = Get-FreePort
        # The module by name, as the README imports it: the built module's parent folder on PSModulePath.
        $script:ModuleRoot = Split-Path (Split-Path (Split-Path (Get-ApiGatewayModulePath)))
    }

    It 'has the walkthrough, the rotation and the Pester blocks' {
        $Blocks.Count | Should -Be 3
    }

    It 'runs every block in order on one configuration, and its Pester tests pass' {
        $pesterModule = (Get-Module Pester).Path
        $code = "`$env:PSModulePath = '$ModuleRoot' + [IO.Path]::PathSeparator + `$env:PSModulePath`n" +
            ($Blocks[0..1] -join "`n") + "`n" +
            "Import-Module '$pesterModule'`n" +
            "`$pesterResult = Invoke-Pester -Container (New-PesterContainer -ScriptBlock { $($Blocks[2]) }) -PassThru -Output None`n" +
            "`$pesterResult.Result; `$pesterResult.PassedCount; `$pesterResult.FailedCount"

        $result = Invoke-DocumentedCode -Folder $Folder -Code $code -NoContext -Replace @{ '8443' = "$Port" } -TimeoutSec 300

        $result.Errors | Should -BeNullOrEmpty -Because (Format-Errors $result.Errors)
        $result.Output[-3] | Should -Be 'Passed'
        $result.Output[-2] | Should -Be 4
        $result.Output[-1] | Should -Be 0
    }
}
