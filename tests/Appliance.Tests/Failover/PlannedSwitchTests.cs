using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;

namespace Appliance.Tests.Failover;

/// <summary>Two machines wired back to back: every Publish of one is delivered to the other at once.</summary>
public class PlannedSwitchTests
{
    private static readonly HaSettings Settings = new() { FencingEnabled = false, PreferredActive = "node-a" };

    private MachineDriver _a;
    private MachineDriver _b;
    private readonly List<string> _log = [];
    private long _seqA;
    private long _seqB;

    public PlannedSwitchTests() => UseSettings(Settings);

    [Fact]
    public void Become_primary_is_two_phase_and_never_has_two_Actives()
    {
        long epoch = _a.State.Epoch;

        Run(_b, new OperatorCommand.BecomePrimary(Sync: false));

        Assert.Equal(HaRole.Passive, _a.State.Role);
        Assert.Equal(HaRole.Active, _b.State.Role);
        Assert.True(_b.State.Epoch > epoch);
        Assert.Equal(
            // Last: node-a records node-b's new epoch, so a restart cannot take it back below.
            ["node-b: sends RequestRelease", "node-a: PersistState(Passive)", "node-a: StopServices", "node-a: ReleaseSharedIp", "node-a: sends Released", "node-b: PersistState(Active)", "node-b: TakeSharedIp", "node-b: StartServices", "node-a: PersistState(Passive)"],
            _log.Where(l => !l.Contains("Publish", StringComparison.Ordinal) && !l.Contains("sends State", StringComparison.Ordinal)));
    }

    [Fact]
    public void Become_backup_with_sync_pulls_before_taking_clients()
    {
        Run(_a, new OperatorCommand.BecomeBackup(Sync: true, EvenIfUnreachable: false));

        Assert.Equal(HaRole.Active, _b.State.Role);
        Assert.False(_b.State.HoldsSharedIp);
        Assert.Contains("node-b: SyncPull", _log);
        Assert.DoesNotContain("node-b: TakeSharedIp", _log);

        Deliver(_b, _b.Feed(new HaInput.SyncCompleted(true, "caught up")));

        Assert.True(_b.State.HoldsSharedIp);
        Assert.True(_log.IndexOf("node-b: SyncPull") < _log.IndexOf("node-b: TakeSharedIp"));
    }

    [Fact]
    public void Become_backup_is_refused_when_nobody_could_take_over()
    {
        _a.Advance(TimeSpan.FromSeconds(5)); // b silent

        _a.Feed(new HaInput.OperatorInput(new OperatorCommand.BecomeBackup(false, false)));

        Assert.Equal(HaRole.Active, _a.State.Role);
        Assert.Equal(
            new HaEffect.Reply(CommandResult.Refused("become-backup refused: the peer is unreachable and would not take over (use even-if-unreachable)")),
            _a.Effects[^1]);
    }

    [Fact]
    public void Break_on_one_side_turns_both_Off()
    {
        Run(_a, new OperatorCommand.Break());

        Assert.Equal(HaRole.Off, _a.State.Role);
        Assert.Equal(HaRole.Off, _b.State.Role);
    }

    [Fact]
    public void The_preferred_node_takes_its_role_back_after_SwitchBackAfter_by_a_planned_switch_with_sync()
    {
        UseSettings(Settings with { SwitchBackAfter = TimeSpan.FromSeconds(30) });
        Run(_b, new OperatorCommand.BecomePrimary(Sync: false)); // the preferred node a is now Passive
        _log.Clear();

        RunBoth(TimeSpan.FromSeconds(29));
        Assert.Equal(HaRole.Passive, _a.State.Role);
        Assert.DoesNotContain(_log, l => l.Contains("RequestRelease", StringComparison.Ordinal));

        RunBoth(TimeSpan.FromSeconds(3));

        Assert.Equal(HaRole.Active, _a.State.Role);
        Assert.Equal(HaRole.Passive, _b.State.Role);
        Assert.Equal(
            ["node-a: sends RequestRelease", "node-b: PersistState(Passive)", "node-b: StopServices", "node-b: ReleaseSharedIp", "node-b: sends Released", "node-a: PersistState(Active)", "node-a: SyncPull", "node-b: PersistState(Passive)"], // b saves the epoch it heard
            _log.Where(l => !l.Contains("Publish", StringComparison.Ordinal) && !l.Contains("sends State", StringComparison.Ordinal) && !l.Contains("sends Heartbeat", StringComparison.Ordinal)));
        Assert.False(_a.State.HoldsSharedIp); // clients wait until the pull from the old Active is done
    }

