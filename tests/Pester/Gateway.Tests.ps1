# Start-Gateway, Get-GatewayStatus and Stop-Gateway with the gateway host shipped in the built module (host/).
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Server = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost

    function Get-FreePort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }

    function New-ServingGateway {
        param([string] $Name)
        $context = New-TestGateway -Name $Name
        $null = Add-GatewayCertificate -Context $context -CertificateId server -Certificate $Server
        Set-GatewayHostname -Context $context -HostName localhost -Port (Get-FreePort) -ListenAddress 127.0.0.1 -CertificateId server
        $context
    }
}

Describe 'Start-Gateway' {
    BeforeAll {
        $script:Context = New-ServingGateway -Name 'start'
        $script:Started = Start-Gateway -Context $Context -TimeoutSec 120 -ErrorAction Stop
    }
    AfterAll {
        Stop-Gateway -Context $Context -ErrorAction SilentlyContinue
    }

    It 'returns the process id and the URLs it listens on' {
        $Started.Pid | Should -BeGreaterThan 0
        $Started.ListeningUrls | Should -Not -BeNullOrEmpty
        $Started.Revision | Should -Be ((Get-Content -LiteralPath $Context.ConfigurationPath -Raw | ConvertFrom-Json).revision)
        Get-Process -Id $Started.Pid | Should -Not -BeNullOrEmpty
    }

    It 'answers HTTPS requests (404 with a JSON body for a path no API has)' {
        $url = ($Started.ListeningUrls | Select-Object -First 1).TrimEnd('/') + '/no-such-api'
        $response = Invoke-WebRequest -Uri $url -SkipCertificateCheck -SkipHttpErrorCheck

        $response.StatusCode | Should -Be 404
        { $response.Content | ConvertFrom-Json } | Should -Not -Throw
    }

    It 'refuses to start a second gateway for the same configuration: StartGatewayAlreadyRunning' {
        $err = $null

        Start-Gateway -Context $Context -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'StartGatewayAlreadyRunning,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
    }

    It 'starts nothing under -WhatIf' {
        $other = New-ServingGateway -Name 'start-whatif'

        Start-Gateway -Context $other -WhatIf

        (Get-GatewayStatus -Context $other).IsRunning | Should -BeFalse
    }

    It 'refuses a configuration the gateway cannot load and lists its errors: StartGatewayStartFailed' {
        $broken = New-TestGateway -Name 'start-broken'
        # Edit the file by hand behind the cmdlets' back: a hostname whose certificate does not exist.
        $json = Get-Content -LiteralPath $broken.ConfigurationPath -Raw | ConvertFrom-Json
        $json.service.hostnames = @([pscustomobject]@{ hostName = 'localhost'; port = (Get-FreePort); certificateId = 'ghost' })
        $json | ConvertTo-Json -Depth 10 | Set-Content -LiteralPath $broken.ConfigurationPath
        $err = $null

        Start-Gateway -Context $broken -TimeoutSec 120 -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'StartGatewayStartFailed,*'
        "$($err[0])" | Should -Match "certificate 'ghost'"
    }

    Context 'on a machine whose dotnet has no ASP.NET Core runtime' {
        BeforeAll {
            # A dotnet root as a runtime-only install leaves it: the real muxer (copied, since a link would lead back to
            # the real root), host/fxr and Microsoft.NETCore.App linked into the real one, no Microsoft.AspNetCore.App.
            $real = (Get-Command dotnet -CommandType Application | Select-Object -First 1).Source
            $real = (Get-Item -LiteralPath $real).ResolveLinkTarget($true)?.FullName ?? $real
            $realRoot = Split-Path $real
            $script:FakeRoot = Join-Path $TestDrive 'dotnet-without-aspnetcore'
            $null = New-Item -ItemType Directory -Path "$FakeRoot/host", "$FakeRoot/shared" -Force
            Copy-Item -LiteralPath $real -Destination $FakeRoot
            $null = New-Item -ItemType SymbolicLink -Path "$FakeRoot/host/fxr" -Target "$realRoot/host/fxr"
            $null = New-Item -ItemType SymbolicLink -Path "$FakeRoot/shared/Microsoft.NETCore.App" -Target "$realRoot/shared/Microsoft.NETCore.App"
            $script:Saved = @{ DOTNET_ROOT = $env:DOTNET_ROOT; DOTNET_HOST_PATH = $env:DOTNET_HOST_PATH }
        }
        AfterAll {
            foreach ($name in $Saved.Keys) { [Environment]::SetEnvironmentVariable($name, $Saved[$name]) }
        }

        It 'says so and names the fix: StartGatewayRuntimeNotFound' {
            $context = New-ServingGateway -Name 'start-no-aspnetcore'
            $env:DOTNET_ROOT = $FakeRoot
            $env:DOTNET_HOST_PATH = $null
            $err = $null

            Start-Gateway -Context $context -TimeoutSec 120 -ErrorAction SilentlyContinue -ErrorVariable err

            $err[0].FullyQualifiedErrorId | Should -BeLike 'StartGatewayRuntimeNotFound,*'
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $message = "$($err[0])"
            $message | Should -Match ([regex]::Escape("DOTNET_ROOT names '$FakeRoot', which has no Microsoft.AspNetCore.App 10.x"))
            foreach ($fix in 'Install the ASP.NET Core Runtime 10.0', "'sudo apt-get install -y aspnetcore-runtime-10.0'", '--runtime aspnetcore --channel 10.0', "'winget install Microsoft.DotNet.AspNetCore.10'") {
                $message | Should -Match ([regex]::Escape($fix))
            }
            (Get-GatewayStatus -Context $context).IsRunning | Should -BeFalse
        }
    }
}

