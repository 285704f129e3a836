namespace ApiGateway.Benchmarks.Tools;

/// <summary>The API policies the benchmarks configure.</summary>
internal static class BenchPolicy
{
    /// <summary>
    /// An API policy that inherits every section from the global policy (<c>&lt;base /&gt;</c>) and runs
    /// <paramref name="inbound"/> after the global inbound steps.
    /// </summary>
    public static string WithInbound(string inbound) => $"""
        <policies>
          <inbound>
            <base />
        {inbound}
          </inbound>
          <backend>
            <base />
          </backend>
          <outbound>
            <base />
          </outbound>
          <on-error>
            <base />
          </on-error>
        </policies>
        """;
}
