using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;
using Appliance.Core.Ports;
using static Appliance.Tests.Failover.MachineDriver;

namespace Appliance.Tests.Failover;

public class HaMachineTests
{
    private static readonly HaSettings NoFencing = new() { FencingEnabled = false };
    private static readonly HaSettings Fencing = new() { FencingEnabled = true, FenceDelay = TimeSpan.Zero };
    private static readonly HaSettings WithTargets = NoFencing with { ConnectivityTestTargets = ["192.0.2.1", "gw.example:443"] };

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void A_restarted_Active_starts_Passive_and_releases_everything_persisting_first()
    {
        var node = new MachineDriver(NoFencing, persisted: new HaPersistedState(HaRole.Active, 4, "node-b", false, default, "was active"));

        Assert.Equal(HaRole.Passive, node.State.Role);
        Assert.Equal(4, node.State.Epoch);
        Assert.IsType<HaEffect.PersistState>(node.Effects[0]);
        Assert.Equal(HaRole.Passive, ((HaEffect.PersistState)node.Effects[0]).State.Role);
        Assert.Contains(node.Effects, e => e is HaEffect.ReleaseSharedIp);
        Assert.Contains(node.Effects, e => e is HaEffect.StopServices);
        Assert.Contains(node.Effects, e => e is HaEffect.RecordHistory { Transition.From: HaRole.Active, Transition.To: HaRole.Passive });
    }

    [Fact]
    public void A_restarted_node_never_goes_Active_while_it_hears_an_Active_peer()
    {
        var node = new MachineDriver(NoFencing, persisted: new HaPersistedState(HaRole.Active, 4, "node-b", false, default, "was active"));

        node.HearActivePeerFor(S(30), epoch: 5);

        Assert.Equal(HaRole.Passive, node.State.Role);
    }

    [Fact]
    public void A_Passive_restarted_alone_promotes_above_the_epoch_its_Active_announced_before()
    {
        // Both nodes went down; the former Passive comes back first and its peer stays silent.
        var node = new MachineDriver(NoFencing);
        var persisted = Assert.Single(node.Hear(HaRole.Active, 5).OfType<HaEffect.PersistState>()).State;
        Assert.Equal((HaRole.Passive, 0L, 5L), (persisted.Role, persisted.Epoch, persisted.PeerEpochSeen));
        Assert.Empty(node.Hear(HaRole.Active, 5).OfType<HaEffect.PersistState>()); // once per new epoch, not per heartbeat

        var restarted = new MachineDriver(NoFencing, persisted: persisted);
        restarted.Advance(S(10.1));

        Assert.Equal(HaRole.Active, restarted.State.Role);
        Assert.Equal(6, restarted.State.Epoch); // node-a's half is even: the next ballot above 5
    }

    [Fact]
    public void A_starting_node_waits_PartnerContactTimeout_before_taking_over_a_silent_pair()
    {
        var node = new MachineDriver(NoFencing);

        node.Advance(S(9.9));
        Assert.Equal(HaRole.Passive, node.State.Role);
        List<HaEffect> effects = node.Advance(S(0.2));

        Assert.Equal(HaRole.Active, node.State.Role);
        Assert.Contains(effects, e => e is HaEffect.RecordHistory { Transition.Cause: var c } && c.Contains("PartnerContactTimeout=10s", StringComparison.Ordinal));
    }

    [Fact]
    public void Silence_shorter_than_PartnerFailoverTimeout_never_fails_over_and_longer_silence_does()
    {
        var node = new MachineDriver(NoFencing);
        node.Hear(HaRole.Active, 3);
        node.Advance(S(2.9));
        node.Hear(HaRole.Active, 3, "p2"); // one path is enough
        node.Advance(S(2.9));
        Assert.Equal(HaRole.Passive, node.State.Role);

        List<HaEffect> effects = node.Advance(S(0.2));

        Assert.Equal(HaRole.Active, node.State.Role);
        Assert.True(node.State.Epoch > 3);
        Assert.Contains(effects, e => e is HaEffect.Notify { Kind: HaEventKind.PeerLost });
    }

