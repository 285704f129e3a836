# Shared setup of the ApiGateway Pester suite. Every *.Tests.ps1 dot-sources it in BeforeAll:
#   BeforeAll { . "$PSScriptRoot/common.ps1"; Import-ApiGatewayModule }
# It imports the BUILT module (out/ApiGateway/<version>/ApiGateway.psd1, version from Directory.Build.props, or the
# manifest named by $env:APIGATEWAY_MODULE_PATH), never the sources. Build it first:
#   dotnet publish src/ApiGateway.PowerShell -c Release        (or ./build.ps1 -Task Build)
$script:RepoRoot = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '../..')).Path
. (Join-Path $PSScriptRoot 'TestCertificates.ps1')

function Get-ApiGatewayModulePath {
    if ($env:APIGATEWAY_MODULE_PATH) { return $env:APIGATEWAY_MODULE_PATH }
    [xml] $props = Get-Content -LiteralPath (Join-Path $script:RepoRoot 'Directory.Build.props') -Raw
    $version = $props.SelectSingleNode('/Project/PropertyGroup/VersionPrefix').InnerText
    $path = Join-Path $script:RepoRoot "out/ApiGateway/$version/ApiGateway.psd1"
    if (-not (Test-Path -LiteralPath $path)) {
        throw "The built module is not at '$path'. Build it first: dotnet publish src/ApiGateway.PowerShell -c Release (or ./build.ps1 -Task Build)."
    }
    return $path
}

function Import-ApiGatewayModule {
    Import-Module (Get-ApiGatewayModulePath) -Force -ErrorAction Stop
}

# A fresh configuration in $TestDrive (quiet: the "created" message is tested in Context.Tests.ps1).
function New-TestGateway {
    param([string] $Name = 'gateway')
    New-GatewayContext -Path (Join-Path $TestDrive "$Name.json") -ServiceName contoso -InformationAction SilentlyContinue -ErrorAction Stop
}

# The configuration file's hash, to prove that -WhatIf and refused changes leave it untouched.
function Get-ConfigurationHash {
    param([Parameter(Mandatory)] $Context)
    (Get-FileHash -LiteralPath $Context.ConfigurationPath -Algorithm SHA256).Hash
}

# A client certificate with key, issued by $Issuer, uploaded under $Id.
function Add-TestCertificate {
    param(
        [Parameter(Mandatory)] $Context,
        [Parameter(Mandatory)] [string] $Id,
        [Parameter(Mandatory)] [System.Security.Cryptography.X509Certificates.X509Certificate2] $Issuer,
        [DateTimeOffset] $NotAfter = [DateTimeOffset]::UtcNow.AddDays(90)
    )
    $certificate = New-TestCertificate -Subject "CN=$Id" -Issuer $Issuer -ClientAuth -NotAfter $NotAfter
    Add-GatewayCertificate -Context $Context -CertificateId $Id -Certificate $certificate -WarningAction SilentlyContinue -ErrorAction Stop
}

$script:TestPassword = ConvertTo-SecureString 'Example-Pass-1' -AsPlainText -Force
