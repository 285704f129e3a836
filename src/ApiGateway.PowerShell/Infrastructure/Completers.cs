using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using ApiGateway.Core.Configuration;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>
/// Shared body of the id completers: find the configuration from the <c>-Context</c> already typed on the
/// command line (a context object in a variable, or a path), read it, and offer its ids. A completer must never
/// throw, so any failure offers nothing.
/// </summary>
public abstract class IdCompleter : IArgumentCompleter
{
    private protected abstract IdKind Kind { get; }

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var path = ConfigurationPathOf(fakeBoundParameters);
            if (path is null || !File.Exists(path))
                return [];
            var configuration = new ConfigurationStore(path).Read();
            return IdCompletion.Complete(configuration, Kind, wordToComplete)
                .Select(c => new CompletionResult(c.CompletionText, c.ListItemText, CompletionResultType.ParameterValue, c.ToolTip))
                .ToList();
        }
#pragma warning disable CA1031 // Tab completion must never fail the user's command line.
        catch (Exception)
#pragma warning restore CA1031
        {
            return [];
        }
    }

    private static string? ConfigurationPathOf(IDictionary? bound)
    {
        if (bound is null)
            return null;
        object? value = null;
        foreach (DictionaryEntry entry in bound)
        {
            if (entry.Key is string key && (key.Equals("Context", StringComparison.OrdinalIgnoreCase) || key.Equals("ConfigurationPath", StringComparison.OrdinalIgnoreCase)))
                value = entry.Value;
        }
        if (value is PSObject wrapped)
            value = wrapped.BaseObject;
        return value switch
        {
            GatewayContext context => context.ConfigurationPath,
            string path => ResolveTypedPath(path),
            _ => null,
        };
    }

    /// <summary>
    /// A path typed as <c>-Context</c>: resolved against the session's current location when the runspace lets a
    /// completer ask for it, else against the process's working directory (usually the same).
    /// </summary>
    private static string ResolveTypedPath(string path)
    {
        try
        {
            // Completion runs on the pipeline thread of the session the user types in, where the session state is
            // reachable only through a nested command (SessionStateProxy refuses while that pipeline runs). Resolving
            // through it honours the current location and PSDrives, as the cmdlet itself will when it runs; the
            // process's working directory is not the user's location.
            using var nested = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
            nested.AddCommand("Get-Variable").AddParameter("Name", "ExecutionContext").AddParameter("ValueOnly");
            if (nested.Invoke().FirstOrDefault()?.BaseObject is EngineIntrinsics engine)
                return PathResolution.Resolve(engine.SessionState.Path, path);
        }
#pragma warning disable CA1031 // best effort; the fallback below is still a sensible answer
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        return Path.GetFullPath(path);
    }
}

public sealed class CertificateIdCompleter : IdCompleter
{
    private protected override IdKind Kind => IdKind.Certificate;
}

/// <summary>Completes CA certificate ids from the configuration given by <c>-Context</c>.</summary>
public sealed class CaCertificateIdCompleter : IdCompleter
{
    private protected override IdKind Kind => IdKind.CaCertificate;
}

/// <summary>Completes backend ids (<c>-BackendId</c>) from the configuration given by <c>-Context</c>.</summary>
public sealed class BackendIdCompleter : IdCompleter
{
    private protected override IdKind Kind => IdKind.Backend;
}

/// <summary>Completes API ids (<c>-ApiId</c>) from the configuration given by <c>-Context</c>.</summary>
public sealed class ApiIdCompleter : IdCompleter
{
    private protected override IdKind Kind => IdKind.Api;
}

/// <summary>Completes hostnames (<c>-HostName</c>) from the configuration given by <c>-Context</c>.</summary>
public sealed class HostNameCompleter : IdCompleter
{
    private protected override IdKind Kind => IdKind.Hostname;
}

/// <summary>Completes limit names (<c>-Reset</c>, Get-GatewayLimit <c>-Name</c>) from the catalog; they need no configuration.</summary>
public sealed class LimitNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        GatewayLimits.Catalog
            .Where(l => l.Name.StartsWith(wordToComplete ?? string.Empty, StringComparison.OrdinalIgnoreCase))
            .Select(l => new CompletionResult(l.Name, l.Name, CompletionResultType.ParameterValue, $"{l.Name} (default {GatewayLimitDescriptor.Format(l.Default)} {l.Unit})"))
            .ToList();
}

/// <summary>Completes <c>-Format</c> of the policy cmdlets with the names Az's completer offers.</summary>
public sealed class PolicyFormatCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Complete(wordToComplete).Select(name => new CompletionResult(
            name.Contains('/', StringComparison.Ordinal) ? "'" + name + "'" : name, name, CompletionResultType.ParameterValue, name));

    /// <summary>The format names that start with what has been typed (quotes and case ignored).</summary>
    internal static IEnumerable<string> Complete(string? wordToComplete)
    {
        var typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        return Core.Policies.PolicyFormats.Names.Where(n => n.StartsWith(typed, StringComparison.OrdinalIgnoreCase));
    }
}
