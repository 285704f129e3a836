# The documentation as code: a folder with every file the README and the help examples name, and a runner that
# executes documented code in a fresh runspace with the module. Dot-sourced (after common.ps1) by
# Documentation.Tests.ps1 and by Package.Tests.ps1, which runs the README walkthrough with the module installed from a
# repository.

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
        [switch] $NoContext,
        # The module to import: the built one by default; a name ('ApiGateway') imports it through PSModulePath.
        [string] $Module = (Get-ApiGatewayModulePath)
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
        $null = $shell.AddScript($prelude, $false).AddArgument($Module).AddArgument($Folder).AddArgument($TestPassword).AddArgument([bool]$NoContext)
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

# The README walkthrough's PowerShell blocks (the walkthrough, the rotation and the Pester block), in order.
function Get-ReadmeWalkthrough {
    $readme = Get-Content -LiteralPath (Join-Path $RepoRoot 'README.md') -Raw
    $start = $readme.IndexOf('## Walkthrough')
    $end = $readme.IndexOf("`n## ", $start + 1)
    [regex]::Matches($readme.Substring($start, $end - $start), '(?s)```powershell\r?\n(.*?)```') | ForEach-Object { $_.Groups[1].Value }
}

# Runs the README walkthrough as one story in $Folder (made with New-DocumentationFolder): the walkthrough and rotation
# blocks, then its Pester block through Invoke-Pester. The module is imported by name, as the README does, from
# $ModuleRoot (a folder of PSModulePath form: ApiGateway/<version>/ApiGateway.psd1 under it). The last three outputs
# are Pester's result, passed count and failed count.
function Invoke-ReadmeWalkthrough {
    param(
        [Parameter(Mandatory)] [string] $Folder,
        [Parameter(Mandatory)] [string] $ModuleRoot,
        [Parameter(Mandatory)] [string] $PesterModule,
        [int] $TimeoutSec = 300
    )
    $blocks = @(Get-ReadmeWalkthrough)
    if ($blocks.Count -ne 3) { throw "The README walkthrough has $($blocks.Count) PowerShell blocks; the runner expects the walkthrough, the rotation and the Pester block." }
    $code = "`$env:PSModulePath = '$ModuleRoot' + [IO.Path]::PathSeparator + `$env:PSModulePath`n" +
        ($blocks[0..1] -join "`n") + "`n" +
        "Import-Module '$PesterModule'`n" +
        "`$pesterResult = Invoke-Pester -Container (New-PesterContainer -ScriptBlock { $($blocks[2]) }) -PassThru -Output None`n" +
        "`$pesterResult.Result; `$pesterResult.PassedCount; `$pesterResult.FailedCount"
    $port = Get-FreePort
    Invoke-DocumentedCode -Folder $Folder -Code $code -NoContext -Replace @{ '8443' = "$port" } -TimeoutSec $TimeoutSec -Module (Join-Path $ModuleRoot 'ApiGateway')
}
