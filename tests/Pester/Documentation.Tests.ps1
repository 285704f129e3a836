# The documentation, executed: the README walkthrough (its PowerShell blocks, in order, as one story) and every
# example of every cmdlet's help (Get-Help -Examples), each against a configuration of its own in a fresh runspace
# with the built module. A documented command that no longer works fails here, so docs cannot drift from behaviour.
#
# What the examples take for granted is prepared for them, and nothing else: the files they name (PFX files, CA
# certificates, a policy file), the variables they use ($context, $password), a Read-Host that answers with the test
# password instead of prompting, and what each example's own setup below creates in the configuration. Absolute paths
# outside the test folder (/etc/letsencrypt/...) and fixed ports are mapped into the test's own folder and free ports.
BeforeDiscovery {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Examples = foreach ($command in Get-Command -Module ApiGateway -CommandType Cmdlet | Sort-Object Name) {
        $number = 0
        foreach ($example in @((Get-Help $command.Name -Examples).Examples.Example)) {
            $number++
            @{ Cmdlet = $command.Name; Number = $number; Title = "$($example.Title)".Trim('- ').Trim(); Code = "$($example.Code)" }
        }
    }
}

BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/Documentation.ps1"
    Import-ApiGatewayModule

    # What each example needs in its configuration beyond the base (a server certificate server-tls and the hostname
    # localhost on a free port). Keyed "<Cmdlet> <number>"; every example must have an entry (empty when
    # it needs nothing), so a new example is a conscious addition here.
    $script:Setup = @{
        'Add-GatewayCaCertificate 1'       = ''
        'Add-GatewayCaCertificate 2'       = ''
        'Add-GatewayCertificate 1'         = ''
        'Add-GatewayCertificate 2'         = ''
        'Add-GatewayCertificate 3'         = ''
        'Get-GatewayApi 1'                 = 'New-Api orders'
        'Get-GatewayApi 2'                 = 'New-Api orders; New-Api billing; Add-Pfx backend-2026'
        'Get-GatewayBackend 1'             = 'New-Backend billing'
        'Get-GatewayBackend 2'             = 'New-Backend billing; New-Backend contoso-com'
        'Get-GatewayCaCertificate 1'       = ''
        'Get-GatewayCertificate 1'         = 'Add-Pfx backend-2025'
        'Get-GatewayCertificate 2'         = 'Add-Pfx backend-2025 -ExpiresInDays 20'
        'Get-GatewayCertificate 3'         = 'Add-Pfx backend-2024 -ExpiresInDays 10; Add-Pfx backend-2025 -ExpiresInDays 20; New-Api orders -Credential backend-2025'
        'Get-GatewayCertificateReference 1' = 'Add-Pfx backend-2025; New-Api orders -Credential backend-2025; New-Backend billing -Credential backend-2025'
        'Get-GatewayCertificateReference 2' = 'Add-Pfx backend-2024; Add-Pfx backend-2025; New-Api orders -Credential backend-2024; New-Api billing -Credential backend-2024'
        'Get-GatewayHostname 1'            = ''
        'Get-GatewayHostname 2'            = ''
        'Get-GatewayLimit 1'               = ''
        'Get-GatewayLimit 2'               = ''
        'Get-GatewayPolicy 1'              = ''
        'Get-GatewayPolicy 2'              = 'New-Api orders; New-Api billing'
        'Get-GatewayStatus 1'              = ''
        'Get-GatewayStatus 2'              = 'Start-Gateway -Context $context -TimeoutSec 120 | Out-Null'
        'Get-GatewayStatus 3'              = ''
        'New-GatewayApi 1'                 = 'New-Backend contoso-com'
        'New-GatewayApi 2'                 = ''
        'New-GatewayBackend 1'             = ''
        'New-GatewayBackend 2'             = 'Add-Pfx backend-2025'
        'New-GatewayBackendCredential 1'   = 'Add-Pfx backend-2025; New-Backend billing'
        'New-GatewayBackendCredential 2'   = ''
        'New-GatewayContext 1'             = ''
        'New-GatewayContext 2'             = '$null = New-Item -ItemType Directory -Force ~/gateways'
        'Remove-GatewayApi 1'              = 'New-Api echo'
        'Remove-GatewayBackend 1'          = 'New-Backend legacy'
        'Remove-GatewayCaCertificate 1'    = 'Add-GatewayCaCertificate -Context $context -CertificateId contoso-root-2019 -FilePath ./contoso-root.cer | Out-Null'
        'Remove-GatewayCertificate 1'      = 'Add-Pfx backend-2024'
        'Remove-GatewayCertificate 2'      = 'Add-Pfx backend-2024 -ExpiresInDays 10'
        'Remove-GatewayHostname 1'         = 'Set-GatewayHostname -Context $context -HostName old.contoso.com -Port (Get-FreePort) -CertificateId server-tls | Out-Null'
        'Set-ApiGatewayCredential 1'       = 'Add-Pfx backend-2025; New-Api orders'
        'Set-ApiGatewayCredential 2'       = 'Add-Pfx backend-2025; New-Api orders -Credential backend-2025'
        'Set-ApiGatewayCredential 3'       = 'Add-Pfx backend-2025; New-Api orders -Credential backend-2025'
        'Set-GatewayApi 1'                 = 'New-Api orders; New-Backend orders-v2'
        'Set-GatewayApi 2'                 = 'New-Api legacy-orders; New-Api legacy-billing'
        'Set-GatewayBackend 1'             = 'New-Backend billing; New-Backend contoso-com'
        'Set-GatewayBackend 2'             = 'New-Backend billing'
        'Set-GatewayCertificate 1'         = 'Add-Pfx backend-2025'
        'Set-GatewayCertificate 2'         = 'Add-Pfx backend-2024 -ExpiresInDays 10; Add-Pfx backend-2025 -ExpiresInDays 20'
        'Set-GatewayHostname 1'            = ''
        'Set-GatewayHostname 2'            = ''
        'Set-GatewayHostname 3'            = 'foreach ($name in ''api.contoso.com'', ''legacy.contoso.com'') { Set-GatewayHostname -Context $context -HostName $name -Port (Get-FreePort) -CertificateId server-tls | Out-Null }'
        'Set-GatewayLimit 1'               = ''
        'Set-GatewayLimit 2'               = ''
        'Set-GatewayLimit 3'               = 'Set-GatewayLimit -Context $context -MaxRequestBodySize 100MB -RequestHeadersTimeoutSeconds 10 | Out-Null'
        'Set-GatewayPolicy 1'              = 'New-Api orders'
        'Set-GatewayPolicy 2'              = ''
        'Start-Gateway 1'                  = ''
        'Start-Gateway 2'                  = ''
        'Start-Gateway 3'                  = ''
        'Stop-Gateway 1'                   = 'Start-Gateway -Context $context -TimeoutSec 120 | Out-Null'
        'Stop-Gateway 2'                   = 'Start-Gateway -Context $context -TimeoutSec 120 | Out-Null'
        'Get-GatewayApi 3' = 'New-GatewayApi -Context $context -ApiId orders -DisplayName ''Orders API'' -Path orders -ServiceUrl https://orders.internal/ | Out-Null'
        'Get-GatewayPolicy 3' = 'New-Api orders; Set-GatewayPolicy -Context $context -ApiId orders -Policy ''<policies><inbound><base /><set-header name="x-copied" exists-action="override"><value>1</value></set-header></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'' | Out-Null'
        'New-GatewayApi 3' = ''
        'Remove-GatewayPolicy 1' = 'Add-Pfx backend-2025; New-Api orders -Credential backend-2025'
        'Remove-GatewayPolicy 2' = 'Add-Pfx backend-2025; New-Api orders -Credential backend-2025; New-Api billing'
        'Remove-GatewayPolicy 3' = 'Set-GatewayPolicy -Context $context -PolicyFilePath ./policies/global.xml | Out-Null'
        'Set-GatewayApi 3' = 'New-Api orders'
        'Set-GatewayPolicy 3' = 'foreach ($name in ''staging'', ''production'') { $c = New-GatewayContext -Path "./$name.json"; New-GatewayApi -Context $c -ApiId orders -Path orders -ServiceUrl https://orders.internal/ | Out-Null }; Set-GatewayPolicy -Context ./staging.json -ApiId orders -Policy ''<policies><inbound><base /><set-header name="x-copied" exists-action="override"><value>1</value></set-header></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'' | Out-Null'
        'Get-GatewayRevocation 1' = ''
        'Set-GatewayRevocation 1' = ''
        'Set-GatewayRevocation 2' = 'Set-GatewayRevocation -Context $context -CrlFolder ./crls | Out-Null'
        'Set-GatewayRevocation 3' = ''
        'Test-GatewayClientCertificate 1' = 'New-Api orders; Set-GatewayHostname -Context $context -HostName localhost -NegotiateClientCertificate $true | Out-Null; Add-GatewayCaCertificate -Context $context -CertificateId clients-root -FilePath ./clients-root.cer -WarningAction SilentlyContinue | Out-Null; Set-GatewayPolicy -Context $context -ApiId orders -Policy ''<policies><inbound><base /><choose><when condition="@(context.Request.Certificate == null)"><return-response><set-status code="403" reason="Invalid client certificate" /></return-response></when></choose></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'' | Out-Null'
        'Test-GatewayClientCertificate 2' = 'New-Api orders; Set-GatewayHostname -Context $context -HostName localhost -NegotiateClientCertificate $true | Out-Null; Add-GatewayCaCertificate -Context $context -CertificateId clients-root -FilePath ./clients-root.cer -WarningAction SilentlyContinue | Out-Null; Set-GatewayPolicy -Context $context -ApiId orders -Policy ''<policies><inbound><base /><choose><when condition="@(context.Request.Certificate == null)"><return-response><set-status code="403" reason="Invalid client certificate" /></return-response></when></choose></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'' | Out-Null'
        'Test-GatewayClientCertificate 3' = 'New-Api orders; Set-GatewayHostname -Context $context -HostName localhost -NegotiateClientCertificate $true | Out-Null; Add-GatewayCaCertificate -Context $context -CertificateId clients-root -FilePath ./clients-root.cer -WarningAction SilentlyContinue | Out-Null; Set-GatewayPolicy -Context $context -ApiId orders -Policy ''<policies><inbound><base /><choose><when condition="@(context.Request.Certificate == null)"><return-response><set-status code="403" reason="Invalid client certificate" /></return-response></when></choose></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'' | Out-Null'
        'Test-GatewayClientCertificate 4' = 'New-Api orders; Set-GatewayHostname -Context $context -HostName localhost -NegotiateClientCertificate $true | Out-Null; Add-GatewayCaCertificate -Context $context -CertificateId clients-root -FilePath ./clients-root.cer -WarningAction SilentlyContinue | Out-Null; Set-GatewayPolicy -Context $context -ApiId orders -Policy ''<policies><inbound><base /><choose><when condition="@(context.Request.Certificate == null)"><return-response><set-status code="403" reason="Invalid client certificate" /></return-response></when></choose></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'' | Out-Null'
        'Invoke-GatewayRequest 1' = 'New-Api orders; Start-Gateway -Context $context -TimeoutSec 120 | Out-Null'
        'Invoke-GatewayRequest 2' = 'New-Api orders; Set-GatewayHostname -Context $context -HostName localhost -NegotiateClientCertificate $true | Out-Null; Add-GatewayCaCertificate -Context $context -CertificateId clients-root -FilePath ./clients-root.cer -WarningAction SilentlyContinue | Out-Null; Set-GatewayPolicy -Context $context -ApiId orders -Policy ''<policies><inbound><base /><choose><when condition="@(context.Request.Certificate == null)"><return-response><set-status code="403" reason="Invalid client certificate" /></return-response></when></choose></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'' | Out-Null; Start-Gateway -Context $context -TimeoutSec 120 | Out-Null'
        'Invoke-GatewayRequest 3' = 'New-Api orders; Start-Gateway -Context $context -TimeoutSec 120 | Out-Null'
        'Test-GatewayConfiguration 1' = 'Add-Pfx backend-2025 -ExpiresInDays 10; New-Api orders -Credential backend-2025'
        'Test-GatewayConfiguration 2' = ''
        'Test-GatewayConfiguration 3' = ''
        'Set-GatewayApi 4' = 'New-Api orders'
        'Test-GatewayBackendTls 1' = 'Start-Gateway -Context $context -TimeoutSec 120 | Out-Null; New-GatewayBackend -Context $context -BackendId billing -Url "https://localhost:$((Get-GatewayHostname -Context $context).Port)/" -Protocol http | Out-Null'
        'Test-GatewayBackendTls 2' = 'Start-Gateway -Context $context -TimeoutSec 120 | Out-Null; New-GatewayBackend -Context $context -BackendId billing -Url "https://localhost:$((Get-GatewayHostname -Context $context).Port)/" -Protocol http -SkipCertificateChainValidation $true | Out-Null; New-GatewayBackend -Context $context -BackendId stopped -Url "https://127.0.0.1:$(Get-FreePort)/" -Protocol http | Out-Null'
        'Test-GatewayBackendTls 3' = 'Add-Pfx backend-2026; Start-Gateway -Context $context -TimeoutSec 120 | Out-Null; New-GatewayBackend -Context $context -BackendId billing -Url "https://localhost:$((Get-GatewayHostname -Context $context).Port)/" -Protocol http | Out-Null'
    }

}

