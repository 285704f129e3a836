BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
}

Describe 'New-GatewayContext' {
    It 'creates a missing configuration, says so, and returns the context' {
        $path = Join-Path $TestDrive 'created.json'
        $info = $null

        $context = New-GatewayContext -Path $path -ServiceName contoso -InformationVariable info -InformationAction SilentlyContinue

        $path | Should -Exist
        $context.Created | Should -BeTrue
        $context.ServiceName | Should -Be 'contoso'
        $context.Revision | Should -Be 1
        $context.ConfigurationPath | Should -Be $path
        $context.StorePath | Should -Be (Join-Path $TestDrive 'created.store')
        "$info" | Should -BeLike "*Created the gateway configuration*created.json*"
    }

    It 'opens an existing configuration unchanged and warns about another service name' {
        $first = New-GatewayContext -Path (Join-Path $TestDrive 'existing.json') -ServiceName contoso -InformationAction SilentlyContinue
        $hash = Get-ConfigurationHash $first
        $warnings = $null

        $second = New-GatewayContext -Path $first.ConfigurationPath -ServiceName fabrikam -WarningVariable warnings -WarningAction SilentlyContinue

        $second.Created | Should -BeFalse
        $second.ServiceName | Should -Be 'contoso'
        "$warnings" | Should -BeLike "*'fabrikam' was not applied*"
        Get-ConfigurationHash $second | Should -Be $hash
    }

    It 'resolves a relative path against the current location' {
        Push-Location -LiteralPath $TestDrive
        try {
            $context = New-GatewayContext -Path ./relative.json -InformationAction SilentlyContinue
        }
        finally {
            Pop-Location
        }
        $context.ConfigurationPath | Should -Be (Join-Path $TestDrive 'relative.json')
    }

    It 'resolves a path on a PSDrive' {
        $null = New-PSDrive -Name GatewayTest -PSProvider FileSystem -Root $TestDrive
        try {
            $context = New-GatewayContext -Path 'GatewayTest:/on-drive.json' -InformationAction SilentlyContinue
        }
        finally {
            Remove-PSDrive -Name GatewayTest
        }
        $context.ConfigurationPath | Should -Be (Join-Path $TestDrive 'on-drive.json')
    }

    It 'creates nothing under -WhatIf' {
        $path = Join-Path $TestDrive 'whatif.json'

        New-GatewayContext -Path $path -WhatIf | Should -BeNullOrEmpty

        $path | Should -Not -Exist
    }

    It 'fails with NewGatewayContextFolderNotFound when the folder is missing' {
        { New-GatewayContext -Path (Join-Path $TestDrive 'no/such/folder.json') -ErrorAction Stop } |
            Should -Throw -ErrorId 'NewGatewayContextFolderNotFound,*'
    }

    It 'reports a damaged file and never replaces it' {
        $path = Join-Path $TestDrive 'damaged.json'
        Set-Content -LiteralPath $path -Value '{ "schemaVersion": 1, oops' -NoNewline
        $err = $null

        try { New-GatewayContext -Path $path -ErrorAction SilentlyContinue -ErrorVariable err } catch { $err = @($_) }

        $err[0].FullyQualifiedErrorId | Should -BeLike 'NewGatewayContext*,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        Get-Content -LiteralPath $path -Raw | Should -Be '{ "schemaVersion": 1, oops'
    }

    It 'is accepted as a path by every other cmdlet' {
        $context = New-TestGateway -Name 'as-path'
        $err = $null

        Get-GatewayCertificate -Context $context.ConfigurationPath -ErrorVariable err | Should -BeNullOrEmpty
        $context | Get-GatewayApi | Should -BeNullOrEmpty

        $err | Should -BeNullOrEmpty
    }

    It 'fails with GetGatewayApiConfigurationNotFound for a path that is no configuration' {
        { Get-GatewayApi -Context (Join-Path $TestDrive 'missing.json') -ErrorAction Stop } |
            Should -Throw -ErrorId 'GetGatewayApiConfigurationNotFound,*'
    }

    It 'has a default table view' {
        $context = New-TestGateway -Name 'view'

        ($context | Format-Table | Out-String -Width 500) | Should -Match 'ServiceName\s+Revision\s+Created\s+ConfigurationPath'
    }
}