    [Fact]
    public void The_peer_s_health_comes_from_its_newest_message_and_is_unknown_until_announced()
    {
        var node = new MachineDriver(NoFencing);
        PeerMessage failing = node.PeerMessage(HaRole.Active, 3) with { Health = "managed services: web.service failed to start" };
        PeerMessage recovered = node.PeerMessage(HaRole.Active, 3) with { Health = "ok" };
        Assert.Null(node.State.Peer?.Health);

        node.Feed(new HaInput.PeerMessageReceived(failing, "p1"));
        Assert.Equal("managed services: web.service failed to start", node.State.Peer!.Health);
        node.Feed(new HaInput.PeerMessageReceived(recovered, "p1"));
        Assert.Equal("ok", node.State.Peer!.Health);
        node.Feed(new HaInput.PeerMessageReceived(failing, "p2")); // the older message, late on the other path
        Assert.Equal("ok", node.State.Peer!.Health);
        node.Hear(HaRole.Active, 3); // an agent that announces no health
        Assert.Null(node.State.Peer!.Health);
    }

    /// <summary>This node fails over after 600 ms of silence; the peer heartbeats only every second (the keepalived foot-gun).</summary>
    private static readonly HaSettings ShortTimeout = NoFencing with { HeartbeatInterval = TimeSpan.FromMilliseconds(200), PartnerFailoverTimeout = TimeSpan.FromMilliseconds(600) };

    private static readonly PeerTiming SlowPeer = PeerTiming.Of(new HaSettings());

    [Fact]
    public void A_timeout_shorter_than_the_peers_heartbeat_interval_never_fails_over_a_peer_that_keeps_heartbeating()
    {
        var node = new MachineDriver(ShortTimeout) { PeerAnnounces = SlowPeer };

        for (int beat = 0; beat < 30; beat++)
        {
            node.Hear(HaRole.Active, 3); // one path, every second
            node.Advance(S(1));
        }

        Assert.Equal(HaRole.Passive, node.State.Role);
        Assert.Null(node.State.Takeover);
        Assert.True(node.Machine.PeerReachable(node.State, node.Now));
    }

    [Fact]
    public void A_really_silent_peer_is_taken_over_at_twice_its_interval_and_the_cause_says_why()
    {
        var node = new MachineDriver(ShortTimeout) { PeerAnnounces = SlowPeer };
        node.Hear(HaRole.Active, 3);

        node.Advance(S(1.99));
        Assert.Equal(HaRole.Passive, node.State.Role);
        List<HaEffect> effects = node.Advance(S(0.02));

        Assert.Equal(HaRole.Active, node.State.Role);
        Assert.Contains(effects, e => e is HaEffect.RecordHistory { Transition.Cause: var cause } && cause ==
            "node-b silent on every path for 2s (twice the peer's HeartbeatInterval=1s; our PartnerFailoverTimeout=600ms is shorter)");
    }

    [Fact]
    public void A_peer_that_announces_no_timing_is_judged_by_our_own_timeout()
    {
        var node = new MachineDriver(ShortTimeout); // an older agent: no "hi"/"ft" in its messages
        node.Hear(HaRole.Active, 3);

        List<HaEffect> effects = node.Advance(S(0.61));

        Assert.Equal(HaRole.Active, node.State.Role);
        Assert.Contains(effects, e => e is HaEffect.RecordHistory { Transition.Cause: "node-b silent on every path for PartnerFailoverTimeout=600ms" });
    }

    [Fact]
    public void After_a_live_change_to_a_shorter_timeout_silence_counts_only_once_the_old_timeout_has_passed()
    {
        var node = new MachineDriver(NoFencing); // the peer announces no timing: only the grace covers it
        node.Hear(HaRole.Active, 3);
        node.Advance(S(0.5));

        node.Reconfigure(ShortTimeout);
        node.Advance(S(2.9)); // 3.4 s of silence: past the new 600 ms, not past the old 3 s counted from the change
        Assert.Equal(HaRole.Passive, node.State.Role);
        node.Advance(S(0.2));

        Assert.Equal(HaRole.Active, node.State.Role);
    }

    [Fact]
    public void Promotion_effects_run_persist_fence_ip_services_then_publish()
    {
        var node = new MachineDriver(Fencing);
        node.Hear(HaRole.Active, 3);
        List<HaEffect> lost = node.Advance(S(3.1));
        Assert.Contains(lost, e => e is HaEffect.FencePeer);
        Assert.Equal(HaRole.Passive, node.State.Role);

        IReadOnlyList<HaEffect> promoted = node.Feed(new HaInput.FenceCompleted(new FenceResult(FenceOutcome.ConfirmedOff, "off", S(2))));

        Assert.Equal(HaRole.Active, node.State.Role);
        Assert.Equal("PersistState, TakeSharedIp, StartServices, RecordHistory, Publish, Notify", Describe(promoted));
        Assert.Equal(node.State.Epoch, ((HaEffect.PersistState)promoted[0]).State.Epoch);
    }

