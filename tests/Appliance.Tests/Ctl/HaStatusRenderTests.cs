using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Ctl;
using Appliance.Ctl.Commands;

namespace Appliance.Tests.Ctl;

/// <summary>The <c>appliancectl ha status</c> table: the peer's own health on one line.</summary>
public class HaStatusRenderTests
{
    private static HaStatus Paired(string? peerHealth, bool shutdownAnnounced = false, bool peerShutdownAnnounced = false) => new(
        HaRole.Passive, 4, Paired: true,
        new HaSnapshot(HaRole.Passive, 4, Paired: true, "node-b", PeerReachable: true, HaRole.Active, 4, DateTimeOffset.UnixEpoch, Conflict: null,
            Suspended: false, PendingReason: null, ImmutableArray.Create("local", "peer"), LoopIterations: 10, MirrorPosition: null,
            PeerMirrorPosition: 0, PeerTiming: null, PeerHealth: peerHealth, shutdownAnnounced, peerShutdownAnnounced),
        new Dictionary<string, long>(), []);

    [Theory]
    [InlineData(false, false, "none")]
    [InlineData(true, false, "ANNOUNCED by this node (ha cancel-shutdown takes it back)")]
    [InlineData(false, true, "announced by the peer (its blackout applies once it is silent)")]
    public void Shows_an_announced_shutdown_on_either_side(bool own, bool peer, string shown) =>
        Assert.Matches($"(?m)^Shutdown +{Regex.Escape(shown)}$", HaCommand.Render(Paired("ok", own, peer)));

    [Theory]
    [InlineData("ok", "ok")]
    [InlineData("managed services: web.service failed to start", "managed services: web.service failed to start")]
    [InlineData(null, "not announced")]
    public void Shows_the_peer_s_health(string? peerHealth, string shown) =>
        Assert.Matches($"(?m)^Peer health +{Regex.Escape(shown)}$", HaCommand.Render(Paired(peerHealth)));

    [Fact]
    public void An_unpaired_node_has_no_peer_health() =>
        Assert.Matches("(?m)^Peer health +-$", HaCommand.Render(new HaStatus(HaRole.Off, 0, Paired: false, null, new Dictionary<string, long>(), [])));

    [Fact]
    public void A_reason_as_long_as_a_heartbeat_carries_stays_one_line_within_80_columns()
    {
        string reason = new string('r', Core.Heartbeat.PeerMessage.MaxHealthLength - 1) + "…";
        string line = Assert.Single(HaCommand.Render(Paired(reason)).Split('\n'), l => l.StartsWith("Peer health ", StringComparison.Ordinal));
        Assert.Equal(TextTable.Width, line.Length);
        Assert.EndsWith("rrr~", line, StringComparison.Ordinal);
    }
}
