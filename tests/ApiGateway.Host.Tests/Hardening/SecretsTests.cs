using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ApiGateway.Core;
using ApiGateway.Core.Certificates;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;
using ApiGateway.Core.Tests.Support;
using ApiGateway.Host.Tests.Support;

namespace ApiGateway.Host.Tests.Hardening;

/// <summary>A fact that runs on Linux and macOS only, and is reported as skipped (not passed) elsewhere.</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
            Skip = "Unix file modes do not exist on Windows.";
    }
}

/// <summary>
/// A whole scenario with a known PFX password, known private keys and a known backend secret: uploaded and linked
/// PFX files, a wrong password, a backend credential with an Authorization secret, the real gateway started as a
/// child process (as Start-Gateway does) forwarding with the client certificate, status, reload and stop. Everything
/// it wrote or said is kept for the tests to search.
/// </summary>
public sealed class SecretScenario : IAsyncLifetime
{
    public string Password { get; } = "Pfx-" + Guid.NewGuid().ToString("N");
    public string BackendSecret { get; } = "bearer-" + Guid.NewGuid().ToString("N");
    internal TestGateway Gateway { get; } = TestGateway.Create();
    public TempFolder Inputs { get; } = new();

    /// <summary>The private keys of the certificates uploaded or linked.</summary>
    public List<X509Certificate2> Keys { get; } = [];

    /// <summary>What was said: error messages, output objects as JSON, the status, the process command line.</summary>
    public List<(string Where, string Text)> Said { get; } = [];

    /// <summary>Paths and modes of the store while the gateway ran, and the state file's mode.</summary>
    public List<(string Path, UnixFileMode? Mode, bool IsFolder)> StoreModes { get; } = [];

    public UnixFileMode? StateFileMode { get; private set; }

    public async Task InitializeAsync()
    {
        using var secure = Secrets.ToSecureString(Password);
        var uploaded = TestCertificates.Create("CN=uploaded-credential", clientAuth: true);
        var linked = TestCertificates.Create("CN=linked-credential", clientAuth: true, rsa: true);
        Keys.AddRange([uploaded, linked, Gateway.ServerCertificate]);
        var uploadedPfx = Inputs.Write("uploaded.pfx", TestCertificates.Pfx(uploaded, Password));
        var linkedPfx = Inputs.Write("linked.pfx", TestCertificates.Pfx(linked, Password));
        await using var backend = await TestBackend.StartAsync(requireClientThumbprints: [uploaded.Thumbprint, linked.Thumbprint]);
        var service = Gateway.Service;

        Record("AddCertificate", service.AddCertificate("uploaded", CertificateInput.FromPfxFile(uploadedPfx, secure)));
        Record("AddCertificate", service.AddCertificate("linked", CertificateInput.Linked(linkedPfx, password: secure)));
        foreach (var wrong in new[] { Password + "x", Password[..^1] })
        {
            using var wrongSecure = Secrets.ToSecureString(wrong);
            var error = Assert.Throws<GatewayException>(() => service.AddCertificate("wrong", CertificateInput.FromPfxFile(uploadedPfx, wrongSecure)));
            Said.Add(("wrong password error", error.ToString()));
            Said.Add(("wrong password error (given)", error.Message.Replace(wrong, "<the wrong password>", StringComparison.Ordinal)));
        }
        using var parameter = Secrets.ToSecureString(BackendSecret);
        Record("NewBackend", service.NewBackend(new BackendDefinition
        {
            BackendId = "partner", Url = backend.Url, SkipCertificateChainValidation = true,
            Credentials = new GatewayBackendCredential { AuthorizationHeaderScheme = "Bearer", AuthorizationHeaderParameter = parameter },
        }));
        Gateway.AddApi("partner", "partner", backendId: "partner");
        Record("SetGatewayCredential", service.SetGatewayCredential("partner", "uploaded", null));
        Record("GetCertificates", service.GetCertificates());
        Record("GetBackends", service.GetBackends());

        var hostPath = Path.Combine(AppContext.BaseDirectory, "ApiGateway.Host.dll");
        var started = GatewayProcess.Start(Gateway.ConfigurationPath, new GatewayStartOptions { HostPath = hostPath });
        try
        {
            Record("Start", started);
            if (OperatingSystem.IsLinux())
                Said.Add(("command line", File.ReadAllText($"/proc/{started.Pid}/cmdline").Replace('\0', ' ')));
            var response = await Gateway.SendAsync("/partner/");
            Assert.Equal(uploaded.Thumbprint, response.Json.GetProperty("clientCertificate").GetString());
            Assert.Equal("Bearer " + BackendSecret, response.Json.GetProperty("headers").GetProperty("authorization").GetString());

            // A reload onto the linked credential, and a refused one (the linked file turned to garbage, then back).
            Record("SetGatewayCredential", service.SetGatewayCredential("partner", "linked", null));
            await UntilAsync(async () => (await Gateway.SendAsync("/partner/")).Body.Contains(linked.Thumbprint, StringComparison.Ordinal));
            var good = File.ReadAllBytes(linkedPfx);
            File.WriteAllText(linkedPfx, "garbage");
            await UntilAsync(() => Task.FromResult(GatewayProcess.GetStatus(Gateway.ConfigurationPath).LastReloadError is not null));
            Record("GetStatus", GatewayProcess.GetStatus(Gateway.ConfigurationPath));
            File.WriteAllBytes(linkedPfx, good);

            if (!OperatingSystem.IsWindows())
            {
                StateFileMode = File.GetUnixFileMode(GatewayStateFile.PathFor(Gateway.ConfigurationPath));
                var store = CertificateStore.DirectoryFor(Gateway.ConfigurationPath);
                StoreModes.Add((store, File.GetUnixFileMode(store), true));
                foreach (var entry in Directory.EnumerateFileSystemEntries(store, "*", SearchOption.AllDirectories))
                    StoreModes.Add((entry, File.GetUnixFileMode(entry), Directory.Exists(entry)));
            }
            WrittenWhileRunning = Snapshot(Gateway.Folder.Path);
        }
        finally
        {
            Record("Stop", GatewayProcess.Stop(Gateway.ConfigurationPath));
        }
    }

