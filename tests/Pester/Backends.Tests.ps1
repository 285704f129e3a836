BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Ca = New-TestCertificate -Subject 'CN=Pester CA' -CertificateAuthority -NotBefore ([DateTimeOffset]::UtcNow.AddDays(-90)) -NotAfter ([DateTimeOffset]::UtcNow.AddYears(2))
}

Describe 'New-GatewayBackend' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'backend-new'
    }

    It 'works as documented: a self-signed backend with -SkipCertificateChainValidation $true' {
        $backend = New-GatewayBackend -Context $Context -Url 'https://contoso.com/myapi' -Protocol http -SkipCertificateChainValidation $true

        $backend.BackendId | Should -Be 'contoso-com'
        $backend.Url | Should -Be 'https://contoso.com/myapi'
        $backend.Protocol | Should -Be 'Http'
        $backend.SkipCertificateChainValidation | Should -BeTrue
        $backend.SkipCertificateNameValidation | Should -BeFalse
        # Az's shape: PsApiManagementBackend.Properties
        $backend.Properties.skipCertificateChainValidation | Should -BeTrue
        $backend.Properties.skipCertificateNameValidation | Should -BeFalse
    }

    It 'reports an id that is taken as NewGatewayBackendExists' {
        $err = $null

        New-GatewayBackend -Context $Context -BackendId contoso-com -Url 'https://other.internal/' -Protocol http -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'NewGatewayBackendExists,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }

    It 'reports a URL that is not absolute http(s) as NewGatewayBackendInvalidUrl' {
        $err = $null

        New-GatewayBackend -Context $Context -BackendId bad -Url 'contoso.com/myapi' -Protocol http -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'NewGatewayBackendInvalidUrl,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'accepts only http or soap as protocol' {
        { New-GatewayBackend -Context $Context -BackendId ftp -Url 'https://f.internal/' -Protocol ftp -ErrorAction Stop } |
            Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
    }

    It 'copies backends piped from another configuration' {
        $other = New-TestGateway -Name 'backend-copy'

        $copied = Get-GatewayBackend -Context $Context -BackendId contoso-com | New-GatewayBackend -Context $other

        $copied.BackendId | Should -Be 'contoso-com'
        $copied.SkipCertificateChainValidation | Should -BeTrue
        $copied.ConfigurationPath | Should -Be $other.ConfigurationPath
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        New-GatewayBackend -Context $Context -BackendId whatif -Url 'https://w.internal/' -Protocol http -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}

Describe 'New-GatewayBackendCredential' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'backend-credential'
        $null = Add-TestCertificate -Context $Context -Id client -Issuer $Ca
    }

    It 'builds certificates, headers, query parameters and a SecureString authorization' {
        $secret = ConvertTo-SecureString 'pester-secret-token' -AsPlainText -Force

        $credential = New-GatewayBackendCredential -CertificateId client -Header @{ 'x-tenant' = 'contoso'; 'x-tag' = 'a', 'b' } -Query @{ 'api-version' = '2025-01-01' } -AuthorizationHeaderScheme Bearer -AuthorizationHeaderParameter $secret
        $backend = New-GatewayBackend -Context $Context -BackendId billing -Url 'https://billing.internal/' -Protocol soap -Credential $credential

        $backend.Credentials.CertificateIds | Should -Be 'client'
        $backend.Credentials.Header['x-tag'] | Should -Be @('a', 'b')
        $backend.Credentials.Query['api-version'] | Should -Be '2025-01-01'
        $backend.Credentials.AuthorizationHeaderScheme | Should -Be 'Bearer'
        $backend.Credentials.HasAuthorizationHeaderParameter | Should -BeTrue
        # The same in Az's shape (PsApiManagementBackendCredential), the secret never in plain text.
        $backend.Credentials.Authorization.Scheme | Should -Be 'Bearer'
        $backend.Credentials.Authorization.Parameter | Should -BeNullOrEmpty
        $backend.Credentials.Authorization.HasParameter | Should -BeTrue
        $backend.Credentials.Certificate | Should -Be (Get-GatewayCertificate -Context $Context -CertificateId client).Thumbprint
        ($backend | ConvertTo-Json -Depth 6) | Should -Not -BeLike '*pester-secret-token*'
        Get-Content -LiteralPath $Context.ConfigurationPath -Raw | Should -Not -Match 'pester-secret-token'
    }

    It 'never takes the authorization parameter as a plain string' {
        { New-GatewayBackendCredential -AuthorizationHeaderScheme Basic -AuthorizationHeaderParameter 'plain' -ErrorAction Stop } |
            Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
    }

    It 'refuses a parameter without a scheme' {
        $err = $null

        New-GatewayBackendCredential -AuthorizationHeaderParameter (ConvertTo-SecureString 'x' -AsPlainText -Force) -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'NewGatewayBackendCredentialInvalidArgument,*'
    }

    It 'takes certificates by id or by thumbprint, not both' {
        { New-GatewayBackendCredential -CertificateId a -CertificateThumbprint AB -ErrorAction Stop } |
            Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
    }

    It 'reports a credential naming a missing certificate as NewGatewayBackendCertificateNotFound' {
        $err = $null

        New-GatewayBackend -Context $Context -BackendId broken -Url 'https://b.internal/' -Protocol http -Credential (New-GatewayBackendCredential -CertificateId nope) -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'NewGatewayBackendCertificateNotFound,*'
    }
}

