# Test-GatewayClientCertificate and Invoke-GatewayRequest: the four client-certificate policies APIM publishes and
# validate-client-certificate, tested against generated certificates with no gateway running (three lines a case),
# then the same cases sent through a running gateway with its trace, which must agree with the dry run.
BeforeDiscovery {
    $script:Cases = foreach ($api in 'expiry', 'issuer-subject', 'thumbprint', 'uploaded', 'validate') {
        foreach ($client in 'valid', 'expired', 'wrong-issuer', 'wrong-subject', 'not-uploaded', 'none') {
            # What APIM's policy text says each client gets (403 "Invalid client certificate", or through).
            $allowed = switch ($api) {
                'expiry' { $client -notin 'expired', 'none' }
                'issuer-subject' { $client -in 'valid', 'expired', 'not-uploaded' }
                default { $client -eq 'valid' }
            }
            @{ Api = $api; Client = $client; Allowed = $allowed }
        }
    }
}

BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule

    function Get-FreePort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }

    $script:Ca = New-TestCertificate -Subject 'CN=Test Gateway CA, O=Contoso' -CertificateAuthority
    $other = New-TestCertificate -Subject 'CN=Other CA, O=Fabrikam' -CertificateAuthority
    $subject = 'CN=expected-subject-name, O=Contoso'
    $script:Clients = @{
        'valid'         = New-TestCertificate -Subject $subject -Issuer $Ca -ClientAuth
        'expired'       = New-TestCertificate -Subject $subject -Issuer $Ca -ClientAuth -NotBefore ([DateTimeOffset]::UtcNow.AddDays(-60)) -NotAfter ([DateTimeOffset]::UtcNow.AddDays(-1))
        'wrong-issuer'  = New-TestCertificate -Subject $subject -Issuer $other -ClientAuth
        'wrong-subject' = New-TestCertificate -Subject 'CN=someone-else, O=Contoso' -Issuer $Ca -ClientAuth
        'not-uploaded'  = New-TestCertificate -Subject $subject -Issuer $Ca -ClientAuth
        'none'          = $null
    }
    $thumbprint = $Clients['valid'].Thumbprint

    $script:Context = New-TestGateway -Name 'dry-run'
    $server = New-TestCertificate -Subject 'CN=localhost' -Issuer $Ca -ServerAuth -DnsName localhost
    $null = Add-GatewayCertificate -Context $Context -CertificateId server -Certificate $server
    $null = Add-GatewayCaCertificate -Context $Context -CertificateId clients -Certificate ([System.Security.Cryptography.X509Certificates.X509CertificateLoader]::LoadCertificate($Ca.RawData)) -WarningAction SilentlyContinue
    # The uploaded client certificate, public part only, as a partner sends it.
    $null = Add-GatewayCertificate -Context $Context -CertificateId partner -Certificate ([System.Security.Cryptography.X509Certificates.X509CertificateLoader]::LoadCertificate($Clients['valid'].RawData))
    Set-GatewayHostname -Context $Context -HostName localhost -Port (Get-FreePort) -ListenAddress 127.0.0.1 -CertificateId server -NegotiateClientCertificate $true
    $refuse = '<return-response><set-status code="403" reason="Invalid client certificate" /></return-response>'
    $policies = [ordered]@{
        'expiry'         = "<choose><when condition=`"@(context.Request.Certificate == null || context.Request.Certificate.NotAfter &lt; DateTime.Now)`">$refuse</when></choose>"
        'issuer-subject' = "<choose><when condition=`"@(context.Request.Certificate == null || context.Request.Certificate.Issuer != &quot;CN=Test Gateway CA, O=Contoso&quot; || context.Request.Certificate.SubjectName.Name != &quot;$subject&quot;)`">$refuse</when></choose>"
        'thumbprint'     = "<choose><when condition=`"@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != &quot;$thumbprint&quot;)`">$refuse</when></choose>"
        'uploaded'       = "<choose><when condition=`"@(context.Request.Certificate == null || !context.Deployment.Certificates.Any(c =&gt; c.Value.Thumbprint == context.Request.Certificate.Thumbprint))`">$refuse</when></choose>"
        'validate'       = "<validate-client-certificate validate-revocation=`"false`" validate-trust=`"true`" validate-not-before=`"true`" validate-not-after=`"true`" ignore-error=`"false`"><identities><identity thumbprint=`"$thumbprint`" /></identities></validate-client-certificate>"
    }
    foreach ($api in $policies.Keys) {
        $null = New-GatewayApi -Context $Context -ApiId $api -Path $api -ServiceUrl 'https://127.0.0.1:9/'
        $null = Set-GatewayPolicy -Context $Context -ApiId $api -Policy "<policies><inbound><base />$($policies[$api])</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"
    }

    function Test-Case([string] $Api, [string] $Client) {
        $certificate = $Clients[$Client]
        if ($certificate) { Test-GatewayClientCertificate -Context $Context -ApiId $Api -Certificate $certificate -Path /resource }
        else { Test-GatewayClientCertificate -Context $Context -ApiId $Api -NoCertificate -Path /resource }
    }
}

