using Appliance.Core.Failover;

namespace Appliance.Tests.Simulation;

/// <summary>What a schedule may break; the invariants asserted depend on it.</summary>
internal enum ScheduleClass
{
    /// <summary>Everything: partitions, loss, delay spikes, crashes, flaps, clock jumps, fencing faults, operators; half with switch-back on.</summary>
    Chaos,

    /// <summary>Only delays with delay + the sender's HeartbeatInterval below the receiver's silence timeout: no failover may happen.</summary>
    DelaysOnly,

    /// <summary>Medium mode with chaos: no promotion without an operator.</summary>
    Medium,
}

internal enum FenceBehaviour
{
    /// <summary>Powers the peer off, then reports ConfirmedOff.</summary>
    Truthful,

    /// <summary>BMC answers but refuses: Failed.</summary>
    Failing,

    /// <summary>BMC dark: BmcUnreachable (the peer keeps running unless it really lost power).</summary>
    Dark,

    /// <summary>Reports ConfirmedOff but the peer keeps running (the warning in fence_ipmilan(8), ClusterLabs fence-agents).</summary>
    Lying,
}

/// <summary>One fault or operator action at a virtual time.</summary>
internal abstract record Fault(TimeSpan At)
{
    public sealed record Partition(TimeSpan At, TimeSpan For, string? Path) : Fault(At);

    public sealed record Lossy(TimeSpan At, TimeSpan For, double DropRate) : Fault(At);

    public sealed record DelaySpike(TimeSpan At, TimeSpan For, TimeSpan Extra) : Fault(At);

    public sealed record Crash(TimeSpan At, int Node, TimeSpan DownFor) : Fault(At);

    public sealed record PathFlap(TimeSpan At, int Node, string Path) : Fault(At);

    public sealed record ClockJump(TimeSpan At, int Node, TimeSpan By) : Fault(At);

    public sealed record Isolate(TimeSpan At, int Node, TimeSpan For) : Fault(At);

    /// <summary>An operator command to the node in <paramref name="Target"/>'s role at that moment.</summary>
    public sealed record Operate(TimeSpan At, OperatorTarget Target, OperatorCommand Command) : Fault(At);
}

internal enum OperatorTarget
{
    TheActive,
    ThePassive,
    ThePending,
    Either,
}