Describe 'Get-Help examples of every cmdlet (Get-GatewayCertificate, Set-GatewayPolicy, Start-Gateway, ...)' {
    It 'has a setup entry for every example' {
        $keys = $Examples | ForEach-Object { "$($_.Cmdlet) $($_.Number)" }
        @($keys | Where-Object { -not $Setup.ContainsKey($_) }) | Should -BeNullOrEmpty -Because 'a new example needs its setup in Documentation.Tests.ps1'
        @($Setup.Keys | Where-Object { $_ -notin $keys }) | Should -BeNullOrEmpty -Because 'an entry whose example is gone should go too'
    }

    It '<Cmdlet> example <Number> runs without errors: <Title>' -ForEach $Examples {
        $folder = Join-Path $TestDrive "$Cmdlet-$Number"
        New-DocumentationFolder -Path $folder
        $replace = @{ '/etc/letsencrypt/live/api/' = "$folder/letsencrypt/live/api/"; ' 9901 ' = " $(Get-FreePort) "; '127.0.0.1:9100' = "127.0.0.1:$(Get-FreePort)" }

        $result = Invoke-DocumentedCode -Folder $folder -Code $Code -Setup $Setup["$Cmdlet $Number"] -Replace $replace

        $result.Errors | Should -BeNullOrEmpty -Because (Format-Errors $result.Errors)
    }
}

Describe 'The README walkthrough, executed block by block' {
    BeforeAll {
        $script:Folder = Join-Path $TestDrive 'readme'
        New-DocumentationFolder -Path $Folder
        # The module by name, as the README imports it: the built module's parent folder on PSModulePath.
        $script:ModuleRoot = Split-Path (Split-Path (Split-Path (Get-ApiGatewayModulePath)))
    }

    It 'has the walkthrough, the rotation and the Pester blocks' {
        @(Get-ReadmeWalkthrough).Count | Should -Be 3
    }

    It 'runs every block in order on one configuration, and its Pester tests pass' {
        $result = Invoke-ReadmeWalkthrough -Folder $Folder -ModuleRoot $ModuleRoot -PesterModule (Get-Module Pester).Path

        $result.Errors | Should -BeNullOrEmpty -Because (Format-Errors $result.Errors)
        $result.Output[-3] | Should -Be 'Passed'
        $result.Output[-2] | Should -Be 4
        $result.Output[-1] | Should -Be 0
    }
}
