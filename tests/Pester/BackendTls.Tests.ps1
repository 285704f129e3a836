# Test-GatewayBackendTls against a real TLS backend (a gateway started from the built module, its server
# certificate issued by a test CA that the system does not trust), and -ForwardClientCertificate on New-/Set-GatewayApi.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Ca = New-TestCertificate -Subject 'CN=Pester Backend CA' -CertificateAuthority
    $script:CaPublic = [System.Security.Cryptography.X509Certificates.X509CertificateLoader]::LoadCertificate($Ca.RawData)
    $script:Server = New-TestCertificate -Subject 'CN=localhost' -Issuer $Ca -ServerAuth -DnsName localhost

    function Get-FreePort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }
}

Describe 'Test-GatewayBackendTls' {
    BeforeAll {
        # The backend: a gateway whose hostname requires a client certificate issued by the test CA.
        $script:Backend = New-TestGateway -Name 'tls-backend'
        $null = Add-GatewayCertificate -Context $Backend -CertificateId server -Certificate $Server
        $null = Add-GatewayCaCertificate -Context $Backend -CertificateId clients -Certificate $CaPublic -WarningAction SilentlyContinue
        $script:Port = Get-FreePort
        $null = Set-GatewayHostname -Context $Backend -HostName localhost -Port $Port -ListenAddress 127.0.0.1 -CertificateId server -RequireClientCertificate $true
        $null = Start-Gateway -Context $Backend -TimeoutSec 120 -ErrorAction Stop

        # The gateway under test, with backends on it.
        $script:Context = New-TestGateway -Name 'tls-tester'
        $null = Add-TestCertificate -Context $Context -Id trusted-by-backend -Issuer $Ca
        $null = Add-TestCertificate -Context $Context -Id unknown-to-backend -Issuer (New-TestCertificate -Subject 'CN=Other CA' -CertificateAuthority)
        $url = "https://localhost:$Port/"
        $null = New-GatewayBackend -Context $Context -BackendId strict -Url $url -Protocol http
        $null = New-GatewayBackend -Context $Context -BackendId anonymous -Url $url -Protocol http -SkipCertificateChainValidation $true
        $null = New-GatewayBackend -Context $Context -BackendId credentialed -Url $url -Protocol http -SkipCertificateChainValidation $true -Credential (New-GatewayBackendCredential -CertificateId trusted-by-backend)
        $null = New-GatewayBackend -Context $Context -BackendId wrong-credential -Url $url -Protocol http -SkipCertificateChainValidation $true -Credential (New-GatewayBackendCredential -CertificateId unknown-to-backend)
        $null = New-GatewayBackend -Context $Context -BackendId closed -Url "https://127.0.0.1:$(Get-FreePort)/" -Protocol http
        $null = New-GatewayBackend -Context $Context -BackendId plain -Url 'http://127.0.0.1:1/' -Protocol http
    }
    AfterAll {
        Stop-Gateway -Context $Backend -ErrorAction SilentlyContinue
    }

    It 'reports an untrusted chain with the switch that would accept it' {
        $result = Test-GatewayBackendTls -Context $Context -BackendId strict

        $result.Succeeded | Should -BeFalse
        $result.Connected | Should -BeTrue
        $result.ChainErrors | Should -BeTrue
        $result.ServerCertificateAccepted | Should -BeFalse
        $result.ServerCertificate.Thumbprint | Should -Be $Server.Thumbprint
        $result.Advice -join "`n" | Should -BeLike '*Set-GatewayBackend -BackendId strict -SkipCertificateChainValidation $true*'
    }

    It 'reports a backend that requires a client certificate the gateway does not have' {
        $result = Test-GatewayBackendTls -Context $Context -BackendId anonymous

        $result.Succeeded | Should -BeFalse
        $result.ServerCertificateAccepted | Should -BeTrue
        $result.ClientCertificateRequested | Should -BeTrue
        $result.ClientCertificatePresented | Should -BeFalse
        $result.ClientCertificateAccepted | Should -BeFalse
        $result.Advice -join "`n" | Should -BeLike '*New-GatewayBackendCredential*'
    }

    It 'succeeds with the credential the backend trusts, and reports the one it refuses' {
        $good = Test-GatewayBackendTls -Context $Context -BackendId credentialed
        $bad = Test-GatewayBackendTls -Context $Context -BackendId wrong-credential

        $good.Succeeded | Should -BeTrue -Because $good.Error
        $good.ClientCertificateAccepted | Should -BeTrue
        $good.ClientCertificateId | Should -Be 'trusted-by-backend'
        $good.HttpStatus | Should -BeGreaterThan 0
        $bad.Succeeded | Should -BeFalse
        $bad.ClientCertificatePresented | Should -BeTrue
        $bad.ClientCertificateAccepted | Should -BeFalse
        $bad.Advice -join "`n" | Should -BeLike "*'unknown-to-backend'*CN=Other CA*"
    }

    It 'tries another certificate with -CertificateId' {
        (Test-GatewayBackendTls -Context $Context -BackendId wrong-credential -CertificateId trusted-by-backend).Succeeded | Should -BeTrue
    }

    It 'tests piped backends, -Quiet writing one boolean each' {
        $answers = 'credentialed', 'anonymous' | ForEach-Object { Get-GatewayBackend -Context $Context -BackendId $_ } | Test-GatewayBackendTls -Quiet

        $answers | Should -Be @($true, $false)
    }

    It 'reports a refused connection as a result with the URL fix' {
        $result = Test-GatewayBackendTls -Context $Context -BackendId closed -TimeoutSec 5

        $result.Succeeded | Should -BeFalse
        $result.Connected | Should -BeFalse
        $result.Error | Should -BeLike '*connection refused*'
        $result.Advice -join "`n" | Should -BeLike '*Set-GatewayBackend -BackendId closed -Url*'
    }

    It 'refuses a plain http backend as TestGatewayBackendTlsNotHttps, and a missing one as TestGatewayBackendTlsNotFound' {
        $err = $null
        Test-GatewayBackendTls -Context $Context -BackendId plain -ErrorAction SilentlyContinue -ErrorVariable err
        Test-GatewayBackendTls -Context $Context -BackendId missing -ErrorAction SilentlyContinue -ErrorVariable +err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'TestGatewayBackendTlsNotHttps,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $err[1].FullyQualifiedErrorId | Should -BeLike 'TestGatewayBackendTlsNotFound,*'
        $err[1].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'changes nothing in the configuration' {
        $hash = Get-ConfigurationHash $Context

        $null = Test-GatewayBackendTls -Context $Context -BackendId * -ErrorAction SilentlyContinue

        Get-ConfigurationHash $Context | Should -Be $hash
    }

    It 'shows a table with the verdict' {
        $table = Test-GatewayBackendTls -Context $Context -BackendId strict | Format-Table | Out-String -Width 250

        $table | Should -Match 'BackendId\s+Succeeded\s+Protocol\s+ServerCertificate'
        $table | Should -Match 'strict\s+False'
    }
}

Describe 'New-/Set-GatewayApi -ForwardClientCertificate' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'forwarding'
    }

    It 'creates an API that forwards both forms, and Get-GatewayApi shows it' {
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl https://orders.internal/ -ForwardClientCertificate XArrClientCert, ClientCert

        (Get-GatewayApi -Context $Context -ApiId orders).ForwardClientCertificate | Should -Be 'XArrClientCert, ClientCert'
        (Get-Content -LiteralPath $Context.ConfigurationPath -Raw | ConvertFrom-Json).apis.orders.forwardClientCertificate | Should -Be 'xArrClientCert, clientCert'
    }

    It 'forwards nothing by default' {
        (New-GatewayApi -Context $Context -ApiId plain -Path plain -ServiceUrl https://plain.internal/).ForwardClientCertificate | Should -Be 'None'
    }

    It 'changes it with Set-GatewayApi, and leaves it when not given' {
        $null = Set-GatewayApi -Context $Context -ApiId orders -ForwardClientCertificate ClientCert
        $null = Set-GatewayApi -Context $Context -ApiId orders -DisplayName 'Orders'

        (Get-GatewayApi -Context $Context -ApiId orders).ForwardClientCertificate | Should -Be 'ClientCert'
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Set-GatewayApi -Context $Context -ApiId orders -ForwardClientCertificate None -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }

    It 'refuses an unknown form at binding' {
        { Set-GatewayApi -Context $Context -ApiId orders -ForwardClientCertificate Everything -ErrorAction Stop } |
            Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
    }
}
