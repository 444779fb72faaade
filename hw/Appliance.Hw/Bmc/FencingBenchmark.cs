using Appliance.Core.Ports;

namespace Appliance.Hw.Bmc;

/// <summary>Fencing time (power off confirmed) over repeated runs: power the target on, fence it, record Elapsed.</summary>
public static class FencingBenchmark
{
    /// <summary>Samples in run order plus the median; each run must end ConfirmedOff or the benchmark throws.</summary>
    public sealed record Result(IReadOnlyList<TimeSpan> Samples, TimeSpan Median, TimeSpan Min, TimeSpan Max);

    /// <summary>
    /// Runs <paramref name="runs"/> fences of the machine behind <paramref name="target"/>. It powers that machine
    /// on and off repeatedly: point it at a simulator or a lab box, never at a live peer.
    /// </summary>
    public static async Task<Result> MeasureAsync(IBmcPower target, IPeerFencer fencer, int runs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(fencer);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        var samples = new List<TimeSpan>(runs);
        for (var i = 0; i < runs; i++)
        {
            await target.SetPowerAsync(BmcPowerAction.On, cancellationToken);
            var result = await fencer.FenceAsync(cancellationToken);
            if (result.Outcome != FenceOutcome.ConfirmedOff)
                throw new InvalidOperationException($"fence run {i + 1} ended {result.Outcome}: {result.Detail}");
            samples.Add(result.Elapsed);
        }

        var sorted = samples.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        return new Result(samples, median, sorted[0], sorted[^1]);
    }
}