    [Fact]
    public void Epochs_are_ballots_so_the_two_nodes_never_promote_to_the_same_epoch()
    {
        var low = new MachineDriver(NoFencing, id: "node-a", peer: "node-b");
        var high = new MachineDriver(NoFencing, id: "node-b", peer: "node-a");

        low.Advance(S(11));
        high.Advance(S(11));

        Assert.Equal(HaRole.Active, low.State.Role);
        Assert.Equal(HaRole.Active, high.State.Role);
        Assert.Equal(0, low.State.Epoch % 2);
        Assert.Equal(1, high.State.Epoch % 2);
    }

    [Fact]
    public void An_isolated_node_stays_Passive_and_says_why()
    {
        var node = new MachineDriver(WithTargets);
        node.Hear(HaRole.Active, 3);
        Assert.Contains(node.Advance(S(3.1)), e => e is HaEffect.RunConnectivityProbes);

        IReadOnlyList<HaEffect> effects = node.Feed(new HaInput.ProbesCompleted(0, 2));
        node.Advance(S(60));

        Assert.Equal(HaRole.Passive, node.State.Role);
        Assert.Equal("isolated: none of 2 connectivity targets answered; staying Passive", node.State.PendingReason);
        Assert.Contains(effects, e => e is HaEffect.Notify { Kind: HaEventKind.TakeoverBlocked });
        Assert.Equal(TakeoverStage.Probing, node.State.Takeover!.Stage); // re-probing every PartnerFailoverTimeout

        node.Feed(new HaInput.ProbesCompleted(1, 2));
        Assert.Equal(HaRole.Active, node.State.Role);
    }

    [Fact]
    public void Unconfirmed_fencing_with_Wait_goes_FailoverPending_and_reannounces()
    {
        var node = new MachineDriver(Fencing with { FencingUnconfirmed = FencingUnconfirmedPolicy.Wait });
        node.Hear(HaRole.Active, 3);
        node.Advance(S(3.1));

        node.Feed(new HaInput.FenceCompleted(new FenceResult(FenceOutcome.Failed, "power off refused", S(1))));

        Assert.Equal(HaRole.FailoverPending, node.State.Role);
        Assert.StartsWith("fencing unconfirmed (fence Failed: power off refused)", node.State.PendingReason, StringComparison.Ordinal);
        List<HaEffect> later = node.Advance(TimeSpan.FromMinutes(15.1));
        Assert.Contains(later, e => e is HaEffect.Notify { Kind: HaEventKind.FailoverPending });
        Assert.Contains(later, e => e is HaEffect.FencePeer); // retried at the re-announcement
    }

    [Fact]
    public void Failover_now_is_refused_while_the_Active_is_reachable_and_forces_the_takeover_otherwise()
    {
        var node = new MachineDriver(Fencing);
        node.Hear(HaRole.Active, 3);
        node.Feed(new HaInput.OperatorInput(new OperatorCommand.FailoverNow()));
        Assert.Equal(new HaEffect.Reply(CommandResult.Refused("failover-now refused: the Active is reachable")), node.Effects[^1]);

        node.Advance(S(3.1));
        node.Feed(new HaInput.FenceCompleted(new FenceResult(FenceOutcome.BmcUnreachable, "no route", S(2))));
        Assert.Equal(HaRole.FailoverPending, node.State.Role);

        node.Feed(new HaInput.OperatorInput(new OperatorCommand.FailoverNow()));
        Assert.Contains(node.Effects, e => e is HaEffect.FencePeer);
        node.Feed(new HaInput.FenceCompleted(new FenceResult(FenceOutcome.BmcUnreachable, "no route", S(2))));

        Assert.Equal(HaRole.Active, node.State.Role); // the operator took responsibility
    }