    /// <summary>Every file under the gateway's folder while it ran (the state file exists only then), by path.</summary>
    public Dictionary<string, byte[]> WrittenWhileRunning { get; private set; } = [];

    internal static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

    private void Record(string where, object? value) =>
        Said.Add((where, JsonSerializer.Serialize(value) + Environment.NewLine + value));

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var limit = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < limit, "The gateway did not get there in 15 s.");
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        Inputs.Dispose();
    }
}

public sealed class SecretsTests(SecretScenario scenario) : IClassFixture<SecretScenario>
{
    [Fact]
    public void NothingTheScenarioWroteOrSaid_HoldsThePasswordTheKeysOrTheBackendSecret()
    {
        var needles = Needles();
        var haystacks = new List<(string Where, byte[] Bytes)>();
        foreach (var (path, bytes) in scenario.WrittenWhileRunning)
            haystacks.Add((path, bytes));
        foreach (var (path, bytes) in SecretScenario.Snapshot(scenario.Gateway.Folder.Path))
            haystacks.Add((path + " (after stop)", bytes));
        foreach (var (where, text) in scenario.Said)
            haystacks.Add((where, Encoding.UTF8.GetBytes(text)));

        // The scan can find things: the log (captured stdout and stderr) and the configuration are among the files.
        Assert.Contains(haystacks, h => h.Where.EndsWith("gateway.log", StringComparison.Ordinal));
        Assert.Contains(haystacks, h => h.Where.EndsWith("gateway.state.json", StringComparison.Ordinal));
        Assert.Contains(haystacks, h => h.Where.Contains("gateway.store", StringComparison.Ordinal));
        Assert.Contains(haystacks, h => h.Where == "command line");
        var thumbprint = Encoding.ASCII.GetBytes(scenario.Keys[0].Thumbprint);
        Assert.Contains(haystacks, h => h.Where.EndsWith("gateway.json", StringComparison.Ordinal) && h.Bytes.AsSpan().IndexOf(thumbprint) >= 0);
        var found = (from h in haystacks from n in needles where h.Bytes.AsSpan().IndexOf(n.Bytes) >= 0 select $"{n.What} in {h.Where}").ToList();

        Assert.True(found.Count == 0, string.Join(Environment.NewLine, found));
    }

    [UnixFact]
    public void KeyStore_IsOwnerOnly_FilesAre0600_FoldersAre0700_AndSoIsTheStateFile()
    {
        const UnixFileMode file = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        const UnixFileMode folder = file | UnixFileMode.UserExecute;

        Assert.True(scenario.StoreModes.Count >= 3, "The store holds the key file and the two certificates.");
        Assert.All(scenario.StoreModes, e => Assert.True(e.Mode == (e.IsFolder ? folder : file), $"{e.Path}: {e.Mode}"));
        Assert.Equal(file, scenario.StateFileMode);
    }

    /// <summary>The password (UTF-8 and UTF-16), the backend secret, and each key as PKCS#8 DER, base64 and PEM line, plus the raw private value.</summary>
    private List<(string What, byte[] Bytes)> Needles()
    {
        var needles = new List<(string, byte[])>
        {
            ("the PFX password", Encoding.UTF8.GetBytes(scenario.Password)),
            ("the PFX password (UTF-16)", Encoding.Unicode.GetBytes(scenario.Password)),
            ("the backend secret", Encoding.UTF8.GetBytes(scenario.BackendSecret)),
            ("the backend secret (UTF-16)", Encoding.Unicode.GetBytes(scenario.BackendSecret)),
        };
        foreach (var certificate in scenario.Keys)
        {
            using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()!;
            var pkcs8 = key.ExportPkcs8PrivateKey();
            var base64 = Convert.ToBase64String(pkcs8);
            var name = certificate.Subject;
            needles.Add(($"the PKCS#8 key of {name}", pkcs8));
            needles.Add(($"the base64 PKCS#8 key of {name}", Encoding.ASCII.GetBytes(base64)));
            needles.Add(($"a PEM line of the key of {name}", Encoding.ASCII.GetBytes(base64.Substring(64, 64))));
            var secret = key is ECDsa ec ? ec.ExportParameters(true).D! : ((RSA)key).ExportParameters(true).D!;
            needles.Add(($"the private value of {name}", secret));
        }
        return needles;
    }
}
