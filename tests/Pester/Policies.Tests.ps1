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

    It 'returns nothing for an API without a policy of its own, as Get-AzApiManagementPolicy' {
        Get-GatewayPolicy -Context $Context -ApiId orders | Should -BeNullOrEmpty
    }

    It 'gets the policy of each piped API' {
        Set-GatewayPolicy -Context $Context -ApiId orders -Policy $ClientCertificatePolicy

        $policies = Get-GatewayApi -Context $Context | Get-GatewayPolicy

        $policies.ApiId | Should -Be 'orders'
        $policies.Policy | Should -BeLike '*<base />*'
    }

    It 'is the XML wherever a string is expected' {
        $policy = Get-GatewayPolicy -Context $Context -ApiId orders

        $policy | Should -BeLike '*reason="Invalid client certificate"*'
        "$policy" | Should -Be $policy.Policy
    }

    It 'gives well-formed XML with -Format Xml and the expressions as C# with -Format RawXml' {
        $xml = Get-GatewayPolicy -Context $Context -ApiId orders -Format Xml
        $raw = Get-GatewayPolicy -Context $Context -ApiId orders -Format 'application/vnd.ms-azure-apim.policy.raw+xml'

        $xml.Format | Should -Be 'Xml'
        $xml.Policy | Should -BeLike '*NotAfter &lt; DateTime.Now*'
        ([xml]$xml).policies.inbound.choose.when.condition | Should -Be '@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.Now)'
        $raw.Format | Should -Be 'RawXml'
        $raw.Policy | Should -BeLike '*NotAfter < DateTime.Now)"*'
    }

    It 'reports an unknown -Format as GetGatewayPolicyInvalidFormat' {
        $err = $null

        Get-GatewayPolicy -Context $Context -Format xml-link -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayPolicyInvalidFormat,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$err" | Should -BeLike "*'xml-link' is not a policy format*"
    }

    It 'reports an unknown API as GetGatewayPolicyApiNotFound' {
        $err = $null

        Get-GatewayPolicy -Context $Context -ApiId nope -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayPolicyApiNotFound,*'
    }
}

Describe 'Get-GatewayPolicy -SaveAs' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'policy-save'
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'
        $null = New-GatewayApi -Context $Context -ApiId billing -Path billing -ServiceUrl 'https://billing.internal/'
        Set-GatewayPolicy -Context $Context -ApiId orders -Policy $ClientCertificatePolicy
    }

    It 'writes the XML to a file relative to the current location, and nothing to the pipeline' {
        Push-Location -LiteralPath $TestDrive
        try {
            $out = Get-GatewayPolicy -Context $Context -ApiId orders -SaveAs ./orders.xml
        }
        finally {
            Pop-Location
        }

        $out | Should -BeNullOrEmpty
        Get-Content -LiteralPath (Join-Path $TestDrive 'orders.xml') -Raw | Should -Be ((Get-GatewayPolicy -Context $Context -ApiId orders).Policy + "`n")
    }

    It 'refuses to overwrite a file without -Force, as GetGatewayPolicyFileExists, and leaves it as it was' {
        $path = Join-Path $TestDrive 'taken.xml'
        Set-Content -LiteralPath $path -Value 'keep me' -NoNewline
        $err = $null

        Get-GatewayPolicy -Context $Context -ApiId orders -SaveAs $path -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'GetGatewayPolicyFileExists,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        "$err" | Should -BeLike '*Give -Force to overwrite it*'
        Get-Content -LiteralPath $path -Raw | Should -Be 'keep me'
    }

    It 'overwrites it with -Force, in the -Format asked for' {
        $path = Join-Path $TestDrive 'taken.xml'

        Get-GatewayPolicy -Context $Context -ApiId orders -SaveAs $path -Force -Format Xml

        ([xml](Get-Content -LiteralPath $path -Raw)).policies.inbound.choose.when.condition | Should -BeLike '@(context.Request.Certificate == null*'
    }

    It 'saves one file per piped API with a script block, and warns for an API without a policy' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'per-api')
        $warnings = $null

        Get-GatewayApi -Context $Context | Get-GatewayPolicy -SaveAs { Join-Path $folder "$($_.ApiId).xml" } -WarningVariable warnings -WarningAction SilentlyContinue

        (Get-ChildItem -LiteralPath $folder).Name | Should -Be 'orders.xml'
        "$warnings" | Should -BeLike "*API 'billing' has no policy of its own*nothing was written*"
    }
}

