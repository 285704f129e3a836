# The package as a user gets it: ApiGateway.<version>.nupkg (./build.ps1 -Task Package) published to a local file
# repository with PSResourceGet and installed from it by name into a fresh scope, then the README walkthrough with
# the installed module (its gateway host included). Everything happens in a child pwsh whose home and data folders
# are the test's own, so the user's repositories (PSResourceRepository.xml) and module folders are never touched.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    [xml] $props = Get-Content -LiteralPath (Join-Path $RepoRoot 'Directory.Build.props') -Raw
    $script:Version = $props.SelectSingleNode('/Project/PropertyGroup/VersionPrefix').InnerText
    $script:Package = if ($env:APIGATEWAY_PACKAGE_PATH) { $env:APIGATEWAY_PACKAGE_PATH } else { Join-Path $RepoRoot "out/packages/ApiGateway.$Version.nupkg" }
    if (-not (Test-Path -LiteralPath $Package)) {
        throw "The package is not at '$Package'. Build it first: ./build.ps1 -Task Package."
    }

    # The pwsh running this suite, as a command line for a child (the dotnet tool runs as `dotnet pwsh.dll`).
    function Get-PwshCommandLine {
        $process = [Environment]::ProcessPath
        if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { return @($process, (Join-Path $PSHOME 'pwsh.dll')) }
        return @($process)
    }
}

