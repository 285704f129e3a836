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

Describe 'Revocation with a running gateway' {
    BeforeAll {
        function Get-FreePort {
            $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $listener.Start()
            try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
        }
        function New-Crl {
            param($Ca, [System.Security.Cryptography.X509Certificates.X509Certificate2[]] $Revoked = @(), [int] $Number = 1)
            $builder = [System.Security.Cryptography.X509Certificates.CertificateRevocationListBuilder]::new()
            foreach ($certificate in $Revoked) { $builder.AddEntry($certificate, [DateTimeOffset]::UtcNow.AddMinutes(-10)) }
            $builder.Build($Ca, $Number, [DateTimeOffset]::UtcNow.AddDays(7), [System.Security.Cryptography.HashAlgorithmName]::SHA256, $null, [DateTimeOffset]::UtcNow.AddMinutes(-5))
        }
        function Publish-Crl {
            param([string] $Folder, [byte[]] $Crl)
            $temporary = Join-Path $Folder '.clients.crl.tmp'
            [System.IO.File]::WriteAllBytes($temporary, $Crl)
            Move-Item -LiteralPath $temporary -Destination (Join-Path $Folder 'clients.crl') -Force
        }

        $script:Ca = New-TestCertificate -Subject 'CN=Pester Clients CA' -CertificateAuthority
        $script:Good = New-TestCertificate -Subject 'CN=good' -Issuer $Ca -ClientAuth
        $script:Revoked = New-TestCertificate -Subject 'CN=revoked' -Issuer $Ca -ClientAuth
        $script:Folder = Join-Path $TestDrive 'gateway-crls'
        $null = New-Item -ItemType Directory -Path $Folder
        Publish-Crl -Folder $Folder -Crl (New-Crl -Ca $Ca -Revoked $Revoked)

        $script:Context = New-TestGateway -Name 'revocation-running'
        $server = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost
        $null = Add-GatewayCertificate -Context $Context -CertificateId server -Certificate $server
        $null = Add-GatewayCaCertificate -Context $Context -CertificateId clients -Certificate ([System.Security.Cryptography.X509Certificates.X509Certificate2]::new($Ca.RawData))
        Set-GatewayHostname -Context $Context -HostName localhost -Port (Get-FreePort) -ListenAddress 127.0.0.1 -CertificateId server -NegotiateClientCertificate $true
        $null = New-GatewayApi -Context $Context -ApiId partners -Path partners -ServiceUrl https://partners.internal/
        Set-GatewayPolicy -Context $Context -ApiId partners -Policy '<policies><inbound><validate-client-certificate validate-revocation="true" /><return-response><set-status code="200" reason="OK" /></return-response></inbound><backend /><outbound /><on-error><base /></on-error></policies>'
        Set-GatewayRevocation -Context $Context -Mode Offline -CrlFolder $Folder
        $script:Started = Start-Gateway -Context $Context -TimeoutSec 120 -ErrorAction Stop
        $script:Url = ($Started.ListeningUrls | Select-Object -First 1).TrimEnd('/') + '/partners/'

        function Get-Status {
            param([System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate)
            (Invoke-WebRequest -Uri $Url -Certificate $Certificate -SkipCertificateCheck -SkipHttpErrorCheck).StatusCode
        }
    }
    AfterAll {
        Stop-Gateway -Context $Context -ErrorAction SilentlyContinue
    }

    It 'admits a certificate the CRL does not list, refuses one it lists, and refuses a newly revoked one after the CRL is replaced' {
        Get-Status $Good | Should -Be 200
        Get-Status $Revoked | Should -Be 403

        Publish-Crl -Folder $Folder -Crl (New-Crl -Ca $Ca -Revoked $Revoked, $Good -Number 2)
        $deadline = [DateTime]::UtcNow.AddSeconds(15)
        do { $status = Get-Status $Good; if ($status -eq 200) { Start-Sleep -Milliseconds 200 } } while ($status -eq 200 -and [DateTime]::UtcNow -lt $deadline)

        $status | Should -Be 403
    }

    It 'admits every certificate in NoCheck mode' {
        Set-GatewayRevocation -Context $Context -Mode NoCheck -WarningAction SilentlyContinue
        $deadline = [DateTime]::UtcNow.AddSeconds(15)
        do { $status = Get-Status $Revoked; if ($status -ne 200) { Start-Sleep -Milliseconds 200 } } while ($status -ne 200 -and [DateTime]::UtcNow -lt $deadline)

        $status | Should -Be 200
    }
}