    [Fact]
    public void PromoteIfPeerDark_promotes_only_when_the_BMC_is_dark_and_every_path_silent()
    {
        var node = new MachineDriver(Fencing with { FencingUnconfirmed = FencingUnconfirmedPolicy.PromoteIfPeerDark });
        node.Hear(HaRole.Active, 3, "p1", generation: 2);
        node.Hear(HaRole.Active, 3, "p2", generation: 2);
        node.Hear(HaRole.Active, 3, "p1", PeerMessageKind.OfflineWill, generation: 2);
        Assert.Contains(node.Hear(HaRole.Active, 3, "p2", PeerMessageKind.OfflineWill, generation: 2), e => e is HaEffect.FencePeer); // a crash seen by will still fences
        node.Advance(S(1));

        node.Feed(new HaInput.FenceCompleted(new FenceResult(FenceOutcome.BmcUnreachable, "timeout", S(1))));
        Assert.Equal(HaRole.Passive, node.State.Role); // paths heard 1 s ago: not dark yet
        node.Advance(S(1.9));
        Assert.Equal(HaRole.Passive, node.State.Role);
        node.Advance(S(0.2));

        Assert.Equal(HaRole.Active, node.State.Role);
    }

    [Fact]
    public void The_non_preferred_node_waits_FenceDelay_before_fencing()
    {
        var node = new MachineDriver(Fencing with { FenceDelay = S(5), PreferredActive = "node-b" });
        node.Hear(HaRole.Active, 3);

        Assert.DoesNotContain(node.Advance(S(3.1)), e => e is HaEffect.FencePeer);
        Assert.DoesNotContain(node.Advance(S(4.8)), e => e is HaEffect.FencePeer);
        Assert.Contains(node.Advance(S(0.3)), e => e is HaEffect.FencePeer);
    }

    [Fact]
    public void Medium_mode_waits_for_the_operator()
    {
        var node = new MachineDriver(NoFencing with { FailoverMode = FailoverMode.Medium });
        node.Hear(HaRole.Active, 3);
        node.Advance(S(60));
        Assert.Equal(HaRole.FailoverPending, node.State.Role);
        Assert.Contains("Medium mode", node.State.PendingReason, StringComparison.Ordinal);

        node.Feed(new HaInput.OperatorInput(new OperatorCommand.FailoverNow()));

        Assert.Equal(HaRole.Active, node.State.Role);
    }

    [Fact]
    public void A_will_for_the_current_generation_on_every_path_is_a_fast_loss_but_a_late_will_is_ignored()
    {
        var node = new MachineDriver(NoFencing);
        node.Hear(HaRole.Active, 3, "p1", generation: 5);
        node.Hear(HaRole.Active, 3, "p2", generation: 5);

        node.Hear(HaRole.Active, 3, "p1", PeerMessageKind.OfflineWill, generation: 4);
        node.Hear(HaRole.Active, 3, "p2", PeerMessageKind.OfflineWill, generation: 4);
        node.Advance(S(0.5));
        Assert.Equal(HaRole.Passive, node.State.Role);

        node.Hear(HaRole.Active, 3, "p1", PeerMessageKind.OfflineWill, generation: 5);
        node.Advance(S(0.1));
        Assert.Equal(HaRole.Passive, node.State.Role); // p2 is still alive
        node.Hear(HaRole.Active, 3, "p2", PeerMessageKind.OfflineWill, generation: 5);
        node.Advance(S(0.1));

        Assert.Equal(HaRole.Active, node.State.Role);
    }

    // The peer's live connections are 1 (p1) and 3 (p2, which replaced 2); one of our paths is lost (its
    // embedded broker died with it). The will of 1 is current: the bench's 3 s SIGKILL outlier was the old
    // highest-generation rule (1 < 3) taking it for stale. The late will of 2 is above the live 1, yet its
    // connection is gone and the peer lives on 3. The will of 4 is a connection the peer opened after its last
    // heartbeat and then crashed (every second bench SIGKILL waited out the 3 s deadline while 4 was unlisted).
    [Theory]
    [InlineData("p1", 1, "p2", HaRole.Active)]
    [InlineData("p2", 2, "p1", HaRole.Passive)]
    [InlineData("p2", 4, "p1", HaRole.Active)]
    public void A_will_counts_only_for_a_live_connection_of_the_peer(string willPath, long willGeneration, string lostPath, HaRole expected)
    {
        var node = new MachineDriver(NoFencing);
        foreach (string path in new[] { "p1", "p2" })
        {
            node.Hear(HaRole.Active, 3, path, generation: 3, live: [1, 3]);
        }

        node.Feed(new HaInput.PathChanged(lostPath, Up: false));
        node.Hear(HaRole.Active, 3, willPath, PeerMessageKind.OfflineWill, generation: willGeneration);
        node.Advance(S(0.1));

        Assert.Equal(expected, node.State.Role);
    }

