using System.Collections.Immutable;
using Appliance.Agent.Runtime;
using Appliance.Core.Failover;

namespace Appliance.Tests.Health;

/// <summary>/check_health is 500 on a Passive that is not a synced standby.</summary>
public sealed class PassiveSyncHealthTests
{
    private static readonly HaSnapshot HealthyPassive = new(
        HaRole.Passive, 3, Paired: true, "node-b", PeerReachable: true, HaRole.Active, 3, DateTimeOffset.UnixEpoch, Conflict: null,
        Suspended: false, PendingReason: null, ImmutableArray.Create("local", "peer"), LoopIterations: 10, MirrorPosition: null, PeerMirrorPosition: 0, PeerTiming: null, PeerHealth: "ok");

    [Fact]
    public void A_Passive_that_hears_the_Active_and_has_no_mirror_is_a_standby() =>
        Assert.Null(NodeRuntime.PassiveNotSynced(HealthyPassive));

    [Fact]
    public void A_Passive_that_does_not_hear_its_peer_is_not_synced() =>
        Assert.Equal("the peer is not heard", NodeRuntime.PassiveNotSynced(HealthyPassive with { PeerReachable = false }));

    [Fact]
    public void A_Passive_behind_the_Active_s_mirror_position_is_not_synced_and_one_caught_up_is()
    {
        Assert.Equal("mirror at 41, the Active's at 42", NodeRuntime.PassiveNotSynced(HealthyPassive with { MirrorPosition = 41, PeerMirrorPosition = 42 }));
        Assert.Null(NodeRuntime.PassiveNotSynced(HealthyPassive with { MirrorPosition = 42, PeerMirrorPosition = 42 }));
    }

    [Fact]
    public void Only_a_Passive_is_judged_on_sync() =>
        Assert.Null(NodeRuntime.PassiveNotSynced(HealthyPassive with { Role = HaRole.Active, PeerReachable = false }));
}
