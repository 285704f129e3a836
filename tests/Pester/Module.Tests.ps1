# The module as pwsh loads it: manifest, exports, format views, argument completers, assembly isolation.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Module = Get-Module -Name ApiGateway
    $script:Manifest = Import-PowerShellDataFile -LiteralPath (Get-ApiGatewayModulePath)
    [xml] $props = Get-Content -LiteralPath (Join-Path $RepoRoot 'Directory.Build.props') -Raw
    $script:Version = $props.SelectSingleNode('/Project/PropertyGroup/VersionPrefix').InnerText
}

Describe 'The ApiGateway module' {
    It 'has the version from Directory.Build.props' {
        $Module.Version | Should -Be ([version] $Version)
    }

    It 'exports exactly the cmdlets of its manifest, and no functions, variables or aliases' {
        @($Module.ExportedCmdlets.Keys | Sort-Object) | Should -Be @($Manifest.CmdletsToExport | Sort-Object)
        $Module.ExportedFunctions.Count | Should -Be 0
        $Module.ExportedAliases.Count | Should -Be 0
        $Module.ExportedVariables.Count | Should -Be 0
    }

    It 'requires PowerShell 7.6 on the Core edition' {
        $Manifest.PowerShellVersion | Should -Be '7.6'
        $Manifest.CompatiblePSEditions | Should -Be 'Core'
    }

    It 'has a format view for every output type' {
        # Primitives (Test-GatewayBackendTls -Quiet's bool) are formatted by PowerShell itself.
        $types = Get-Command -Module ApiGateway | ForEach-Object { $_.OutputType.Type } | Where-Object { $_ -and -not $_.IsPrimitive } | Sort-Object FullName -Unique

        foreach ($type in $types) {
            Get-FormatData -TypeName $type.FullName | Should -Not -BeNullOrEmpty -Because "$($type.FullName) needs a default view"
        }
    }

    It 'loads only its own assemblies from the module folder' {
        $fromModule = [System.AppDomain]::CurrentDomain.GetAssemblies() |
            Where-Object { -not $_.IsDynamic -and $_.Location -and $_.Location.StartsWith($Module.ModuleBase) }

        $fromModule.GetName().Name | Sort-Object | Should -Be @('ApiGateway', 'ApiGateway.Core')
    }
}

Describe 'Argument completers of Get-GatewayCertificate, Get-GatewayBackend and Get-GatewayApi' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'completion'
        $ca = New-TestCertificate -Subject 'CN=Completion CA' -CertificateAuthority
        $null = Add-TestCertificate -Context $Context -Id backend-2025 -Issuer $ca
        $null = Add-TestCertificate -Context $Context -Id backend-2026 -Issuer $ca
        $null = New-GatewayBackend -Context $Context -BackendId billing -Url 'https://billing.internal/' -Protocol http
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -BackendId billing

        function Get-Completion([string] $InputScript) {
            (TabExpansion2 -inputScript $InputScript -cursorColumn $InputScript.Length).CompletionMatches.CompletionText
        }
    }

    It 'completes certificate ids from the configuration named by -Context' {
        Get-Completion "Get-GatewayCertificate -Context '$($Context.ConfigurationPath)' -CertificateId back" | Should -Be @('backend-2025', 'backend-2026')
    }

    It 'completes backend and API ids' {
        Get-Completion "Get-GatewayBackend -Context '$($Context.ConfigurationPath)' -BackendId " | Should -Be 'billing'
        Get-Completion "Set-ApiGatewayCredential -Context '$($Context.ConfigurationPath)' -ApiId o" | Should -Be 'orders'
    }
}
