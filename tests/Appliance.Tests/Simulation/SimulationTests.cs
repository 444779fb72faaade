using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace Appliance.Tests.Simulation;

/// <summary>
/// Seeded fault schedules over two real machines. Default: 2,000 schedules; APPLIANCE_SIM_SEEDS=N
/// runs N; APPLIANCE_SIM_SEED=S replays exactly seed S (printed by any failure with its trace).
/// </summary>
public class SimulationTests(ITestOutputHelper output)
{
    private const int DefaultSeeds = 2_000;

    [Fact]
    public void Every_seeded_schedule_holds_every_invariant()
    {
        int[] seeds = SeedsToRun();
        var clock = Stopwatch.StartNew();
        var classes = new Dictionary<ScheduleClass, int>();
        long events = 0;
        int promotions = 0;
        int switchBacks = 0;
        foreach (int seed in seeds)
        {
            SimSchedule schedule = SimSchedule.FromSeed(seed);
            var cluster = new SimCluster(schedule);
            try
            {
                cluster.Run();
            }
            catch (InvariantViolation violation)
            {
                Assert.Fail(violation.Message);
            }

            if (seeds.Length == 1)
            {
                output.WriteLine($"seed {seed} ({schedule.Class}) passed; last events:\n{cluster.TraceText}");
            }

            classes[schedule.Class] = classes.GetValueOrDefault(schedule.Class) + 1;
            events += cluster.Events;
            promotions += cluster.Promotions;
            switchBacks += cluster.SwitchBacks;
        }

        output.WriteLine($"{seeds.Length} schedules, {events} events, {promotions} promotions, {switchBacks} switch-backs in {clock.Elapsed.TotalSeconds:F1}s; " +
            string.Join(", ", classes.Select(kv => $"{kv.Key}={kv.Value}")));
        // Schedules must exercise failover, not just sit idle: far more promotions than schedules.
        Assert.True(seeds.Length < 50 || promotions > seeds.Length, $"only {promotions} promotions in {seeds.Length} schedules");
        Assert.True(seeds.Length < 50 || switchBacks > seeds.Length / 20, $"only {switchBacks} switch-backs in {seeds.Length} schedules");
    }

    [Fact]
    public void A_broken_epoch_check_is_caught_with_a_replayable_seed()
    {
        string? first = null;
        int caughtSeed = -1;
        for (int seed = 1; seed <= 500 && first is null; seed++)
        {
            try
            {
                new SimCluster(SimSchedule.FromSeed(seed), brokenEpochCheck: true).Run();
            }
            catch (InvariantViolation violation)
            {
                first = violation.Message;
                caughtSeed = seed;
            }
        }

        Assert.NotNull(first);
        output.WriteLine(first);
        Assert.Contains($"APPLIANCE_SIM_SEED={caughtSeed}", first, StringComparison.Ordinal);
        Assert.Contains("last events:", first, StringComparison.Ordinal);
        var replay = Assert.Throws<InvariantViolation>(() => new SimCluster(SimSchedule.FromSeed(caughtSeed), brokenEpochCheck: true).Run());
        Assert.Equal(first, replay.Message); // same seed, same schedule, same trace: deterministic
    }

    [Fact]
    public void The_same_seed_replays_the_same_run()
    {
        var first = new SimCluster(SimSchedule.FromSeed(4242));
        first.Run();
        var second = new SimCluster(SimSchedule.FromSeed(4242));
        second.Run();
        Assert.Equal(first.Events, second.Events);
        Assert.Equal(first.TraceText, second.TraceText);
    }

    private static int[] SeedsToRun()
    {
        if (Environment.GetEnvironmentVariable("APPLIANCE_SIM_SEED") is { Length: > 0 } one)
        {
            return [int.Parse(one, CultureInfo.InvariantCulture)];
        }

        int count = Environment.GetEnvironmentVariable("APPLIANCE_SIM_SEEDS") is { Length: > 0 } many
            ? int.Parse(many, CultureInfo.InvariantCulture)
            : DefaultSeeds;
        return [.. Enumerable.Range(1, count)];
    }
}
