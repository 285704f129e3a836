using System.Diagnostics.CodeAnalysis;
using System.Xml.Linq;

namespace ApiGateway.Core.Policies;

/// <summary>
/// One policy element the parser knows: its XML name, the method that parses it (in the element's own file under
/// Elements/), and the sections it may stand in (null: any).
/// </summary>
internal sealed record PolicyElementDefinition(string Name, Func<PolicyParser, XElement, ElementPlace, PolicyNode?> Parse, PolicySectionKind[]? Sections = null);

/// <summary>
/// The dispatch table of the parser: every element, in the order the "Known elements" message lists them. Adding an
/// element is a record under Elements/ (its name, values, children and Parse method), one entry here, and a step with
/// its factory entry in the host (ApiGateway.Host/Pipeline/StepFactory.cs).
/// </summary>
internal static class PolicyElements
{
    public static IReadOnlyList<PolicyElementDefinition> All { get; } =
    [
        new(BasePolicy.XmlName, BasePolicy.Parse),
        new(ChoosePolicy.XmlName, ChoosePolicy.Parse),
        new(ReturnResponsePolicy.XmlName, ReturnResponsePolicy.Parse),
        new(SetStatusPolicy.XmlName, SetStatusPolicy.Parse),
        new(SetHeaderPolicy.XmlName, SetHeaderPolicy.Parse),
        new(SetBodyPolicy.XmlName, SetBodyPolicy.Parse),
        new(SetVariablePolicy.XmlName, SetVariablePolicy.Parse),
        new(ValidateClientCertificatePolicy.XmlName, ValidateClientCertificatePolicy.Parse, [PolicySectionKind.Inbound]),
        new(AuthenticationCertificatePolicy.XmlName, AuthenticationCertificatePolicy.Parse, [PolicySectionKind.Inbound]),
        new(SetBackendServicePolicy.XmlName, SetBackendServicePolicy.Parse, [PolicySectionKind.Inbound, PolicySectionKind.Backend]),
        new(ForwardRequestPolicy.XmlName, ForwardRequestPolicy.Parse, [PolicySectionKind.Backend]),
    ];

    private static readonly Dictionary<string, PolicyElementDefinition> ByName = All.ToDictionary(e => e.Name, StringComparer.Ordinal);

    /// <summary>"base, choose, …": the names of <see cref="All"/>, for the unknown-element message.</summary>
    public static string KnownNames { get; } = string.Join(", ", All.Select(e => e.Name));

    public static bool TryGet(string name, [MaybeNullWhen(false)] out PolicyElementDefinition element) => ByName.TryGetValue(name, out element);
}
