using ApiGateway.Fuzz.Generators;
using FsCheck;
using FsCheck.Fluent;

namespace ApiGateway.Fuzz.Driver;

/// <summary>
/// Case <c>i</c> of a run is a pure function of (target, seed, i): FsCheck's generator sampled with a random source
/// made from the seed and the index, at a size that cycles from 1 to 100. So a worker needs only a range of indices,
/// and the case of any index (the one a dead worker was running) can be made again.
/// </summary>
internal static class CaseSource
{
    public static FuzzCase At(FuzzTarget target, ulong seed, long index, FuzzWorld world)
    {
        var gen = target switch
        {
            FuzzTarget.Configuration => ConfigurationGenerator.Cases(world.Base),
            FuzzTarget.Policy => PolicyGenerator.Cases,
            _ => ExpressionGenerator.Cases,
        };
        var rnd = new Rnd(Mix(seed, (ulong)index, (ulong)target));
        var size = 1 + (int)(index % 100);
        var c = gen.Sample(1, rnd, size)[0];
        return c with { Origin = $"{c.Origin}, seed {seed}, index {index}" };
    }

    /// <summary>SplitMix64 of the three numbers: neighbouring indices get unrelated random sources.</summary>
    private static ulong Mix(ulong seed, ulong index, ulong target)
    {
        var z = seed ^ (index * 0x9E3779B97F4A7C15UL) ^ (target << 56);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
