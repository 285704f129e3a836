using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;
using ApiGateway.Core;
using ApiGateway.Core.Hosting;
using ApiGateway.Core.Management;

namespace ApiGateway.PowerShell.Infrastructure;

/// <summary>
/// Base of every ApiGateway cmdlet: the conventions in one place, so that each cmdlet is bind → resolve paths →
/// ShouldProcess → one Core operation → write the result (or an ErrorRecord).
/// <list type="bullet">
/// <item>Errors: <see cref="TryInvoke{T}"/> maps <see cref="GatewayException"/> through <see cref="ErrorMapping"/>
/// to <c>&lt;Verb&gt;&lt;Noun&gt;&lt;Condition&gt;</c> ids; per item WriteError and go on, terminating only when
/// the configuration itself is unusable.</item>
/// <item>Paths: <see cref="ResolvePath"/> (provider-aware, file system only).</item>
/// <item>Context: <see cref="ServiceFor(GatewayContext?, string?)"/> (from <c>-Context</c>, or from a piped
/// object's <c>ConfigurationPath</c>).</item>
/// <item>Removals: <see cref="ShouldProcessRemoval"/> (ConfirmImpact High, <c>-Force</c> skips the prompt but
/// never <c>-WhatIf</c>).</item>
/// </list>
/// Cmdlets keep the mapping of their parameters to a Core call in an <c>internal</c> method that uses no
/// PowerShell API, so unit tests call it with a real configuration; the engine-level behaviour is tested in a real
/// runspace (tests/ApiGateway.PowerShell.Tests/Runspace).
/// </summary>
public abstract class GatewayCmdlet : PSCmdlet
{
    private (string Verb, string Noun)? _name;

    /// <summary>Verb and noun of this cmdlet, for error ids.</summary>
    internal (string Verb, string Noun) CommandName => _name ??= CmdletNames.Of(GetType());

    /// <summary>The operations of <paramref name="context"/>, or of the configuration at <paramref name="configurationPath"/> (a piped object's).</summary>
    internal GatewayService ServiceFor(GatewayContext? context, string? configurationPath = null)
    {
        // The engine that checks changes is the host this module ships (as Start-Gateway's), wherever Core was loaded from.
        if (MyInvocation.MyCommand.Module?.ModuleBase is { Length: > 0 } moduleBase)
            ConfigurationEngine.ModuleHostPath = System.IO.Path.Combine(moduleBase, "host", "ApiGateway.Host.dll");
        if (context is not null)
            return Used(context.Service);
        if (!string.IsNullOrEmpty(configurationPath))
            return Used(GatewayContext.ForPath(ResolvePath(configurationPath)).Service);
        var (verb, noun) = CommandName;
        ThrowTerminatingError(new ErrorRecord(
            new PSArgumentException("No configuration to work on: give -Context (from New-GatewayContext, or a configuration file path), or pipe objects that carry a ConfigurationPath."),
            verb + noun + "ContextRequired", ErrorCategory.InvalidArgument, null));
        throw new InvalidOperationException("unreachable");
    }

    private readonly List<GatewayService> _services = [];

    private GatewayService Used(GatewayService service)
    {
        if (!_services.Contains(service))
            _services.Add(service);
        return service;
    }

    /// <summary>
    /// After a change was written: when a gateway serves that configuration, waits (bounded) until it reports the new
    /// revision, and says so (verbose), or warns naming why it refused it, or that it has not loaded it yet.
    /// </summary>
    private void ReportReload(IReadOnlyList<(GatewayService Service, long Revision)> before)
    {
        foreach (var (service, revision) in before)
        {
            var written = service.LastWrittenRevision;
            if (written == revision || written == 0)
                continue;
            var observation = ReloadObserver.Observe(service.ConfigurationPath, written);
            if (observation is null)
                continue;
            var sentence = observation.Describe(service.ConfigurationPath);
            if (observation.Kind == ReloadOutcomeKind.PickedUp)
                WriteVerbose(sentence);
            else
                WriteWarning(sentence);
        }
    }

    /// <summary>A file path the user gave, resolved through the PowerShell provider (see <see cref="PathResolution"/>).</summary>
    internal string ResolvePath(string path) => PathResolution.Resolve(SessionState.Path, path);

