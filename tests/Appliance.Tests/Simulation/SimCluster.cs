using System.Globalization;
using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;
using Appliance.Core.Ports;

namespace Appliance.Tests.Simulation;

/// <summary>Raised by the checker; carries the seed and the recent trace.</summary>
internal sealed class InvariantViolation(string message) : Exception(message);

/// <summary>
/// Two nodes running the real <see cref="HaMachine"/> and <see cref="HeartbeatCodec"/> over a
/// simulated two-path network, on one virtual clock and one seeded event queue (TigerBeetle's
/// VOPR / Coyote style). Effects are executed in the order Decide returns them, exactly as
/// <see cref="FailoverEngine"/> does; long operations (fence, probes, sync) complete later as events.
/// </summary>
internal sealed class SimCluster
{
    private static readonly DateTimeOffset WallOrigin = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly PairKey Key = new(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private readonly SimSchedule _schedule;
    private readonly Random _rng;
    private readonly PriorityQueue<Action, (TimeSpan At, long Order)> _queue = new();
    private readonly Queue<(TimeSpan At, string Text)> _trace = new();
    private readonly Node[] _nodes;
    private readonly HashSet<(string Node, long Epoch)> _won = [];
    private readonly List<(TimeSpan From, TimeSpan To, string? Path)> _partitions = [];
    private readonly List<(TimeSpan From, TimeSpan To, double Rate)> _lossy = [];
    private readonly List<(TimeSpan From, TimeSpan To, TimeSpan Extra)> _spikes = [];
    private long _order;
    private TimeSpan _now;
    private TimeSpan _disturbedUntil;
    private TimeSpan _operatedUntil;
    private int _fenceCalls;

    public SimCluster(SimSchedule schedule, bool brokenEpochCheck = false)
    {
        _schedule = schedule;
        _rng = new Random(unchecked((schedule.Seed * 7919) + 17));
        HaMachine MachineOf(int node) => new(schedule.NodeSettings[node]) { UnsafeIgnoreHigherEpoch = brokenEpochCheck };
        _nodes = [new Node(this, "node-a", "node-b", MachineOf(0)), new Node(this, "node-b", "node-a", MachineOf(1))];
    }

    /// <summary>Promotions after the first election (the DelaysOnly class requires zero).</summary>
    public int LaterPromotions { get; private set; }

    public int Promotions { get; private set; }

    /// <summary>Switch-backs the preferred node started (each a planned switch it asked for on its own).</summary>
    public int SwitchBacks { get; private set; }

    public int Events { get; private set; }

    public string TraceText => string.Join('\n', _trace.Select(t => $"[{t.At.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture),8}s] {t.Text}"));

    /// <summary>Runs to the horizon; throws <see cref="InvariantViolation"/> on the first broken invariant.</summary>
    public void Run()
    {
        var paired = new DateTimeOffset[] { WallOrigin.AddSeconds(-_rng.Next(1, 100)), WallOrigin.AddSeconds(-_rng.Next(1, 100)) };
        for (int i = 0; i < 2; i++)
        {
            Node node = _nodes[i];
            node.Disk = new HaPersistedState(HaRole.Passive, 0, node.PeerId, false, paired[i], "paired");
            At(TimeSpan.FromMilliseconds(_rng.Next(0, 2000)), node.Boot);
        }

        foreach (Fault fault in _schedule.Faults)
        {
            Schedule(fault);
        }

        while (_queue.TryDequeue(out Action? action, out var key) && key.At <= _schedule.Horizon)
        {
            _now = key.At;
            Events++;
            action();
            Check();
        }
    }

    private void At(TimeSpan at, Action action) => _queue.Enqueue(action, (at < _now ? _now : at, _order++));

    private void Trace(string text)
    {
        _trace.Enqueue((_now, text));
        if (_trace.Count > 60)
        {
            _trace.Dequeue();
        }
    }

    /// <summary>A network or node fault: both the link-up checks wait until it is over and settled.</summary>
    private void Disturb(TimeSpan until)
    {
        if (until > _disturbedUntil)
        {
            _disturbedUntil = until;
        }
    }

    /// <summary>An operator command or a switch-back may leave a moment with no Active, never one with two: only the liveness check waits.</summary>
    private void Operated(TimeSpan until)
    {
        if (until > _operatedUntil)
        {
            _operatedUntil = until;
        }
    }

    private void Schedule(Fault fault)
    {
        switch (fault)
        {
            case Fault.Partition p:
                _partitions.Add((p.At, p.At + p.For, p.Path));
                At(p.At, () => { Trace($"fault: partition {p.Path ?? "all paths"} for {p.For.TotalSeconds:F1}s"); Disturb(p.At + p.For); });
                break;
            case Fault.Lossy l:
                _lossy.Add((l.At, l.At + l.For, l.DropRate));
                At(l.At, () => { Trace($"fault: lossy {l.DropRate:P0} for {l.For.TotalSeconds:F1}s"); Disturb(l.At + l.For); });
                break;
            case Fault.DelaySpike d:
                _spikes.Add((d.At, d.At + d.For, d.Extra));
                At(d.At, () => { Trace($"fault: +{d.Extra.TotalMilliseconds}ms delay for {d.For.TotalSeconds:F1}s"); Disturb(d.At + d.For + d.Extra); });
                break;
            case Fault.Crash c:
                At(c.At, () => _nodes[c.Node].Crash($"crash for {c.DownFor.TotalSeconds:F1}s", c.DownFor));
                break;
            case Fault.PathFlap f:
                At(f.At, () => _nodes[f.Node].FlapPath(f.Path));
                break;
            case Fault.ClockJump j:
                At(j.At, () =>
                {
                    Node node = _nodes[j.Node];
                    // NTP-sized steps, kept within MaxFutureSkew between the two nodes.
                    node.WallOffset = TimeSpan.FromTicks(Math.Clamp((node.WallOffset + j.By).Ticks, -TimeSpan.TicksPerMinute * 2, TimeSpan.TicksPerMinute * 2));
                    Trace($"{node.Id}: wall clock jumps {j.By.TotalSeconds:+0;-0}s (offset {node.WallOffset.TotalSeconds:F0}s)");
                });
                break;
            case Fault.Isolate i:
                At(i.At, () => { _nodes[i.Node].Isolate(i.At, i.For); Trace($"{_nodes[i.Node].Id}: isolated for {i.For.TotalSeconds:F1}s"); Disturb(i.At + i.For); });
                break;
            case Fault.Operate o:
                At(o.At, () => Operate(o));
                break;
            default:
                throw new InvalidOperationException($"unknown fault {fault}");
        }
    }

    private void Operate(Fault.Operate o)
    {
        Node? node = o.Target switch
        {
            OperatorTarget.TheActive => _nodes.FirstOrDefault(n => n.Up && n.State.Role == HaRole.Active),
            OperatorTarget.ThePassive => _nodes.FirstOrDefault(n => n.Up && n.State.Role == HaRole.Passive),
            OperatorTarget.ThePending => _nodes.FirstOrDefault(n => n.Up && n.State.Role == HaRole.FailoverPending),
            _ => _nodes[_rng.Next(2)],
        };
        if (node is null || !node.Up)
        {
            return;
        }

        Operated(_now + TimeSpan.FromSeconds(8));
        node.Apply(new HaInput.OperatorInput(o.Command));
        if (o.Command is OperatorCommand.SuspendFailover)
        {
            // Operators resume; keep suspensions short so the liveness check still gets quiet time.
            At(_now + TimeSpan.FromSeconds(_rng.Next(2, 15)), () =>
            {
                if (node.Up)
                {
                    Operated(_now + TimeSpan.FromSeconds(1));
                    node.Apply(new HaInput.OperatorInput(new OperatorCommand.ResumeFailover()));
                }
            });
        }

        if (o.Command is OperatorCommand.Shutdown && _rng.Next(4) == 0)
        {
            // The operator takes it back while the peer waits out (or has ended) its blackout.
            At(_now + TimeSpan.FromSeconds(_rng.Next(1, 40)), () =>
            {
                if (node.Up)
                {
                    Operated(_now + TimeSpan.FromSeconds(8));
                    node.Apply(new HaInput.OperatorInput(new OperatorCommand.CancelShutdown()));
                }
            });
        }
        else if (o.Command is OperatorCommand.Shutdown)
        {
            At(_now + TimeSpan.FromMilliseconds(500), () => node.Crash("graceful reboot", TimeSpan.FromSeconds(_rng.Next(3, 20))));
        }
    }

    private TimeSpan? Transit(Node from, Node to, string path, bool fromBroker)
    {
        if (!fromBroker && (!from.Up || from.IsolatedUntil > _now))
        {
            return null;
        }

        if (to.IsolatedUntil > _now)
        {
            return null;
        }

        if (_partitions.Any(p => p.From <= _now && _now < p.To && (p.Path is null || p.Path == path)))
        {
            return null;
        }

        double drop = _lossy.Where(l => l.From <= _now && _now < l.To).Select(l => l.Rate).DefaultIfEmpty(0).Max();
        if (_rng.NextDouble() < drop)
        {
            return null;
        }

        TimeSpan extra = _spikes.Where(s => s.From <= _now && _now < s.To).Select(s => s.Extra).DefaultIfEmpty(TimeSpan.Zero).Max();
        return _schedule.BaseDelay + extra + TimeSpan.FromTicks((long)(_rng.NextDouble() * _schedule.Jitter.Ticks));
    }

    private void Send(Node from, PeerChannel channel, byte[] frame, string? onlyPath = null, bool brokerSendsForDeadNode = false)
    {
        Node to = _nodes[from == _nodes[0] ? 1 : 0];
        foreach (string path in SimSchedule.Paths)
        {
            if (onlyPath is not null && path != onlyPath)
            {
                continue;
            }

            int copies = _rng.NextDouble() < _schedule.DuplicateRate ? 2 : 1;
            for (int c = 0; c < copies; c++)
            {
                if (Transit(from, to, path, brokerSendsForDeadNode) is { } delay)
                {
                    int toLife = to.Life;
                    At(_now + delay, () => to.Receive(frame, path, channel, toLife));
                }
            }
        }
    }

    private void Check()
    {
        Node[] up = [.. _nodes.Where(n => n.Up)];
        Node[] actives = [.. up.Where(n => n.State.Role == HaRole.Active)];
        foreach (Node active in actives)
        {
            if (!_won.Contains((active.Id, active.State.Epoch)))
            {
                Fail("every Active won its epoch", $"{active.Id} is Active in epoch {active.State.Epoch} without having promoted to it");
            }
        }

        if (actives.Length == 2 && actives[0].State.Epoch == actives[1].State.Epoch)
        {
            Fail("never two Actives in the same epoch", $"both Active in epoch {actives[0].State.Epoch}");
        }

        TimeSpan settle = (3 * _schedule.LongestHeartbeatInterval) + _schedule.BaseDelay + _schedule.Jitter;
        bool linkUp = up.Length == 2 && _now >= _disturbedUntil + settle && up.All(n => n.UpSince + settle <= _now);
        if (!linkUp)
        {
            return;
        }

        if (actives.Length == 2)
        {
            Fail("with the peer link up, never two Actives", $"link healthy since {_disturbedUntil.TotalSeconds:F3}s and still both Active (epochs {actives[0].State.Epoch}/{actives[1].State.Epoch})");
        }

        if (_now < _operatedUntil + settle)
        {
            return;
        }

        bool suspended = up.Any(n => n.State.Suspended);
        if (_schedule.Settings.FailoverMode == FailoverMode.Automatic && !suspended && actives.Length != 1)
        {
            Fail("after the link heals, exactly one Active within 3 heartbeats",
                $"{actives.Length} Actives {(3 * _schedule.LongestHeartbeatInterval).TotalSeconds}s after the last disturbance or operator command at {(_disturbedUntil > _operatedUntil ? _disturbedUntil : _operatedUntil).TotalSeconds:F3}s; roles {string.Join(", ", up.Select(n => $"{n.Id}={n.State.Role}/{n.State.Epoch}"))}");
        }
    }

    private void OnPromotion(Node node, long epoch, string cause, bool operatorCaused)
    {
        Promotions++;
        if (Promotions > 1)
        {
            LaterPromotions++;
        }

        _won.Add((node.Id, epoch));
        if (epoch <= node.HighestPeerEpochHeard)
        {
            Fail("a promotion goes above every epoch the node heard, also across its restarts",
                $"{node.Id} promoted to epoch {epoch} after hearing epoch {node.HighestPeerEpochHeard}: {cause}");
        }

        if (_schedule.Class == ScheduleClass.DelaysOnly && LaterPromotions > 0)
        {
            Fail("a delay shorter than PartnerFailoverTimeout never causes a failover", $"{node.Id} promoted to epoch {epoch}: {cause}");
        }

        if (_schedule.Settings.FailoverMode == FailoverMode.Medium && !operatorCaused)
        {
            Fail("Medium mode never promotes without an operator", $"{node.Id} promoted to epoch {epoch}: {cause}");
        }

        if (_schedule.Settings.ConnectivityTestTargets.Count > 0 && node.IsolatedSinceTakeover)
        {
            Fail("an isolated node never promotes", $"{node.Id} promoted while isolated since before its takeover began: {cause}");
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fail(string invariant, string detail)
    {
        Trace($"VIOLATION: {invariant}: {detail}");
        throw new InvariantViolation(
            $"Invariant violated: {invariant}\n  {detail}\n  seed={_schedule.Seed} class={_schedule.Class} timing (interval-timeout, a / b) {_schedule.TimingText} at t={_now.TotalSeconds:F3}s\n" +
            $"  replay exactly this schedule: APPLIANCE_SIM_SEED={_schedule.Seed} dotnet test --filter FullyQualifiedName~Appliance.Tests.Simulation\n" +
            $"  last events:\n{TraceText}");
    }

    /// <summary>One appliance: machine state, its "disk", its codec and boot identity.</summary>
    private sealed class Node(SimCluster sim, string id, string peerId, HaMachine machine)
    {
        private HeartbeatCodec _codec = NewCodec(id, peerId, machine.Settings);
        private string _bootId = "";
        private long _sequence;
        // As the real link: every connection gets its own will generation, and messages list the live ones.
        private readonly Dictionary<string, long> _pathGeneration = [];
        private long _generation;
        private TimeSpan _scheduledTick = TimeSpan.MaxValue;
        private bool _operatorAuthorized;

        public string Id => id;

        public string PeerId => peerId;

        public HaState State { get; private set; } = HaState.Initial(id);

        public HaPersistedState Disk { get; set; } = HaPersistedState.Unpaired;

        public bool Up { get; private set; }

        /// <summary>Increments per boot so in-flight deliveries and completions of a previous life are dropped.</summary>
        public int Life { get; private set; }

        public TimeSpan UpSince { get; private set; }

        /// <summary>The highest epoch this node's machine took from its peer, in any life: the sim's truth, not the node's memory.</summary>
        public long HighestPeerEpochHeard { get; private set; }

        public TimeSpan WallOffset { get; set; }

        public TimeSpan IsolatedUntil { get; private set; }

        /// <summary>Start of the isolation in force (overlapping isolations count as one).</summary>
        private TimeSpan _isolatedFrom;

        private TimeSpan _takeoverStartedAt;

        /// <summary>Isolated without a break since before the current takeover started: every probe it ran must have failed.</summary>
        public bool IsolatedSinceTakeover => IsolatedUntil > sim._now && _isolatedFrom <= _takeoverStartedAt;

        public void Isolate(TimeSpan at, TimeSpan duration)
        {
            if (IsolatedUntil <= at)
            {
                _isolatedFrom = at;
            }

            IsolatedUntil = at + duration > IsolatedUntil ? at + duration : IsolatedUntil;
        }

        private DateTimeOffset Wall => WallOrigin + sim._now + WallOffset;

        public void Boot()
        {
            Up = true;
            Life++;
            UpSince = sim._now;
            _bootId = $"{id}-boot{Life}";
            _sequence = 0;
            _generation = 0;
            foreach (string path in SimSchedule.Paths)
            {
                _pathGeneration[path] = ++_generation;
            }

            _scheduledTick = TimeSpan.MaxValue;
            _codec = NewCodec(id, peerId, machine.Settings); // process memory is lost on restart
            State = HaState.Initial(id);
            sim.Trace($"{id}: boot {Life} with persisted {Disk.Role}/epoch {Disk.Epoch}");
            Apply(new HaInput.Start(Disk));
        }

        public void Crash(string why, TimeSpan downFor)
        {
            if (!Up)
            {
                return;
            }

            Up = false;
            sim.Trace($"{id}: down ({why})");
            sim.Disturb(sim._now + downFor);
            // The broker notices the dead connection after ~1.5 × keep-alive and publishes the wills.
            foreach (string path in SimSchedule.Paths)
            {
                SendWill(path, TimeSpan.FromMilliseconds(sim._rng.Next(200, 3000)));
            }

            sim.At(sim._now + downFor, Boot);
        }

        public void FlapPath(string path)
        {
            if (!Up)
            {
                return;
            }

            sim.Trace($"{id}: path {path} reconnects (generation {_pathGeneration[path]} → {_generation + 1})");
            sim.Disturb(sim._now + TimeSpan.FromSeconds(5));
            SendWill(path, TimeSpan.FromMilliseconds(sim._rng.Next(0, 4000)));
            _pathGeneration[path] = ++_generation;
        }

        private void SendWill(string path, TimeSpan brokerDelay)
        {
            byte[] will = _codec.Encode(PeerTiming.Of(machine.Settings).AnnouncedIn(new PeerMessage
            {
                NodeId = id,
                BootId = _bootId,
                Sequence = 0,
                SentAt = Wall,
                Kind = PeerMessageKind.OfflineWill,
                ConnectionGeneration = _pathGeneration[path],
            }));
            sim.At(sim._now + brokerDelay, () => sim.Send(this, PeerChannel.State, will, path, brokerSendsForDeadNode: true));
        }

        public void Receive(byte[] frame, string path, PeerChannel channel, int life)
        {
            if (!Up || life != Life)
            {
                return;
            }

            DecodeResult decoded = _codec.Decode(frame, path, Wall);
            if (decoded.Message is { } message)
            {
                Apply(new HaInput.PeerMessageReceived(message, path));
            }
            else
            {
                sim.Trace($"{id}: rejected {channel} on {path}: {decoded.Rejected}");
            }
        }

        public void Apply(HaInput input)
        {
            HaState before = State;
            Decision decision = machine.Decide(State, input, new HaClock(sim._now, Wall));
            State = decision.State;
            if (before.Takeover is null && State.Takeover is not null)
            {
                _takeoverStartedAt = sim._now;
            }

            if (input is HaInput.OperatorInput op && decision.Effects.OfType<HaEffect.Reply>().FirstOrDefault() is { } reply)
            {
                sim.Trace($"{id}: operator {op.Command.GetType().Name} → {(reply.Result.Ok ? "ok" : "refused")}: {reply.Result.Message}");
                if (reply.Result.Ok && op.Command is OperatorCommand.FailoverNow or OperatorCommand.BecomePrimary or OperatorCommand.FixConflict)
                {
                    _operatorAuthorized = true;
                }

                if (reply.Result.Ok && op.Command is OperatorCommand.BecomeBackup)
                {
                    sim._nodes.First(n => n != this)._operatorAuthorized = true;
                }
            }

            foreach (HaEffect effect in decision.Effects)
            {
                Execute(effect);
            }

            HighestPeerEpochHeard = Math.Max(HighestPeerEpochHeard, State.Peer?.Epoch ?? 0);
            ScheduleTick();
        }

        private void Execute(HaEffect effect)
        {
            switch (effect)
            {
                case HaEffect.PersistState persist:
                    persist.State.AssertValid();
                    HaPersistedState previous = Disk;
                    Disk = persist.State;
                    // One decision may persist twice (demote on a higher epoch, then promote on the peer's will).
                    if (persist.State.Role == HaRole.Active && (previous.Role != HaRole.Active || previous.Epoch != persist.State.Epoch))
                    {
                        sim.Trace($"{id}: PROMOTED to epoch {persist.State.Epoch}: {persist.State.Cause}");
                        sim.OnPromotion(this, persist.State.Epoch, persist.State.Cause, _operatorAuthorized);
                        _operatorAuthorized = false;
                    }
                    else if (persist.State.Role != previous.Role)
                    {
                        sim.Trace($"{id}: {previous.Role} → {persist.State.Role}: {persist.State.Cause}");
                    }

                    break;
                case HaEffect.FencePeer:
                    Fence();
                    break;
                case HaEffect.SyncPull:
                    Later(TimeSpan.FromMilliseconds(sim._rng.Next(200, 3000)), () => Apply(new HaInput.SyncCompleted(true, "simulated pull")));
                    break;
                case HaEffect.RunConnectivityProbes:
                    int total = machine.Settings.ConnectivityTestTargets.Count;
                    Later(TimeSpan.FromMilliseconds(sim._rng.Next(50, 1500)), () =>
                        Apply(new HaInput.ProbesCompleted(IsolatedUntil > sim._now ? 0 : total, total)));
                    break;
                case HaEffect.Publish publish:
                    sim.Send(this, publish.Channel, _codec.Encode(ToMessage(publish.Message)));
                    break;
                case HaEffect.Notify notify:
                    sim.Trace($"{id}: {notify.Kind}: {notify.Message}");
                    if (notify.Kind == HaEventKind.SwitchBack)
                    {
                        // A planned switch has a moment with no Active (never one with two): allow it the handover's deadline.
                        sim.SwitchBacks++;
                        sim.Operated(sim._now + (2 * sim._schedule.NodeSettings.Max(s => s.PartnerFailoverTimeout)));
                    }

                    break;
                default:
                    break; // IP and services: the role is the observable; history goes to the trace via Notify
            }
        }

        private void Fence()
        {
            Node peer = sim._nodes.First(n => n != this);
            FenceBehaviour behaviour = sim._schedule.FenceBehaviours[sim._fenceCalls++ % sim._schedule.FenceBehaviours.Length];
            TimeSpan latency = sim._schedule.FenceLatency;
            sim.Trace($"{id}: fencing {peer.Id} ({behaviour}, {latency.TotalSeconds:F1}s)");
            Later(latency, () =>
            {
                FenceOutcome outcome = behaviour switch
                {
                    FenceBehaviour.Truthful or FenceBehaviour.Lying => FenceOutcome.ConfirmedOff,
                    FenceBehaviour.Failing => FenceOutcome.Failed,
                    _ => FenceOutcome.BmcUnreachable,
                };
                if (behaviour == FenceBehaviour.Truthful)
                {
                    peer.Crash("fenced: powered off", TimeSpan.FromSeconds(sim._rng.Next(5, 30)));
                }

                Apply(new HaInput.FenceCompleted(new FenceResult(outcome, behaviour.ToString(), latency)));
            });
        }

        /// <summary>A completion for this life only: a restart forgets operations in flight.</summary>
        private void Later(TimeSpan after, Action action)
        {
            int life = Life;
            sim.At(sim._now + after, () =>
            {
                if (Up && Life == life)
                {
                    action();
                }
            });
        }

        private void ScheduleTick()
        {
            TimeSpan wake = machine.NextWakeAt(State, sim._now);
            if (wake >= _scheduledTick && _scheduledTick > sim._now)
            {
                return;
            }

            _scheduledTick = wake;
            Later(wake - sim._now, () =>
            {
                if (_scheduledTick == wake)
                {
                    _scheduledTick = TimeSpan.MaxValue;
                    Apply(new HaInput.Tick());
                }
            });
        }

        private PeerMessage ToMessage(OutgoingMessage draft) => PeerTiming.Of(machine.Settings).AnnouncedIn(new PeerMessage
        {
            NodeId = id,
            BootId = _bootId,
            Sequence = ++_sequence,
            SentAt = Wall,
            Kind = draft.Kind,
            Role = draft.Role,
            Epoch = draft.Epoch,
            HoldsSharedIp = draft.HoldsSharedIp,
            Health = "ok",
            ConnectionGeneration = _generation,
            LiveGenerations = [.. _pathGeneration.Values.Order()],
            Suspended = draft.Suspended,
            GoingDown = draft.GoingDown,
            PairedAt = draft.PairedAt,
            Command = draft.Command,
        });

        private static HeartbeatCodec NewCodec(string id, string peer, HaSettings settings) =>
            new(id, new PairKeyRing(Key), settings.MaxMessageAge, settings.MaxFutureSkew) { ExpectedPeer = peer };
    }
}
