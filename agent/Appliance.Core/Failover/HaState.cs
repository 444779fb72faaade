using System.Collections.Immutable;

namespace Appliance.Core.Failover;

/// <summary>"Now" for a decision: monotonic for every timeout, wall time only for stamps (PairedAt).</summary>
public readonly record struct HaClock(TimeSpan Monotonic, DateTimeOffset Wall);

/// <summary>Where an automatic or operator takeover stands.</summary>
public enum TakeoverStage
{
    /// <summary>Connectivity probes are running.</summary>
    Probing,

    /// <summary>No probe target answered: this node may be the isolated one; re-probe after PartnerFailoverTimeout.</summary>
    Isolated,

    /// <summary>The non-preferred node waits FenceDelay before fencing (pcmk_delay_base).</summary>
    FenceDelay,

    /// <summary>FencePeer is running.</summary>
    Fencing,

    /// <summary>PromoteIfPeerDark: BMC dark, waiting until every path has been silent for PartnerFailoverTimeout.</summary>
    AwaitingDark,

    /// <summary>Role FailoverPending: Medium mode or unconfirmed fencing; an operator must run failover-now.</summary>
    Pending,
}

public sealed record Takeover(TakeoverStage Stage, string Cause, bool OperatorOverride, TimeSpan StageSince, TimeSpan WakeAt);

public enum HandoverStage
{
    /// <summary>This Passive asked the Active to release and waits for "Released".</summary>
    AwaitingRelease,

    /// <summary>This former Active released and told the peer to promote; no conflict resolution meanwhile.</summary>
    ReleasedToPeer,
}

public sealed record Handover(HandoverStage Stage, string RequestId, bool Sync, TimeSpan Deadline);

/// <summary>What this node knows about its peer's current boot.</summary>
public sealed record PeerView
{
    public required string BootId { get; init; }
    public long Sequence { get; init; } = -1;
    public HaRole Role { get; init; }
    public long Epoch { get; init; }
    public bool HoldsSharedIp { get; init; }
    public bool Suspended { get; init; }
    public DateTimeOffset PairedAt { get; init; }

    /// <summary>The peer's announced data-mirror position (what it has applied).</summary>
    public long MirrorPosition { get; init; }

    /// <summary>Highest connection generation the peer announced in this boot.</summary>
    public long Generation { get; init; }

    /// <summary>The peer's connections that were up when its newest message was sent (empty: not announced).</summary>
    public ImmutableArray<long> LiveGenerations { get; init; } = [];

    /// <summary>The peer's announced HeartbeatInterval and PartnerFailoverTimeout (null: not announced, an older agent).</summary>
    public PeerTiming? Timing { get; init; }

    /// <summary>The peer's own health summary: "ok" or its /check_health reason (null: not announced).</summary>
    public string? Health { get; init; }

    /// <summary>When the peer announced a graceful shutdown/reboot (monotonic, receipt time).</summary>
    public TimeSpan? GoingDownAt { get; init; }

    public DateTimeOffset LastHeardWall { get; init; }

    /// <summary>Last non-will message per path (monotonic receipt time).</summary>
    public ImmutableDictionary<string, TimeSpan> HeardAt { get; init; } = ImmutableDictionary<string, TimeSpan>.Empty;

    /// <summary>Paths whose current connection the broker declared dead, with the will's generation.</summary>
    public ImmutableDictionary<string, long> WilledPaths { get; init; } = ImmutableDictionary<string, long>.Empty;
}

/// <summary>The whole machine state: immutable, replaced by every decision.</summary>
public sealed record HaState
{
    public required string NodeId { get; init; }
    public HaRole Role { get; init; }
    public long Epoch { get; init; }

    /// <summary>Persisted: see <see cref="HaPersistedState.PeerEpochSeen"/>; the next promotion goes above it.</summary>
    public long PeerEpochSeen { get; init; }

    public string? PeerNodeId { get; init; }
    public bool Suspended { get; init; }
    public DateTimeOffset PairedAt { get; init; }

    public bool Started { get; init; }

    /// <summary>When this node started or paired (monotonic): the PartnerContactTimeout origin.</summary>
    public TimeSpan ContactSince { get; init; }

    /// <summary>When this node announced a graceful shutdown/reboot (monotonic); it lapses after RebootBlackoutWindow.</summary>
    public TimeSpan? ShutdownAnnouncedAt { get; init; }

    public bool ShuttingDown => ShutdownAnnouncedAt is not null;

    public bool HoldsSharedIp { get; init; }

    /// <summary>Active, pulling data before taking the IP and starting services.</summary>
    public bool Syncing { get; init; }

    public PeerView? Peer { get; init; }

    /// <summary>Peer boots we have moved past; their late messages are ignored (bounded to 4).</summary>
    public ImmutableArray<string> RetiredPeerBoots { get; init; } = [];

    public ImmutableHashSet<string> PathsUp { get; init; } = [];

    /// <summary>Paths the link reported lost and not back since; a path never reported either way counts as up.</summary>
    public ImmutableHashSet<string> PathsDown { get; init; } = [];
    public Takeover? Takeover { get; init; }
    public Handover? Handover { get; init; }

    /// <summary>Why a lost peer is not being replaced right now (suspended, blackout, isolated, pending …).</summary>
    public string? PendingReason { get; init; }

    public TimeSpan? LastAnnouncedAt { get; init; }

    /// <summary>Since when this node, the preferred one, has been a Passive beside a heard Active (SwitchBackAfter's clock).</summary>
    public TimeSpan? SwitchBackSince { get; init; }
    public string? Conflict { get; init; }
    public TimeSpan NextHeartbeatAt { get; init; }

    public HaPersistedState ToPersisted(string cause) => new(Role, Epoch, PeerNodeId, Suspended, PairedAt, cause, PeerEpochSeen);

    public static HaState Initial(string nodeId) => new() { NodeId = nodeId };

    internal ImmutableArray<string> PathsUpSorted => [.. PathsUp.Order(StringComparer.Ordinal)];
}

/// <summary>The new state and the effects to run, in <see cref="HaEffect.Order"/>.</summary>
public sealed record Decision(HaState State, ImmutableArray<HaEffect> Effects);