Describe 'Test-GatewayClientCertificate: the published policies with no gateway running' {
    It 'runs with no gateway' {
        (Get-GatewayStatus -Context $Context).IsRunning | Should -BeFalse
    }

    It '<Api> gives a <Client> certificate Allowed=<Allowed>' -ForEach $Cases {
        $decision = Test-Case $Api $Client
        $decision.Allowed | Should -Be $Allowed
        if (-not $Allowed) { $decision.StatusCode | Should -Be 403; $decision.Reason | Should -Be 'Invalid client certificate' }
    }

    It 'names the condition, its value and the element that decided' {
        $decision = Test-GatewayClientCertificate -Context $Context -ApiId expiry -Certificate $Clients['expired']

        $when = $decision.Trace.Entries | Where-Object Element -EQ 'when'
        $when.Expression | Should -Be '@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)'
        $when.Value | Should -Be 'true'
        $decision.DecidedBy.Element | Should -Be 'return-response'
        $decision.DecidedBy.StatusCode | Should -Be 403
    }

    It 'names the rule validate-client-certificate refused, and its error body' {
        $decision = Test-GatewayClientCertificate -Context $Context -ApiId validate -Certificate $Clients['wrong-issuer']

        $decision.Error | Should -Be 'ClientCertificateNotValid'
        $decision.DecidedBy.Element | Should -Be 'validate-client-certificate'
        $decision.DecidedBy.Detail | Should -BeLike '*does not chain to an uploaded CA certificate*'
    }

    It 'takes certificate files, and several piped certificates in one call' {
        $path = Join-Path $TestDrive 'expired.cer'
        [System.IO.File]::WriteAllBytes($path, $Clients['expired'].RawData)

        $decisions = $Clients['valid'], $path, (Get-Item $path) | Test-GatewayClientCertificate -Context $Context -ApiId expiry

        $decisions.Allowed | Should -Be @($true, $false, $false)
    }

    It 'fails on an unknown API: TestGatewayClientCertificateApiNotFound' {
        $err = $null

        Test-GatewayClientCertificate -Context $Context -ApiId nope -NoCertificate -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'TestGatewayClientCertificateApiNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'sees a policy change at once' {
        $other = New-TestGateway -Name 'dry-run-change'
        $null = Add-GatewayCertificate -Context $other -CertificateId server -Certificate (New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost)
        Set-GatewayHostname -Context $other -HostName localhost -Port (Get-FreePort) -ListenAddress 127.0.0.1 -CertificateId server
        $null = New-GatewayApi -Context $other -ApiId open -Path open -ServiceUrl 'https://127.0.0.1:9/'
        (Test-GatewayClientCertificate -Context $other -ApiId open -NoCertificate).Allowed | Should -BeTrue

        $null = Set-GatewayPolicy -Context $other -ApiId open -Policy "<policies><inbound><base />$refuse</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"

        (Test-GatewayClientCertificate -Context $other -ApiId open -NoCertificate).StatusCode | Should -Be 403
    }
}

