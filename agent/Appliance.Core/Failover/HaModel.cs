using System.Collections.Immutable;
using Appliance.Core.Heartbeat;
using Appliance.Core.Ports;

namespace Appliance.Core.Failover;

/// <summary>What survives a restart. Saved durably before any other effect of the same decision runs.</summary>
/// <param name="PeerEpochSeen">
/// The highest epoch the peer announced to this node. A Passive's own epoch stays behind the Active's, so without it
/// a Passive restarted alone (both nodes down) would promote to a ballot the pair had already used.
/// </param>
public sealed record HaPersistedState(
    HaRole Role,
    long Epoch,
    string? PeerNodeId,
    bool Suspended,
    DateTimeOffset PairedAt,
    string Cause,
    long PeerEpochSeen = 0)
{
    public static HaPersistedState Unpaired { get; } = new(HaRole.Off, 0, null, false, default, "never paired");

    /// <summary>Invariants asserted at both ends (before saving, after loading).</summary>
    public void AssertValid()
    {
        if (Epoch < 0)
        {
            throw new InvalidDataException($"Epoch={Epoch} is out of range: allowed 0 – {long.MaxValue}");
        }

        if (PeerEpochSeen < 0)
        {
            throw new InvalidDataException($"PeerEpochSeen={PeerEpochSeen} is out of range: allowed 0 – {long.MaxValue}");
        }

        if (Role != HaRole.Off && PeerNodeId is null)
        {
            throw new InvalidDataException($"Role={Role} needs a PeerNodeId: only Off may be unpaired");
        }
    }
}

/// <summary>Operator commands (appliancectl / API). Each gets a <see cref="CommandResult"/>.</summary>
public abstract record OperatorCommand
{
    /// <summary>Pair with <paramref name="PeerNodeId"/>; the key goes to the codec and the key store, never into state.</summary>
    public sealed record Establish(string PeerNodeId, PairKey Key) : OperatorCommand;

    public sealed record Break : OperatorCommand;

    /// <summary>Planned switch, run on the Passive: ask the Active to release, then take over.</summary>
    public sealed record BecomePrimary(bool Sync) : OperatorCommand;

    /// <summary>Planned switch, run on the Active: release, then tell the Passive to take over.</summary>
    public sealed record BecomeBackup(bool Sync, bool EvenIfUnreachable) : OperatorCommand;

    /// <summary>Confirm a takeover (Medium mode or unconfirmed fencing); only while the Active is unreachable.</summary>
    public sealed record FailoverNow : OperatorCommand;

    public sealed record FixConflict : OperatorCommand;

    public sealed record SuspendFailover : OperatorCommand;

    public sealed record ResumeFailover : OperatorCommand;

    /// <summary>Announce a graceful shutdown so the peer applies RebootBlackoutWindow instead of failing over.</summary>
    public sealed record Shutdown(bool Reboot) : OperatorCommand;

    /// <summary>Take back an announced shutdown (the appliance stays up): heartbeats resume and the peer's blackout ends.</summary>
    public sealed record CancelShutdown : OperatorCommand;
}

/// <summary>Ok, or a refusal whose <see cref="Message"/> says why ("failover-now refused: the Active is reachable").</summary>
public sealed record CommandResult(bool Ok, string Message)
{
    public static CommandResult Done(string message) => new(true, message);

    public static CommandResult Refused(string message) => new(false, message);
}

/// <summary>Everything that can happen to the machine. Time arrives separately as a monotonic offset.</summary>
public abstract record HaInput
{
    /// <summary>Process start, with what was persisted (or <see cref="HaPersistedState.Unpaired"/>).</summary>
    public sealed record Start(HaPersistedState Persisted) : HaInput;

    /// <summary>A message that passed the codec (signature, replay window, age).</summary>
    public sealed record PeerMessageReceived(PeerMessage Message, string Path) : HaInput;

    /// <summary>A path (broker connection) went up or down; <paramref name="Generation"/> names that connection (0: unknown).</summary>
    public sealed record PathChanged(string Path, bool Up, long Generation = 0) : HaInput;

    /// <summary>Result of <see cref="HaEffect.RunConnectivityProbes"/>.</summary>
    public sealed record ProbesCompleted(int Reached, int Total) : HaInput;

    /// <summary>Result of <see cref="HaEffect.FencePeer"/>.</summary>
    public sealed record FenceCompleted(FenceResult Result) : HaInput;

    /// <summary>Result of <see cref="HaEffect.SyncPull"/>.</summary>
    public sealed record SyncCompleted(bool Ok, string Detail) : HaInput;