    [Fact]
    public void A_suspension_or_a_conflict_restarts_the_switch_back_wait_and_the_other_node_never_switches()
    {
        UseSettings(Settings with { SwitchBackAfter = TimeSpan.FromSeconds(30) });
        Run(_b, new OperatorCommand.BecomePrimary(Sync: false));
        RunBoth(TimeSpan.FromSeconds(20));
        Run(_a, new OperatorCommand.SuspendFailover());
        RunBoth(TimeSpan.FromSeconds(5));
        Run(_a, new OperatorCommand.ResumeFailover());
        _log.Clear();

        RunBoth(TimeSpan.FromSeconds(28)); // 53 s since the switch, 28 s since the resume
        Assert.Equal(HaRole.Passive, _a.State.Role);
        RunBoth(TimeSpan.FromSeconds(4));
        Assert.Equal(HaRole.Active, _a.State.Role);

        // Back on the preferred node: b, Passive now, never asks for the role.
        _log.Clear();
        RunBoth(TimeSpan.FromMinutes(2));
        Assert.Equal(HaRole.Active, _a.State.Role);
        Assert.DoesNotContain(_log, l => l.Contains("RequestRelease", StringComparison.Ordinal));
    }

    [Fact]
    public void A_lost_Released_is_said_again_with_the_next_heartbeat_and_the_switch_completes()
    {
        IReadOnlyList<HaEffect> effects = _a.Feed(new HaInput.OperatorInput(new OperatorCommand.BecomeBackup(Sync: false, EvenIfUnreachable: false)));
        Deliver(_a, [.. effects.Where(e => e is not HaEffect.Publish { Message.Command: not null })]); // Released lost on the way
        Assert.Equal(HaRole.Passive, _a.State.Role);
        Assert.Equal(HaRole.Passive, _b.State.Role);

        RunBoth(TimeSpan.FromSeconds(1.1)); // well inside the 6 s handover deadline

        Assert.Equal(HaRole.Active, _b.State.Role);
        Assert.Equal(HaRole.Passive, _a.State.Role);
        Assert.Null(_a.State.Handover); // the peer's Active heartbeat completed the switch
    }

    [Fact]
    public void Without_SwitchBackAfter_the_roles_stay_where_an_operator_put_them()
    {
        Run(_b, new OperatorCommand.BecomePrimary(Sync: false));

        RunBoth(TimeSpan.FromMinutes(30));

        Assert.Equal(HaRole.Passive, _a.State.Role);
        Assert.Equal(HaRole.Active, _b.State.Role);
    }

    /// <summary>Both machines anew with <paramref name="settings"/>, started and settled: a Active, b Passive.</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_a), nameof(_b))]
    private void UseSettings(HaSettings settings)
    {
        _a = new MachineDriver(settings, "node-a", "node-b");
        _b = new MachineDriver(settings, "node-b", "node-a");
        IReadOnlyList<HaEffect> startA = _a.Effects, startB = _b.Effects;
        Deliver(_a, startA);
        Deliver(_b, startB);
        Assert.Equal(HaRole.Active, _a.State.Role);
        Assert.Equal(HaRole.Passive, _b.State.Role);
        _log.Clear();
    }

    /// <summary>Both clocks forward in 100 ms steps, each node's heartbeats delivered to the other.</summary>
    private void RunBoth(TimeSpan by)
    {
        for (TimeSpan t = TimeSpan.Zero; t < by; t += TimeSpan.FromMilliseconds(100))
        {
            Deliver(_a, _a.Advance(TimeSpan.FromMilliseconds(100)));
            Deliver(_b, _b.Advance(TimeSpan.FromMilliseconds(100)));
        }
    }

    private void Run(MachineDriver node, OperatorCommand command)
    {
        IReadOnlyList<HaEffect> effects = node.Feed(new HaInput.OperatorInput(command));
        Assert.True(effects.OfType<HaEffect.Reply>().Single().Result.Ok, effects.OfType<HaEffect.Reply>().Single().Result.Message);
        Deliver(node, effects);
    }

    /// <summary>Logs effects in execution order and delivers publishes depth-first, as a zero-latency link would.</summary>
    private void Deliver(MachineDriver from, IReadOnlyList<HaEffect> effects)
    {
        MachineDriver to = from == _a ? _b : _a;
        string name = from.State.NodeId;
        foreach (HaEffect effect in effects)
        {
            switch (effect)
            {
                case HaEffect.PersistState persist:
                    _log.Add($"{name}: PersistState({persist.State.Role})");
                    break;
                case HaEffect.Publish publish:
                    _log.Add($"{name}: sends {publish.Message.Command?.Kind.ToString() ?? publish.Message.Kind.ToString()}");
                    var message = new PeerMessage
                    {
                        NodeId = name,
                        BootId = "boot",
                        Sequence = from == _a ? ++_seqA : ++_seqB,
                        SentAt = from.Wall,
                        Kind = publish.Message.Kind,
                        Role = publish.Message.Role,
                        Epoch = publish.Message.Epoch,
                        HoldsSharedIp = publish.Message.HoldsSharedIp,
                        Suspended = publish.Message.Suspended,
                        GoingDown = publish.Message.GoingDown,
                        PairedAt = publish.Message.PairedAt,
                        Command = publish.Message.Command,
                    };
                    Deliver(to, to.Feed(new HaInput.PeerMessageReceived(message, "p1")));
                    break;
                case HaEffect.Notify or HaEffect.RecordHistory or HaEffect.Reply:
                    break;
                default:
                    _log.Add($"{name}: {effect.GetType().Name}");
                    break;
            }
        }
    }
}
