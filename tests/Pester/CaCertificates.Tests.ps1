BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Root = New-TestCertificate -Subject 'CN=Clients Root' -CertificateAuthority -NotBefore ([DateTimeOffset]::UtcNow.AddDays(-90)) -NotAfter ([DateTimeOffset]::UtcNow.AddYears(2))
    Export-TestCertificate $Root -Path (Join-Path $TestDrive 'clients-root')
}

Describe 'Add-GatewayCaCertificate' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'ca-add'
    }

    It 'trusts a root CA from a DER file, keeping only the public certificate' {
        $added = Add-GatewayCaCertificate -Context $Context -CertificateId clients-root -FilePath (Join-Path $TestDrive 'clients-root.cer')

        $added.CertificateId | Should -Be 'clients-root'
        $added.Thumbprint | Should -Be $Root.Thumbprint
        $added.StoreName | Should -Be 'Root'
    }

    It 'adds an intermediate from a certificate object, warning about the dropped key' {
        $intermediate = New-TestCertificate -Subject 'CN=Issuing CA' -Issuer $Root -CertificateAuthority
        $warnings = $null

        $added = $intermediate | Add-GatewayCaCertificate -Context $Context -StoreName CertificateAuthority -WarningVariable warnings -WarningAction SilentlyContinue

        $added.StoreName | Should -Be 'CertificateAuthority'
        $added.CertificateId | Should -Be 'issuing-ca'
        "$warnings" | Should -BeLike '*private key*'
    }

    It 'reports a CA that is already trusted as AddGatewayCaCertificateExists' {
        $err = $null

        Add-GatewayCaCertificate -Context $Context -CertificateId again -FilePath (Join-Path $TestDrive 'clients-root.crt') -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'AddGatewayCaCertificateExists,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Add-GatewayCaCertificate -Context $Context -Certificate (New-TestCertificate -Subject 'CN=Other CA' -CertificateAuthority) -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}

Describe 'Get-GatewayCaCertificate' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'ca-get'
        $null = Add-GatewayCaCertificate -Context $Context -CertificateId clients-root -Certificate $Root
    }

    It 'gets trusted CAs by wildcard' {
        (Get-GatewayCaCertificate -Context $Context -CertificateId 'clients-*').Thumbprint | Should -Be $Root.Thumbprint
    }

    It 'reports an unknown id as GetGatewayCaCertificateNotFound' {
        $err = $null

        Get-GatewayCaCertificate -Context $Context -CertificateId nope -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayCaCertificateNotFound,*'
    }

    It 'shows a table by default' {
        (Get-GatewayCaCertificate -Context $Context | Format-Table | Out-String -Width 500) | Should -Match 'CertificateId\s+Subject\s+Thumbprint\s+ExpirationDate\s+StoreName'
    }
}

Describe 'Remove-GatewayCaCertificate' {
    BeforeEach {
        $script:Context = New-TestGateway -Name "ca-remove-$([guid]::NewGuid().ToString('N'))"
        $null = Add-GatewayCaCertificate -Context $Context -CertificateId clients-root -Certificate $Root
    }

    It 'stops trusting a CA with -Force' {
        Remove-GatewayCaCertificate -Context $Context -CertificateId clients-root -Force -PassThru | Should -Not -BeNullOrEmpty

        Get-GatewayCaCertificate -Context $Context | Should -BeNullOrEmpty
    }

    It 'refuses while a hostname requires client certificates: RemoveGatewayCaCertificateInUse' {
        $server = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost
        $null = Add-GatewayCertificate -Context $Context -CertificateId server -Certificate $server
        Set-GatewayHostname -Context $Context -HostName localhost -CertificateId server -RequireClientCertificate $true
        $err = $null

        Get-GatewayCaCertificate -Context $Context | Remove-GatewayCaCertificate -Force -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoveGatewayCaCertificateInUse,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
        Get-GatewayCaCertificate -Context $Context | Should -Not -BeNullOrEmpty
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Get-GatewayCaCertificate -Context $Context | Remove-GatewayCaCertificate -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}