Describe 'Get-GatewayBackend' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'backend-get'
        $null = New-GatewayBackend -Context $Context -BackendId alpha -Url 'https://alpha.internal/' -Protocol http
        $null = New-GatewayBackend -Context $Context -BackendId beta -Url 'https://beta.internal/' -Protocol soap
    }

    It 'gets backends by wildcard' {
        (Get-GatewayBackend -Context $Context).BackendId | Should -Be @('alpha', 'beta')
        (Get-GatewayBackend -Context $Context -BackendId b*).Url | Should -Be 'https://beta.internal/'
    }

    It 'reports an unknown id as GetGatewayBackendNotFound' {
        $err = $null

        Get-GatewayBackend -Context $Context -BackendId gamma -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayBackendNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'shows a table by default' {
        (Get-GatewayBackend -Context $Context | Format-Table | Out-String -Width 500) | Should -Match 'BackendId\s+Url\s+Protocol\s+SkipChainValidation\s+SkipNameValidation\s+Credentials'
    }
}

Describe 'Set-GatewayBackend' {
    BeforeEach {
        $script:Context = New-TestGateway -Name "backend-set-$([guid]::NewGuid().ToString('N'))"
        $null = New-GatewayBackend -Context $Context -BackendId alpha -Url 'https://alpha.internal/' -Protocol http -SkipCertificateChainValidation $true -Title Alpha
        $null = New-GatewayBackend -Context $Context -BackendId beta -Url 'https://beta.internal/' -Protocol http
    }

    It 'changes every piped backend, one TLS switch only' {
        Get-GatewayBackend -Context $Context | Set-GatewayBackend -SkipCertificateNameValidation $true

        $backends = Get-GatewayBackend -Context $Context
        $backends.SkipCertificateNameValidation | Should -Be @($true, $true)
        $backends.SkipCertificateChainValidation | Should -Be @($true, $false)
        ($backends | Where-Object BackendId -eq alpha).Title | Should -Be 'Alpha'
    }

    It 'changes a backend by id and passes it through' {
        $changed = Set-GatewayBackend -Context $Context -BackendId beta -Url 'https://beta-v2.internal/' -PassThru

        $changed.Url | Should -Be 'https://beta-v2.internal/'
    }

    It 'writes nothing without -PassThru' {
        Set-GatewayBackend -Context $Context -BackendId beta -Title Beta | Should -BeNullOrEmpty
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Get-GatewayBackend -Context $Context | Set-GatewayBackend -SkipCertificateNameValidation $true -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }

    It 'refuses -Credential together with -RemoveCredential' {
        $err = $null

        Set-GatewayBackend -Context $Context -BackendId beta -Credential (New-GatewayBackendCredential -Header @{ a = 'b' }) -RemoveCredential -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayBackendInvalidArgument,*'
    }

    It 'reports an unknown id as SetGatewayBackendNotFound' {
        $err = $null

        Set-GatewayBackend -Context $Context -BackendId gamma -Title x -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayBackendNotFound,*'
    }
}

Describe 'Remove-GatewayBackend' {
    BeforeEach {
        $script:Context = New-TestGateway -Name "backend-remove-$([guid]::NewGuid().ToString('N'))"
        $null = New-GatewayBackend -Context $Context -BackendId used -Url 'https://used.internal/' -Protocol http
        $null = New-GatewayBackend -Context $Context -BackendId free -Url 'https://free.internal/' -Protocol http
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -BackendId used
    }

    It 'removes an unused backend and refuses one in use: RemoveGatewayBackendInUse' {
        $err = $null

        Get-GatewayBackend -Context $Context | Remove-GatewayBackend -Force -ErrorAction SilentlyContinue -ErrorVariable err

        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoveGatewayBackendInUse,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
        "$err" | Should -BeLike "*API 'orders'*"
        (Get-GatewayBackend -Context $Context).BackendId | Should -Be 'used'
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Remove-GatewayBackend -Context $Context -BackendId free -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}