Describe 'Get-GatewayStatus' {
    It 'reports a configuration without a gateway as not running' {
        $context = New-TestGateway -Name 'status-none'

        $status = Get-GatewayStatus -Context $context

        $status.IsRunning | Should -BeFalse
        $status.ConfigurationPath | Should -Be $context.ConfigurationPath
    }

    It 'reports the running gateway, the revision it serves, and a refused change' {
        $context = New-ServingGateway -Name 'status-running'
        $started = Start-Gateway -Context $context -TimeoutSec 120 -ErrorAction Stop
        try {
            $status = $context | Get-GatewayStatus
            $status.IsRunning | Should -BeTrue
            $status.Pid | Should -Be $started.Pid
            $status.LastReloadError | Should -BeNullOrEmpty

            # A change made with the cmdlets is served within a second.
            $null = New-GatewayApi -Context $context -ApiId orders -Path orders -ServiceUrl 'https://orders.example.com/'
            $revision = (Get-Content -LiteralPath $context.ConfigurationPath -Raw | ConvertFrom-Json).revision
            $deadline = (Get-Date).AddSeconds(5)
            while ((Get-GatewayStatus -Context $context).Revision -lt $revision -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
            (Get-GatewayStatus -Context $context).Revision | Should -Be $revision
        }
        finally {
            Stop-Gateway -Context $context
        }
    }
}

Describe 'Start-Gateway options for production' {
    It 'writes the access log, serves health and metrics on -HealthAddress, and never /status there' {
        $context = New-ServingGateway -Name 'start-options'
        $accessLog = Join-Path $TestDrive 'access.log'
        $healthPort = Get-FreePort
        $started = Start-Gateway -Context $context -TimeoutSec 120 -AccessLogPath $accessLog -HealthAddress "127.0.0.1:$healthPort" -DrainTimeoutSec 5 -ShutdownDelaySec 0 -ErrorAction Stop
        try {
            $url = ($started.ListeningUrls | Select-Object -First 1).TrimEnd('/') + '/no-such-api?secret=hunter2'
            (Invoke-WebRequest -Uri $url -SkipCertificateCheck -SkipHttpErrorCheck).StatusCode | Should -Be 404

            $deadline = (Get-Date).AddSeconds(10)
            while (-not ((Test-Path -LiteralPath $accessLog) -and (Get-Content -LiteralPath $accessLog -Raw)) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
            $line = Get-Content -LiteralPath $accessLog | Select-Object -Last 1 | ConvertFrom-Json
            $line.status | Should -Be 404
            $line.path | Should -Be '/no-such-api'
            Get-Content -LiteralPath $accessLog -Raw | Should -Not -Match 'hunter2'

            (Invoke-WebRequest -Uri "http://127.0.0.1:$healthPort/readyz" -SkipHttpErrorCheck).StatusCode | Should -Be 200
            (Invoke-WebRequest -Uri "http://127.0.0.1:$healthPort/metrics").Content | Should -Match 'apigateway_'
            (Invoke-WebRequest -Uri "http://127.0.0.1:$healthPort/status" -SkipHttpErrorCheck).StatusCode | Should -Be 404
        }
        finally {
            Stop-Gateway -Context $context
        }
    }

    It 'refuses a -HealthAddress that is not an address and port, quoting the gateway: StartGatewayStartFailed' {
        $context = New-ServingGateway -Name 'start-bad-health'
        $err = $null

        Start-Gateway -Context $context -TimeoutSec 120 -HealthAddress 'nonsense' -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'StartGatewayStartFailed,*'
        $err[0].Exception.Message | Should -Match "--health-address 'nonsense'"
        (Get-GatewayStatus -Context $context).IsRunning | Should -BeFalse
    }
}

Describe 'Stop-Gateway' {
    It 'stops the gateway gracefully and says what happened with -PassThru' {
        $context = New-ServingGateway -Name 'stop'
        $started = Start-Gateway -Context $context -TimeoutSec 120 -ErrorAction Stop

        $stopped = Stop-Gateway -Context $context -PassThru

        $stopped.WasRunning | Should -BeTrue
        $stopped.Pid | Should -Be $started.Pid
        $stopped.Graceful | Should -BeTrue
        (Get-GatewayStatus -Context $context).IsRunning | Should -BeFalse
    }

    It 'is not an error when nothing runs' {
        $context = New-TestGateway -Name 'stop-none'

        (Stop-Gateway -Context $context -PassThru -ErrorAction Stop).WasRunning | Should -BeFalse
    }

    It 'stops nothing under -WhatIf' {
        $context = New-ServingGateway -Name 'stop-whatif'
        $null = Start-Gateway -Context $context -TimeoutSec 120 -ErrorAction Stop
        try {
            Stop-Gateway -Context $context -WhatIf

            (Get-GatewayStatus -Context $context).IsRunning | Should -BeTrue
        }
        finally {
            Stop-Gateway -Context $context
        }
    }
}
