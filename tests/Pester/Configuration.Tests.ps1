# Test-GatewayConfiguration and the write-time check by the gateway's own engine (the host shipped in host/).
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule

    function Get-FreePort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }

    function Get-HeaderPolicy {
        param([string] $Expression)
        "<policies>`n  <inbound>`n    <base />`n    <set-header name=`"x-test`" exists-action=`"override`">`n      <value>$Expression</value>`n    </set-header>`n  </inbound>`n</policies>"
    }
}

Describe 'Set-GatewayPolicy checks expressions as the gateway does' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'engine'
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl https://orders.internal/
    }

    It 'refuses a forbidden type with line and column, and leaves the file unchanged' {
        $before = Get-ConfigurationHash -Context $Context
        Set-GatewayPolicy -Context $Context -ApiId orders -Policy (Get-HeaderPolicy '@(System.IO.File.ReadAllText("/etc/passwd"))') -ErrorVariable failure -ErrorAction SilentlyContinue
        $failure | Should -HaveCount 1
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayPolicyInvalidExpression,*'
        $failure[0].CategoryInfo.Category | Should -Be InvalidData
        $failure[0].Exception.Message | Should -Match "API 'orders', line 5, column \d+: the expression uses System\.IO\.File"
        Get-ConfigurationHash -Context $Context | Should -Be $before
        Get-ChildItem -LiteralPath (Split-Path $Context.ConfigurationPath) -Force -Filter '*.candidate-*' | Should -BeNullOrEmpty
    }

    It 'refuses an expression that does not compile' {
        Set-GatewayPolicy -Context $Context -ApiId orders -Policy (Get-HeaderPolicy '@(undefinedThing.Length)') -ErrorVariable failure -ErrorAction SilentlyContinue
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayPolicyInvalidExpression,*'
        $failure[0].Exception.Message | Should -Match 'CS0103'
    }

    It 'saves a benign expression' {
        $policy = Set-GatewayPolicy -Context $Context -ApiId orders -Policy (Get-HeaderPolicy '@(context.Request.Method)') -PassThru -ErrorAction Stop
        $policy | Should -Not -BeNullOrEmpty
        (Get-GatewayPolicy -Context $Context -ApiId orders).Policy | Should -Match 'context\.Request\.Method'
    }
}

