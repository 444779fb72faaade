using System.Threading.Channels;
using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;
using Appliance.Core.Ports;
using Microsoft.Extensions.Time.Testing;

namespace Appliance.Tests.Failover;

/// <summary>
/// The real engine loop on a FakeTimeProvider, two engines joined by an in-memory two-path link.
/// The ports record what they were asked to do, in order, so effect ordering is observable.
/// </summary>
public sealed class FailoverEngineTests : IAsyncDisposable
{
    private static readonly PairKey Key = new(Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray());
    private static readonly HaSettings Settings = new() { FencingEnabled = false, PreferredActive = "node-a" };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly Side _a;
    private readonly Side _b;
    private readonly Channel<PeerFrame> _aToB = Channel.CreateBounded<PeerFrame>(64);
    private readonly Channel<PeerFrame> _bToA = Channel.CreateBounded<PeerFrame>(64);

    public FailoverEngineTests()
    {
        // As on a real machine, the engines' timers may fire a little before their due time.
        var engineTime = new EarlyFiringTimeProvider(_time, TimeSpan.FromMilliseconds(150));
        _a = new Side("node-a", "node-b", new MemoryLink(_bToA.Reader, _aToB.Writer), engineTime);
        _b = new Side("node-b", "node-a", new MemoryLink(_aToB.Reader, _bToA.Writer), engineTime);
    }

    [Fact]
    public async Task Two_engines_elect_one_Active_which_persists_before_taking_the_IP_and_starting_services()
    {
        await StartBothAsync();

        await Until(() => _a.Engine.Snapshot.Role == HaRole.Active && _b.Engine.Snapshot.PeerRole == HaRole.Active);

        Assert.Equal(HaRole.Passive, _b.Engine.Snapshot.Role);
        Assert.True(_b.Engine.Snapshot.PeerReachable);
        Assert.True(_a.Engine.Snapshot.LoopIterations > 0);
        string[] promotion = [.. Locked(_a.Log).SkipWhile(l => l != "save Active")];
        Assert.Equal(["save Active", "ip take", "services start"], promotion.Take(3));
        Assert.Equal(HaRole.Active, _a.Store.State.Role);
    }

    /// <summary>
    /// A unit may take its whole start timeout (90 s by default). The loop waits for it, and without heartbeats
    /// meanwhile the Passive saw the new Active fall silent after PartnerFailoverTimeout and promoted beside it.
    /// </summary>
    [Fact]
    public async Task A_slow_service_start_does_not_silence_the_new_Active()
    {
        var startHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _a.Host.StartGate = startHeld.Task;
        await StartBothAsync();
        await Until(() => Locked(_a.Log).Contains("services starting"));

        for (var step = 0; step < 100; step++) // 10 s, over three times the 3 s PartnerFailoverTimeout
        {
            await StepAsync();
            Assert.Equal(HaRole.Passive, _b.Engine.Snapshot.Role);
        }

        Assert.Equal(HaRole.Active, _b.Engine.Snapshot.PeerRole); // announced once persisted, before the services are up
        startHeld.SetResult();
        await Until(() => _a.Engine.Snapshot.Role == HaRole.Active && Locked(_a.Log).Contains("services start"));
        Assert.Equal(HaRole.Passive, _b.Engine.Snapshot.Role);
        Assert.Equal(_a.Engine.Snapshot.Epoch, _b.Engine.Snapshot.PeerEpoch);
    }

    [Fact]
    public async Task A_settled_pair_keeps_heartbeating_when_timers_fire_early()
    {
        await StartBothAsync();
        await Until(() => _b.Engine.Snapshot.PeerRole == HaRole.Active);
        long iterations = _a.Engine.Snapshot.LoopIterations;

        await Advance(TimeSpan.FromSeconds(20));

        Assert.Equal(HaRole.Passive, _b.Engine.Snapshot.Role); // the Active's heartbeats never stopped
        Assert.True(_a.Engine.Snapshot.LoopIterations >= iterations + 20, $"{_a.Engine.Snapshot.LoopIterations - iterations} loop iterations in 20 s");
    }

