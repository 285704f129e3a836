using System.Collections;
using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ApiGateway.Core.Tests.Support;
using ApiGateway.PowerShell.Tests.Infrastructure;
using Microsoft.PowerShell;
using SmaPowerShell = System.Management.Automation.PowerShell;

namespace ApiGateway.PowerShell.Tests.Runspace;

/// <summary>
/// A real PowerShell 7.6 engine (Microsoft.PowerShell.SDK) with the built module imported from the module folder,
/// its current location in a fresh temporary folder, and a <see cref="RecordingHost"/> that records what the user
/// would see and answers prompts from a script. This is what only a real engine shows: parameter binding and sets,
/// pipeline input, ShouldProcess, error records, formatting, completion and help.
/// </summary>
/// <remarks>
/// The test process has ApiGateway.dll loaded already (the unit tests reference it), so the engine binds the module's
/// cmdlets to that copy rather than loading the module folder's; <see cref="ModuleEngineTests"/> proves the two are
/// the same bytes. Everything else (manifest, format file, help) comes from the module folder.
/// </remarks>
public sealed class PowerShellSession : IDisposable
{
    private readonly System.Management.Automation.Runspaces.Runspace _runspace;

    public PowerShellSession(ModuleFolderFixture module)
    {
        ArgumentNullException.ThrowIfNull(module);
        Temp = new TempFolder();
        Host = new RecordingHost();
        var state = InitialSessionState.CreateDefault2();
        // Windows would refuse the module's format file under a restrictive policy (elsewhere there is no policy).
        if (OperatingSystem.IsWindows())
            state.ExecutionPolicy = ExecutionPolicy.Bypass;
        _runspace = RunspaceFactory.CreateRunspace(Host, state);
        _runspace.Open();
        ManifestPath = module.File("ApiGateway.psd1");
        var imported = Run("Import-Module -Name $args[0] -PassThru -ErrorAction Stop; Set-Location -LiteralPath $args[1]", ManifestPath, Temp.Path);
        imported.ThrowIfFailed();
        Host.Clear();
    }

    public TempFolder Temp { get; }

    public RecordingHost Host { get; }

    public string ManifestPath { get; }

    /// <summary>A path in the session's folder.</summary>
    public string File(string name) => Temp.File(name);

    /// <summary>Sets a variable in the session's global scope, as a user's <c>$name = ...</c> would.</summary>
    public void Set(string name, object? value) => _runspace.SessionStateProxy.SetVariable(name, value);

    public object? Get(string name) => _runspace.SessionStateProxy.GetVariable(name);

    /// <summary>
    /// Runs <paramref name="script"/> as a user would type it (in the global scope: variables persist between runs), with
    /// <paramref name="arguments"/> as <c>$args</c>. A terminating error is captured in the result, not thrown.
    /// </summary>
    public ScriptResult Run(string script, params object?[] arguments)
    {
        using var ps = SmaPowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script, useLocalScope: false);
        foreach (var argument in arguments)
            ps.AddArgument(argument);
        Collection<PSObject> output;
        RuntimeException? terminating = null;
        try
        {
            output = ps.Invoke();
        }
        catch (RuntimeException ex)
        {
            terminating = ex;
            output = [];
        }
        return new ScriptResult(
            output,
            [.. ps.Streams.Error],
            [.. ps.Streams.Warning.Select(w => w.Message)],
            [.. ps.Streams.Information],
            [.. ps.Streams.Verbose.Select(v => v.Message)],
            terminating);
    }

    /// <summary>Runs <paramref name="script"/> and fails the test on any error record or terminating error.</summary>
    public Collection<PSObject> Ok(string script, params object?[] arguments)
    {
        var result = Run(script, arguments);
        result.ThrowIfFailed();
        return result.Output;
    }

    /// <summary>SHA-256 of a file, to prove that -WhatIf or a refused change left it untouched.</summary>
    public static string Hash(string path) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.IO.File.ReadAllBytes(path)));

    public void Dispose()
    {
        _runspace.Dispose();
        Temp.Dispose();
    }
}

/// <summary>What a script produced, stream by stream.</summary>
public sealed record ScriptResult(
    Collection<PSObject> Output,
    IReadOnlyList<ErrorRecord> Errors,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<InformationRecord> Information,
    IReadOnlyList<string> Verbose,
    RuntimeException? Terminating)
{
    /// <summary>The error records, the terminating one last.</summary>
    public IReadOnlyList<ErrorRecord> AllErrors => Terminating?.ErrorRecord is { } last ? [.. Errors, last] : Errors;

    public void ThrowIfFailed()
    {
        if (AllErrors.Count > 0)
            throw new Xunit.Sdk.XunitException("The script failed:" + Environment.NewLine + string.Join(Environment.NewLine, AllErrors.Select(Describe)));
    }

    public static string Describe(ErrorRecord record) =>
        $"{record.FullyQualifiedErrorId} [{record.CategoryInfo.Category}] {record.Exception.Message}" +
        (record.InvocationInfo?.PositionMessage is { Length: > 0 } position ? Environment.NewLine + position : "");

    /// <summary>The single error record (non-terminating or terminating); fails when there is not exactly one.</summary>
    public ErrorRecord SingleError()
    {
        Assert.True(AllErrors.Count == 1, $"expected one error, got {AllErrors.Count}:{Environment.NewLine}{string.Join(Environment.NewLine, AllErrors.Select(Describe))}");
        return AllErrors[0];
    }

    /// <summary>The base objects of the output.</summary>
    public IEnumerable<object> Objects => Output.Select(o => o.BaseObject);

    /// <summary>A property of each output object, as PowerShell sees it (adapted and ETS properties included).</summary>
    public IEnumerable<object?> Property(string name) => Output.Select(o => o.Properties[name]?.Value);
}

internal static class PSObjectExtensions
{
    public static object? Prop(this PSObject o, string name) => o.Properties[name]?.Value;

    public static IEnumerable<object?> Flatten(object? value) =>
        value is IEnumerable items and not string ? items.Cast<object?>() : [value];
}
