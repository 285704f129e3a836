BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Ca = New-TestCertificate -Subject 'CN=Pester CA' -CertificateAuthority -NotBefore ([DateTimeOffset]::UtcNow.AddDays(-90)) -NotAfter ([DateTimeOffset]::UtcNow.AddYears(2))
}

Describe 'New-GatewayApi' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'api-new'
        $null = New-GatewayBackend -Context $Context -BackendId contoso-com -Url 'https://contoso.com/myapi' -Protocol http
    }

    It 'creates an API on a backend and one on a service URL' {
        $onBackend = New-GatewayApi -Context $Context -ApiId orders -Path orders -BackendId contoso-com
        $onUrl = New-GatewayApi -Context $Context -ApiId echo -DisplayName 'Echo service' -Path echo -ServiceUrl 'https://echo.internal/'

        $onBackend.BackendId | Should -Be 'contoso-com'
        $onBackend.ServiceUrl | Should -BeNullOrEmpty
        $onUrl.ServiceUrl | Should -Be 'https://echo.internal/'
        $onUrl.DisplayName | Should -Be 'Echo service'
    }

    It 'takes New-AzApiManagementApi''s -Name, -Description and -Protocols https' {
        $api = New-GatewayApi -Context $Context -ApiId billing -Name 'Billing' -Description 'Invoices and payments' -Protocols https -Path billing -ServiceUrl 'https://billing.internal/'

        $api.Name | Should -Be 'Billing'
        $api.DisplayName | Should -Be 'Billing'
        $api.Description | Should -Be 'Invoices and payments'
        $api.Protocols | Should -Be 'Https'
    }

    It 'refuses any protocol but https as NewGatewayApiProtocolNotSupported' {
        $err = $null

        New-GatewayApi -Context $Context -ApiId plain -Path plain -ServiceUrl 'https://p.internal/' -Protocols http, https -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'NewGatewayApiProtocolNotSupported,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$err" | Should -BeLike '*serves APIs over https only*Give -Protocols https*'
    }

    It 'copies APIs piped from another configuration, name and description included' {
        $other = New-TestGateway -Name 'api-copy'

        $copied = Get-GatewayApi -Context $Context -ApiId billing | New-GatewayApi -Context $other

        $copied.ApiId | Should -Be 'billing'
        $copied.Name | Should -Be 'Billing'
        $copied.Description | Should -Be 'Invoices and payments'
        $copied.ServiceUrl | Should -Be 'https://billing.internal/'
        $copied.ConfigurationPath | Should -Be $other.ConfigurationPath
    }

    It 'binds Az''s Name from piped objects to -DisplayName' {
        $created = [pscustomobject]@{ ApiId = 'from-csv'; Name = 'From CSV'; Path = 'csv'; ServiceUrl = 'https://csv.internal/' } | New-GatewayApi -Context $Context

        $created.DisplayName | Should -Be 'From CSV'
    }

    It 'reports an unknown backend as NewGatewayApiBackendNotFound' {
        $err = $null

        New-GatewayApi -Context $Context -ApiId lost -Path lost -BackendId nope -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'NewGatewayApiBackendNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'reports a path that is taken as NewGatewayApiPathInUse' {
        $err = $null

        New-GatewayApi -Context $Context -ApiId orders2 -Path orders -ServiceUrl 'https://o.internal/' -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'NewGatewayApiPathInUse,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }

    It 'forwards to a service URL or a backend, not both' {
        { New-GatewayApi -Context $Context -ApiId both -Path both -ServiceUrl 'https://b.internal/' -BackendId contoso-com -ErrorAction Stop } |
            Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        New-GatewayApi -Context $Context -ApiId whatif -Path whatif -ServiceUrl 'https://w.internal/' -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}

Describe 'Get-GatewayApi' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'api-get'
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'
        $null = New-GatewayApi -Context $Context -ApiId billing -Path billing -ServiceUrl 'https://billing.internal/'
    }

    It 'gets APIs by wildcard' {
        (Get-GatewayApi -Context $Context).ApiId | Should -Be @('billing', 'orders')
        (Get-GatewayApi -Context $Context -ApiId ord*).Path | Should -Be 'orders'
    }

    It 'reports an unknown id as GetGatewayApiNotFound' {
        $err = $null

        Get-GatewayApi -Context $Context -ApiId nope -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayApiNotFound,*'
    }

    It 'finds APIs by display name with -Name, as Get-AzApiManagementApi' {
        $null = New-GatewayApi -Context $Context -ApiId beta -Name 'Orders [beta]' -Path beta -ServiceUrl 'https://beta.internal/'

        (Get-GatewayApi -Context $Context -Name 'orders `[beta`]').ApiId | Should -Be 'beta'
        (Get-GatewayApi -Context $Context -DisplayName 'Ord*').ApiId | Should -Be @('beta', 'orders')
        # A search, as Az's: nothing found is no error, so 'if (-not (Get-GatewayApi -Name x)) { ... }' works.
        $err = $null
        Get-GatewayApi -Context $Context -Name 'Shipping' -ErrorAction Stop -ErrorVariable err | Should -BeNullOrEmpty
        $err | Should -BeNullOrEmpty
    }

    It 'takes -ApiId or -Name, not both' {
        { Get-GatewayApi -Context $Context -ApiId orders -Name orders -ErrorAction Stop } |
            Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
    }

    It 'shows a table by default' {
        (Get-GatewayApi -Context $Context | Format-Table | Out-String -Width 500) | Should -Match 'ApiId\s+DisplayName\s+Path\s+BackendId\s+ServiceUrl\s+GatewayCredential'
    }
}