Describe 'Test-GatewayConfiguration' {
    BeforeAll {
        $script:Server = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost -NotAfter ([DateTimeOffset]::UtcNow.AddDays(10))
    }

    It 'returns nothing and -Quiet $true for a good configuration' {
        $context = New-TestGateway -Name 'good'
        # A configuration without a hostname loads but listens nowhere: that is a warning, so the good one has one.
        $lasting = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost
        $null = Add-GatewayCertificate -Context $context -CertificateId tls -Certificate $lasting
        Set-GatewayHostname -Context $context -HostName localhost -Port (Get-FreePort) -CertificateId tls
        Test-GatewayConfiguration -Context $context | Should -BeNullOrEmpty
        Test-GatewayConfiguration -Context $context -Quiet | Should -BeTrue
    }

    It 'reports every problem class at once as objects, filterable by Severity' {
        $context = New-TestGateway -Name 'broken'
        $null = Add-GatewayCertificate -Context $context -CertificateId soon -Certificate $Server
        Set-GatewayHostname -Context $context -HostName localhost -Port (Get-FreePort) -CertificateId soon
        $null = New-GatewayApi -Context $context -ApiId orders -Path orders -ServiceUrl https://orders.internal/
        $null = New-GatewayApi -Context $context -ApiId twin -Path twin -ServiceUrl https://orders.internal/
        # Broken by hand, as a file edited outside the module can be.
        $json = Get-Content -LiteralPath $context.ConfigurationPath -Raw | ConvertFrom-Json -AsHashtable
        $json.apis.twin.path = 'orders'
        $json.apis.orders.backendId = 'gone'; $json.apis.orders.Remove('serviceUrl')
        $json.apis.twin.policy = "<policies>`n  <inbound>`n    <base />`n    <set-header name=`"a`">`n      <value>@(System.IO.Directory.GetFiles(`"/`").Length.ToString())</value>`n    </set-header>`n  </inbound>`n</policies>"
        $json.service.hostnames += @{ hostName = 'api.contoso.com'; port = 8443; certificateId = 'missing'; requireClientCertificate = $true; negotiateClientCertificate = $true }
        $json | ConvertTo-Json -Depth 20 | Set-Content -LiteralPath $context.ConfigurationPath

        $problems = Test-GatewayConfiguration -Context $context
        $ids = $problems.ErrorId
        $ids | Should -Contain 'ApiPathDuplicate'
        $ids | Should -Contain 'ApiBackendNotFound'
        $ids | Should -Contain 'PolicyExpressionNotAllowed'
        $ids | Should -Contain 'HostnameCertificateNotFound'
        $ids | Should -Contain 'HostnameCaCertificateMissing'
        $ids | Should -Contain 'CertificateExpiring'
        $expression = $problems | Where-Object ErrorId -eq PolicyExpressionNotAllowed
        $expression.Subject | Should -Be "API 'twin'"
        $expression.Line | Should -Be 5
        $expression.Column | Should -BeGreaterThan 0
        $expression.Section | Should -Be inbound
        ($problems | Where-Object Severity -eq Warning).ErrorId | Should -Be 'CertificateExpiring'
        ($problems | Where-Object ErrorId -eq CertificateExpiring).Fix | Should -Match 'Set-GatewayCertificate -CertificateId soon'
        Test-GatewayConfiguration -Context $context -Quiet | Should -BeFalse
    }

    It 'counts warnings only with -TreatWarningsAsErrors, and -ExpiringInDays moves the window' {
        $context = New-TestGateway -Name 'expiring'
        $null = Add-GatewayCertificate -Context $context -CertificateId soon -Certificate $Server -WarningAction SilentlyContinue
        Set-GatewayHostname -Context $context -HostName localhost -Port (Get-FreePort) -CertificateId soon
        Test-GatewayConfiguration -Context $context -Quiet | Should -BeTrue
        Test-GatewayConfiguration -Context $context -Quiet -TreatWarningsAsErrors | Should -BeFalse
        Test-GatewayConfiguration -Context $context -ExpiringInDays 5 | Should -BeNullOrEmpty
        (Test-GatewayConfiguration -Context $context).Severity | Should -Be Warning
    }

    It 'reports the same problems as ApiGateway.Host validate --format json' {
        $context = New-TestGateway -Name 'same'
        $null = New-GatewayApi -Context $context -ApiId orders -Path orders -ServiceUrl https://orders.internal/
        $json = Get-Content -LiteralPath $context.ConfigurationPath -Raw | ConvertFrom-Json -AsHashtable
        $json.apis.orders.backendId = 'gone'; $json.apis.orders.Remove('serviceUrl')
        $json | ConvertTo-Json -Depth 20 | Set-Content -LiteralPath $context.ConfigurationPath
        $host_ = Join-Path (Split-Path (Get-Module ApiGateway).Path) 'host/ApiGateway.Host.dll'
        $report = dotnet $host_ validate --config $context.ConfigurationPath --format json | ConvertFrom-Json
        $LASTEXITCODE | Should -Be 2
        (Test-GatewayConfiguration -Context $context).Message | Should -Be @($report.problems.message)
    }
}

Describe 'A running gateway reports whether it picked a change up' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'running'
        $server = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost
        $null = Add-GatewayCertificate -Context $Context -CertificateId server -Certificate $server
        Set-GatewayHostname -Context $Context -HostName localhost -Port (Get-FreePort) -ListenAddress 127.0.0.1 -CertificateId server
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl https://orders.internal/
        $null = Start-Gateway -Context $Context -TimeoutSec 120 -ErrorAction Stop
    }
    AfterAll {
        Stop-Gateway -Context $Context -ErrorAction SilentlyContinue
    }

    It 'writes a verbose message naming the revision served' {
        $verbose = Set-GatewayApi -Context $Context -ApiId orders -DisplayName 'Orders' -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $revision = (Get-Content -LiteralPath $Context.ConfigurationPath -Raw | ConvertFrom-Json).revision
        ($verbose.Message -join "`n") | Should -Match "picked up revision $revision"
        (Get-GatewayStatus -Context $Context).Revision | Should -Be $revision
    }
}