    /// <summary>
    /// Runs one Core operation for one item. On failure writes the mapped error (terminating when nothing useful is
    /// left) and returns false, so the cmdlet goes on with the next pipeline item.
    /// </summary>
    internal bool TryInvoke<T>(Func<T> operation, [MaybeNullWhen(false)] out T result)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var before = _services.Select(s => (s, s.LastWrittenRevision)).ToList();
        try
        {
            result = operation();
        }
        catch (Exception ex) when (ex is GatewayException or PathResolutionException or ArgumentException)
        {
            WriteFailure(ex);
            result = default;
            return false;
        }
        ReportReload(before);
        return true;
    }

    /// <summary>Writes <paramref name="exception"/> as an ErrorRecord with this cmdlet's id (see <see cref="ErrorMapping"/>).</summary>
    internal void WriteFailure(Exception exception)
    {
        var (verb, noun) = CommandName;
        switch (exception)
        {
            case GatewayException gateway:
                var mapped = ErrorMapping.Map(verb, noun, gateway);
                var record = new ErrorRecord(gateway, mapped.ErrorId, mapped.Category, mapped.Target);
                if (mapped.Terminating)
                    ThrowTerminatingError(record);
                WriteError(record);
                break;
            case PathResolutionException path:
                WriteError(new ErrorRecord(path, verb + noun + "PathInvalid", ErrorCategory.InvalidArgument, path.Path));
                break;
            default:
                WriteError(new ErrorRecord(exception, verb + noun + "InvalidArgument", ErrorCategory.InvalidArgument, null));
                break;
        }
    }

    /// <summary>Writes a Core result: its warnings (WriteWarning), then its value.</summary>
    internal void WriteResult<T>(OperationResult<T> result)
    {
        ArgumentNullException.ThrowIfNull(result);
        foreach (var warning in result.Warnings)
            WriteWarning(warning);
        WriteObject(result.Value);
    }

    /// <summary>
    /// ShouldProcess for a removal (ConfirmImpact High). <paramref name="force"/> answers the confirmation prompt,
    /// but <c>-WhatIf</c> still only reports, and an explicit <c>-Confirm</c> still asks. Never a way around the
    /// Core's in-use rule: that check runs under the configuration lock whatever this returns.
    /// </summary>
    internal bool ShouldProcessRemoval(string target, string action, bool force)
    {
        if (force && !IsSwitchOn("Confirm") && !WhatIfRequested())
            return true;
        return ShouldProcess(target, action);
    }

    /// <summary>
    /// The loop every Remove-* cmdlet shares: for each item (an id, and the configuration of a piped object), confirm
    /// (<see cref="ShouldProcessRemoval"/>), remove through Core, and with -PassThru write what was removed.
    /// </summary>
    internal void RemoveEach<T>(IEnumerable<(string Id, string? Path)> items, GatewayContext? context, string what, string action, bool force, bool passThru, Func<GatewayService, string, T> remove)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(remove);
        RemoveEach(
            items.Select(i => ((string?)i.Id, i.Path)), context, (id, service) => Target(what, id, service), action, force, passThru,
            (service, id) => new OperationResult<T?>(remove(service, id!), []));
    }

    /// <summary>
    /// The same loop for removals whose item may have no id (the global policy), whose Core result carries warnings,
    /// and that may find nothing to remove (a null value: nothing is passed through).
    /// </summary>
    internal void RemoveEach<T>(IEnumerable<(string? Id, string? Path)> items, GatewayContext? context, Func<string?, GatewayService, string> target, string action, bool force, bool passThru, Func<GatewayService, string?, OperationResult<T?>> remove)
        where T : class =>
        ForEachItem(items, context, target, t => ShouldProcessRemoval(t, action, force), passThru, remove);

    /// <summary>
    /// The loop of the Set-* cmdlets that take an id or piped objects: for each item, ShouldProcess, change through
    /// Core, and with -PassThru write the result.
    /// </summary>
    internal void ChangeEach<T>(IEnumerable<(string Id, string? Path)> items, GatewayContext? context, string what, string action, bool passThru, Func<GatewayService, string, T> change)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(change);
        ForEachItem(
            items.Select(i => ((string?)i.Id, i.Path)), context, (id, service) => Target(what, id, service), t => ShouldProcess(t, action), passThru,
            (service, id) => new OperationResult<T?>(change(service, id!), []));
    }

    /// <summary>
    /// The one per-item loop: each item's configuration (from -Context, or the piped object's), confirmation, the Core
    /// operation (a failure is written and the loop goes on), its warnings, and with -PassThru its value.
    /// </summary>
    private void ForEachItem<T>(IEnumerable<(string? Id, string? Path)> items, GatewayContext? context, Func<string?, GatewayService, string> target, Func<string, bool> confirm, bool passThru, Func<GatewayService, string?, OperationResult<T?>> operation)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(operation);
        foreach (var (id, path) in items)
        {
            var service = ServiceFor(context, path);
            if (!confirm(target(id, service)))
                continue;
            if (!TryInvoke(() => operation(service, id), out var result))
                continue;
            foreach (var warning in result.Warnings)
                WriteWarning(warning);
            if (passThru && result.Value is not null)
                WriteObject(result.Value);
        }
    }

    private bool WhatIfRequested() =>
        MyInvocation.BoundParameters.TryGetValue("WhatIf", out var whatIf)
            ? LanguagePrimitives.IsTrue(whatIf)
            : LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));

    private bool IsSwitchOn(string name) =>
        MyInvocation.BoundParameters.TryGetValue(name, out var value) && LanguagePrimitives.IsTrue(value);

    /// <summary>"certificate 'backend-2025' in /etc/gateway/gateway.json": the ShouldProcess target.</summary>
    internal static string Target(string what, string? id, GatewayService service) =>
        id is null ? $"new {what} in {service.ConfigurationPath}" : $"{what} '{id}' in {service.ConfigurationPath}";

    /// <summary>"policy of API 'orders' in ..." or "global policy in ...": the ShouldProcess target of the policy cmdlets.</summary>
    internal static string PolicyTarget(string? apiId, GatewayService service) =>
        string.IsNullOrEmpty(apiId) ? $"global policy in {service.ConfigurationPath}" : $"policy of API '{apiId}' in {service.ConfigurationPath}";
}