Describe 'Set-GatewayApi' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'api-set'
        $null = New-GatewayBackend -Context $Context -BackendId v2 -Url 'https://v2.internal/' -Protocol http
        $null = New-GatewayApi -Context $Context -ApiId orders -DisplayName Orders -Path orders -ServiceUrl 'https://orders.internal/'
    }

    It 'moves an API to a backend; the service URL goes, the rest stays' {
        $changed = Set-GatewayApi -Context $Context -ApiId orders -BackendId v2 -PassThru

        $changed.BackendId | Should -Be 'v2'
        $changed.ServiceUrl | Should -BeNullOrEmpty
        $changed.DisplayName | Should -Be 'Orders'
    }

    It 'takes Set-AzApiManagementApi''s -Name, -Description and -Protocols https for a piped API' {
        $changed = Get-GatewayApi -Context $Context -ApiId orders | Set-GatewayApi -Name 'Orders' -Description 'All orders' -Protocols https -PassThru

        $changed.Name | Should -Be 'Orders'
        $changed.Description | Should -Be 'All orders'
        (Set-GatewayApi -Context $Context -ApiId orders -Description '' -PassThru).Description | Should -BeNullOrEmpty
    }

    It 'changes piped APIs' {
        Get-GatewayApi -Context $Context | Set-GatewayApi -DisplayName 'Orders v2'

        (Get-GatewayApi -Context $Context -ApiId orders).DisplayName | Should -Be 'Orders v2'
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Set-GatewayApi -Context $Context -ApiId orders -Path renamed -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}

Describe 'Remove-GatewayApi' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'api-remove'
        $null = New-GatewayApi -Context $Context -ApiId echo -Path echo -ServiceUrl 'https://echo.internal/'
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Get-GatewayApi -Context $Context | Remove-GatewayApi -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }

    It 'removes an API with -Force and passes it through' {
        (Remove-GatewayApi -Context $Context -ApiId echo -Force -PassThru).ApiId | Should -Be 'echo'

        Get-GatewayApi -Context $Context | Should -BeNullOrEmpty
    }

    It 'reports an unknown id as RemoveGatewayApiNotFound' {
        $err = $null

        Remove-GatewayApi -Context $Context -ApiId echo -Force -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoveGatewayApiNotFound,*'
    }
}

Describe 'Set-ApiGatewayCredential' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'api-credential'
        $script:Backend2025 = Add-TestCertificate -Context $Context -Id backend-2025 -Issuer $Ca
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'
        $null = New-GatewayApi -Context $Context -ApiId billing -Path billing -ServiceUrl 'https://billing.internal/'
    }

    It 'makes the API present a certificate by id' {
        $api = Set-ApiGatewayCredential -Context $Context -ApiId orders -CertificateId backend-2025 -PassThru

        $api.GatewayCredentialCertificateId | Should -Be 'backend-2025'
        (Get-GatewayPolicy -Context $Context -ApiId orders).Policy | Should -BeLike '*<authentication-certificate certificate-id="backend-2025" />*'
    }

    It 'takes the APIs from the pipeline by property name' {
        Get-GatewayApi -Context $Context | Set-ApiGatewayCredential -CertificateId backend-2025

        (Get-GatewayApi -Context $Context).GatewayCredentialCertificateId | Should -Be @('backend-2025', 'backend-2025')
    }

    It 'sets it by thumbprint, and removes it with -None' {
        (Set-ApiGatewayCredential -Context $Context -ApiId billing -CertificateThumbprint $Backend2025.Thumbprint -PassThru).GatewayCredentialThumbprint | Should -Be $Backend2025.Thumbprint

        $none = Set-ApiGatewayCredential -Context $Context -ApiId billing -None -PassThru

        $none.GatewayCredentialThumbprint | Should -BeNullOrEmpty
        (Get-GatewayPolicy -Context $Context -ApiId billing).Policy | Should -Not -BeLike '*authentication-certificate*'
    }

    It 'tells a missing API from a missing certificate' {
        $err = $null

        Set-ApiGatewayCredential -Context $Context -ApiId nope -CertificateId backend-2025 -ErrorAction SilentlyContinue -ErrorVariable err
        Set-ApiGatewayCredential -Context $Context -ApiId orders -CertificateId nope -ErrorAction SilentlyContinue -ErrorVariable +err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetApiGatewayCredentialNotFound,*'
        $err[1].FullyQualifiedErrorId | Should -BeLike 'SetApiGatewayCredentialCertificateNotFound,*'
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Set-ApiGatewayCredential -Context $Context -ApiId orders -None -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}