    /// <summary>Timers: heartbeat due, deadlines. Also sent whenever the runner wakes.</summary>
    public sealed record Tick : HaInput;

    public sealed record OperatorInput(OperatorCommand Command) : HaInput;
}

/// <summary>Decisions as data. The runner executes them sorted by <see cref="HaEffect.Order"/>.</summary>
public abstract record HaEffect
{
    /// <summary>
    /// Fixed execution order: persist first (durable before anything acts), then fence, sync,
    /// services stopped, shared IP, services started, probes, history, publish, notify, reply.
    /// </summary>
    public abstract int Order { get; }

    public sealed record PersistState(HaPersistedState State) : HaEffect { public override int Order => 0; }

    /// <summary>Long-running: the runner starts it and later feeds <see cref="HaInput.FenceCompleted"/>.</summary>
    public sealed record FencePeer : HaEffect { public override int Order => 1; }

    /// <summary>Long-running: pull data from the old Active while refusing clients; feeds <see cref="HaInput.SyncCompleted"/>.</summary>
    public sealed record SyncPull : HaEffect { public override int Order => 2; }

    /// <summary>Demotion is promotion reversed: the services stop (and drain) while the address still reaches them.</summary>
    public sealed record StopServices : HaEffect { public override int Order => 3; }

    public sealed record ReleaseSharedIp : HaEffect { public override int Order => 4; }

    public sealed record TakeSharedIp : HaEffect { public override int Order => 5; }

    public sealed record StartServices : HaEffect { public override int Order => 6; }

    /// <summary>Long-running: feeds <see cref="HaInput.ProbesCompleted"/>.</summary>
    public sealed record RunConnectivityProbes : HaEffect { public override int Order => 7; }

    public sealed record RecordHistory(HaTransition Transition) : HaEffect { public override int Order => 8; }

    /// <summary>The runner fills node id, boot id, sequence, time, generation, health and mirror position.</summary>
    public sealed record Publish(PeerChannel Channel, OutgoingMessage Message) : HaEffect { public override int Order => 9; }

    public sealed record Notify(HaEventKind Kind, string Message) : HaEffect { public override int Order => 10; }

    /// <summary>Answer to the operator command that was the input.</summary>
    public sealed record Reply(CommandResult Result) : HaEffect { public override int Order => 11; }

    /// <summary>Stable sort by <see cref="Order"/>: both the engine and the simulator execute this sequence.</summary>
    public static ImmutableArray<HaEffect> InExecutionOrder(IEnumerable<HaEffect> effects) =>
        [.. effects.Select((e, i) => (e, i)).OrderBy(p => p.e.Order).ThenBy(p => p.i).Select(p => p.e)];
}

/// <summary>The parts of a peer message the machine decides; the runner adds identity, sequence and time.</summary>
public sealed record OutgoingMessage(
    PeerMessageKind Kind,
    HaRole Role,
    long Epoch,
    bool HoldsSharedIp,
    bool Suspended,
    bool GoingDown,
    DateTimeOffset PairedAt,
    PeerCommand? Command = null);

/// <summary>One status-history row: every role change, and every conflict, with its cause.</summary>
public sealed record HaTransition(HaRole From, HaRole To, long Epoch, string Cause);

public enum HaEventKind
{
    RoleChanged,
    PeerLost,
    PeerFound,
    FailoverPending,
    TakeoverBlocked,
    Conflict,
    Fencing,
    Pairing,
    Sync,
    SwitchBack,
}

/// <summary>
/// A live, immutable view for the API, the panel and /check_health. <paramref name="PeerTiming"/>: the peer's
/// announced HeartbeatInterval and PartnerFailoverTimeout (null until heard), so both sides' timing shows in one place.
/// <paramref name="PeerHealth"/>: the peer's last announced health, "ok" or its /check_health reason (null until heard).
/// <paramref name="ShutdownAnnounced"/> / <paramref name="PeerShutdownAnnounced"/>: a graceful shutdown announced and not
/// yet cancelled or lapsed, by this node / by the peer.
/// </summary>
public sealed record HaSnapshot(
    HaRole Role,
    long Epoch,
    bool Paired,
    string? PeerNodeId,
    bool PeerReachable,
    HaRole? PeerRole,
    long? PeerEpoch,
    DateTimeOffset? LastHeartbeatAt,
    string? Conflict,
    bool Suspended,
    string? PendingReason,
    ImmutableArray<string> PathsUp,
    long LoopIterations,
    long? MirrorPosition,
    long? PeerMirrorPosition,
    PeerTiming? PeerTiming,
    string? PeerHealth,
    bool ShutdownAnnounced = false,
    bool PeerShutdownAnnounced = false);
