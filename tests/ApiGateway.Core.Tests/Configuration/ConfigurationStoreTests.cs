using System.Collections.Concurrent;
using System.Text;
using ApiGateway.Core.Configuration;
using ApiGateway.Core.Tests.Support;

namespace ApiGateway.Core.Tests.Configuration;

public sealed class ConfigurationStoreTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigurationStore NewStore(string name = "gateway.json")
    {
        var store = new ConfigurationStore(_temp.File(name));
        store.CreateIfMissing(new GatewayConfiguration());
        return store;
    }

    [Fact]
    public void CreateIfMissing_CreatesRevisionOne_AndSecondCallOpensIt()
    {
        var store = new ConfigurationStore(_temp.File("gateway.json"));

        var (first, created) = store.CreateIfMissing(new GatewayConfiguration { Service = new ServiceSettings { Name = "contoso" } });
        var (second, createdAgain) = store.CreateIfMissing(new GatewayConfiguration { Service = new ServiceSettings { Name = "other" } });

        Assert.True(created);
        Assert.False(createdAgain);
        Assert.Equal(1, first.Revision);
        Assert.Equal("contoso", second.Service.Name);
    }

    [Fact]
    public void CreateIfMissing_MissingFolder_NamesTheFolder()
    {
        var store = new ConfigurationStore(Path.Combine(_temp.Path, "no-such-folder", "gateway.json"));

        var error = Assert.Throws<GatewayException>(() => store.CreateIfMissing(new GatewayConfiguration()));

        Assert.Equal("ConfigurationFolderNotFound", error.ErrorId);
        Assert.Contains("no-such-folder", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingFile_SaysHowToCreateIt()
    {
        var error = Assert.Throws<GatewayException>(() => new ConfigurationStore(_temp.File("absent.json")).Read());

        Assert.Equal("ConfigurationNotFound", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.NotFound, error.Category);
        Assert.Contains("New-GatewayContext", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Update_GrowsRevisionByOne_AndLeavesNoTemporaryFiles()
    {
        var store = NewStore();

        var change = store.Update(c => c with { Service = c.Service with { Name = "renamed" } });

        Assert.True(change.Written);
        Assert.Equal(1, change.Before.Revision);
        Assert.Equal(2, change.After.Revision);
        Assert.Equal("renamed", store.Read().Service.Name);
        Assert.Equal(["gateway.json", "gateway.json.lock"], Directory.GetFiles(_temp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Update_ThatChangesNothing_WritesNothing()
    {
        var store = NewStore();
        var before = File.ReadAllBytes(store.Path);
        var stamp = File.GetLastWriteTimeUtc(store.Path);

        var change = store.Update(c => c with { Service = c.Service with { Name = c.Service.Name } });

        Assert.False(change.Written);
        Assert.Equal(1, store.Read().Revision);
        Assert.Equal(before, File.ReadAllBytes(store.Path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(store.Path));
    }

    [Fact]
    public void Update_WhenTheChangeThrows_LeavesTheFileAsItWas()
    {
        var store = NewStore();
        var before = File.ReadAllBytes(store.Path);

        Assert.Throws<InvalidOperationException>(() => store.Update(_ => throw new InvalidOperationException("no")));

        Assert.Equal(before, File.ReadAllBytes(store.Path));
    }

    [Fact]
    public void Update_UnparsableFile_IsNeverOverwritten_AndTheErrorNamesFileLineAndPosition()
    {
        var path = _temp.Write("gateway.json", "{\n  \"schemaVersion\": 1,\n  \"revision\": 3,\n  \"service\": { \"name\": \"x\" ]\n}\n");
        var before = File.ReadAllBytes(path);
        var store = new ConfigurationStore(path);

        var error = Assert.Throws<GatewayException>(() => store.Update(c => c with { Revision = 99 }));

        Assert.Equal("ConfigurationUnreadable", error.ErrorId);
        Assert.Equal(GatewayErrorCategory.InvalidData, error.Category);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("line 4, position 28", error.Message, StringComparison.Ordinal);
        Assert.Contains("it was not changed", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void Update_NewerSchema_IsRefusedAndSaysSo_ButCanBeRead()
    {
        var path = _temp.Write("gateway.json", "{\n  \"schemaVersion\": 2,\n  \"revision\": 7,\n  \"somethingNew\": { \"a\": 1 }\n}\n");
        var before = File.ReadAllBytes(path);
        var store = new ConfigurationStore(path);

        var read = store.Read();
        var error = Assert.Throws<GatewayException>(() => store.Update(c => c with { Service = c.Service with { Name = "x" } }));

        Assert.Equal(7, read.Revision);
        Assert.Equal("ConfigurationSchemaTooNew", error.ErrorId);
        Assert.Contains("schema version 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("Update the ApiGateway module", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [UnixFact("Creating symbolic links needs a privilege on Windows.")]

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Update_SymbolicLink_WritesThroughToTheTargetAndKeepsTheLink()
    {
        var realFolder = Directory.CreateDirectory(Path.Combine(_temp.Path, "..2026_11_22"));
        var real = Path.Combine(realFolder.FullName, "gateway.json");
        new ConfigurationStore(real).CreateIfMissing(new GatewayConfiguration());
        var link = _temp.File("gateway.json");
        File.CreateSymbolicLink(link, real);

        new ConfigurationStore(link).Update(c => c with { Service = c.Service with { Name = "through-link" } });

        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal("through-link", new ConfigurationStore(real).Read().Service.Name);
    }

    [UnixFact("Unix file modes do not exist on Windows.")]

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Update_KeepsTheFilePermissionsTheOperatorSet()
    {
        var store = NewStore();
        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(store.Path, mode);

        store.Update(c => c with { Service = c.Service with { Name = "x" } });

        Assert.Equal(mode, File.GetUnixFileMode(store.Path));
    }

    [Fact]
    public void Update_RemovesTemporaryFilesLeftByAKilledWriter()
    {
        var store = NewStore();
        var orphan = _temp.Write(".gateway.json.0123456789ab.tmp", "{ half");

        store.Update(c => c with { Service = c.Service with { Name = "x" } });

        Assert.False(File.Exists(orphan));
    }

    [Fact]
    public void Update_WhileAnotherHoldsTheLock_WaitsThenGivesUpWithConfigurationLocked()
    {
        var store = NewStore();
        var impatient = new ConfigurationStore(store.Path, TimeSpan.FromMilliseconds(300));
        using (store.AcquireLock())
        {
            var error = Assert.Throws<GatewayException>(() => impatient.Update(c => c with { Service = c.Service with { Name = "x" } }));
            Assert.Equal("ConfigurationLocked", error.ErrorId);
            Assert.Equal(GatewayErrorCategory.Unavailable, error.Category);
            Assert.Contains(store.LockPath, error.Message, StringComparison.Ordinal);
        }
        impatient.Update(c => c with { Service = c.Service with { Name = "x" } });
        Assert.Equal("x", store.Read().Service.Name);
    }

    [Fact]
    public void Update_FileChangedByAWriterThatSkipsTheLock_IsNotOverwrittenBlindly()
    {
        var store = NewStore();
        var calls = 0;

        store.Update(c =>
        {
            if (calls++ == 0)
            {
                // Someone edits the file by hand between our read and our rename.
                var edited = c with { Revision = c.Revision + 1, Service = c.Service with { Name = "hand-edit" } };
                File.WriteAllBytes(store.Path, ConfigurationSerializer.Serialize(edited));
            }
            return c with { Backends = c.Backends.Add("b", new BackendEntry { Url = "https://b.example.com/" }) };
        });

        var result = store.Read();
        Assert.Equal(2, calls);
        Assert.Equal("hand-edit", result.Service.Name);
        Assert.True(result.Backends.ContainsKey("b"));
        Assert.Equal(3, result.Revision);
    }

    [Fact]
    public void ConcurrentStoresOnThreads_4x500_LoseNoUpdate_AndRevisionsAreUnique()
    {
        var path = NewStore().Path;
        var revisions = new ConcurrentBag<(int Worker, long Revision)>();

        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            var store = new ConfigurationStore(path, TimeSpan.FromMinutes(2));
            long last = 0;
            for (var i = 0; i < 500; i++)
            {
                var id = $"t{worker}-{i}";
                var change = store.Update(c => c with { Backends = c.Backends.Add(id, new BackendEntry { Url = $"https://{id}.example.com/" }) });
                Assert.True(change.After.Revision > last, "revisions seen by one writer must strictly increase");
                last = change.After.Revision;
                revisions.Add((worker, last));
            }
        });

        var final = new ConfigurationStore(path).Read();
        Assert.Equal(2000, final.Backends.Count);
        Assert.Equal(2001, final.Revision);
        Assert.Equal(Enumerable.Range(2, 2000).Select(i => (long)i), revisions.Select(r => r.Revision).Order());
    }

    [Fact]
    public async Task ConcurrentProcesses_4x500_LoseNoUpdate_AndRevisionsStrictlyIncrease()
    {
        var path = NewStore().Path;
        var workers = Enumerable.Range(0, 4).Select(w => WorkerProcess.Start("append-backends", path, w.ToString(System.Globalization.CultureInfo.InvariantCulture), "500")).ToList();
        var outputs = new List<long[]>();
        try
        {
            foreach (var worker in workers)
            {
                var output = worker.StandardOutput.ReadToEndAsync();
                var error = worker.StandardError.ReadToEndAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
                await worker.WaitForExitAsync(timeout.Token);
                Assert.True(worker.ExitCode == 0, await error);
                outputs.Add((await output).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray());
            }
        }
        finally
        {
            foreach (var worker in workers)
            {
                if (!worker.HasExited)
                    worker.Kill(entireProcessTree: true);
                worker.Dispose();
            }
        }

        var final = new ConfigurationStore(path).Read();
        Assert.Equal(2000, final.Backends.Count);
        Assert.Equal(2001, final.Revision);
        foreach (var seen in outputs)
        {
            Assert.Equal(500, seen.Length);
            Assert.True(seen.Zip(seen.Skip(1)).All(p => p.Second > p.First), "revisions seen by one process must strictly increase");
        }
        Assert.Equal(Enumerable.Range(2, 2000).Select(i => (long)i), outputs.SelectMany(o => o).Order());
    }

    [Fact]
    public async Task KillingAWriterMidWrite_Repeatedly_LeavesAFileThatParses_WithTheOldOrTheNewState()
    {
        var path = NewStore().Path;
        var random = new Random(1234);
        long lastSeen = 1;
        var killedMidWrite = 0;
        // At least 12 rounds, and on until three kills landed mid-write (at most 80 rounds): how often a random kill
        // lands inside the write window depends on the machine's speed (a quiet machine writes fast), and a run in
        // which none did would test nothing.
        for (var round = 0; round < 80 && (round < 12 || killedMidWrite < 3); round++)
        {
            using var worker = WorkerProcess.Start("churn", path);
            var lines = new List<long>();
            var reader = Task.Run(async () =>
            {
                while (await worker.StandardOutput.ReadLineAsync() is { } line)
                {
                    lock (lines)
                        lines.Add(long.Parse(line, System.Globalization.CultureInfo.InvariantCulture));
                }
            });
            // Let it write a few times, then kill it at a random moment (often in the middle of a write).
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline)
            {
                lock (lines)
                {
                    if (lines.Count >= 3)
                        break;
                }
                await Task.Delay(5);
            }
            await Task.Delay(random.Next(0, 40));
            worker.Kill(entireProcessTree: true);
            await worker.WaitForExitAsync();
            await reader;
            // A temporary file left behind means the kill landed between the start of a write and its rename: the
            // case this test is about. (The next Update removes it.)
            if (Directory.GetFiles(Path.GetDirectoryName(path)!, ApiGateway.Core.AtomicFile.TemporaryFilePattern(path)).Length > 0)
                killedMidWrite++;

            var state = new ConfigurationStore(path).Read(); // must parse
            long acknowledged;
            lock (lines)
                acknowledged = lines.Count > 0 ? lines[^1] : lastSeen;
            // The file holds the last acknowledged write or the one after it (renamed but not yet reported), never a mix.
            Assert.InRange(state.Revision, acknowledged, acknowledged + 1);
            Assert.True(state.Revision >= lastSeen);
            if (state.Apis.TryGetValue("big", out var api))
            {
                var expected = state.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal("rev " + expected, api.DisplayName);
                Assert.DoesNotContain(api.Policy.Split('\n').Where(l => l.Contains("<value>", StringComparison.Ordinal)), l => !l.Contains("<value>" + expected + "</value>", StringComparison.Ordinal));
            }
            lastSeen = state.Revision;
        }
        Assert.True(lastSeen > 12, "the writer made progress across rounds");
        Assert.True(killedMidWrite > 0, "no kill landed in the middle of a write, so nothing was tested");
    }

    [Fact]
    public async Task ReadersDuringWrites_NeverSeeAHalfWrittenFile()
    {
        var store = NewStore();
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var reads = 0;
        var reader = Task.Run(() =>
        {
            var r = new ConfigurationStore(store.Path);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    r.Read();
                    Interlocked.Increment(ref reads);
                }
                catch (GatewayException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        var big = new string('x', 100_000);
        for (var i = 0; i < 200; i++)
            store.Update(c => c with { Service = c.Service with { Name = big + i.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        await stop.CancelAsync();
        await reader;

        Assert.Equal(0, failures);
        Assert.True(reads > 0);
    }
}
