# Source manifest of the ApiGateway module. The build (src/ApiGateway.PowerShell/build/Module.targets, run by
# `dotnet publish src/ApiGateway.PowerShell`) copies it into out/ApiGateway/<version>/ with ModuleVersion set
# from <VersionPrefix> in Directory.Build.props (the one place the version lives) and checks that
# CmdletsToExport lists exactly the cmdlet classes of ApiGateway.dll, and fills ReleaseNotes from the version's
# section of CHANGELOG.md. Import the built copy, not this file.
@{
    RootModule           = 'ApiGateway.dll'
    ModuleVersion        = '0.0.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '906d2235-f399-4b1a-a5b6-db681b99934e'
    Author               = 'ApiGateway contributors'
    CompanyName          = 'ApiGateway contributors'
    Copyright            = 'Copyright (c) ApiGateway contributors'
    Description          = 'Azure API Management client-certificate security on any machine: a local JSON configuration of certificates, backends, APIs and policies, and a Kestrel-based gateway that enforces mutual TLS toward clients and presents client certificates to backends.'
    PowerShellVersion    = '7.6'
    FormatsToProcess     = @('ApiGateway.format.ps1xml')
    CmdletsToExport      = @(
        'New-GatewayContext'
        'Add-GatewayCertificate'
        'Get-GatewayCertificate'
        'Set-GatewayCertificate'
        'Remove-GatewayCertificate'
        'Get-GatewayCertificateReference'
        'Add-GatewayCaCertificate'
        'Get-GatewayCaCertificate'
        'Remove-GatewayCaCertificate'
        'New-GatewayBackend'
        'Get-GatewayBackend'
        'Set-GatewayBackend'
        'Remove-GatewayBackend'
        'New-GatewayBackendCredential'
        'New-GatewayApi'
        'Get-GatewayApi'
        'Set-GatewayApi'
        'Remove-GatewayApi'
        'Set-ApiGatewayCredential'
        'Get-GatewayPolicy'
        'Set-GatewayPolicy'
        'Remove-GatewayPolicy'
        'Set-GatewayHostname'
        'Get-GatewayHostname'
        'Remove-GatewayHostname'
        'Get-GatewayLimit'
        'Set-GatewayLimit'
        'Start-Gateway'
        'Stop-Gateway'
        'Get-GatewayStatus'
        'Get-GatewayRevocation'
        'Set-GatewayRevocation'
        'Test-GatewayClientCertificate'
        'Invoke-GatewayRequest'
        'Test-GatewayConfiguration'
        'Test-GatewayBackendTls'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('ApiManagement', 'APIM', 'Gateway', 'mTLS', 'ClientCertificate', 'Kestrel', 'PSEdition_Core', 'Linux', 'Windows', 'MacOS')
            LicenseUri   = 'https://github.com/apigateway-contributors/ApiGateway/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/apigateway-contributors/ApiGateway'
            # Filled by the build from CHANGELOG.md.
            ReleaseNotes = ''
        }
    }
}
