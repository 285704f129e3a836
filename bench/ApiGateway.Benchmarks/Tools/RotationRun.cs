namespace ApiGateway.Benchmarks.Tools;

internal static class RotationRun
{
    public static Task<int> RunAsync(Arguments args) => Task.FromResult(args is null ? 1 : 0);
}
