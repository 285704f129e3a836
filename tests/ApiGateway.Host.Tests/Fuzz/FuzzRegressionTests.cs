using ApiGateway.Fuzz;
using ApiGateway.Fuzz.Driver;

namespace ApiGateway.Host.Tests.Fuzz;

/// <summary>
/// Every input the fuzzer ever found failing (Fuzz/regressions/*.case, written there by the fuzzer when a property
/// fails), replayed in a worker process: each must now end in success or a typed error. Each file's header says what
/// it once did (an unhandled exception, a hang, a crash, a request past its budget).
/// </summary>
public sealed class FuzzRegressionTests
{
    /// <summary>The folder in the source tree (found from the build output), where new findings are written.</summary>
    public static string Folder { get; } = Find();

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Folder, "*.case").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    [Fact]
    public void TheRegressionFolder_HoldsCasesOfEveryTarget()
    {
        var targets = Directory.EnumerateFiles(Folder, "*.case").Select(f => CaseFile.Read(f).Target).Distinct().ToList();

        Assert.Equal(Enum.GetValues<FuzzTarget>().Length, targets.Count);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ARegressionCase_EndsInSuccessOrATypedError(string name)
    {
        var report = FuzzDriver.Run(new FuzzRunOptions
        {
            Replay = [Path.Combine(Folder, name)],
            WorkerAssembly = Path.Combine(AppContext.BaseDirectory, "ApiGateway.Fuzz.dll"),
        });

        Assert.True(report.Findings.Count == 0, report.Summary());
        Assert.Equal(1, report.Cases);
    }

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var folder = Path.Combine(dir.FullName, "tests", "ApiGateway.Host.Tests", "Fuzz", "regressions");
            if (Directory.Exists(folder))
                return folder;
        }
        throw new DirectoryNotFoundException($"No tests/ApiGateway.Host.Tests/Fuzz/regressions above {AppContext.BaseDirectory}.");
    }
}