    [Fact]
    public void A_will_on_one_path_with_the_other_path_lost_is_a_fast_loss()
    {
        // The peer's embedded broker dies with it: its will arrives on our broker (p1), and our
        // connection to its broker (p2) is lost at the same moment.
        var node = new MachineDriver(NoFencing);
        node.Hear(HaRole.Active, 3, "p1", generation: 5);
        node.Hear(HaRole.Active, 3, "p2", generation: 5);

        node.Feed(new HaInput.PathChanged("p2", Up: false));
        node.Advance(S(0.1));
        Assert.Equal(HaRole.Passive, node.State.Role); // a lost path alone is not a loss of the peer

        var effects = node.Hear(HaRole.Active, 3, "p1", PeerMessageKind.OfflineWill, generation: 5).Concat(node.Advance(S(0.1))).ToList();
        Assert.Equal(HaRole.Active, node.State.Role);
        Assert.Contains(effects, e => e is HaEffect.Notify { Kind: HaEventKind.PeerLost } lost
            && lost.Message == "node-b offline (will, generation 5; our path p2 lost with it)");
    }

    [Fact]
    public void A_connection_that_comes_up_is_announced_at_once_as_retained_state()
    {
        var node = new MachineDriver(NoFencing);
        node.Advance(S(0.5)); // past the start's own state and first heartbeat

        IReadOnlyList<HaEffect> effects = node.Feed(new HaInput.PathChanged("p1", Up: true, Generation: 3));

        Assert.Contains(effects, e => e is HaEffect.Publish { Channel: PeerChannel.State, Message.Role: HaRole.Passive });
    }

    [Fact]
    public void A_will_on_one_path_while_the_other_path_is_up_and_hearing_waits()
    {
        var node = new MachineDriver(NoFencing);
        node.Hear(HaRole.Active, 3, "p1", generation: 5);
        node.Hear(HaRole.Active, 3, "p2", generation: 5);
        node.Feed(new HaInput.PathChanged("p2", Up: false));
        node.Feed(new HaInput.PathChanged("p2", Up: true)); // reconnected: evidence again

        node.Hear(HaRole.Active, 3, "p1", PeerMessageKind.OfflineWill, generation: 5);
        node.Advance(S(0.1));
        Assert.Equal(HaRole.Passive, node.State.Role);
    }

    [Fact]
    public void An_Active_that_sees_a_higher_epoch_Active_demotes_at_once()
    {
        var node = new MachineDriver(NoFencing);
        node.Advance(S(11));
        Assert.Equal(HaRole.Active, node.State.Role);

        IReadOnlyList<HaEffect> effects = node.Hear(HaRole.Active, node.State.Epoch + 1);

        Assert.Equal(HaRole.Passive, node.State.Role);
        Assert.StartsWith("PersistState, StopServices, ReleaseSharedIp, RecordHistory", Describe(effects), StringComparison.Ordinal);
    }

    [Fact]
    public void Both_Passive_is_resolved_on_the_first_heartbeat_in_favour_of_the_preferred_node()
    {
        var preferred = new MachineDriver(NoFencing with { PreferredActive = "node-a" });
        var other = new MachineDriver(NoFencing with { PreferredActive = "node-a" }, id: "node-b", peer: "node-a");

        preferred.Hear(HaRole.Passive, 0);
        other.Hear(HaRole.Passive, 0);

        Assert.Equal(HaRole.Active, preferred.State.Role);
        Assert.Equal(HaRole.Passive, other.State.Role);
        Assert.Contains(preferred.Effects, e => e is HaEffect.RecordHistory { Transition.Cause: var c } && c.StartsWith("conflict (both Passive", StringComparison.Ordinal));
    }

    [Fact]
    public void Suspended_failover_never_takes_over()
    {
        var node = new MachineDriver(NoFencing);
        node.Hear(HaRole.Active, 3);
        node.Feed(new HaInput.OperatorInput(new OperatorCommand.SuspendFailover()));

        node.Advance(S(120));

        Assert.Equal(HaRole.Passive, node.State.Role);
        Assert.Equal("failover suspended by operator", node.State.PendingReason);
        node.Feed(new HaInput.OperatorInput(new OperatorCommand.ResumeFailover()));
        Assert.Equal(HaRole.Active, node.State.Role);
    }