/// <summary>A seeded schedule: settings, network quality and a fault plan, all drawn from one seed.</summary>
internal sealed record SimSchedule(
    int Seed,
    ScheduleClass Class,
    HaSettings Settings,
    TimeSpan BaseDelay,
    TimeSpan Jitter,
    double DuplicateRate,
    FenceBehaviour[] FenceBehaviours,
    TimeSpan FenceLatency,
    IReadOnlyList<Fault> Faults,
    TimeSpan Horizon)
{
    public static readonly string[] Paths = ["p1", "p2"];

    /// <summary>
    /// Per node (a, b): <see cref="Settings"/>, except that in a third of the seeds node b heartbeats every 300 ms and
    /// fails over after 600 ms — shorter than node a's 1 s heartbeat interval (keepalived's foot-gun).
    /// </summary>
    public required HaSettings[] NodeSettings { get; init; }

    public TimeSpan LongestHeartbeatInterval => NodeSettings.Max(s => s.HeartbeatInterval);

    public string TimingText => string.Join(" / ", NodeSettings.Select(s => $"{HaSettings.Show(s.HeartbeatInterval)}-{HaSettings.Show(s.PartnerFailoverTimeout)}"));

    public static SimSchedule FromSeed(int seed)
    {
        var rng = new Random(seed);
        ScheduleClass kind = (seed % 10) switch
        {
            < 6 => ScheduleClass.Chaos,
            < 8 => ScheduleClass.DelaysOnly,
            _ => ScheduleClass.Medium,
        };
        var settings = new HaSettings
        {
            HeartbeatInterval = TimeSpan.FromSeconds(1),
            PartnerFailoverTimeout = TimeSpan.FromSeconds(3),
            PartnerContactTimeout = TimeSpan.FromSeconds(10),
            RebootBlackoutWindow = TimeSpan.FromSeconds(rng.Next(0, 30)),
            FailedNotificationRate = TimeSpan.FromMinutes(1),
            FailoverMode = kind == ScheduleClass.Medium ? FailoverMode.Medium : FailoverMode.Automatic,
            ConnectivityTestTargets = rng.Next(3) == 0 ? [] : ["192.0.2.1", "gw.example:443"],
            FencingEnabled = rng.Next(4) != 0,
            FencingUnconfirmed = rng.Next(2) == 0 ? FencingUnconfirmedPolicy.Wait : FencingUnconfirmedPolicy.PromoteIfPeerDark,
            FenceDelay = TimeSpan.FromSeconds(rng.Next(0, 4)),
            PreferredActive = rng.Next(3) switch { 0 => "node-a", 1 => "node-b", _ => null },
        };

        // Drawn from the seed, not the generator, so every other part of a schedule stays as it was.
        if (kind == ScheduleClass.Chaos && seed / 10 % 2 == 1)
        {
            // Switch-back is automatic: it may never show two Actives nor delay the single Active after a heal.
            settings = settings with { SwitchBackAfter = TimeSpan.FromSeconds(10 + (seed / 20 % 30)) };
        }

        HaSettings[] nodeSettings = seed / 10 % 3 == 0
            ? [settings, settings with { HeartbeatInterval = TimeSpan.FromMilliseconds(300), PartnerFailoverTimeout = TimeSpan.FromMilliseconds(600) }]
            : [settings, settings];
        TimeSpan horizon = TimeSpan.FromSeconds(120);
        if (kind == ScheduleClass.DelaysOnly)
        {
            // delay + jitter + the sender's HeartbeatInterval stays below the receiver's silence timeout (with 100 ms margin).
            TimeSpan budget = Min(SilenceBudget(nodeSettings[0], nodeSettings[1]), SilenceBudget(nodeSettings[1], nodeSettings[0])) - TimeSpan.FromMilliseconds(100);
            TimeSpan jitter = TimeSpan.FromMilliseconds(rng.Next(0, 300));
            TimeSpan baseDelay = TimeSpan.FromMilliseconds(rng.Next(0, (int)(budget - jitter).TotalMilliseconds));
            var jumps = Enumerable.Range(0, rng.Next(0, 3))
                .Select(_ => (Fault)new Fault.ClockJump(Seconds(rng, 5, 100), rng.Next(2), TimeSpan.FromSeconds(rng.Next(-100, 100))))
                .ToList();
            return new SimSchedule(seed, kind, settings, baseDelay, jitter, rng.NextDouble() * 0.2,
                [FenceBehaviour.Truthful], TimeSpan.FromSeconds(1), jumps, horizon) { NodeSettings = nodeSettings };
        }

        var faults = new List<Fault>();
        int count = rng.Next(2, 12);
        for (int i = 0; i < count; i++)
        {
            faults.Add(RandomFault(rng, settings));
        }

        FenceBehaviour[] fences = [.. Enumerable.Range(0, 3).Select(_ => (FenceBehaviour)rng.Next(4))];
        TimeSpan fenceLatency = TimeSpan.FromMilliseconds(rng.Next(100, rng.Next(4) == 0 ? 40_000 : 4_000));
        return new SimSchedule(seed, kind, settings, TimeSpan.FromMilliseconds(rng.Next(1, 40)), TimeSpan.FromMilliseconds(rng.Next(0, 60)),
            rng.NextDouble() * 0.1, fences, fenceLatency, faults, horizon) { NodeSettings = nodeSettings };
    }

    /// <summary>
    /// How late a heartbeat may arrive before the receiver counts the sender lost: its PartnerFailoverTimeout, never
    /// less than twice the sender's interval (the machine's floor), minus the interval the heartbeats come at.
    /// </summary>
    private static TimeSpan SilenceBudget(HaSettings receiver, HaSettings sender)
    {
        TimeSpan floor = PeerTiming.Of(sender).SilenceFloor;
        return (receiver.PartnerFailoverTimeout > floor ? receiver.PartnerFailoverTimeout : floor) - sender.HeartbeatInterval;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static Fault RandomFault(Random rng, HaSettings settings)
    {
        TimeSpan at = Seconds(rng, 3, 75);
        return rng.Next(12) switch
        {
            0 or 1 => new Fault.Partition(at, Seconds(rng, 1, 25), rng.Next(3) == 0 ? SimSchedule.Paths[rng.Next(2)] : null),
            2 => new Fault.Lossy(at, Seconds(rng, 2, 20), 0.1 + (rng.NextDouble() * 0.8)),
            3 => new Fault.DelaySpike(at, Seconds(rng, 1, 10), TimeSpan.FromMilliseconds(rng.Next(100, 5_000))),
            4 or 5 or 6 => new Fault.Crash(at, rng.Next(2), Seconds(rng, 1, 25)),
            7 => new Fault.PathFlap(at, rng.Next(2), SimSchedule.Paths[rng.Next(2)]),
            8 => new Fault.ClockJump(at, rng.Next(2), TimeSpan.FromSeconds(rng.Next(-110, 110))),
            9 => new Fault.Isolate(at, rng.Next(2), Seconds(rng, 2, 30)),
            _ => new Fault.Operate(at, (OperatorTarget)rng.Next(4), RandomCommand(rng, settings)),
        };
    }

    private static OperatorCommand RandomCommand(Random rng, HaSettings settings) => rng.Next(8) switch
    {
        0 => new OperatorCommand.BecomePrimary(rng.Next(2) == 0),
        1 => new OperatorCommand.BecomeBackup(rng.Next(2) == 0, rng.Next(3) == 0),
        2 => new OperatorCommand.FailoverNow(),
        3 => new OperatorCommand.FixConflict(),
        4 => new OperatorCommand.SuspendFailover(),
        5 => new OperatorCommand.ResumeFailover(),
        6 => new OperatorCommand.Shutdown(Reboot: true),
        _ => settings.FailoverMode == FailoverMode.Medium ? new OperatorCommand.FailoverNow() : new OperatorCommand.FixConflict(),
    };

    private static TimeSpan Seconds(Random rng, int min, int max) => TimeSpan.FromMilliseconds(rng.Next(min * 1000, max * 1000));
}
