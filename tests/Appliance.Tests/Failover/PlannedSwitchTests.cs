using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;

namespace Appliance.Tests.Failover;

/// <summary>Two machines wired back to back: every Publish of one is delivered to the other at once.</summary>
public class PlannedSwitchTests
{
    private static readonly HaSettings Settings = new() { FencingEnabled = false, PreferredActive = "node-a" };

    private readonly MachineDriver _a = new(Settings, "node-a", "node-b");
    private readonly MachineDriver _b = new(Settings, "node-b", "node-a");
    private readonly List<string> _log = [];
    private long _seqA;
    private long _seqB;

    public PlannedSwitchTests()
    {
        IReadOnlyList<HaEffect> startA = _a.Effects, startB = _b.Effects;
        Deliver(_a, startA);
        Deliver(_b, startB);
        Assert.Equal(HaRole.Active, _a.State.Role);
        Assert.Equal(HaRole.Passive, _b.State.Role);
        _log.Clear();
    }

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
