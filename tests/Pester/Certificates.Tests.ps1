BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Ca = New-TestCertificate -Subject 'CN=Pester CA' -CertificateAuthority -NotBefore ([DateTimeOffset]::UtcNow.AddDays(-90)) -NotAfter ([DateTimeOffset]::UtcNow.AddYears(2))
}

Describe 'Add-GatewayCertificate' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'add'
        $script:Client = New-TestCertificate -Subject 'CN=backend-2025' -Issuer $Ca -ClientAuth
        Export-TestCertificate $Client -Path (Join-Path $TestDrive 'backend-2025') -Password $TestPassword
    }

    It 'uploads a PFX with a SecureString password' {
        $added = Add-GatewayCertificate -Context $Context -CertificateId backend-2025 -PfxFilePath (Join-Path $TestDrive 'backend-2025.pfx') -PfxPassword $TestPassword

        $added.CertificateId | Should -Be 'backend-2025'
        $added.Thumbprint | Should -Be $Client.Thumbprint
        $added.Subject | Should -Be 'CN=backend-2025'
        $added.Issuer | Should -Be 'CN=Pester CA'
        $added.HasPrivateKey | Should -BeTrue
        $added.Source | Should -Be 'Uploaded'
        $added.ExpirationDate | Should -BeOfType [datetime]
        Get-Content -LiteralPath $Context.ConfigurationPath -Raw | Should -Not -Match 'PRIVATE KEY'
    }

    It 'never takes the password as a plain string' {
        { Add-GatewayCertificate -Context $Context -CertificateId plain -PfxFilePath (Join-Path $TestDrive 'backend-2025.pfx') -PfxPassword 'Example-Pass-1' -ErrorAction Stop } |
            Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
    }

    It 'reports a wrong password as AddGatewayCertificateWrongPassword, a SecurityError' {
        $err = $null

        Add-GatewayCertificate -Context $Context -CertificateId wrong -PfxFilePath (Join-Path $TestDrive 'backend-2025.pfx') -PfxPassword (ConvertTo-SecureString 'nope' -AsPlainText -Force) -ErrorAction SilentlyContinue -ErrorVariable err

        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AddGatewayCertificateWrongPassword,*'
        $err[0].CategoryInfo.Category | Should -Be 'SecurityError'
        Get-GatewayCertificate -Context $Context -CertificateId wrong* | Should -BeNullOrEmpty
    }

    It 'reports an existing id as AddGatewayCertificateExists' {
        $err = $null

        Add-GatewayCertificate -Context $Context -CertificateId backend-2025 -Certificate $Client -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'AddGatewayCertificateExists,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }

    It 'uploads a PEM certificate with its key file, paths relative to the current location' {
        $pem = New-TestCertificate -Subject 'CN=pem-client' -Issuer $Ca -ClientAuth
        Export-TestCertificate $pem -Path (Join-Path $TestDrive 'pem-client')
        Push-Location -LiteralPath $TestDrive
        try {
            $added = Add-GatewayCertificate -Context $Context -CertificateId pem-client -PemFilePath ./pem-client.crt -KeyFilePath ./pem-client.key
        }
        finally {
            Pop-Location
        }
        $added.HasPrivateKey | Should -BeTrue
        $added.Thumbprint | Should -Be $pem.Thumbprint
    }

    It 'links a file that another tool rotates' {
        $first = New-TestCertificate -Subject 'CN=linked' -Issuer $Ca -ClientAuth
        Export-TestCertificate $first -Path (Join-Path $TestDrive 'linked')

        $added = Add-GatewayCertificate -Context $Context -CertificateId linked -LinkedPath (Join-Path $TestDrive 'linked.crt') -KeyFilePath (Join-Path $TestDrive 'linked.key')
        $renewed = New-TestCertificate -Subject 'CN=linked' -Issuer $Ca -ClientAuth
        Export-TestCertificate $renewed -Path (Join-Path $TestDrive 'linked')

        $added.Source | Should -Be 'LinkedFile'
        $added.LinkedPath | Should -Be (Join-Path $TestDrive 'linked.crt')
        (Get-GatewayCertificate -Context $Context -CertificateId linked).Thumbprint | Should -Be $renewed.Thumbprint
    }

    It 'takes certificate objects from the pipeline and makes ids from their names' {
        $piped = New-TestCertificate -Subject 'CN=piped.contoso.com' -Issuer $Ca -ClientAuth

        $added = $piped | Add-GatewayCertificate -Context $Context

        $added.CertificateId | Should -Be 'piped-contoso-com'
    }

    It 'takes PFX files from Get-ChildItem by their PSPath' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'batch')
        foreach ($name in 'batch-a', 'batch-b') {
            Export-TestCertificate (New-TestCertificate -Subject "CN=$name" -Issuer $Ca -ClientAuth) -Path (Join-Path $folder.FullName $name) -Password $TestPassword
        }

        $added = Get-ChildItem -LiteralPath $folder.FullName -Filter *.pfx | Add-GatewayCertificate -Context $Context -PfxPassword $TestPassword

        $added.CertificateId | Sort-Object | Should -Be @('batch-a', 'batch-b')
    }

    It 'accepts an expired certificate with a warning' {
        $expired = New-TestCertificate -Subject 'CN=expired' -Issuer $Ca -ClientAuth -NotBefore ([DateTimeOffset]::UtcNow.AddDays(-60)) -NotAfter ([DateTimeOffset]::UtcNow.AddDays(-1))
        $warnings = $null

        $added = Add-GatewayCertificate -Context $Context -CertificateId expired -Certificate $expired -WarningVariable warnings -WarningAction SilentlyContinue

        $added | Should -Not -BeNullOrEmpty
        "$warnings" | Should -BeLike '*expired*'
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Add-GatewayCertificate -Context $Context -CertificateId whatif -Certificate $Client -WhatIf | Should -BeNullOrEmpty

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}