Describe 'Remove-GatewayPolicy' {
    BeforeAll {
        $script:Context = New-TestGateway -Name 'policy-remove'
        $script:Backend2025 = Add-TestCertificate -Context $Context -Id backend-2025 -Issuer (New-TestCertificate -Subject 'CN=Pester CA' -CertificateAuthority)
        $null = New-GatewayApi -Context $Context -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'
        $null = New-GatewayApi -Context $Context -ApiId billing -Path billing -ServiceUrl 'https://billing.internal/'
    }

    BeforeEach {
        Set-GatewayPolicy -Context $Context -ApiId orders -Policy $ClientCertificatePolicy
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Remove-GatewayPolicy -Context $Context -ApiId orders -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }

    It 'removes it with -Force: the next Get returns nothing and the revision moves' {
        $revision = (Get-Content -LiteralPath $Context.ConfigurationPath -Raw | ConvertFrom-Json).revision

        $removed = Remove-GatewayPolicy -Context $Context -ApiId orders -Force -PassThru

        $removed.ApiId | Should -Be 'orders'
        $removed.Policy | Should -BeLike '*Invalid client certificate*'
        Get-GatewayPolicy -Context $Context -ApiId orders | Should -BeNullOrEmpty
        (Get-Content -LiteralPath $Context.ConfigurationPath -Raw | ConvertFrom-Json).revision | Should -Be ($revision + 1)
    }

    It 'does nothing, and says nothing, when there is no policy' {
        $null = Remove-GatewayPolicy -Context $Context -ApiId orders -Force
        $hash = Get-ConfigurationHash $Context
        $err = $null

        $out = Remove-GatewayPolicy -Context $Context -ApiId orders -Force -PassThru -ErrorVariable err

        $out | Should -BeNullOrEmpty
        $err | Should -BeNullOrEmpty
        Get-ConfigurationHash $Context | Should -Be $hash
    }

    It 'removes the policies of piped APIs' {
        Set-GatewayPolicy -Context $Context -ApiId billing -Policy $ClientCertificatePolicy

        Get-GatewayApi -Context $Context | Remove-GatewayPolicy -Force

        Get-GatewayApi -Context $Context | Get-GatewayPolicy | Should -BeNullOrEmpty
    }

    It 'takes the gateway credential with it, with a warning that says how to set it again' {
        Set-ApiGatewayCredential -Context $Context -ApiId orders -CertificateId backend-2025
        $warnings = $null

        Remove-GatewayPolicy -Context $Context -ApiId orders -Force -WarningVariable warnings -WarningAction SilentlyContinue

        "$warnings" | Should -BeLike "*API 'orders' no longer presents certificate 'backend-2025'*Set-ApiGatewayCredential -ApiId orders -CertificateId backend-2025*"
        (Get-GatewayApi -Context $Context -ApiId orders).GatewayCredentialCertificateId | Should -BeNullOrEmpty
    }

    It 'removes the global policy without -ApiId' {
        $null = Remove-GatewayPolicy -Context $Context -Force

        Get-GatewayPolicy -Context $Context | Should -BeNullOrEmpty
    }

    It 'reports an unknown API as RemoveGatewayPolicyApiNotFound' {
        $err = $null

        Remove-GatewayPolicy -Context $Context -ApiId nope -Force -ErrorAction SilentlyContinue -ErrorVariable err

        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoveGatewayPolicyApiNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
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

    It 'copies a policy in its -Format from one configuration to another' {
        $other = New-TestGateway -Name 'policy-copy'
        $null = New-GatewayApi -Context $other -ApiId orders -Path orders -ServiceUrl 'https://orders.internal/'

        Get-GatewayPolicy -Context $Context -ApiId orders -Format RawXml | Set-GatewayPolicy -Context $other

        (Get-GatewayPolicy -Context $other -ApiId orders -Format RawXml).Policy | Should -Be (Get-GatewayPolicy -Context $Context -ApiId orders -Format RawXml).Policy
    }

    It 'changes nothing under -WhatIf' {
        $hash = Get-ConfigurationHash $Context

        Set-GatewayPolicy -Context $Context -ApiId orders -Policy $ClientCertificatePolicy -WhatIf

        Get-ConfigurationHash $Context | Should -Be $hash
    }
}