    [Fact]
    public void A_graceful_reboot_of_the_Active_holds_the_Passive_for_RebootBlackoutWindow()
    {
        var node = new MachineDriver(NoFencing with { RebootBlackoutWindow = TimeSpan.FromMinutes(14) });
        node.Hear(HaRole.Active, 3, kind: PeerMessageKind.State, goingDown: true);

        node.Advance(TimeSpan.FromMinutes(13.9));
        Assert.Equal(HaRole.Passive, node.State.Role);
        node.Advance(TimeSpan.FromMinutes(0.2));

        Assert.Equal(HaRole.Active, node.State.Role);
    }

    [Fact]
    public void A_cancelled_reboot_ends_the_blackout_and_a_silent_peer_is_then_lost_after_PartnerFailoverTimeout()
    {
        var node = new MachineDriver(NoFencing with { RebootBlackoutWindow = TimeSpan.FromMinutes(14) });
        node.Hear(HaRole.Active, 3, kind: PeerMessageKind.State, goingDown: true);
        Assert.StartsWith("peer announced a graceful shutdown", node.State.PendingReason, StringComparison.Ordinal);

        node.Advance(S(1));
        node.Hear(HaRole.Active, 3, kind: PeerMessageKind.State); // the peer's cancel-shutdown
        Assert.Null(node.State.Peer!.GoingDownAt);
        Assert.Null(node.State.PendingReason);

        node.Advance(NoFencing.PartnerFailoverTimeout + S(0.1));
        Assert.Equal(HaRole.Active, node.State.Role); // not 14 minutes: the blackout ended with the cancel
    }

    [Fact]
    public void An_announced_node_keeps_heartbeating_refuses_role_changes_and_can_cancel()
    {
        var node = new MachineDriver(NoFencing);
        node.Advance(NoFencing.PartnerContactTimeout + S(1)); // the peer never answers: this node takes over
        Assert.Equal(HaRole.Active, node.State.Role);

        node.Feed(new HaInput.OperatorInput(new OperatorCommand.CancelShutdown()));
        Assert.Equal(new HaEffect.Reply(CommandResult.Refused("cancel-shutdown refused: no graceful shutdown or reboot was announced")), node.Effects[^1]);

        node.Feed(new HaInput.OperatorInput(new OperatorCommand.Shutdown(Reboot: true)));
        Assert.Contains(node.Effects, e => e is HaEffect.Publish { Message.GoingDown: true, Message.Kind: PeerMessageKind.State });

        // Alive, so still heard: the peer must never take over from a node that has not gone down yet.
        var heartbeats = node.Advance(S(5)).OfType<HaEffect.Publish>().Where(p => p.Message.Kind == PeerMessageKind.Heartbeat).ToList();
        Assert.Equal(5, heartbeats.Count);
        Assert.All(heartbeats, h => Assert.True(h.Message.GoingDown));
        node.Feed(new HaInput.OperatorInput(new OperatorCommand.BecomeBackup(Sync: false, EvenIfUnreachable: true)));
        Assert.Equal(new HaEffect.Reply(CommandResult.Refused("become-backup refused: a graceful shutdown was announced; cancel-shutdown first")), node.Effects[^1]);
        Assert.Equal(HaRole.Active, node.State.Role);

        node.Feed(new HaInput.OperatorInput(new OperatorCommand.CancelShutdown()));
        Assert.Equal(
            new HaEffect.Reply(CommandResult.Done("operator: graceful shutdown cancelled; the peer's RebootBlackoutWindow no longer applies")),
            node.Effects[^1]);
        Assert.Contains(node.Effects, e => e is HaEffect.Publish { Message.GoingDown: false, Message.Kind: PeerMessageKind.State });
        Assert.Contains(node.Effects, e => e is HaEffect.RecordHistory { Transition.Cause: "operator: graceful shutdown cancelled" });
        Assert.All(node.Advance(S(3)).OfType<HaEffect.Publish>(), p => Assert.False(p.Message.GoingDown));
    }

