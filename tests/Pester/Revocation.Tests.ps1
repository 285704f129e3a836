# Get-GatewayRevocation and Set-GatewayRevocation: the revocation mode and the CRL folder, as a script uses them.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
}

Describe 'Get-GatewayRevocation' {
    It 'shows Online without a CRL folder for a new configuration' {
        $context = New-TestGateway -Name 'revocation-get'

        $revocation = Get-GatewayRevocation -Context $context

        $revocation.Mode | Should -Be 'Online'
        $revocation.CrlFolder | Should -BeNullOrEmpty
        $revocation.ConfigurationPath | Should -Be $context.ConfigurationPath
        ($revocation | Format-Table | Out-String) | Should -Match 'CrlFolder'
    }
}

Describe 'Set-GatewayRevocation' {
    BeforeEach {
        $script:Context = New-TestGateway -Name "revocation-set-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $script:Crls = Join-Path $TestDrive "crls-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $null = New-Item -ItemType Directory -Path $Crls
    }

    It 'sets the mode and folder, writes service.revocation, and keeps the folder when only the mode changes' {
        $set = Set-GatewayRevocation -Context $Context -Mode Offline -CrlFolder $Crls -PassThru
        $Context | Set-GatewayRevocation -Mode Online

        $set.Mode | Should -Be 'Offline'
        $set.CrlFolderExists | Should -BeTrue
        $file = Get-Content -Raw -LiteralPath $Context.ConfigurationPath | ConvertFrom-Json
        $file.service.revocation.mode | Should -Be 'online'
        $file.service.revocation.crlFolder | Should -Be (Resolve-Path -LiteralPath $Crls).ProviderPath
    }

    It 'refuses Offline without a folder: SetGatewayRevocationCrlFolderRequired, file unchanged' {
        $before = Get-FileHash -LiteralPath $Context.ConfigurationPath
        $err = $null

        Set-GatewayRevocation -Context $Context -Mode Offline -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayRevocationCrlFolderRequired,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        (Get-FileHash -LiteralPath $Context.ConfigurationPath).Hash | Should -Be $before.Hash
    }

    It 'changes nothing with -WhatIf' {
        $before = Get-FileHash -LiteralPath $Context.ConfigurationPath

        Set-GatewayRevocation -Context $Context -Mode NoCheck -WhatIf

        (Get-FileHash -LiteralPath $Context.ConfigurationPath).Hash | Should -Be $before.Hash
    }

    It 'warns for a folder that does not exist yet, and for NoCheck' {
        $warnings = $null

        Set-GatewayRevocation -Context $Context -Mode NoCheck -CrlFolder (Join-Path $TestDrive 'later') -WarningVariable warnings -WarningAction SilentlyContinue

        $warnings.Count | Should -Be 2
        "$($warnings[0])" | Should -Match 'does not exist yet'
        "$($warnings[1])" | Should -Match 'NoCheck'
    }

    It 'completes the mode names' {
        $completions = TabExpansion2 -inputScript 'Set-GatewayRevocation -Mode Off' -cursorColumn 'Set-GatewayRevocation -Mode Off'.Length

        $completions.CompletionMatches.CompletionText | Should -Be 'Offline'
    }
}