Describe 'ApiGateway.<version>.nupkg' {
    BeforeAll {
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [System.IO.Compression.ZipFile]::OpenRead($Package)
        try {
            $script:Entries = @($zip.Entries | ForEach-Object FullName)
            $nuspecEntry = $zip.Entries | Where-Object FullName -eq 'ApiGateway.nuspec'
            $reader = [System.IO.StreamReader]::new($nuspecEntry.Open())
            try { [xml] $script:Nuspec = $reader.ReadToEnd() } finally { $reader.Dispose() }
        }
        finally { $zip.Dispose() }
    }

    It 'is named by the version and holds the module folder at its root, the gateway host in host/' {
        Split-Path $Package -Leaf | Should -Be "ApiGateway.$Version.nupkg"
        foreach ($file in 'ApiGateway.psd1', 'ApiGateway.dll', 'ApiGateway.Core.dll', 'ApiGateway.format.ps1xml', 'LICENSE', 'CHANGELOG.md',
            'en-US/ApiGateway.dll-Help.xml', 'en-US/about_ApiGateway.help.txt', 'systemd/apigateway@.service',
            'host/ApiGateway.Host.dll', 'host/ApiGateway.Host.runtimeconfig.json', 'host/Yarp.ReverseProxy.dll') {
            $Entries | Should -Contain $file
        }
        # One portable host: no native apphost of the build machine.
        $Entries | Should -Not -Contain 'host/ApiGateway.Host'
        $Entries | Should -Not -Contain 'host/ApiGateway.Host.exe'
    }

    It 'carries the manifest''s metadata in its nuspec (what a repository shows and searches)' {
        $metadata = $Nuspec.package.metadata
        $manifest = Import-PowerShellDataFile -LiteralPath (Get-ApiGatewayModulePath)
        $metadata.id | Should -Be 'ApiGateway'
        $metadata.version | Should -Be $Version
        $metadata.authors | Should -Be $manifest.Author
        $metadata.description | Should -Be $manifest.Description
        $metadata.licenseUrl | Should -Be $manifest.PrivateData.PSData.LicenseUri
        $metadata.projectUrl | Should -Be $manifest.PrivateData.PSData.ProjectUri
        $metadata.releaseNotes | Should -Match 'first release'
        $metadata.tags -split ' ' | Should -Contain 'PSModule'
        $metadata.tags -split ' ' | Should -Contain 'PSEdition_Core'
    }

    It 'publishes to a local repository, installs by name into a fresh scope, and the README walkthrough runs with the installed module' {
        $sandbox = Join-Path $TestDrive 'sandbox'
        $home_ = Join-Path $sandbox 'home'
        $repository = Join-Path $sandbox 'repository'
        $walkthrough = Join-Path $sandbox 'walkthrough'
        # .NET answers GetFolderPath with an empty string for a folder that does not exist (and PSResourceGet would then
        # write relative to the working directory): the sandbox has them all, and the child works inside it.
        $null = New-Item -ItemType Directory -Force -Path $repository, "$home_/.local/share", "$home_/.config", "$home_/.cache", "$home_/AppData/Local", "$home_/AppData/Roaming"
        $realRepositories = Join-Path ([Environment]::GetFolderPath('LocalApplicationData')) 'PSResourceGet/PSResourceRepository.xml'
        $before = if (Test-Path -LiteralPath $realRepositories) { (Get-FileHash -LiteralPath $realRepositories).Hash }
        $userModules = $env:PSModulePath -split [IO.Path]::PathSeparator | Where-Object { $_ -like "$HOME*" } | Select-Object -First 1
        $userModulesBefore = if ($userModules -and (Test-Path -LiteralPath $userModules)) { @(Get-ChildItem -LiteralPath $userModules -Recurse -Force | ForEach-Object FullName) }

        $script = @'
param($Package, $Repository, $Walkthrough, $Common, $Documentation, $Pester)
$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name ApiGatewayTest -Uri $Repository -Trusted
try {
    Publish-PSResource -NupkgPath $Package -Repository ApiGatewayTest
    $found = Find-PSResource -Name ApiGateway -Repository ApiGatewayTest
    if ($IsWindows) {
        # CurrentUser on Windows is the Documents folder, which no variable moves: save by name into the sandbox instead.
        $modules = Join-Path $env:LOCALAPPDATA 'Modules'
        Save-PSResource -Name ApiGateway -Repository ApiGatewayTest -Path $modules -TrustRepository
    }
    else {
        Install-PSResource -Name ApiGateway -Repository ApiGatewayTest -Scope CurrentUser -TrustRepository
        $modules = Join-Path $env:XDG_DATA_HOME 'powershell/Modules'
    }
    $installed = Get-InstalledPSResource -Name ApiGateway -Path $modules
    Import-Module ApiGateway
    $module = Get-Module ApiGateway
    $about = Get-Help about_ApiGateway | Out-String
    . $Common
    . $Documentation
    New-DocumentationFolder -Path $Walkthrough
    $result = Invoke-ReadmeWalkthrough -Folder $Walkthrough -ModuleRoot $modules -PesterModule $Pester
    $report = [pscustomobject]@{
        Found = "$($found.Name) $($found.Version)"
        Installed = "$($installed.Name) $($installed.Version)"
        InstalledLocation = $installed.InstalledLocation
        ModuleBase = $module.ModuleBase
        About = $about
        Errors = @($result.Errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $_" })
        Pester = @($result.Output[-3], $result.Output[-2], $result.Output[-1])
        Repositories = @()
    }
}
finally {
    Unregister-PSResourceRepository -Name ApiGatewayTest
}
$report.Repositories = @(Get-PSResourceRepository | ForEach-Object Name)
$report | ConvertTo-Json -Depth 3
'@
        $scriptFile = Join-Path $sandbox 'install.ps1'
        Set-Content -LiteralPath $scriptFile -Value $script
        # The child's user folders are the sandbox's: PSResourceGet keeps its repositories and CurrentUser modules there.
        $saved = @{}
        $environment = @{
            HOME = $home_; XDG_DATA_HOME = "$home_/.local/share"; XDG_CONFIG_HOME = "$home_/.config"; XDG_CACHE_HOME = "$home_/.cache"
            LOCALAPPDATA = "$home_/AppData/Local"; APPDATA = "$home_/AppData/Roaming"
            PSModulePath = (Join-Path $PSHOME 'Modules'); APIGATEWAY_MODULE_PATH = $null
        }
        foreach ($name in $environment.Keys) {
            $saved[$name] = [Environment]::GetEnvironmentVariable($name)
            [Environment]::SetEnvironmentVariable($name, $environment[$name])
        }
        try {
            $pwsh = @(Get-PwshCommandLine)
            $arguments = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $scriptFile,
                '-Package', $Package, '-Repository', $repository, '-Walkthrough', $walkthrough,
                '-Common', (Join-Path $PSScriptRoot 'common.ps1'), '-Documentation', (Join-Path $PSScriptRoot 'Documentation.ps1'), '-Pester', (Get-Module Pester).Path)
            Push-Location -LiteralPath $sandbox
            try {
                $output = & $pwsh[0] @arguments 2>&1
                $exitCode = $LASTEXITCODE
            }
            finally { Pop-Location }
        }
        finally {
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }

        $exitCode | Should -Be 0 -Because ($output -join "`n")
        $json = ($output | Where-Object { $_ -is [string] }) -join "`n"
        $report = $json.Substring($json.IndexOf('{')) | ConvertFrom-Json
        $report.Found | Should -Be "ApiGateway $Version"
        $report.Installed | Should -Be "ApiGateway $Version"
        $report.ModuleBase | Should -BeLike "$home_*"
        $report.About | Should -Match 'about_ApiGateway'
        $report.Errors | Should -BeNullOrEmpty -Because ($report.Errors -join "`n")
        $report.Pester | Should -Be @('Passed', 4, 0)
        $report.Repositories | Should -Not -Contain 'ApiGatewayTest' -Because 'the test repository is unregistered after the run'
        @(Get-ChildItem -LiteralPath $sandbox -Directory | ForEach-Object Name) | Should -Not -Contain 'PSResourceGet' -Because 'PSResourceGet must find the sandbox''s data folder, not fall back to the working directory'
        if (-not $IsWindows) {
            # PSResourceGet kept its repository list in the sandbox, not in the user's data folder.
            Test-Path -LiteralPath "$home_/.local/share/PSResourceGet/PSResourceRepository.xml" | Should -BeTrue
            $report.InstalledLocation | Should -BeLike "$home_/.local/share/powershell/Modules*"
        }
        # The user's own repositories and modules are as they were.
        $after = if (Test-Path -LiteralPath $realRepositories) { (Get-FileHash -LiteralPath $realRepositories).Hash }
        $after | Should -Be $before
        if ($userModules -and (Test-Path -LiteralPath $userModules)) {
            @(Get-ChildItem -LiteralPath $userModules -Recurse -Force | ForEach-Object FullName | Where-Object { $_ -like '*ApiGateway*' -and $_ -notin $userModulesBefore }) | Should -BeNullOrEmpty
        }
    }
}