Describe 'Get-GatewayCertificate' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'get'
        $null = Add-TestCertificate -Context $Context -Id backend-2025 -Issuer $Ca
        $null = Add-TestCertificate -Context $Context -Id backend-2026 -Issuer $Ca
        $null = Add-TestCertificate -Context $Context -Id soon -Issuer $Ca -NotAfter ([DateTimeOffset]::UtcNow.AddDays(10))
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'
        Set-ApiGatewayCredential -Context $Context -ApiId orders -CertificateId backend-2026
    }

    It 'gets all certificates, or those matching a wildcard' {
        (Get-GatewayCertificate -Context $Context).CertificateId | Should -Be @('backend-2025', 'backend-2026', 'soon')
        (Get-GatewayCertificate -Context $Context -CertificateId 'backend-*').CertificateId | Should -Be @('backend-2025', 'backend-2026')
        (Get-GatewayCertificate -Context $Context backend-2026).InUse | Should -BeTrue
    }

    It 'filters by expiry and by use' {
        (Get-GatewayCertificate -Context $Context -ExpiringInDays 30).CertificateId | Should -Be 'soon'
        (Get-GatewayCertificate -Context $Context -InUse).CertificateId | Should -Be 'backend-2026'
        (Get-GatewayCertificate -Context $Context -InUse:$false).CertificateId | Should -Be @('backend-2025', 'soon')
    }

    It 'reports an id without wildcards that matches nothing as GetGatewayCertificateNotFound' {
        $err = $null

        Get-GatewayCertificate -Context $Context -CertificateId missing -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayCertificateNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'missing'
    }

    It 'takes the context from the pipeline by value' {
        ($Context | Get-GatewayCertificate -CertificateId soon).CertificateId | Should -Be 'soon'
    }

    It 'binds CertificateId and ConfigurationPath by property name' {
        $server = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost
        $null = Add-GatewayCertificate -Context $Context -CertificateId server -Certificate $server
        Set-GatewayHostname -Context $Context -HostName localhost -Port 8443 -CertificateId server

        (Get-GatewayHostname -Context $Context | Get-GatewayCertificate).CertificateId | Should -Be 'server'
    }

    It 'shows a table by default' {
        (Get-GatewayCertificate -Context $Context | Format-Table | Out-String -Width 500) | Should -Match 'CertificateId\s+Subject\s+Thumbprint\s+ExpirationDate\s+HasPrivateKey\s+Source\s+InUse'
    }
}