    [Fact]
    public void An_announcement_not_followed_within_RebootBlackoutWindow_lapses()
    {
        var settings = NoFencing with { RebootBlackoutWindow = TimeSpan.FromMinutes(1) };
        var node = new MachineDriver(settings);
        node.Feed(new HaInput.OperatorInput(new OperatorCommand.Shutdown(Reboot: false)));

        Assert.DoesNotContain(node.Advance(S(59)), e => e is HaEffect.RecordHistory);
        Assert.True(node.State.ShuttingDown);
        Assert.Equal(HaRole.Passive, node.State.Role); // a node going away does not take over from a silent peer

        var lapse = node.Advance(S(2));
        Assert.Contains(lapse, e => e is HaEffect.RecordHistory { Transition.Cause: "announced shutdown did not happen within RebootBlackoutWindow=1min: back on duty" });
        Assert.Contains(lapse, e => e is HaEffect.Publish { Message.GoingDown: false, Message.Kind: PeerMessageKind.State });
        Assert.False(node.State.ShuttingDown);

        node.Advance(S(1));
        Assert.Equal(HaRole.Active, node.State.Role); // back on duty: the peer has been silent all along
    }

    [Fact]
    public void A_peer_announcing_while_still_heard_is_never_taken_over_and_both_Passive_goes_to_the_node_staying_up()
    {
        var node = new MachineDriver(NoFencing with { RebootBlackoutWindow = TimeSpan.FromMinutes(14) });
        for (int i = 0; i < 20 * 60; i++)
        {
            node.Hear(HaRole.Active, 3, goingDown: true);
            node.Advance(S(1));
        }

        Assert.Equal(HaRole.Passive, node.State.Role); // heard for 20 minutes: alive, whatever it announced

        // Both Passive: the announcing peer must not keep the pair without an Active until it goes down.
        node.Hear(HaRole.Passive, 3, goingDown: true);
        Assert.Equal(HaRole.Active, node.State.Role);
        Assert.Contains(node.Effects, e => e is HaEffect.RecordHistory { Transition.Cause: "conflict (both Passive, the peer going down, epochs 0/3) resolved automatic: node-a is Active" });
    }

    [Fact]
    public void A_node_that_announced_never_takes_the_role_in_a_both_Passive_conflict()
    {
        // node-a would win the tie-break (lower id); it announced a shutdown, so it leaves the role to its peer.
        var node = new MachineDriver(NoFencing);
        node.Feed(new HaInput.OperatorInput(new OperatorCommand.Shutdown(Reboot: true)));
        for (int i = 0; i < 30; i++)
        {
            node.Hear(HaRole.Passive, 0);
            node.Advance(S(1));
        }

        Assert.Equal(HaRole.Passive, node.State.Role);
    }

    [Fact]
    public void Establish_refuses_a_bad_peer_id_and_break_goes_Off_without_deleting()
    {
        var node = new MachineDriver(NoFencing);
        node.Feed(new HaInput.OperatorInput(new OperatorCommand.Break()));
        Assert.Equal(HaRole.Off, node.State.Role);
        Assert.Contains(node.Effects, e => e is HaEffect.Publish { Message.Command.Kind: PeerCommandKind.Break });
        Assert.Equal(new HaEffect.Reply(CommandResult.Done("pair broken: this node is Off; no data was deleted")), node.Effects[^1]);

        var key = new PairKey(new byte[32]);
        node.Feed(new HaInput.OperatorInput(new OperatorCommand.Establish("bad id!", key)));
        Assert.Equal(
            new HaEffect.Reply(CommandResult.Refused("establish refused: PeerNodeId='bad id!' is invalid: allowed 1 – 64 characters of letters, digits, '.', '_' or '-', not this node's own id")),
            node.Effects[^1]);

        node.Feed(new HaInput.OperatorInput(new OperatorCommand.Establish("node-c", key)));
        Assert.Equal(HaRole.Passive, node.State.Role);
        Assert.Equal("node-c", node.State.PeerNodeId);
    }

    [Fact]
    public void Commands_on_an_unpaired_node_are_refused_with_the_reason()
    {
        var node = new MachineDriver(NoFencing, persisted: HaPersistedState.Unpaired);

        node.Feed(new HaInput.OperatorInput(new OperatorCommand.FailoverNow()));

        Assert.Equal(new HaEffect.Reply(CommandResult.Refused("failover-now refused: this node is not paired")), node.Effects[^1]);
        Assert.Empty(node.Advance(S(30)));
    }
}
