BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
}

Describe 'Get-GatewayLimit' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'limits-get'
    }

    It 'lists every limit at its default in a fresh configuration' {
        $limits = Get-GatewayLimit -Context $Context

        $limits.Count | Should -Be 20
        $limits | Where-Object { -not $_.IsDefault } | Should -BeNullOrEmpty
        ($limits | Where-Object Name -eq 'RequestHeadersTimeoutSeconds').Value | Should -Be 15
        ($limits | Where-Object Name -eq 'MaxConcurrentConnections').RequiresRestart | Should -BeTrue
        ($limits | Where-Object Name -eq 'ExpressionMaxSteps').Value | Should -Be 1000000
        ($limits | Where-Object Name -eq 'ExpressionMaxDepth').Value | Should -Be 64
        ($limits | Where-Object Name -eq 'ExpressionMaxAllocatedBytes').Value | Should -Be 16MB
        ($limits | Where-Object Name -eq 'ExpressionTimeoutMilliseconds').Value | Should -Be 100
        ($limits | Where-Object Name -eq 'MaxExpressionNesting').Value | Should -Be 100
    }

    It 'selects limits by wildcard' {
        (Get-GatewayLimit -Context $Context -Name *Timeout*).Name | Should -Be @('TlsHandshakeTimeoutSeconds', 'RequestHeadersTimeoutSeconds', 'KeepAliveTimeoutSeconds', 'ExpressionTimeoutMilliseconds', 'ExpressionCompileTimeoutSeconds')
    }

    It 'names an unknown limit: GetGatewayLimitNotFound' {
        $err = $null

        Get-GatewayLimit -Context $Context -Name NoSuchLimit -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayLimitNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Set-GatewayLimit' {
    BeforeEach {
        $script:Context = New-TestGateway -Name "limits-set-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
    }

    It 'sets what is given, writes it into service.limits, and leaves the rest at the defaults' {
        $limits = Set-GatewayLimit -Context $Context -RequestHeadersTimeoutSeconds 10 -MaxRequestBodySize 100MB -PassThru

        ($limits | Where-Object Name -eq 'RequestHeadersTimeoutSeconds').Value | Should -Be 10
        ($limits | Where-Object Name -eq 'MaxRequestBodySize').Value | Should -Be 104857600
        ($limits | Where-Object { -not $_.IsDefault }).Count | Should -Be 2
        $file = Get-Content -Raw -LiteralPath $Context.ConfigurationPath | ConvertFrom-Json
        $file.service.limits.requestHeadersTimeoutSeconds | Should -Be 10
        $file.service.limits.maxRequestBodySize | Should -Be 104857600
        $file.service.limits.PSObject.Properties.Name | Should -Be @('requestHeadersTimeoutSeconds', 'maxRequestBodySize')
    }

    It 'returns limits to their defaults with -Reset, and drops service.limits when none is left' {
        Set-GatewayLimit -Context $Context -KeepAliveTimeoutSeconds 30
        Set-GatewayLimit -Context $Context -Reset KeepAliveTimeoutSeconds

        (Get-GatewayLimit -Context $Context -Name KeepAliveTimeoutSeconds).IsDefault | Should -BeTrue
        (Get-Content -Raw -LiteralPath $Context.ConfigurationPath | ConvertFrom-Json).service.PSObject.Properties.Name | Should -Not -Contain 'limits'
    }

    It 'warns that a connection-limit change needs a restart' {
        $warnings = $null

        Set-GatewayLimit -Context $Context -MaxConcurrentConnections 500 -WarningVariable warnings -WarningAction SilentlyContinue

        $warnings.Count | Should -Be 1
        "$($warnings[0])" | Should -BeLike '*MaxConcurrentConnections*restarts*'
    }

    It 'refuses a value out of range and changes nothing: SetGatewayLimitOutOfRange' {
        $before = Get-Content -Raw -LiteralPath $Context.ConfigurationPath
        $err = $null

        Set-GatewayLimit -Context $Context -RequestHeadersTimeoutSeconds 0 -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayLimitOutOfRange,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$($err[0])" | Should -BeLike "*'RequestHeadersTimeoutSeconds'*from 0.5 to 3600 s*"
        Get-Content -Raw -LiteralPath $Context.ConfigurationPath | Should -Be $before
    }

    It 'refuses to set and reset the same limit: SetGatewayLimitConflict' {
        $err = $null

        Set-GatewayLimit -Context $Context -KeepAliveTimeoutSeconds 30 -Reset KeepAliveTimeoutSeconds -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayLimitConflict,*'
    }

    It 'changes nothing under -WhatIf' {
        $before = Get-Content -Raw -LiteralPath $Context.ConfigurationPath

        Set-GatewayLimit -Context $Context -MaxRequestHeaderCount 50 -WhatIf

        Get-Content -Raw -LiteralPath $Context.ConfigurationPath | Should -Be $before
    }

    It 'refuses a policy whose expression nests deeper than MaxExpressionNesting where it is written, and keeps the old policy' {
        New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/' | Out-Null
        $before = (Get-GatewayPolicy -Context $Context -ApiId orders).Policy
        $deep = ('(' * 150) + 'true' + (')' * 150)
        $err = $null

        Set-GatewayPolicy -Context $Context -ApiId orders -Policy "<policies><inbound><choose><when condition=`"@($deep)`"><return-response /></when></choose></inbound></policies>" -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayPolicyInvalid,*'
        "$($err[0])" | Should -BeLike '*MaxExpressionNesting (100)*Set-GatewayLimit -MaxExpressionNesting*'
        (Get-GatewayPolicy -Context $Context -ApiId orders).Policy | Should -Be $before
    }

    It 'accepts that policy once the limit is raised, and refuses to lower the limit under a policy already saved' {
        New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/' | Out-Null
        $deep = ('(' * 150) + 'true' + (')' * 150)
        Set-GatewayLimit -Context $Context -MaxExpressionNesting 200

        Set-GatewayPolicy -Context $Context -ApiId orders -Policy "<policies><inbound><choose><when condition=`"@($deep)`"><return-response /></when></choose></inbound></policies>"
        $saved = Get-Content -Raw -LiteralPath $Context.ConfigurationPath
        $err = $null
        Set-GatewayLimit -Context $Context -MaxExpressionNesting 100 -ErrorAction SilentlyContinue -ErrorVariable err

        $err | Should -Not -BeNullOrEmpty
        "$($err[0])" | Should -BeLike "*'orders'*MaxExpressionNesting*"
        Get-Content -Raw -LiteralPath $Context.ConfigurationPath | Should -Be $saved
    }
}
