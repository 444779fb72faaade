using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;

namespace Appliance.Tests.Failover;

/// <summary>Drives one <see cref="HaMachine"/> by hand: a manual monotonic clock and hand-made peer messages.</summary>
internal sealed class MachineDriver
{
    private static readonly DateTimeOffset WallOrigin = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private long _peerSequence;

    public MachineDriver(HaSettings settings, string id = "node-a", string peer = "node-b", HaPersistedState? persisted = null)
    {
        Machine = new HaMachine(settings);
        State = HaState.Initial(id);
        PeerId = peer;
        Feed(new HaInput.Start(persisted ?? new HaPersistedState(HaRole.Passive, 0, peer, false, WallOrigin, "paired")));
    }

    public HaMachine Machine { get; private set; }

    /// <summary>A live settings change now, as the engine applies one.</summary>
    public void Reconfigure(HaSettings settings) => Machine = Machine.Reconfigure(settings, Now);

    public HaState State { get; private set; }

    public string PeerId { get; }

    public TimeSpan Now { get; private set; }

    public DateTimeOffset Wall => WallOrigin + Now;

    public IReadOnlyList<HaEffect> Effects { get; private set; } = [];

    /// <summary>The timing every peer message announces from now on; null: none, as an older agent sends.</summary>
    public PeerTiming? PeerAnnounces { get; set; }

    public IReadOnlyList<HaEffect> Feed(HaInput input)
    {
        Decision decision = Machine.Decide(State, input, new HaClock(Now, Wall));
        State = decision.State;
        Effects = decision.Effects;
        return Effects;
    }

    /// <summary>Moves the clock forward, ticking at every wake-up the machine asks for on the way.</summary>
    public List<HaEffect> Advance(TimeSpan by)
    {
        TimeSpan end = Now + by;
        var all = new List<HaEffect>();
        while (true)
        {
            TimeSpan wake = Machine.NextWakeAt(State, Now);
            Now = wake < end ? wake : end;
            all.AddRange(Feed(new HaInput.Tick()));
            if (Now >= end)
            {
                return all;
            }
        }
    }

    public PeerMessage PeerMessage(
        HaRole role,
        long epoch,
        PeerMessageKind kind = PeerMessageKind.Heartbeat,
        long generation = 1,
        bool goingDown = false,
        bool suspended = false,
        PeerCommand? command = null,
        string boot = "peer-boot-1",
        long[]? live = null)
    {
        var message = new PeerMessage
        {
            NodeId = PeerId,
            BootId = boot,
            Sequence = kind == PeerMessageKind.OfflineWill ? 0 : ++_peerSequence,
            SentAt = Wall,
            Kind = kind,
            Role = role,
            Epoch = epoch,
            HoldsSharedIp = role == HaRole.Active,
            ConnectionGeneration = generation,
            LiveGenerations = live,
            GoingDown = goingDown,
            Suspended = suspended,
            PairedAt = WallOrigin.AddMinutes(1),
            Command = command,
        };
        return PeerAnnounces is { } timing ? timing.AnnouncedIn(message) : message;
    }

    public IReadOnlyList<HaEffect> Hear(HaRole role, long epoch, string path = "p1", PeerMessageKind kind = PeerMessageKind.Heartbeat,
        long generation = 1, bool goingDown = false, bool suspended = false, PeerCommand? command = null, long[]? live = null) =>
        Feed(new HaInput.PeerMessageReceived(PeerMessage(role, epoch, kind, generation, goingDown, suspended, command, live: live), path));

    /// <summary>Keeps an Active peer alive on both paths for <paramref name="duration"/>.</summary>
    public void HearActivePeerFor(TimeSpan duration, long epoch)
    {
        for (TimeSpan t = TimeSpan.Zero; t < duration; t += TimeSpan.FromSeconds(1))
        {
            Hear(HaRole.Active, epoch, "p1");
            Hear(HaRole.Active, epoch, "p2");
            Advance(TimeSpan.FromSeconds(1));
        }
    }

    public static string Describe(IEnumerable<HaEffect> effects) => string.Join(", ", effects.Select(e => e.GetType().Name));
}
