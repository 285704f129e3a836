#Requires -Version 7.6
<#
.SYNOPSIS
    Builds and tests the ApiGateway module.
.DESCRIPTION
    Build: `dotnet publish src/ApiGateway.PowerShell`, which assembles the importable module folder
           out/ApiGateway/<version>/ (module, manifest, format file, help, and the gateway host in host/).
    Package: the module folder as a PowerShell module package, out/packages/ApiGateway.<version>.nupkg
           (PSResourceGet's Compress-PSResource), which Publish-PSResource -NupkgPath puts into a repository.
    Test:  every xunit test (`dotnet test GatewayModule.sln`, results as JUnit XML), the PowerShell parser over every
           .ps1/.psm1/.psd1 of the repository (zero errors), then the whole Pester suite (tests/Pester, Pester from
           NuGet, imported by path) in a child pwsh against the built folder (a child process never locks the DLLs of
           this session). Results land in TestResults/ (git-ignored): xunit/<assembly>.xml and pester.xml.
    Every step stops the script with an error (exit code 1) when it fails or cannot run.

    On a machine with only the .NET SDK, the test command in README.md brings pwsh from the repository's tool
    manifest first: dotnet tool restore && dotnet pwsh -NoProfile -NonInteractive -File ./build.ps1
.EXAMPLE
    ./build.ps1
    Builds the module in Release and runs every test.
.EXAMPLE
    ./build.ps1 -Task Build; Import-Module ./out/ApiGateway/0.1.0/ApiGateway.psd1
    Builds only, then imports the built module.
.EXAMPLE
    ./build.ps1 -Task Package
    Builds the module folder and packs it: out/packages/ApiGateway.<version>.nupkg.
.EXAMPLE
    ./build.ps1 -Task Pester
    Runs only the Pester suite against the module folder that is already built.
.EXAMPLE
    ./build.ps1 -Task Mutation -MutationTarget Host
    Mutation testing (Stryker.NET, the repo-local dotnet-stryker tool) of the code that decides access: Host runs its
    three file groups (HostExpressions, HostPipeline, HostTls; tests/mutation/host-*.json list the files and the
    tests that reach them), Core tests/mutation/core.json; the reports land in TestResults/mutation/<group>/ and the
    score per file is printed.
    Slow (tens of minutes): not part of the per-commit test command. tests/MUTATION.md records the scores.
.EXAMPLE
    ./build.ps1 -Task Fuzz -FuzzCount 1000000
    The fuzzing run (bench/fuzz): generated and mutated configuration files, policy documents and policy expressions
    in watched worker processes; prints the outcomes and every finding, writes each failing input to
    tests/ApiGateway.Host.Tests/Fuzz/regressions/ and fails when anything failed. See bench/fuzz/README.md.
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

    [ValidateSet('Build', 'Package', 'Test', 'Pester', 'All', 'Bench', 'Mutation', 'Fuzz')]
    [string] $Task = 'All',

    # Mutation only: which code under test (tests/mutation/<name>.json lists its files; Host is its three groups).
    [ValidateSet('Core', 'Host', 'HostExpressions', 'HostPipeline', 'HostTls', 'All')]
    [string] $MutationTarget = 'All',

    # Bench only: the smoke-sized run (bench/run.sh --quick).
    [switch] $Quick,

    # Fuzz only: how many inputs (split 45 % configurations, 45 % policies, 10 % expressions), and the seed (random when 0).
    [long] $FuzzCount = 1000000,
    [ulong] $FuzzSeed = 0
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

# Test steps that failed; the later test steps still run, so one run reports every failure, and the script fails at the end.
$script:FailedSteps = [System.Collections.Generic.List[string]]::new()

function Invoke-Step {
    param([string] $Name, [scriptblock] $Command, [switch] $ContinueOnFailure)
    Write-Host "==> $Name" -ForegroundColor Cyan
    & $Command
    if ($LASTEXITCODE -ne 0) {
        if (-not $ContinueOnFailure) { throw "$Name failed (exit code $LASTEXITCODE)." }
        Write-Host "$Name failed (exit code $LASTEXITCODE)." -ForegroundColor Red
        $script:FailedSteps.Add("$Name (exit code $LASTEXITCODE)")
    }
}

# The pwsh this script runs in, as a command line for a child process: the dotnet tool runs as `dotnet pwsh.dll`.
function Get-PwshCommandLine {
    $process = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { return @($process, (Join-Path $PSHOME 'pwsh.dll')) }
    return @($process)
}

# Pester 5 from the NuGet package restored by tests/ApiGateway.PowerShell.Tests (PackageDownload): its tools/ folder
# is the module. There is no PowerShell Gallery on our build machines, and nothing is installed by hand.
function Get-PesterManifest {
    [xml] $packages = Get-Content -LiteralPath (Join-Path $PSScriptRoot 'Directory.Packages.props') -Raw
    $pesterVersion = $packages.SelectSingleNode('/Project/PropertyGroup/PesterVersion').InnerText
    $root = $env:NUGET_PACKAGES
    if (-not $root) {
        $line = dotnet nuget locals global-packages --list | Select-Object -Last 1
        $root = ($line -replace '^\s*global-packages:\s*', '').Trim()
    }
    $path = Join-Path $root "pester/$pesterVersion/tools/Pester.psd1"
    if (-not (Test-Path -LiteralPath $path)) {
        Invoke-Step "dotnet restore (Pester $pesterVersion)" { dotnet restore (Join-Path $PSScriptRoot 'tests/ApiGateway.PowerShell.Tests') --nologo -v:q }
    }
    if (-not (Test-Path -LiteralPath $path)) { throw "Pester $pesterVersion is not at '$path' after the restore of tests/ApiGateway.PowerShell.Tests." }
    return $path
}

# Every PowerShell file of the repository must parse without errors (build output and dependencies excluded).
function Test-PowerShellSyntax {
    $skip = [regex] '[\\/](\.git|bin|obj|out|node_modules|TestResults|BenchmarkDotNet\.Artifacts)[\\/]'
    $files = Get-ChildItem -LiteralPath $PSScriptRoot -Recurse -File -Include '*.ps1', '*.psm1', '*.psd1' |
        Where-Object { -not $skip.IsMatch($_.FullName.Substring($PSScriptRoot.Length)) }
    $failures = foreach ($file in $files) {
        $tokens = $errors = $null
        $null = [System.Management.Automation.Language.Parser]::ParseFile($file.FullName, [ref] $tokens, [ref] $errors)
        foreach ($e in $errors) { '{0}:{1}:{2}: {3}' -f $file.FullName, $e.Extent.StartLineNumber, $e.Extent.StartColumnNumber, $e.Message }
    }
    if ($failures) { throw "PowerShell parse errors:`n$($failures -join "`n")" }
    Write-Host "Parsed $(@($files).Count) PowerShell files: 0 errors."
}

# The .editorconfig rules the compiler cannot check (EnforceCodeStyleInBuild covers the C# ones): LF line endings, a
# final newline, and no trailing whitespace outside Markdown (where two trailing spaces are a line break).
function Test-TextFileRules {
    $skip = [regex] '[\\/](\.git|bin|obj|out|node_modules|TestResults|BenchmarkDotNet\.Artifacts|results)[\\/]'
    $extensions = '.cs', '.ps1', '.psm1', '.psd1', '.ps1xml', '.json', '.xml', '.csproj', '.props', '.targets', '.sln', '.sh', '.py', '.yml', '.yaml', '.md', '.txt'
    $problems = foreach ($file in Get-ChildItem -LiteralPath $PSScriptRoot -Recurse -File | Where-Object { $_.Extension -in $extensions -and -not $skip.IsMatch($_.FullName.Substring($PSScriptRoot.Length)) }) {
        $text = [IO.File]::ReadAllText($file.FullName)
        if ($text.Length -eq 0) { continue }
        $relative = $file.FullName.Substring($PSScriptRoot.Length + 1)
        if ($text.Contains("`r")) { "${relative}: CR line endings (the repository uses LF)" }
        if (-not $text.EndsWith("`n")) { "${relative}: no final newline" }
        if ($file.Extension -ne '.md' -and $text -match '(?m)[ \t]+$') { "${relative}: trailing whitespace" }
    }
    if ($problems) { throw ".editorconfig rules broken:`n$($problems -join "`n")" }
}

if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
    throw 'The .NET SDK (dotnet) is not on PATH. Install the SDK named in global.json: https://dot.net'
}

[xml] $props = Get-Content -LiteralPath (Join-Path $PSScriptRoot 'Directory.Build.props') -Raw
$version = $props.SelectSingleNode('/Project/PropertyGroup/VersionPrefix').InnerText
$manifest = Join-Path $PSScriptRoot "out/ApiGateway/$version/ApiGateway.psd1"
$package = Join-Path $PSScriptRoot "out/packages/ApiGateway.$version.nupkg"
$results = Join-Path $PSScriptRoot 'TestResults'

if ($Task -in 'Build', 'Package', 'All') {
    Invoke-Step 'dotnet publish (module folder)' { dotnet publish (Join-Path $PSScriptRoot 'src/ApiGateway.PowerShell') -c $Configuration --nologo }
    if (-not (Test-Path -LiteralPath $manifest)) { throw "The build did not produce $manifest." }
    Write-Host "Module: $manifest"
}

# The package the Pester suite installs from a local repository, so Test and Pester make it too.
if ($Task -in 'Package', 'Test', 'Pester', 'All') {
    if (-not (Test-Path -LiteralPath $manifest)) { throw "No built module at $manifest. Run ./build.ps1 -Task Build first." }
    Write-Host '==> Compress-PSResource (module package)' -ForegroundColor Cyan
    $null = New-Item -ItemType Directory -Path (Split-Path $package) -Force
    Remove-Item -LiteralPath $package -ErrorAction SilentlyContinue
    # PSResourceGet (shipped with pwsh 7.6) writes the nuspec from the manifest (description, author, licence and
    # project URIs, tags, release notes) and packs the module folder at the package's root, host/ included.
    Compress-PSResource -Path (Split-Path $manifest) -DestinationPath (Split-Path $package)
    if (-not (Test-Path -LiteralPath $package)) { throw "Compress-PSResource did not produce $package." }
    Write-Host "Package: $package"
}

if ($Task -in 'Test', 'All') {
    if (-not (Test-Path -LiteralPath $manifest)) { throw "No built module at $manifest. Run ./build.ps1 -Task Build first." }
    Remove-Item -LiteralPath $results -Recurse -Force -ErrorAction SilentlyContinue
    $junit = 'junit;LogFilePath={0}' -f (Join-Path $results 'xunit/{assembly}.xml')
    Invoke-Step 'dotnet test (xunit)' -ContinueOnFailure { dotnet test (Join-Path $PSScriptRoot 'GatewayModule.sln') -c $Configuration --nologo --logger $junit --logger 'console;verbosity=normal' }
    Write-Host '==> PowerShell parser (every .ps1, .psm1, .psd1)' -ForegroundColor Cyan
    try { Test-PowerShellSyntax } catch { Write-Host $_ -ForegroundColor Red; $script:FailedSteps.Add('PowerShell parser') }
    Write-Host '==> .editorconfig text rules (LF, final newline, no trailing whitespace)' -ForegroundColor Cyan
    try { Test-TextFileRules; Write-Host 'Text files: 0 problems.' } catch { Write-Host $_ -ForegroundColor Red; $script:FailedSteps.Add('.editorconfig text rules') }
}

if ($Task -in 'Test', 'Pester', 'All') {
    if (-not (Test-Path -LiteralPath $manifest)) { throw "No built module at $manifest. Run ./build.ps1 -Task Build first." }
    $pesterManifest = Get-PesterManifest
    $null = New-Item -ItemType Directory -Path $results -Force
    # Pester 5 in a clean child process, pointed at the built module; -NonInteractive makes a stray prompt fail, not
    # hang. Its exit code is the number of failed tests and blocks; a suite that ran nothing fails too, and in CI so does
    # one that skipped a test.
    $pester = @'
$ErrorActionPreference = 'Stop'
Import-Module -Name $env:APIGATEWAY_PESTER_MODULE -ErrorAction Stop
$configuration = New-PesterConfiguration
$configuration.Run.Path = $env:APIGATEWAY_PESTER_PATH
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Normal'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'JUnitXml'
$configuration.TestResult.OutputPath = $env:APIGATEWAY_PESTER_RESULT
$result = Invoke-Pester -Configuration $configuration
"Pester $((Get-Module Pester).Version): $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount) skipped, $($result.NotRunCount) not run, $($result.FailedBlocksCount + $result.FailedContainersCount) failed blocks/containers ($($result.Result))."
if ($result.Result -ne 'Passed' -or $result.PassedCount -eq 0) { exit [Math]::Max(1, $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount) }
# In CI (CI=true, set by .ci/run) a skipped test fails the suite, as the xunit tests that need a program do.
if ($env:CI -eq 'true' -and ($result.SkippedCount + $result.NotRunCount) -gt 0) { Write-Host "CI: $($result.SkippedCount) Pester test(s) skipped and $($result.NotRunCount) not run; in CI every test runs."; exit 1 }
exit 0
'@
    $env:APIGATEWAY_MODULE_PATH = $manifest
    $env:APIGATEWAY_PESTER_PATH = Join-Path $PSScriptRoot 'tests/Pester'
    $env:APIGATEWAY_PESTER_MODULE = $pesterManifest
    $env:APIGATEWAY_PESTER_RESULT = Join-Path $results 'pester.xml'
    $env:APIGATEWAY_PACKAGE_PATH = $package
    $pwsh = @(Get-PwshCommandLine)
    $pwshArguments = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $pester)
    try {
        Invoke-Step "Pester (tests/Pester, $pesterManifest)" -ContinueOnFailure { & $pwsh[0] @pwshArguments }
    }
    finally {
        Remove-Item Env:APIGATEWAY_MODULE_PATH, Env:APIGATEWAY_PESTER_PATH, Env:APIGATEWAY_PESTER_MODULE, Env:APIGATEWAY_PESTER_RESULT, Env:APIGATEWAY_PACKAGE_PATH -ErrorAction SilentlyContinue
    }
    Write-Host "Test results: $results"
}

if ($script:FailedSteps.Count -gt 0) {
    throw "Failed: $($script:FailedSteps -join '; ')."
}

if ($Task -eq 'Mutation') {
    Invoke-Step 'dotnet tool restore' { dotnet tool restore }
    $hostGroups = 'HostExpressions', 'HostPipeline', 'HostTls'
    $targets = switch ($MutationTarget) {
        'All' { @('Core') + $hostGroups }
        'Host' { $hostGroups }
        default { $MutationTarget }
    }
    foreach ($target in $targets) {
        # HostTls -> tests/mutation/host-tls.json, run from the Host test project.
        $name = ($target -creplace '(?<=.)([A-Z])', '-$1').ToLowerInvariant()
        $project = if ($target -like 'Host*') { 'Host' } else { $target }
        $config = Join-Path $PSScriptRoot "tests/mutation/$name.json"
        $output = Join-Path $results "mutation/$target"
        Push-Location -LiteralPath (Join-Path $PSScriptRoot "tests/ApiGateway.$project.Tests")
        try {
            Invoke-Step "Stryker ($target)" { dotnet stryker --config-file $config --output $output }
        }
        finally {
            Pop-Location
        }
        $report = Get-Content -LiteralPath (Join-Path $output 'reports/mutation-report.json') -Raw | ConvertFrom-Json
        foreach ($file in $report.files.PSObject.Properties) {
            $mutants = @($file.Value.mutants)
            $killed = @($mutants | Where-Object status -in 'Killed', 'Timeout').Count
            $survived = @($mutants | Where-Object status -in 'Survived', 'NoCoverage').Count
            $score = if ($killed + $survived) { [Math]::Round(100 * $killed / ($killed + $survived), 1) } else { 100 }
            [pscustomobject]@{ File = [IO.Path]::GetRelativePath($PSScriptRoot, $file.Name); Killed = $killed; Survived = $survived; Score = $score }
        }
    }
}

if ($Task -eq 'Fuzz') {
    $fuzzProject = Join-Path $PSScriptRoot 'bench/fuzz/ApiGateway.Fuzz'
    Invoke-Step 'dotnet build bench/fuzz' { dotnet build $fuzzProject -c Release --nologo -v quiet }
    $fuzzArguments = @('run', '--count', $FuzzCount) + @(if ($FuzzSeed -ne 0) { '--seed', $FuzzSeed })
    Invoke-Step "fuzz ($FuzzCount inputs)" { dotnet (Join-Path $fuzzProject 'bin/Release/net10.0/ApiGateway.Fuzz.dll') @fuzzArguments }
}

if ($Task -eq 'Bench') {
    # One implementation of the benchmark run, shared with machines without pwsh: bench/run.sh.
    if (-not (Get-Command bash -ErrorAction SilentlyContinue)) {
        throw 'The benchmarks need bash (bench/run.sh drives nginx, HAProxy and a C load generator): run them on Linux or WSL.'
    }
    $benchArguments = @(if ($Quick) { '--quick' })
    Invoke-Step 'bench/run.sh' { bash (Join-Path $PSScriptRoot 'bench/run.sh') @benchArguments }
}
