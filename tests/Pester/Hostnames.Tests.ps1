BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Server = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost
    $script:Ca = New-TestCertificate -Subject 'CN=Clients Root' -CertificateAuthority
}

Describe 'Set-GatewayHostname' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'hostname-set'
        $null = Add-GatewayCertificate -Context $Context -CertificateId server -Certificate $Server
    }

    It 'adds a hostname with port, server certificate and client-certificate negotiation' {
        $hostname = Set-GatewayHostname -Context $Context -HostName localhost -Port 8443 -CertificateId server -NegotiateClientCertificate $true -PassThru

        $hostname.HostName | Should -Be 'localhost'
        $hostname.Port | Should -Be 8443
        $hostname.CertificateId | Should -Be 'server'
        $hostname.NegotiateClientCertificate | Should -BeTrue
        $hostname.RequireClientCertificate | Should -BeFalse
    }

    It 'changes only what is given' {
        $hostname = Set-GatewayHostname -Context $Context -HostName localhost -Port 9443 -PassThru

        $hostname.Port | Should -Be 9443
        $hostname.NegotiateClientCertificate | Should -BeTrue
        $hostname.CertificateId | Should -Be 'server'
    }

    It 'needs a server certificate for a new hostname: SetGatewayHostnameCertificateRequired' {
        $err = $null

        Set-GatewayHostname -Context $Context -HostName api.contoso.com -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayHostnameCertificateRequired,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'needs an uploaded CA for strict mode: SetGatewayHostnameNoCaCertificate' {
        $err = $null

        Set-GatewayHostname -Context $Context -HostName localhost -RequireClientCertificate $true -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayHostnameNoCaCertificate,*'
    }

    It 'turns on strict mode once a CA is trusted' {
        $null = Add-GatewayCaCertificate -Context $Context -CertificateId clients-root -Certificate $Ca -WarningAction SilentlyContinue

        (Set-GatewayHostname -Context $Context -HostName localhost -RequireClientCertificate $true -PassThru).RequireClientCertificate | Should -BeTrue
    }

    It 'takes a TLS profile, and cipher suites for the custom one' {
        (Set-GatewayHostname -Context $Context -HostName localhost -TlsProfile Modern -PassThru).TlsProfile | Should -Be 'Modern'

        $custom = Set-GatewayHostname -Context $Context -HostName localhost -CipherSuite tls_aes_128_gcm_sha256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 -PassThru

        $custom.TlsProfile | Should -Be 'Custom'
        $custom.CipherSuites | Should -Be @('TLS_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256')
        $back = Set-GatewayHostname -Context $Context -HostName localhost -TlsProfile Intermediate -PassThru
        $back.TlsProfile | Should -Be 'Intermediate'
        $back.CipherSuites | Should -BeNullOrEmpty
    }

    It 'refuses a cipher suite name that is not IANA: SetGatewayHostnameInvalidCipherSuite' {
        $err = $null

        Set-GatewayHostname -Context $Context -HostName localhost -CipherSuite ECDHE-RSA-AES128-GCM-SHA256 -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayHostnameInvalidCipherSuite,*'
        "$($err[0])" | Should -BeLike "*'ECDHE-RSA-AES128-GCM-SHA256'*IANA*"
    }

    It 'validates the port before anything is read' {
        { Set-GatewayHostname -Context $Context -HostName localhost -Port 70000 -ErrorAction Stop } |
            Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Set-GatewayHostname -Context $Context -HostName localhost -Port 10443 -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}

Describe 'Get-GatewayHostname' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'hostname-get'
        $null = Add-GatewayCertificate -Context $Context -CertificateId server -Certificate $Server
        Set-GatewayHostname -Context $Context -HostName a.contoso.com -CertificateId server
        Set-GatewayHostname -Context $Context -HostName b.contoso.com -CertificateId server -Port 8443
    }

    It 'gets hostnames by wildcard' {
        (Get-GatewayHostname -Context $Context).HostName | Should -Be @('a.contoso.com', 'b.contoso.com')
        (Get-GatewayHostname -Context $Context -HostName b*).Port | Should -Be 8443
    }

    It 'reports an unknown name as GetGatewayHostnameNotFound' {
        $err = $null

        Get-GatewayHostname -Context $Context -HostName c.contoso.com -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayHostnameNotFound,*'
    }

    It 'shows a table by default' {
        (Get-GatewayHostname -Context $Context | Format-Table | Out-String -Width 500) | Should -Match 'HostName\s+Port\s+ListenAddress\s+CertificateId\s+NegotiateClientCert\s+RequireClientCert'
    }
}

Describe 'Remove-GatewayHostname' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'hostname-remove'
        $null = Add-GatewayCertificate -Context $Context -CertificateId server -Certificate $Server
        Set-GatewayHostname -Context $Context -HostName old.contoso.com -CertificateId server
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Get-GatewayHostname -Context $Context | Remove-GatewayHostname -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }

    It 'removes a hostname with -Force; its certificate stays' {
        (Remove-GatewayHostname -Context $Context -HostName old.contoso.com -Force -PassThru).HostName | Should -Be 'old.contoso.com'

        Get-GatewayHostname -Context $Context | Should -BeNullOrEmpty
        (Get-GatewayCertificate -Context $Context -CertificateId server).InUse | Should -BeFalse
    }

    It 'reports an unknown name as RemoveGatewayHostnameNotFound' {
        $err = $null

        Remove-GatewayHostname -Context $Context -HostName old.contoso.com -Force -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoveGatewayHostnameNotFound,*'
    }
}
