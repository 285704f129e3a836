BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:ClientCertificatePolicy = @'
<policies>
  <inbound>
    <base />
    <choose>
      <when condition="@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)">
        <return-response>
          <set-status code="403" reason="Invalid client certificate" />
        </return-response>
      </when>
    </choose>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
'@
}

Describe 'Get-GatewayPolicy' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'policy-get'
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'
    }

    It 'gets the global policy without -ApiId' {
        $policy = Get-GatewayPolicy -Context $Context

        $policy.ApiId | Should -BeNullOrEmpty
        $policy.Scope | Should -Be 'Global'
        $policy.Policy | Should -BeLike '*<forward-request*'
    }

    It 'gets the policy of each piped API' {
        $policies = Get-GatewayApi -Context $Context | Get-GatewayPolicy

        $policies.ApiId | Should -Be 'orders'
        $policies.Policy | Should -BeLike '*<base />*'
    }

    It 'reports an unknown API as GetGatewayPolicyApiNotFound' {
        $err = $null

        Get-GatewayPolicy -Context $Context -ApiId nope -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayPolicyApiNotFound,*'
    }
}

Describe 'Set-GatewayPolicy' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'policy-set'
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'
    }

    It 'sets an inbound policy that checks the client certificate' {
        $stored = Set-GatewayPolicy -Context $Context -ApiId orders -Policy $ClientCertificatePolicy -PassThru

        $stored.ApiId | Should -Be 'orders'
        (Get-GatewayPolicy -Context $Context -ApiId orders).Policy | Should -BeLike '*reason="Invalid client certificate"*'
    }

    It 'reads a policy file relative to the current location' {
        Set-Content -LiteralPath (Join-Path $TestDrive 'global.xml') -Value (Get-GatewayPolicy -Context $Context).Policy
        Push-Location -LiteralPath $TestDrive
        try {
            Set-GatewayPolicy -Context $Context -PolicyFilePath ./global.xml
        }
        finally {
            Pop-Location
        }
        (Get-GatewayPolicy -Context $Context).Policy | Should -BeLike '*<forward-request*'
    }

    It 'reports every error of an invalid document as SetGatewayPolicyInvalid and keeps the previous policy' {
        $before = (Get-GatewayPolicy -Context $Context -ApiId orders).Policy
        $err = $null

        Set-GatewayPolicy -Context $Context -ApiId orders -Policy '<policies><inbound><no-such-policy /></inbound><bogus /></policies>' -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayPolicyInvalid,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        "$err" | Should -Match 'line \d+'
        (Get-GatewayPolicy -Context $Context -ApiId orders).Policy | Should -Be $before
    }

    It 'reports a missing file as SetGatewayPolicyFileNotFound' {
        $err = $null

        Set-GatewayPolicy -Context $Context -PolicyFilePath (Join-Path $TestDrive 'missing.xml') -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'SetGatewayPolicyFileNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Set-GatewayPolicy -Context $Context -ApiId orders -Policy $ClientCertificatePolicy -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}
