namespace ApiGateway.Benchmarks.Tools;

/// <summary>A temporary folder for one benchmark's configuration, removed with everything in it.</summary>
internal sealed class BenchFolder : IDisposable
{
    public BenchFolder(string name)
    {
        Path = Directory.CreateTempSubdirectory("apigateway-bench-" + name + "-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