Describe 'Invoke-GatewayRequest: the same cases through the running gateway agree with the dry run' {
    BeforeAll {
        $null = Start-Gateway -Context $Context -TimeoutSec 120 -ErrorAction Stop
    }
    AfterAll {
        Stop-Gateway -Context $Context -ErrorAction SilentlyContinue
    }

    It '<Api> with a <Client> certificate: the live answer and trace are the dry run''s' -ForEach $Cases {
        $decision = Test-Case $Api $Client
        $parameters = @{ Context = $Context; ApiId = $Api; Path = '/resource'; IncludeTrace = $true }
        if ($Clients[$Client]) { $parameters.Certificate = $Clients[$Client] }

        $response = Invoke-GatewayRequest @parameters

        # Allowed: forwarded to a backend that is not there (502); refused: the policy's answer.
        if ($decision.Allowed) { $response.StatusCode | Should -Be 502 } else { $response.StatusCode | Should -Be $decision.StatusCode }
        $response.DecidedBy.Element | Should -Be $decision.DecidedBy.Element
        # Entry for entry after the handshake, up to the one that decided (a forwarded request goes on live).
        $decided = $decision.Trace.DecidedByIndex
        $response.Trace.DecidedByIndex | Should -Be $decided
        @($response.Trace.Entries[1..$decided] | ForEach-Object { "$($_.Element) $($_.Value) $($_.Result) $($_.StatusCode)" }) |
            Should -Be @($decision.Trace.Entries[1..$decided] | ForEach-Object { "$($_.Element) $($_.Value) $($_.Result) $($_.StatusCode)" })
    }

    It 'gives no trace unless asked, and shows no trace header' {
        $response = Invoke-GatewayRequest -Context $Context -ApiId expiry -Certificate $Clients['valid']

        $response.Trace | Should -BeNullOrEmpty
        $response.Headers.Keys | Should -Not -Contain 'ApiGateway-Trace-Result'
    }

    It 'gives a client that sends its own trace header nothing' {
        $url = "https://localhost:$(([uri](Get-GatewayStatus -Context $Context).ListeningUrls[0]).Port)/expiry/resource"
        $response = Invoke-WebRequest -Uri $url -Headers @{ 'ApiGateway-Trace' = 'v1;1;00000000000000000000000000000000;00' } -SkipCertificateCheck -SkipHttpErrorCheck

        $response.Headers.Keys | Should -Not -Contain 'ApiGateway-Trace-Result'
    }

    It 'never writes the trace to the gateway log' {
        $null = Invoke-GatewayRequest -Context $Context -ApiId expiry -Path /logged -Certificate $Clients['expired'] -IncludeTrace
        $log = Get-Content -LiteralPath ([System.IO.Path]::ChangeExtension($Context.ConfigurationPath, '.log')) -Raw

        $log | Should -Not -BeLike '*NotAfter < DateTime.Now*'
        $log | Should -Not -BeLike '*tls-handshake*'
    }

    It 'refuses a gateway whose server certificate is not the configured one: InvokeGatewayRequestServerCertificateUntrusted' {
        $err = $null
        # Another gateway's configuration pointing at this gateway's port, with another server certificate.
        $copy = New-TestGateway -Name 'dry-run-pin'
        $null = Add-GatewayCertificate -Context $copy -CertificateId server -Certificate (New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost)
        $port = ([uri](Get-GatewayStatus -Context $Context).ListeningUrls[0]).Port
        Set-GatewayHostname -Context $copy -HostName localhost -Port $port -ListenAddress 127.0.0.1 -CertificateId server
        Copy-Item -LiteralPath ([System.IO.Path]::ChangeExtension($Context.ConfigurationPath, '.state.json')) -Destination ([System.IO.Path]::ChangeExtension($copy.ConfigurationPath, '.state.json'))

        Invoke-GatewayRequest -Context $copy -Path /expiry -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvokeGatewayRequestServerCertificateUntrusted,*'
        $err[0].CategoryInfo.Category | Should -Be 'SecurityError'
        (Invoke-GatewayRequest -Context $copy -Path /expiry -SkipCertificateCheck).StatusCode | Should -Be 403
    }
}
