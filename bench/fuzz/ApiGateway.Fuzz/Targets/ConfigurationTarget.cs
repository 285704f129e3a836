using ApiGateway.Core;
using ApiGateway.Core.Configuration;

namespace ApiGateway.Fuzz.Targets;

/// <summary>
/// A configuration file's bytes as the store and the gateway read them. Properties: reading ends in a configuration
/// or <see cref="GatewayException"/> with an id and the file named; validating never throws; what the serializer
/// writes reads back and writes again to the same bytes (the store's canonical-file promise); and loading the file
/// as the gateway does (<c>SnapshotBuilder</c>: certificates, listeners, backends, policies, expressions, routes)
/// ends in a snapshot or a list of problems, never an exception (which would end a reload or the first start), and
/// refuses whatever the validator refuses.
/// </summary>
internal static class ConfigurationTarget
{
    /// <summary>
    /// Every configuration the validator accepts is loaded; of those it refuses, one in <see cref="LoadEvery"/> (the
    /// build of a refused configuration runs every stage all the same, and costs most of a case's time).
    /// </summary>
    public const int LoadEvery = 8;

    public static Verdict Run(FuzzWorld world, FuzzCase c, long index)
    {
        GatewayConfiguration configuration;
        try
        {
            configuration = ConfigurationSerializer.Deserialize(c.Input, "fuzz.json");
        }
        catch (GatewayException ex)
        {
            if (ex.ErrorId != "ConfigurationUnreadable" || !ex.Message.Contains("'fuzz.json'", StringComparison.Ordinal))
                return Verdict.Failure($"reading refused with {ex.ErrorId} ({ex.Message}); expected ConfigurationUnreadable naming the file");
            return Verdict.Refused(ex.ErrorId);
        }

        var problems = ConfigurationValidator.Validate(configuration);
        if (problems.Any(string.IsNullOrWhiteSpace))
            return Verdict.Failure("the validator reported an empty problem");

        if (configuration.SchemaVersion <= GatewayConfiguration.CurrentSchemaVersion)
        {
            var written = ConfigurationSerializer.Serialize(configuration);
            GatewayConfiguration reread;
            try
            {
                reread = ConfigurationSerializer.Deserialize(written, "rewritten.json");
            }
            catch (GatewayException ex)
            {
                return Verdict.Failure($"the serializer wrote a file it cannot read back: {ex.Message}");
            }
            var again = ConfigurationSerializer.Serialize(reread);
            if (!written.AsSpan().SequenceEqual(again))
                return Verdict.Failure("writing what was read is not canonical: the second write differs from the first");
            var reproblems = ConfigurationValidator.Validate(reread);
            if (!reproblems.SequenceEqual(problems))
            {
                var before = string.Join(" | ", problems.Except(reproblems).Take(2));
                var after = string.Join(" | ", reproblems.Except(problems).Take(2));
                return Verdict.Failure($"the configuration read back validates differently from the one written: before [{before}], after [{after}]");
            }
        }

        if (problems.Count > 0 && index % LoadEvery != 0)
            return Verdict.Refused("ConfigurationInvalid");
        var load = Loader.Load(world, c.Input);
        if (load.Kind == VerdictKind.Success && problems.Count > 0)
            return Verdict.Failure($"the gateway loads a configuration the validator refuses: {problems[0]}");
        return load.Kind == VerdictKind.Refused && problems.Count > 0 ? Verdict.Refused("ConfigurationInvalid") : load;
    }
}
