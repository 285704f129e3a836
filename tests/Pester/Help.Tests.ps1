# Get-Help works for every exported cmdlet: synopsis, description, at least one example, and help for every parameter.
BeforeDiscovery {
    . "$PSScriptRoot/common.ps1"
    $manifest = Import-PowerShellDataFile -LiteralPath (Get-ApiGatewayModulePath)
    $script:Commands = @($manifest.CmdletsToExport | ForEach-Object { @{ Name = $_ } })
}

BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule

    # Help is shipped as en-US (en-US/ApiGateway.dll-Help.xml) and PowerShell does not fall back to en-US from
    # another UI culture (a C.UTF-8 build machine has none), so look it up in en-US.
    function Get-TestHelp {
        param([string] $Name)
        $culture = [System.Globalization.CultureInfo]::CurrentUICulture
        try {
            [System.Globalization.CultureInfo]::CurrentUICulture = [System.Globalization.CultureInfo]::GetCultureInfo('en-US')
            Get-Help -Name $Name -Full
        }
        finally {
            [System.Globalization.CultureInfo]::CurrentUICulture = $culture
        }
    }
}

Describe 'Get-Help <Name>' -ForEach $Commands {
    BeforeAll {
        $script:Help = Get-TestHelp -Name $Name
        $script:Command = Get-Command -Name $Name -Module ApiGateway
    }

    It 'has a synopsis of its own' {
        # Without a help file, PowerShell shows the syntax as the synopsis.
        $Help.Synopsis | Should -Not -BeNullOrEmpty
        $Help.Synopsis.Trim() | Should -Not -BeLike "$Name *"
    }

    It 'has a description' {
        ($Help.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }

    It 'has at least one example with code and remarks' {
        $examples = @($Help.Examples.Example)
        $examples.Count | Should -BeGreaterThan 0
        $examples[0].Code | Should -Not -BeNullOrEmpty
        ($examples[0].Remarks | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }

    It 'describes every parameter' {
        $common = [System.Management.Automation.Cmdlet]::CommonParameters
        $documented = @{}
        foreach ($parameter in @($Help.Parameters.Parameter)) {
            $documented[$parameter.Name] = ($parameter.Description | Out-String).Trim()
        }
        $missing = @($Command.Parameters.Keys | Where-Object { $_ -notin $common -and -not $documented[$_] })

        $missing | Should -BeNullOrEmpty -Because "every parameter of $Name needs help"
    }
}

Describe 'Get-Help about_ApiGateway' {
    It 'is found for the imported module and names its pieces, the requirements and the service endpoints' {
        $topic = Get-TestHelp -Name about_ApiGateway | Out-String

        $topic | Should -Match 'TOPIC\s+about_ApiGateway'
        foreach ($text in 'New-GatewayContext', 'Start-Gateway', 'Microsoft.AspNetCore.App 10.0', 'aspnetcore-runtime-10.0', '/readyz', '/metrics', 'apigateway@.service') {
            $topic | Should -Match ([regex]::Escape($text))
        }
    }
}
