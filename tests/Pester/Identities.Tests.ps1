# validate-client-certificate identities beyond APIM's (san-uri, san-email, san-ip, spki-sha256, thumbprint-sha256),
# as a script sets them with Set-GatewayPolicy and a client presents them to a running gateway.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule

    function Get-IdentityPolicy {
        param([string] $Identity)
        "<policies><inbound><validate-client-certificate validate-revocation=`"false`"><identities>$Identity</identities></validate-client-certificate><return-response><set-status code=`"200`" reason=`"OK`" /><set-body>@(string.Join(`",`", context.Request.Certificate.GetUris()))</set-body></return-response></inbound><backend /><outbound /><on-error><base /></on-error></policies>"
    }
}

Describe 'Set-GatewayPolicy with peer identities' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'identities'
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl https://orders.internal/
    }

    It 'accepts <Attribute>' -ForEach @(
        @{ Attribute = 'san-uri'; Value = 'spiffe://contoso.com/ns/prod/sa/orders' }
        @{ Attribute = 'san-email'; Value = 'ops@contoso.com' }
        @{ Attribute = 'san-ip'; Value = '2001:db8::10' }
        @{ Attribute = 'spki-sha256'; Value = [Convert]::ToBase64String([byte[]]::new(32)) }
        @{ Attribute = 'thumbprint-sha256'; Value = 'AB' * 32 }
    ) {
        { Set-GatewayPolicy -Context $Context -ApiId orders -Policy (Get-IdentityPolicy "<identity $Attribute=`"$Value`" />") -WarningAction SilentlyContinue -ErrorAction Stop } | Should -Not -Throw
    }

    It 'refuses <Attribute>="<Value>" naming the attribute, and keeps the previous policy' -ForEach @(
        @{ Attribute = 'san-ip'; Value = '010.0.0.1'; Says = 'is not an IP address' }
        @{ Attribute = 'spki-sha256'; Value = 'c2hvcnQ='; Says = 'is not a SHA-256 pin' }
        @{ Attribute = 'san-uri'; Value = 'orders'; Says = 'is not an absolute URI' }
    ) {
        $before = Get-ConfigurationHash -Context $Context
        $err = $null

        Set-GatewayPolicy -Context $Context -ApiId orders -Policy (Get-IdentityPolicy "<identity $Attribute=`"$Value`" />") -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayPolicyInvalid,*'
        "$($err[0].Exception.Message)" | Should -Match ([regex]::Escape("$Attribute=`"$Value`" $Says"))
        Get-ConfigurationHash -Context $Context | Should -Be $before
    }
}

Describe 'Peer identities at a running gateway' {
    BeforeAll {
        function Get-FreePort {
            $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $listener.Start()
            try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
        }
        function New-UriClient {
            param([string] $Uri)
            $key = [System.Security.Cryptography.ECDsa]::Create([System.Security.Cryptography.ECCurve+NamedCurves]::nistP256)
            $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new("CN=workload", $key, [System.Security.Cryptography.HashAlgorithmName]::SHA256)
            $usages = [System.Security.Cryptography.OidCollection]::new()
            [void]$usages.Add([System.Security.Cryptography.Oid]::new('1.3.6.1.5.5.7.3.2'))
            $request.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]::new($usages, $false))
            $names = [System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder]::new()
            $names.AddUri([uri]$Uri)
            $request.CertificateExtensions.Add($names.Build())
            $serial = [byte[]](1..12)
            $signed = $request.Create($Ca, [DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddDays(30), $serial)
            [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::CopyWithPrivateKey($signed, $key)
        }

        $script:Ca = New-TestCertificate -Subject 'CN=Pester Workload CA' -CertificateAuthority
        $script:Orders = New-UriClient 'spiffe://contoso.com/ns/prod/sa/orders'
        $script:Billing = New-UriClient 'spiffe://contoso.com/ns/prod/sa/billing'
        $script:Pinned = New-TestCertificate -Subject 'CN=pinned' -Issuer $Ca -ClientAuth
        $pin = [Convert]::ToBase64String([System.Security.Cryptography.SHA256]::HashData($Pinned.PublicKey.ExportSubjectPublicKeyInfo()))

        $script:Context = New-TestGateway -Name 'identities-running'
        $server = New-TestCertificate -Subject 'CN=localhost' -ServerAuth -DnsName localhost
        $null = Add-GatewayCertificate -Context $Context -CertificateId server -Certificate $server
        $null = Add-GatewayCaCertificate -Context $Context -CertificateId workloads -Certificate ([System.Security.Cryptography.X509Certificates.X509Certificate2]::new($Ca.RawData))
        Set-GatewayHostname -Context $Context -HostName localhost -Port (Get-FreePort) -ListenAddress 127.0.0.1 -CertificateId server -NegotiateClientCertificate $true
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl https://orders.internal/
        Set-GatewayPolicy -Context $Context -ApiId orders -Policy (Get-IdentityPolicy "<identity san-uri=`"SPIFFE://Contoso.com/ns/prod/sa/orders`" /><identity spki-sha256=`"$pin`" />") -WarningAction SilentlyContinue
        $started = Start-Gateway -Context $Context -TimeoutSec 120 -ErrorAction Stop
        $script:Url = ($started.ListeningUrls | Select-Object -First 1).TrimEnd('/') + '/orders/'
    }
    AfterAll {
        Stop-Gateway -Context $Context -ErrorAction SilentlyContinue
    }

    It 'admits the named workload (scheme and host without regard to case) and the pinned key, and refuses another workload' {
        $orders = Invoke-WebRequest -Uri $Url -Certificate $Orders -SkipCertificateCheck -SkipHttpErrorCheck
        $pinned = Invoke-WebRequest -Uri $Url -Certificate $Pinned -SkipCertificateCheck -SkipHttpErrorCheck
        $billing = Invoke-WebRequest -Uri $Url -Certificate $Billing -SkipCertificateCheck -SkipHttpErrorCheck

        $orders.StatusCode | Should -Be 200
        # The body has no content type, so Invoke-WebRequest hands it over as bytes.
        [System.Text.Encoding]::UTF8.GetString($orders.Content) | Should -Be 'spiffe://contoso.com/ns/prod/sa/orders'
        $pinned.StatusCode | Should -Be 200
        $billing.StatusCode | Should -Be 403
        ($billing.Content | ConvertFrom-Json).message | Should -Match 'matches none of the 2 identities'
    }
}