    /// <summary>
    /// Real timers fire up to a coarse-clock tick (4 ms at HZ=250) before the stopwatch reaches their time. A loop
    /// that armed for exactly the remaining time woke once early, found nothing due and armed again: at 10 Hz a third
    /// of its iterations were such empty ticks. Stepped 1 ms at a time, A's loop must turn once per own heartbeat and
    /// once per frame (two paths), not once more per heartbeat.
    /// </summary>
    [Fact]
    public async Task A_timer_firing_a_few_milliseconds_early_costs_no_extra_loop_iteration()
    {
        var time = new FakeTimeProvider(_time.GetUtcNow());
        var early = new EarlyFiringTimeProvider(time, TimeSpan.FromMilliseconds(4));
        var aToB = Channel.CreateBounded<PeerFrame>(64);
        var bToA = Channel.CreateBounded<PeerFrame>(64);
        var a = new Side("node-a", "node-b", new MemoryLink(bToA.Reader, aToB.Writer), early);
        var b = new Side("node-b", "node-a", new MemoryLink(aToB.Reader, bToA.Writer), early);
        await using var engineA = a.Engine;
        await using var engineB = b.Engine;
        await engineA.StartAsync(CancellationToken.None);
        await engineB.StartAsync(CancellationToken.None);
        var fast = Settings with { HeartbeatInterval = TimeSpan.FromMilliseconds(100), PartnerFailoverTimeout = TimeSpan.FromMilliseconds(300) };
        await Task.WhenAll(engineA.ApplySettingsAsync(fast, CancellationToken.None), engineB.ApplySettingsAsync(fast, CancellationToken.None));

        Task Step(TimeSpan by) => AdvanceWhenIdleAsync(
            time, by, () => engineA.IsIdle && engineB.IsIdle && aToB.Reader.Count == 0 && bToA.Reader.Count == 0);

        for (int i = 0; i < 600 && !(engineA.Snapshot.Role == HaRole.Active && engineB.Snapshot.PeerRole == HaRole.Active); i++)
        {
            await Step(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(HaRole.Active, engineA.Snapshot.Role);
        for (int ms = 0; ms < 1000; ms++)
        {
            await Step(TimeSpan.FromMilliseconds(1)); // let the old interval's deadlines pass
        }

        long before = engineA.Snapshot.LoopIterations;
        for (int ms = 0; ms < 1000; ms++)
        {
            await Step(TimeSpan.FromMilliseconds(1));
        }

        // One virtual second at 100 ms: 10 ticks of A and 2 × 10 frames from B; the early wakes made it about 40.
        long iterations = engineA.Snapshot.LoopIterations - before;
        Assert.InRange(iterations, 25, 33);
        Assert.Equal(HaRole.Passive, engineB.Snapshot.Role);
    }

    [Fact]
    public async Task Operator_commands_return_the_reason_they_were_refused()
    {
        await StartBothAsync();
        await Until(() => _b.Engine.Snapshot.PeerRole == HaRole.Active);

        CommandResult result = await _b.Engine.ExecuteAsync(new OperatorCommand.FailoverNow(), CancellationToken.None);

        Assert.Equal(CommandResult.Refused("failover-now refused: the Active is reachable"), result);
    }

    [Fact]
    public async Task The_Passive_takes_over_when_the_Active_goes_silent()
    {
        await StartBothAsync();
        await Until(() => _b.Engine.Snapshot.PeerRole == HaRole.Active);

        _a.Link.Silenced = true;
        await Until(() => _b.Engine.Snapshot.Role == HaRole.Active);

        Assert.True(_b.Engine.Snapshot.Epoch > _a.Engine.Snapshot.Epoch);
        Assert.Contains(Locked(_b.Events), e => e.StartsWith("PeerLost: node-a silent on every path", StringComparison.Ordinal));
    }

    /// <summary>/check_health reports a loop that hangs (here on a save that never returns), not one that is parked.</summary>
    [Fact]
    public async Task A_loop_stuck_on_a_save_shows_as_overdue_and_a_parked_one_does_not()
    {
        await StartBothAsync();
        await Until(() => _b.Engine.Snapshot.PeerRole == HaRole.Active);
        var saveHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _b.Store.SaveGate = saveHeld.Task;

        _a.Link.Silenced = true; // B will decide to promote and persist that first
        for (var step = 0; _b.Store.SavesWaiting == 0; step++)
        {
            Assert.True(step < 100, "B never started to save");
            await AdvanceWhenIdleAsync(_time, TimeSpan.FromMilliseconds(100), () => _a.Engine.IsIdle && (_b.Engine.IsIdle || _b.Store.SavesWaiting > 0));
        }

        for (var step = 0; step < 100; step++)
        {
            await AdvanceWhenIdleAsync(_time, TimeSpan.FromMilliseconds(100), () => _a.Engine.IsIdle);
        }

        Assert.InRange(_b.Engine.LoopOverdue, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(11));
        await AdvanceWhenIdleAsync(_time, TimeSpan.Zero, () => _a.Engine.IsIdle);
        Assert.Equal(TimeSpan.Zero, _a.Engine.LoopOverdue); // parked on its timer, though its last turn was a while ago

        saveHeld.SetResult();
        await Until(() => _b.Engine.Snapshot.Role == HaRole.Active);
        Assert.Equal(TimeSpan.Zero, _b.Engine.LoopOverdue);
    }

    [Fact]
    public async Task A_state_that_cannot_be_saved_blocks_every_other_effect()
    {
        await StartBothAsync();
        await Until(() => _b.Engine.Snapshot.PeerRole == HaRole.Active);
        _b.Store.FailSaves = true;

        _a.Link.Silenced = true;
        await Until(() => Locked(_b.Events).Any(e => e.Contains("decision not applied", StringComparison.Ordinal)));
        await Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(HaRole.Passive, _b.Engine.Snapshot.Role);
        Assert.DoesNotContain("ip take", Locked(_b.Log));
    }

    [Fact]
    public async Task Rotating_the_key_on_each_node_in_turn_causes_no_failover()
    {
        await StartBothAsync();
        await Until(() => _b.Engine.Snapshot.PeerRole == HaRole.Active);
        var next = new PairKey(Enumerable.Repeat((byte)0x5a, 32).ToArray());

        await _a.Engine.RotateKeyAsync(next, CancellationToken.None);
        await Advance(TimeSpan.FromSeconds(20));
        await _b.Engine.RotateKeyAsync(next, CancellationToken.None);
        await Advance(TimeSpan.FromSeconds(20));

        Assert.Equal(HaRole.Active, _a.Engine.Snapshot.Role);
        Assert.Equal(HaRole.Passive, _b.Engine.Snapshot.Role);
        Assert.Equal(0, _a.Engine.Rejections[RejectReason.BadSignature] + _b.Engine.Rejections[RejectReason.BadSignature]);
        Assert.Equal(next, _b.Store.Keys!.Current);
    }

    [Fact]
    public async Task Each_side_shows_the_timing_its_peer_announces_and_a_live_change_is_announced_at_once()
    {
        await StartBothAsync();
        await Until(() => _b.Engine.Snapshot.PeerRole == HaRole.Active);
        Assert.Equal(PeerTiming.Of(Settings), _b.Engine.Snapshot.PeerTiming);

        var faster = Settings with { HeartbeatInterval = TimeSpan.FromMilliseconds(300), PartnerFailoverTimeout = TimeSpan.FromSeconds(2) };
        await _a.Engine.ApplySettingsAsync(faster, CancellationToken.None);
        await Until(() => _b.Engine.Snapshot.PeerTiming == PeerTiming.Of(faster));

        Assert.Equal(PeerTiming.Of(Settings), _a.Engine.Snapshot.PeerTiming);
    }

    public async ValueTask DisposeAsync()
    {
        await _a.Engine.DisposeAsync();
        await _b.Engine.DisposeAsync();
    }

    private async Task StartBothAsync()
    {
        await _a.Engine.StartAsync(CancellationToken.None);
        await _b.Engine.StartAsync(CancellationToken.None);
    }

    private async Task Advance(TimeSpan by)
    {
        for (TimeSpan t = TimeSpan.Zero; t < by; t += TimeSpan.FromMilliseconds(100))
        {
            await StepAsync();
        }
    }

    [Fact]
    public async Task A_peer_event_is_recorded_once_although_it_arrives_on_both_paths()
    {
        await StartBothAsync();
        await Until(() => _b.Engine.Snapshot.PeerRole == HaRole.Active);

        _a.Engine.PublishEvent("Health", "PSU 2 failed\n<3>forged log line " + new string('x', 600));
        await Until(() => Locked(_b.Events).Any(e => e.StartsWith("peer node-a Health", StringComparison.Ordinal)));
        for (int i = 0; i < 5; i++)
        {
            await StepAsync();
        }

        string recorded = Assert.Single(Locked(_b.Events), e => e.StartsWith("peer node-a Health", StringComparison.Ordinal));
        Assert.StartsWith("peer node-a Health: PSU 2 failed <3>forged log line xxx", recorded, StringComparison.Ordinal);
        Assert.EndsWith("…", recorded, StringComparison.Ordinal);
        Assert.Equal("peer node-a Health: ".Length + PeerEvent.MaxLength + 1, recorded.Length);
        Assert.DoesNotContain(Locked(_a.Events), e => e.Contains("PSU 2", StringComparison.Ordinal)); // recorded, never echoed back
    }

    [Fact]
    public async Task The_peer_s_health_is_kept_from_its_heartbeats_and_a_long_reason_arrives_cut_to_160_characters()
    {
        string reason = "managed services: still running on a node that must not run them: "
            + string.Join(", ", Enumerable.Range(1, 12).Select(i => $"unit-{i:D2}.service"));
        Assert.True(reason.Length > PeerMessage.MaxHealthLength, $"{reason.Length} characters");
        _a.Health = reason;
        await StartBothAsync();

        await Until(() => _b.Engine.Snapshot.PeerHealth is not null && _a.Engine.Snapshot.PeerHealth is not null);
        Assert.Equal(reason[..(PeerMessage.MaxHealthLength - 1)] + "…", _b.Engine.Snapshot.PeerHealth);
        Assert.Equal("ok", _a.Engine.Snapshot.PeerHealth);

        _a.Health = "ok";
        await Until(() => _b.Engine.Snapshot.PeerHealth == "ok");
    }

    /// <summary>Steps virtual time (100 ms at a time) until the condition holds; 60 virtual seconds at most.</summary>
    private async Task Until(Func<bool> condition)
    {
        for (int step = 0; step < 600 && !condition(); step++)
        {
            await StepAsync();
        }

        Assert.True(condition(), $"not reached; a: {string.Join(" | ", Locked(_a.Events))}; b: {string.Join(" | ", Locked(_b.Events))}");
    }

    /// <summary>
    /// Advances virtual time only once both loops are parked and no frame is in flight, so a busy
    /// machine can never make virtual heartbeats look late.
    /// </summary>
    private Task StepAsync() => AdvanceWhenIdleAsync(
        _time, TimeSpan.FromMilliseconds(100), () => _a.Engine.IsIdle && _b.Engine.IsIdle && _aToB.Reader.Count == 0 && _bToA.Reader.Count == 0);

    private static async Task AdvanceWhenIdleAsync(FakeTimeProvider time, TimeSpan by, Func<bool> idle)
    {
        var patience = System.Diagnostics.Stopwatch.StartNew();
        while (!(idle() && await Task.Delay(1).ContinueWith(_ => idle(), TaskScheduler.Default)))
        {
            Assert.True(patience.Elapsed < TimeSpan.FromSeconds(20), "engine loops never went idle");
            await Task.Delay(1);
        }

        time.Advance(by);
    }

    private static List<string> Locked(List<string> list)
    {
        lock (list)
        {
            return [.. list];
        }
    }

    private sealed class Side
    {
        public Side(string id, string peer, MemoryLink link, TimeProvider time)
        {
            Link = link;
            Store = new MemoryStore(new HaPersistedState(HaRole.Passive, 0, peer, false, time.GetUtcNow(), "paired"), new PairKeyRing(Key), Log);
            Host = new RecordingHost(Log);
            var ports = new HaPorts(Store, link, new UnusedFencer(), Host, Host, new UnusedProbe(), new EventLog(Events));
            Engine = new FailoverEngine(id, Settings, ports, time, () => Health);
        }

        /// <summary>What this node's heartbeats say of its health (the agent passes its /check_health verdict).</summary>
        public string Health { get; set; } = "ok";

        public List<string> Log { get; } = [];

        public List<string> Events { get; } = [];

        public MemoryLink Link { get; }

        public MemoryStore Store { get; }

        public RecordingHost Host { get; }

        public FailoverEngine Engine { get; }
    }

    /// <summary>Two paths over in-memory channels; Silenced drops everything this side publishes.</summary>
    private sealed class MemoryLink(ChannelReader<PeerFrame> incoming, ChannelWriter<PeerFrame> outgoing) : IPeerLink
    {
        public bool Silenced { get; set; }

        public ChannelReader<PeerFrame> Incoming => incoming;

        public Task StartAsync(Func<long, ReadOnlyMemory<byte>> willPayload, CancellationToken cancellationToken)
        {
            _ = willPayload(1);
            return Task.CompletedTask;
        }

        public async ValueTask PublishAsync(PeerChannel channel, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            if (Silenced)
            {
                return;
            }

            await outgoing.WriteAsync(new PeerFrame(channel, "p1", payload), cancellationToken);
            await outgoing.WriteAsync(new PeerFrame(channel, "p2", payload), cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class MemoryStore(HaPersistedState state, PairKeyRing keys, List<string> log) : IHaStateStore
    {
        public HaPersistedState State { get; private set; } = state;

        public PairKeyRing? Keys { get; private set; } = keys;

        public bool FailSaves { get; set; }

        /// <summary>When set, a save waits for this task (a disk that hangs).</summary>
        public Task? SaveGate { get; set; }

        public int SavesWaiting => Volatile.Read(ref _savesWaiting);

        private int _savesWaiting;

        public Task<HaPersistedState> LoadAsync(CancellationToken cancellationToken) => Task.FromResult(State);

        public async Task SaveAsync(HaPersistedState state, CancellationToken cancellationToken)
        {
            if (FailSaves)
            {
                throw new IOException("disk full");
            }

            if (SaveGate is { } gate)
            {
                Interlocked.Increment(ref _savesWaiting);
                await gate.WaitAsync(cancellationToken);
                Interlocked.Decrement(ref _savesWaiting);
            }

            lock (log)
            {
                log.Add($"save {state.Role}");
            }

            State = state;
        }

        public Task<PairKeyRing?> LoadKeysAsync(CancellationToken cancellationToken) => Task.FromResult(Keys);

        public Task SaveKeysAsync(PairKeyRing keys, CancellationToken cancellationToken)
        {
            Keys = keys;
            return Task.CompletedTask;
        }
    }

    /// <summary>Shared IP and managed services in one recorder: each call appends to the side's ordered log.</summary>
    private sealed class RecordingHost(List<string> log) : ISharedAddress, IManagedServices
    {
        private bool _running;

        public bool IsHeld { get; private set; }

        public Task TakeAsync(CancellationToken cancellationToken) => Record("ip take", () => IsHeld = true);

        public Task ReleaseAsync(CancellationToken cancellationToken) => Record("ip release", () => IsHeld = false);

        /// <summary>When set, a start is logged as "services starting" and completes only with this task.</summary>
        public Task? StartGate { get; set; }

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            if (StartGate is { } gate)
            {
                await Record("services starting", () => { });
                await gate.WaitAsync(cancellationToken);
            }

            await Record("services start", () => _running = true);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Record("services stop", () => _running = false);

        public Task<bool> VerifyStoppedAsync(CancellationToken cancellationToken) => Task.FromResult(!_running);

        private Task Record(string entry, Action apply)
        {
            apply();
            lock (log)
            {
                log.Add(entry);
            }

            return Task.CompletedTask;
        }
    }

    /// <summary>Fencing is disabled in these settings: a call is a bug.</summary>
    private sealed class UnusedFencer : IPeerFencer
    {
        public Task<FenceResult> FenceAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("fencing is disabled");

        public Task<FenceResult> CheckAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("fencing is disabled");
    }

    /// <summary>No connectivity targets are configured: a call is a bug.</summary>
    private sealed class UnusedProbe : IConnectivityProbe
    {
        public Task<bool> ReachesAsync(ConnectivityTarget target, CancellationToken cancellationToken) => throw new InvalidOperationException("no targets configured");
    }

    private sealed class EventLog(List<string> events) : IHaEvents
    {
        public void Record(HaTransition transition, DateTimeOffset at)
        {
            lock (events)
            {
                events.Add($"history: {transition.From}→{transition.To} {transition.Cause}");
            }
        }

        public void Notify(HaEventKind kind, string message, DateTimeOffset at)
        {
            lock (events)
            {
                events.Add($"{kind}: {message}");
            }
        }

        public void RecordPeerEvent(string peerNodeId, PeerEvent peerEvent, DateTimeOffset at)
        {
            lock (events)
            {
                events.Add($"peer {peerNodeId} {peerEvent.Kind}: {peerEvent.Message}");
            }
        }
    }
}
