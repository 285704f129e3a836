using System.Reflection;

namespace ApiGateway.PowerShell.Tests.Infrastructure;

/// <summary>Paths and settings of the build that compiled these tests (AssemblyMetadata from the csproj).</summary>
internal static class BuildInfo
{
    private static string? Get(string key) =>
        typeof(BuildInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;

    private static string Require(string key) => Get(key) ?? throw new InvalidOperationException($"AssemblyMetadata '{key}' is missing; see ApiGateway.PowerShell.Tests.csproj.");

    public static string RepoRoot => Require("ApiGateway.RepoRoot");

    public static string ModuleDirectory => Require("ApiGateway.ModuleDirectory");

    public static string ModuleProject => Require("ApiGateway.ModuleProject");

    public static string Configuration => Require("ApiGateway.Configuration");

    public static string? ArtifactsPath => Get("ApiGateway.ArtifactsPath") is { Length: > 0 } path ? path : null;

    public static string VersionPrefix => Require("ApiGateway.VersionPrefix");

    public static string InRepo(params string[] parts) => Path.Combine([RepoRoot, .. parts]);

    public static Assembly ModuleAssembly => typeof(ApiGateway.PowerShell.GatewayContext).Assembly;
}
