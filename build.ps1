#Requires -Version 7.6
<#
.SYNOPSIS
    Builds and tests the ApiGateway module.
.DESCRIPTION
    Build: `dotnet publish src/ApiGateway.PowerShell`, which assembles the importable module folder
           out/ApiGateway/<version>/ (module, manifest, format file, help, and the gateway host in host/).
    Test:  `dotnet test GatewayModule.sln`, then the Pester suite (tests/Pester) in a child `pwsh -NoProfile`
           against the built folder (a child process never locks the DLLs of this session).
    Every step stops the script with an error when it fails.
.EXAMPLE
    ./build.ps1
    Builds the module in Release and runs every test.
.EXAMPLE
    ./build.ps1 -Task Build; Import-Module ./out/ApiGateway/0.1.0/ApiGateway.psd1
    Builds only, then imports the built module.
.EXAMPLE
    ./build.ps1 -Task Bench -Quick
    Runs the benchmarks (bench/run.sh: BenchmarkDotNet suites, rotation under load, the peer comparison with nginx
    and HAProxy) and writes bench/results/<timestamp>/RESULTS.md; without -Quick the result is also copied to
    bench/RESULTS.md. Needs bash, nginx, HAProxy and a C compiler (Linux or WSL); see bench/README.md.
#>
[CmdletBinding()]
param(
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    [ValidateSet('Build', 'Test', 'All', 'Bench')]
    [string] $Task = 'All',

    # Bench only: the smoke-sized run (bench/run.sh --quick).
    [switch] $Quick
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Invoke-Step {
    param([string] $Name, [scriptblock] $Command)
    Write-Host "==> $Name" -ForegroundColor Cyan
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$Name failed (exit code $LASTEXITCODE)." }
}

if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
    throw 'The .NET SDK (dotnet) is not on PATH. Install the SDK named in global.json: https://dot.net'
}

[xml] $props = Get-Content -LiteralPath (Join-Path $PSScriptRoot 'Directory.Build.props') -Raw
$version = $props.SelectSingleNode('/Project/PropertyGroup/VersionPrefix').InnerText
$manifest = Join-Path $PSScriptRoot "out/ApiGateway/$version/ApiGateway.psd1"

if ($Task -in 'Build', 'All') {
    Invoke-Step 'dotnet publish (module folder)' { dotnet publish (Join-Path $PSScriptRoot 'src/ApiGateway.PowerShell') -c $Configuration }
    if (-not (Test-Path -LiteralPath $manifest)) { throw "The build did not produce $manifest." }
    Write-Host "Module: $manifest"
}

if ($Task -in 'Test', 'All') {
    if (-not (Test-Path -LiteralPath $manifest)) { throw "No built module at $manifest. Run ./build.ps1 -Task Build first." }
    Invoke-Step 'dotnet test' { dotnet test (Join-Path $PSScriptRoot 'GatewayModule.sln') -c $Configuration }

    # Pester 5 in a clean child process, pointed at the built module; -NonInteractive makes a stray prompt fail, not hang.
    $pester = @'
$ErrorActionPreference = 'Stop'
Import-Module Pester -MinimumVersion 5.5 -ErrorAction Stop
$configuration = New-PesterConfiguration
$configuration.Run.Path = $env:APIGATEWAY_PESTER_PATH
$configuration.Run.Exit = $true
$configuration.Output.Verbosity = 'Detailed'
Invoke-Pester -Configuration $configuration
'@
    $env:APIGATEWAY_MODULE_PATH = $manifest
    $env:APIGATEWAY_PESTER_PATH = Join-Path $PSScriptRoot 'tests/Pester'
    try {
        Invoke-Step 'Pester (tests/Pester)' { pwsh -NoProfile -NonInteractive -Command $pester }
    }
    finally {
        Remove-Item Env:APIGATEWAY_MODULE_PATH, Env:APIGATEWAY_PESTER_PATH -ErrorAction SilentlyContinue
    }
}

if ($Task -eq 'Bench') {
    # One implementation of the benchmark run, shared with machines without pwsh: bench/run.sh.
    if (-not (Get-Command bash -ErrorAction SilentlyContinue)) {
        throw 'The benchmarks need bash (bench/run.sh drives nginx, HAProxy and a C load generator): run them on Linux or WSL.'
    }
    $benchArguments = @(if ($Quick) { '--quick' })
    Invoke-Step 'bench/run.sh' { bash (Join-Path $PSScriptRoot 'bench/run.sh') @benchArguments }
}