Describe 'Set-GatewayCertificate' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'set'
        $null = Add-TestCertificate -Context $Context -Id backend -Issuer $Ca
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'
        Set-ApiGatewayCredential -Context $Context -ApiId orders -CertificateId backend
    }

    It 'replaces the content under the same id, and the API follows' {
        $renewed = New-TestCertificate -Subject 'CN=backend-renewed' -Issuer $Ca -ClientAuth
        Export-TestCertificate $renewed -Path (Join-Path $TestDrive 'renewed') -Password $TestPassword

        $result = Set-GatewayCertificate -Context $Context -CertificateId backend -PfxFilePath (Join-Path $TestDrive 'renewed.pfx') -PfxPassword $TestPassword -PassThru

        $result.Thumbprint | Should -Be $renewed.Thumbprint
        (Get-GatewayApi -Context $Context -ApiId orders).GatewayCredentialCertificateId | Should -Be 'backend'
    }

    It 'writes nothing without -PassThru' {
        Set-GatewayCertificate -Context $Context -CertificateId backend -Certificate (New-TestCertificate -Subject 'CN=quiet' -Issuer $Ca -ClientAuth) | Should -BeNullOrEmpty
    }

    It 'takes the id from piped certificates' {
        $next = New-TestCertificate -Subject 'CN=next' -Issuer $Ca -ClientAuth

        $result = Get-GatewayCertificate -Context $Context -CertificateId backend | Set-GatewayCertificate -Certificate $next -PassThru

        $result.Thumbprint | Should -Be $next.Thumbprint
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Set-GatewayCertificate -Context $Context -CertificateId backend -Certificate (New-TestCertificate -Subject 'CN=whatif' -Issuer $Ca -ClientAuth) -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }

    It 'reports an unknown id as SetGatewayCertificateNotFound' {
        $err = $null

        Set-GatewayCertificate -Context $Context -CertificateId nope -Certificate (New-TestCertificate -Subject 'CN=x' -Issuer $Ca -ClientAuth) -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayCertificateNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Remove-GatewayCertificate' {
    BeforeEach {
        $script:Context = New-TestGateway -Name "remove-$([guid]::NewGuid().ToString('N'))"
        $null = Add-TestCertificate -Context $Context -Id used -Issuer $Ca -NotAfter ([DateTimeOffset]::UtcNow.AddDays(5))
        $null = Add-TestCertificate -Context $Context -Id unused -Issuer $Ca -NotAfter ([DateTimeOffset]::UtcNow.AddDays(5))
        $null = Add-TestCertificate -Context $Context -Id long-lived -Issuer $Ca
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'
        Set-ApiGatewayCredential -Context $Context -ApiId orders -CertificateId used
    }

    It 'removes an unused certificate with -Force, without a prompt' {
        $removed = Remove-GatewayCertificate -Context $Context -CertificateId unused -Force -PassThru

        $removed.CertificateId | Should -Be 'unused'
        (Get-GatewayCertificate -Context $Context).CertificateId | Should -Not -Contain 'unused'
    }

    It 'never removes a certificate in use, even with -Force: RemoveGatewayCertificateInUse, ResourceBusy' {
        $hash = Get-ConfigurationHash $Context
        $err = $null

        Remove-GatewayCertificate -Context $Context -CertificateId used -Force -ErrorAction SilentlyContinue -ErrorVariable err

        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoveGatewayCertificateInUse,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
        $err[0].TargetObject | Should -Be 'used'
        "$err" | Should -BeLike "*API 'orders'*Set-ApiGatewayCredential*"
        Get-ConfigurationHash $Context | Should -Be $hash
    }

    It 'changes nothing under -WhatIf, also with -Force' {
        $hash = Get-ConfigurationHash $Context

        Remove-GatewayCertificate -Context $Context -CertificateId unused -WhatIf
        Remove-GatewayCertificate -Context $Context -CertificateId unused -Force -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }

    It 'previews removing the expiring certificates from the pipeline' {
        $hash = Get-ConfigurationHash $Context

        Get-GatewayCertificate -Context $Context -ExpiringInDays 30 | Remove-GatewayCertificate -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
        (Get-GatewayCertificate -Context $Context).Count | Should -Be 3
    }

    It 'removes piped certificates one by one: an error for the one in use, the others go' {
        $err = $null

        Get-GatewayCertificate -Context $Context -ExpiringInDays 30 | Remove-GatewayCertificate -Force -ErrorAction SilentlyContinue -ErrorVariable err

        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoveGatewayCertificateInUse,*'
        (Get-GatewayCertificate -Context $Context).CertificateId | Should -Be @('long-lived', 'used')
    }

    It 'reports an unknown id as RemoveGatewayCertificateNotFound' {
        $err = $null

        Remove-GatewayCertificate -Context $Context -CertificateId nope -Force -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoveGatewayCertificateNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Get-GatewayCertificateReference' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'references'
        $null = Add-TestCertificate -Context $Context -Id shared -Issuer $Ca
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'
        Set-ApiGatewayCredential -Context $Context -ApiId orders -CertificateId shared
        $null = New-GatewayBackend -Context $Context -BackendId billing -Url 'https://billing.internal/' -Protocol http -Credential (New-GatewayBackendCredential -CertificateId shared)
    }

    It 'lists every use of a certificate' {
        $references = Get-GatewayCertificateReference -Context $Context -CertificateId shared

        $references.Count | Should -Be 2
        ($references | Where-Object ReferrerType -eq 'Api').ReferrerId | Should -Be 'orders'
        ($references | Where-Object ReferrerType -eq 'Backend').Usage | Should -Be 'BackendCredential'
    }

    It 'takes certificates from the pipeline' {
        (Get-GatewayCertificate -Context $Context -CertificateId shared | Get-GatewayCertificateReference).Count | Should -Be 2
    }

    It 'reports an unknown certificate as GetGatewayCertificateReferenceNotFound' {
        $err = $null

        Get-GatewayCertificateReference -Context $Context -CertificateId nope -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayCertificateReferenceNotFound,*'
    }
}
