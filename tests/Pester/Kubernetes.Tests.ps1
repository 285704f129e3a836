# deploy/kubernetes: the generator turns a configuration made with the cmdlets into the ConfigMap, the Secret and the
# volume items the Deployment mounts, and the kustomization renders (kubectl kustomize, offline) with the probes on
# /healthz and /readyz and a non-root, read-only pod. The two-instance rotation on that layout is an xunit test
# (tests/ApiGateway.Host.Tests/Deploy/ScaleOutTests.cs).
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-ApiGatewayModule
    $script:Deploy = Join-Path $RepoRoot 'deploy/kubernetes'
    $script:Context = New-TestGateway -Name 'k8s'
    $ca = New-TestCertificate -Subject 'CN=K8s CA' -CertificateAuthority
    $null = Add-GatewayCertificate -Context $Context -CertificateId server-tls -Certificate (New-TestCertificate -Subject 'CN=api.contoso.com' -ServerAuth -DnsName api.contoso.com)
    $null = Add-GatewayCaCertificate -Context $Context -CertificateId clients -Certificate ([System.Security.Cryptography.X509Certificates.X509CertificateLoader]::LoadCertificate($ca.RawData))
    $null = Set-GatewayHostname -Context $Context -HostName api.contoso.com -Port 8443 -CertificateId server-tls -NegotiateClientCertificate $true
    $script:Output = Join-Path $TestDrive 'kubernetes'
    Copy-Item -LiteralPath $Deploy -Destination $Output -Recurse
    & (Join-Path $Deploy 'New-GatewayKubernetesConfiguration.ps1') -ConfigurationPath $Context.ConfigurationPath -OutputPath $Output | Out-Null
    $script:Store = [IO.Path]::ChangeExtension($Context.ConfigurationPath, '.store')
}

Describe 'New-GatewayKubernetesConfiguration.ps1' {
    It 'puts gateway.json into the ConfigMap as it is' {
        $yaml = Get-Content -LiteralPath "$Output/configuration.yaml" -Raw
        $block = [regex]::Match($yaml, '(?s)gateway\.json: \|\n(.*?)\n---').Groups[1].Value
        ($block -split "`n" | ForEach-Object { $_.Substring([Math]::Min(4, $_.Length)) }) -join "`n" | Should -Be ((Get-Content -LiteralPath $Context.ConfigurationPath -Raw).Replace("`r`n", "`n").TrimEnd("`n"))
    }

    It 'puts every store file into the Secret and back at gateway.store/<path> through the volume items' {
        $yaml = Get-Content -LiteralPath "$Output/configuration.yaml" -Raw
        $items = Get-Content -LiteralPath "$Output/store-items.yaml" -Raw
        $files = @(Get-ChildItem -LiteralPath $Store -Recurse -File)
        $files.Count | Should -BeGreaterOrEqual 3 -Because 'store.key, the server certificate and the CA certificate'
        foreach ($file in $files) {
            $relative = [IO.Path]::GetRelativePath($Store, $file.FullName).Replace('\', '/')
            $key = $relative.Replace('/', '.')
            $data = [regex]::Match($yaml, "(?m)^  $([regex]::Escape($key)): (\S+)$").Groups[1].Value
            [Convert]::FromBase64String($data) | Should -Be ([IO.File]::ReadAllBytes($file.FullName)) -Because $relative
            $items | Should -Match ([regex]::Escape("- key: $key") + '\s+' + [regex]::Escape("path: gateway.store/$relative"))
        }
    }

    It 'renders with kustomize: probes on /healthz and /readyz, a non-root read-only pod, the projected volume' {
        $kubectl = Get-Command kubectl -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $kubectl) {
            if ($env:CI -eq 'true') { throw 'kubectl is not installed (it renders the kustomization offline); CI must have it.' }
            Set-ItResult -Skipped -Because 'kubectl is not installed'
            return
        }
        $rendered = & $kubectl.Source kustomize $Output 2>&1 | Out-String
        $LASTEXITCODE | Should -Be 0 -Because $rendered
        foreach ($text in 'kind: Deployment', 'kind: Service', 'kind: PodDisruptionBudget', 'kind: ConfigMap', 'kind: Secret',
            'path: /readyz', 'path: /healthz', 'runAsNonRoot: true', 'readOnlyRootFilesystem: true', 'projected:', 'path: gateway.store/store.key',
            'image: registry.example.com/apigateway:0.1.0', '--health-address') {
            $rendered | Should -Match ([regex]::Escape($text))
        }
    }
}
