using System.Collections.Immutable;
using System.Globalization;
using Appliance.Core.Heartbeat;
using Appliance.Core.Ports;

namespace Appliance.Core.Failover;

/// <summary>
/// The failover state machine: <c>Decide(state, input, now) -> (state, effects)</c>, no I/O.
/// <code>
///             establish                 peer lost ∧ gates pass ∧ (fence confirmed | off)
///   ┌─────┐ ───────────► ┌─────────┐ ────────────────────────────────────────────► ┌────────┐
///   │ Off │              │ Passive │ ◄──────────────────────────────────────────── │ Active │
///   └─────┘ ◄─────────── └─────────┘   higher-epoch Active seen | conflict lost |  └────────┘
///      ▲       break       │     ▲       planned switch (become-backup / peer asks)     ▲
///      │                   │     │ peer heard again                                     │
///      │   Medium mode, or │     │                                                      │
///      │ fence unconfirmed ▼     │               failover-now (operator)                │
///      └──── break ─── ┌─────────────────┐ ─────────────────────────────────────────────┘
///                      │ FailoverPending │
///                      └─────────────────┘
/// </code>
/// Transitions (role / input → effect), each timeout citing its source:
/// <list type="table">
/// <item>Start(persisted): any paired role → Passive; wait PartnerContactTimeout (wait_for_all, votequorum(5))
/// before a silent peer counts as lost, so a restarted node never comes up Active next to an Active peer.</item>
/// <item>Passive, peer silent on every path for PartnerFailoverTimeout (3 × advert_int, keepalived.conf(5); RFC 5798 Master_Down_Interval) — never
/// less than twice the HeartbeatInterval the peer announces, so mismatched settings cannot fail over a healthy peer — or
/// every live path willed for the peer's current generation (bdSeq, Eclipse Sparkplug 3.0) → takeover gates:
/// suspended? RebootBlackoutWindow after a graceful-shutdown announcement? probes reach a target? Medium mode?
/// fencing (FenceDelay on the non-preferred node = pcmk_delay_base, Pacemaker Explained) → promote with a new epoch.</item>
/// <item>Active, peer Active with a higher epoch, or equal and it wins the tie-break → demote at once.</item>
/// <item>Both Active or both Passive while the peer is heard → resolve on the first heartbeat that shows it:
/// shared IP holder, else higher epoch, else PreferredActive (default: paired first), else lower node id.</item>
/// <item>Planned switch is two-phase over cmd: the Active persists Passive, releases IP, stops services and sends
/// Released; only then does the Passive promote (after SyncPull with --sync). Never two Actives.</item>
/// <item>Passive and PreferredActive, beside a heard Active for SwitchBackAfter (keepalived preempt_delay; 0 = never, as the
/// appliance) → the same planned switch, with sync.</item>
/// <item>FailoverPending re-announces every FailedNotificationRate (BeyondTrust failover settings) and retries fencing.</item>
/// <item>Shutdown announced → keep heartbeating with it (the peer's blackout only bites once this node is silent); no
/// takeover, role command or conflict win; it ends with cancel-shutdown or lapses after RebootBlackoutWindow.</item>
/// </list>
/// Epochs are ballots (as Paxos): the node with the lower id promotes only to even epochs and the other to odd
/// ones, so two promotions can never produce the same epoch, even when both sides promote during a partition.
/// </summary>
public sealed class HaMachine
{
    /// <summary>How a pending reason about the peer's announced shutdown begins (cleared when the peer cancels or returns).</summary>
    private const string PeerGoingDown = "peer announced a graceful shutdown";

    private const string BothPassivePeerGoingDown = "both Passive, the peer going down";

    private readonly HaSettings _settings;
    private readonly int _targetCount;

    public HaMachine(HaSettings settings)
    {
        IReadOnlyList<string> errors = settings.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(settings));
        }

        _settings = settings;
        _targetCount = settings.ConnectivityTestTargets.Count;
    }

    public HaSettings Settings => _settings;

    /// <summary>Test-only fault injection: ignore a higher-epoch Active (proves the simulator's checker can fail).</summary>
    internal bool UnsafeIgnoreHigherEpoch { get; init; }

    public Decision Decide(HaState state, HaInput input, HaClock now)
    {
        var step = new Step(this, state, now);
        switch (input)
        {
            case HaInput.Start start:
                step.OnStart(start.Persisted);
                break;
            case HaInput.OperatorInput op:
                step.OnOperator(op.Command);
                break;
            case HaInput.PeerMessageReceived received when state.Role != HaRole.Off && state.Started:
                step.OnPeerMessage(received.Message, received.Path);
                break;
            case HaInput.PathChanged path:
                step.State = state with
                {
                    PathsUp = path.Up ? state.PathsUp.Add(path.Path) : state.PathsUp.Remove(path.Path),
                    PathsDown = path.Up ? state.PathsDown.Remove(path.Path) : state.PathsDown.Add(path.Path),
                };
                if (path.Up)
                {
                    step.AnnounceConnection();
                }

                break;
            case HaInput.ProbesCompleted probes:
                step.OnProbes(probes.Reached, probes.Total);
                break;
            case HaInput.FenceCompleted fence:
                step.OnFence(fence.Result);
                break;
            case HaInput.SyncCompleted sync:
                step.OnSync(sync.Ok, sync.Detail);
                break;
            default:
                break;
        }

        if (step.State.Started && step.State.Role != HaRole.Off)
        {
            step.OnTimers();
        }

        step.PersistPeerEpochSeen(state.PeerEpochSeen);

        return new Decision(step.State, HaEffect.InExecutionOrder(step.Effects));
    }

    /// <summary>
    /// When the runner must wake (Tick) even if nothing arrives: the earliest future deadline, and at
    /// least once per HeartbeatInterval so the loop-progress counter keeps moving.
    /// </summary>
    public TimeSpan NextWakeAt(HaState state, TimeSpan now)
    {
        TimeSpan wake = now + _settings.HeartbeatInterval;
        if (!state.Started || state.Role == HaRole.Off)
        {
            return wake;
        }

        Span<TimeSpan> candidates =
        [
            state.NextHeartbeatAt,
            state.ShutdownAnnouncedAt is { } announced ? announced + _settings.RebootBlackoutWindow : TimeSpan.MaxValue,
            state.Role != HaRole.Active && state.Takeover is null ? PeerDeadline(state) : TimeSpan.MaxValue,
            state.Takeover?.WakeAt ?? TimeSpan.MaxValue,
            state.Handover?.Deadline ?? TimeSpan.MaxValue,
            state.Peer?.GoingDownAt is { } down ? down + _settings.RebootBlackoutWindow : TimeSpan.MaxValue,
            state.SwitchBackSince is { } since ? since + _settings.SwitchBackAfter : TimeSpan.MaxValue,
        ];
        foreach (TimeSpan candidate in candidates)
        {
            if (candidate > now && candidate < wake)
            {
                wake = candidate;
            }
        }

        return wake;
    }

    /// <summary>The earliest time the peer can count as lost if nothing more arrives.</summary>
    internal TimeSpan PeerDeadline(HaState state)
    {
        if (state.Peer is not { } peer || peer.HeardAt.IsEmpty)
        {
            return state.ContactSince + _settings.PartnerContactTimeout;
        }

        // Once the peer's will arrived on some path, a path we have lost ourselves (its broker died with
        // the peer, as an embedded broker does) is no evidence the peer lives: the will alone decides.
        // Without any will, a lost path still counts until PartnerFailoverTimeout, as silence does.
        bool willed = !peer.WilledPaths.IsEmpty;
        TimeSpan latest = TimeSpan.MinValue;
        foreach ((string path, TimeSpan heard) in peer.HeardAt)
        {
            if (willed && state.PathsDown.Contains(path))
            {
                continue;
            }

            if (!peer.WilledPaths.ContainsKey(path) && heard > latest)
            {
                latest = heard;
            }
        }

        return latest == TimeSpan.MinValue ? TimeSpan.Zero : Max(latest + SilenceTimeout(peer), SilenceGraceUntil);
    }

    /// <summary>
    /// Silence after which the peer counts as lost: our PartnerFailoverTimeout, but never less than twice the
    /// interval the peer announced — our timeout shorter than its heartbeat interval must not fail over a healthy peer.
    /// </summary>
    private TimeSpan SilenceTimeout(PeerView peer) =>
        peer.Timing is { } timing ? Max(_settings.PartnerFailoverTimeout, timing.SilenceFloor) : _settings.PartnerFailoverTimeout;

    /// <summary>
    /// After a live settings change, silence alone cannot count as a loss before this time: the peer's next
    /// heartbeat may still be due on its old interval. A will still counts at once.
    /// </summary>
    private TimeSpan SilenceGraceUntil { get; init; } = TimeSpan.MinValue;

    /// <summary>
    /// The machine for new settings, applied at <paramref name="now"/> in a running pair: for the longer of the
    /// old and new failover timeouts, silence alone is not a loss (the peer may still heartbeat on its old interval).
    /// </summary>
    public HaMachine Reconfigure(HaSettings settings, TimeSpan now) =>
        new(settings) { SilenceGraceUntil = now + Max(_settings.PartnerFailoverTimeout, settings.PartnerFailoverTimeout) };

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public bool PeerReachable(HaState state, TimeSpan now) =>
        state.Peer is { HeardAt.IsEmpty: false } && now < PeerDeadline(state);

    /// <summary>Deterministic winner of a conflict; both nodes compute the same answer from the same facts.</summary>
    internal bool SelfWins(HaState self, PeerView peer, bool useEpoch = true)
    {
        if (self.HoldsSharedIp != peer.HoldsSharedIp)
        {
            return self.HoldsSharedIp;
        }

        if (useEpoch && self.Epoch != peer.Epoch)
        {
            return self.Epoch > peer.Epoch;
        }

        string preferred = PreferredNode(self, peer);
        return preferred == self.NodeId;
    }

    private string PreferredNode(HaState self, PeerView peer)
    {
        string peerId = self.PeerNodeId!;
        if (_settings.PreferredActive is { } configured && (configured == self.NodeId || configured == peerId))
        {
            return configured;
        }

        if (self.PairedAt != peer.PairedAt)
        {
            return self.PairedAt < peer.PairedAt ? self.NodeId : peerId;
        }

        return string.CompareOrdinal(self.NodeId, peerId) < 0 ? self.NodeId : peerId;
    }

    internal bool IsPreferred(HaState state) =>
        state.Peer is { } peer ? PreferredNode(state, peer) == state.NodeId
        : _settings.PreferredActive is { } configured ? configured == state.NodeId
        : string.CompareOrdinal(state.NodeId, state.PeerNodeId) < 0;

    /// <summary>The next ballot above everything seen (before a restart too), from this node's half of the numbers.</summary>
    internal static long NextEpoch(HaState state)
    {
        long seen = Math.Max(Math.Max(state.Epoch, state.PeerEpochSeen), state.Peer?.Epoch ?? 0);
        long parity = string.CompareOrdinal(state.NodeId, state.PeerNodeId) < 0 ? 0 : 1;
        long next = seen + 1;
        return next % 2 == parity ? next : next + 1;
    }

    private static string Ms(TimeSpan t) => HaSettings.Show(t);

    /// <summary>One decision in progress: a working copy of the state plus the effects it has produced.</summary>
    private sealed class Step(HaMachine machine, HaState state, HaClock now)
    {
        private readonly HaSettings _s = machine._settings;

        public HaState State { get; set; } = state;

        public List<HaEffect> Effects { get; } = [];

        private TimeSpan Now => now.Monotonic;

        public void OnStart(HaPersistedState persisted)
        {
            persisted.AssertValid();
            State = HaState.Initial(State.NodeId) with
            {
                Started = true,
                Role = persisted.Role == HaRole.Off ? HaRole.Off : HaRole.Passive,
                Epoch = persisted.Epoch,
                PeerEpochSeen = persisted.PeerEpochSeen,
                PeerNodeId = persisted.PeerNodeId,
                Suspended = persisted.Suspended,
                PairedAt = persisted.PairedAt,
                ContactSince = Now,
                NextHeartbeatAt = Now,
                PathsUp = State.PathsUp,
            };
            if (State.Role == HaRole.Off)
            {
                return;
            }

            // Whatever ran before the restart, start clean: nothing served until this node wins again.
            Effects.Add(new HaEffect.StopServices());
            Effects.Add(new HaEffect.ReleaseSharedIp());
            if (persisted.Role != HaRole.Passive)
            {
                Effects.Add(new HaEffect.PersistState(State.ToPersisted("restart: start Passive until the peer is heard")));
                Effects.Add(new HaEffect.RecordHistory(new HaTransition(persisted.Role, HaRole.Passive, State.Epoch,
                    $"restart: start Passive, wait PartnerContactTimeout={Ms(_s.PartnerContactTimeout)} for the peer")));
            }

            PublishState();
        }

        /// <summary>
        /// A higher epoch heard from the peer is saved even when nothing else in this decision is (a Passive hearing a
        /// new Active): a restart must not forget a ballot the pair has used. Any other save already carries it.
        /// </summary>
        public void PersistPeerEpochSeen(long before)
        {
            if (State.PeerEpochSeen > before && !Effects.Any(e => e is HaEffect.PersistState))
            {
                Effects.Add(new HaEffect.PersistState(State.ToPersisted(
                    $"peer {State.PeerNodeId} announced epoch {State.PeerEpochSeen.ToString(CultureInfo.InvariantCulture)}")));
            }
        }

        /// <summary>
        /// A new connection is announced at once: until the peer hears it listed, only IsCurrentConnection's generation
        /// rule vouches for its will. As retained state, not a heartbeat: after a broker restart both sides reconnect
        /// on their own ticks, and a peer subscribing after this gets it then instead of one heartbeat interval later
        /// (the state the path restored on connect is one the peer has seen, so it is dropped as a replay).
        /// </summary>
        public void AnnounceConnection()
        {
            if (State.Started && State.Role != HaRole.Off)
            {
                PublishState();
            }
        }

        public void OnOperator(OperatorCommand command)
        {
            CommandResult result = command switch
            {
                OperatorCommand.Establish establish => Establish(establish.PeerNodeId),
                _ when !State.Started => CommandResult.Refused($"{Verb(command)} refused: the engine has not started"),
                _ when State.Role == HaRole.Off => CommandResult.Refused($"{Verb(command)} refused: this node is not paired"),
                OperatorCommand.Break => Break("operator: break"),
                OperatorCommand.Shutdown shutdown => Shutdown(shutdown.Reboot),
                OperatorCommand.CancelShutdown => CancelShutdown(),
                // A node that told its peer it is going away must not take or hand over roles meanwhile.
                _ when State.ShuttingDown => CommandResult.Refused($"{Verb(command)} refused: a graceful shutdown was announced; cancel-shutdown first"),
                OperatorCommand.BecomePrimary primary => BecomePrimary(primary.Sync),
                OperatorCommand.BecomeBackup backup => BecomeBackup(backup.Sync, backup.EvenIfUnreachable),
                OperatorCommand.FailoverNow => FailoverNow(),
                OperatorCommand.FixConflict => FixConflict(),
                OperatorCommand.SuspendFailover => SetSuspended(true),
                OperatorCommand.ResumeFailover => SetSuspended(false),
                _ => CommandResult.Refused($"{Verb(command)} refused: unknown command"),
            };
            Effects.Add(new HaEffect.Reply(result));
        }

        public void OnPeerMessage(PeerMessage message, string path)
        {
            if (message.NodeId != State.PeerNodeId || State.RetiredPeerBoots.Contains(message.BootId))
            {
                return;
            }

            bool wasReachable = machine.PeerReachable(State, Now);
            PeerView? peer = State.Peer;
            if (peer is null || peer.BootId != message.BootId)
            {
                if (message.Kind == PeerMessageKind.OfflineWill)
                {
                    return; // a will never introduces a boot: it can only end one we know
                }

                State = State with
                {
                    RetiredPeerBoots = peer is null ? State.RetiredPeerBoots : [.. State.RetiredPeerBoots.Add(peer.BootId).TakeLast(4)],
                };
                peer = new PeerView { BootId = message.BootId };
            }

            if (message.Kind == PeerMessageKind.OfflineWill)
            {
                // Only a will for one of the peer's current connections counts: a late will from an older
                // connection must never mark a newer one dead.
                if (IsCurrentConnection(peer, message.ConnectionGeneration) && peer.HeardAt.ContainsKey(path))
                {
                    State = State with { Peer = peer with { WilledPaths = peer.WilledPaths.SetItem(path, message.ConnectionGeneration) } };
                }

                return;
            }

            var heard = peer with
            {
                HeardAt = peer.HeardAt.SetItem(path, Now),
                WilledPaths = peer.WilledPaths.TryGetValue(path, out long willed) && message.ConnectionGeneration > willed
                    ? peer.WilledPaths.Remove(path)
                    : peer.WilledPaths,
                LastHeardWall = now.Wall,
            };
            bool newer = message.Sequence > peer.Sequence;
            if (newer)
            {
                heard = heard with
                {
                    Sequence = message.Sequence,
                    Role = message.Role,
                    Epoch = message.Epoch,
                    HoldsSharedIp = message.HoldsSharedIp,
                    Suspended = message.Suspended,
                    PairedAt = message.PairedAt,
                    MirrorPosition = message.MirrorPosition,
                    Generation = Math.Max(peer.Generation, message.ConnectionGeneration),
                    LiveGenerations = message.LiveGenerations is { } live ? [.. live] : [],
                    Timing = PeerTiming.AnnouncedBy(message) ?? peer.Timing,
                    Health = message.Health is { Length: > 0 } health ? health : null,
                    GoingDownAt = message.GoingDown ? peer.GoingDownAt ?? Now : null, // a newer message without it: cancelled
                };
            }

            State = State with { Peer = heard };
            if (newer && message.Epoch > State.PeerEpochSeen)
            {
                State = State with { PeerEpochSeen = message.Epoch }; // before anything below persists the state
            }

            if (!wasReachable && machine.PeerReachable(State, Now))
            {
                Effects.Add(new HaEffect.Notify(HaEventKind.PeerFound, $"peer {State.PeerNodeId} heard on {path} ({heard.Role}, epoch {heard.Epoch})"));
            }

            if (!newer)
            {
                return;
            }

            if (message.Kind == PeerMessageKind.Command && message.Command is { } command)
            {
                OnPeerCommand(command);
                if (State.Role == HaRole.Off)
                {
                    return; // the peer broke the pair
                }
            }

            ReactToPeer();
        }

        /// <summary>
        /// Paths reconnect independently, so the peer's connections carry different generations: its newest
        /// message lists the live ones. A generation at or above the highest it has announced is a connection
        /// opened since (generations only grow within a boot): nothing we know of has replaced it, so its will
        /// counts — a crash right after a reconnect, before the next heartbeat listed it, was a 3 s outlier.
        /// </summary>
        private static bool IsCurrentConnection(PeerView peer, long willGeneration) =>
            willGeneration >= peer.Generation || peer.LiveGenerations.Contains(willGeneration);

        private void OnPeerCommand(PeerCommand command)
        {
            switch (command.Kind)
            {
                case PeerCommandKind.Break:
                    Break($"peer {State.PeerNodeId} broke the pair", tellPeer: false);
                    break;
                case PeerCommandKind.RequestRelease when State.Role == HaRole.Active:
                    ReleaseTo(command.RequestId, command.Sync, $"planned switch: peer {State.PeerNodeId} asked to become primary (request {command.RequestId})");
                    break;
                case PeerCommandKind.Released when State.Role != HaRole.Active && State.Peer!.Role != HaRole.Active && !State.ShuttingDown:
                    Promote($"planned switch: {State.PeerNodeId} released (request {command.RequestId})", command.Sync);
                    break;
                default:
                    break;
            }
        }

        /// <summary>Role facts changed: cancel a needless takeover, then apply the epoch rule and conflict resolution.</summary>
        private void ReactToPeer()
        {
            PeerView peer = State.Peer!;
            bool keepMediumPending = _s.FailoverMode == FailoverMode.Medium && State.Role == HaRole.FailoverPending && peer.Role != HaRole.Active;
            if (State.Takeover is { } takeover && State.Role != HaRole.Active && machine.PeerReachable(State, Now) && !keepMediumPending)
            {
                State = State with { Takeover = null, PendingReason = null };
                if (State.Role == HaRole.FailoverPending)
                {
                    ChangeRole(HaRole.Passive, $"peer {State.PeerNodeId} heard again; takeover ({takeover.Stage}) cancelled");
                }
            }

            if (State.Handover is { Stage: HandoverStage.ReleasedToPeer } && peer.Role == HaRole.Active && peer.Epoch > State.Epoch)
            {
                State = State with { Handover = null }; // the peer promoted: the switch is complete
            }

            if (peer.GoingDownAt is not null && State.Role != HaRole.Active)
            {
                State = State with { PendingReason = $"{PeerGoingDown}; RebootBlackoutWindow={Ms(_s.RebootBlackoutWindow)} applies" };
            }
            else if (State.PendingReason?.StartsWith(PeerGoingDown, StringComparison.Ordinal) == true)
            {
                State = State with { PendingReason = null }; // the peer cancelled its shutdown or came back
            }

            CheckConflict();
        }

        /// <summary>Both Active or both Passive while the peer is heard: resolve now (runs on receipt and on every tick).</summary>
        private void CheckConflict()
        {
            PeerView peer = State.Peer!;
            string? conflict = (State.Role, peer.Role) switch
            {
                (HaRole.Active, HaRole.Active) => "both Active",
                (HaRole.Passive, HaRole.Passive) when State.Handover is null && !peer.Suspended && !State.Suspended && !State.ShuttingDown =>
                    peer.GoingDownAt is null ? "both Passive" : BothPassivePeerGoingDown,
                _ => null,
            };
            if (conflict is null)
            {
                State = State with { Conflict = null };
                return;
            }

            ResolveConflict(conflict, "automatic");
        }

        private void ResolveConflict(string conflict, string by)
        {
            PeerView peer = State.Peer!;
            // A peer that announced it is going away is never the one to keep: the other node takes the role.
            bool wins = conflict == BothPassivePeerGoingDown || machine.SelfWins(State, peer, useEpoch: !machine.UnsafeIgnoreHigherEpoch);
            if (machine.UnsafeIgnoreHigherEpoch && State.Role == HaRole.Active)
            {
                wins = true;
            }

            string winner = wins ? State.NodeId : State.PeerNodeId!;
            string cause = $"conflict ({conflict}, epochs {State.Epoch}/{peer.Epoch}) resolved {by}: {winner} is Active";
            if (State.Conflict != conflict)
            {
                Effects.Add(new HaEffect.Notify(HaEventKind.Conflict, cause));
                Effects.Add(new HaEffect.RecordHistory(new HaTransition(State.Role, State.Role, State.Epoch, cause)));
            }

            State = State with { Conflict = conflict };
            if (State.Role == HaRole.Active && !wins)
            {
                Demote(cause);
            }
            else if (State.Role == HaRole.Passive && wins)
            {
                if (_s.FailoverMode == FailoverMode.Medium && by == "automatic")
                {
                    EnterPending($"{cause}; Medium mode: waiting for operator failover-now", cause, operatorOverride: false);
                }
                else
                {
                    Promote(cause, sync: false);
                }
            }
        }

        public void OnProbes(int reached, int total)
        {
            if (State.Takeover is not { Stage: TakeoverStage.Probing } takeover)
            {
                return;
            }

            if (total > 0 && reached == 0)
            {
                string reason = $"isolated: none of {total} connectivity targets answered; staying Passive";
                if (State.PendingReason != reason)
                {
                    Effects.Add(new HaEffect.Notify(HaEventKind.TakeoverBlocked, reason));
                }

                State = State with
                {
                    PendingReason = reason,
                    Takeover = takeover with { Stage = TakeoverStage.Isolated, StageSince = Now, WakeAt = Now + _s.PartnerFailoverTimeout },
                };
                return;
            }

            AfterProbes(takeover);
        }

        private void AfterProbes(Takeover takeover)
        {
            if (_s.FailoverMode == FailoverMode.Medium && !takeover.OperatorOverride)
            {
                EnterPending($"{takeover.Cause}; Medium mode: waiting for operator failover-now", takeover.Cause, operatorOverride: false);
                return;
            }

            if (!_s.FencingEnabled)
            {
                Promote(takeover.Cause, sync: false);
                return;
            }

            if (!takeover.OperatorOverride && !machine.IsPreferred(State) && _s.FenceDelay > TimeSpan.Zero)
            {
                State = State with { Takeover = takeover with { Stage = TakeoverStage.FenceDelay, StageSince = Now, WakeAt = Now + _s.FenceDelay } };
                return;
            }

            StartFencing(takeover);
        }

        private void StartFencing(Takeover takeover)
        {
            State = State with { Takeover = takeover with { Stage = TakeoverStage.Fencing, StageSince = Now, WakeAt = TimeSpan.MaxValue } };
            Effects.Add(new HaEffect.FencePeer());
            Effects.Add(new HaEffect.Notify(HaEventKind.Fencing, $"fencing {State.PeerNodeId}: {takeover.Cause}"));
        }

        public void OnFence(FenceResult result)
        {
            if (State.Takeover is not { Stage: TakeoverStage.Fencing } takeover)
            {
                return;
            }

            string outcome = $"fence {result.Outcome}: {result.Detail}";
            if (result.Outcome == FenceOutcome.ConfirmedOff || takeover.OperatorOverride)
            {
                Promote($"{takeover.Cause}; {outcome}", sync: false);
                return;
            }

            if (_s.FencingUnconfirmed == FencingUnconfirmedPolicy.PromoteIfPeerDark && result.Outcome == FenceOutcome.BmcUnreachable)
            {
                State = State with { Takeover = takeover with { Stage = TakeoverStage.AwaitingDark, Cause = $"{takeover.Cause}; {outcome}", StageSince = Now, WakeAt = Now } };
                return;
            }

            EnterPending($"fencing unconfirmed ({outcome}); waiting for operator failover-now", takeover.Cause, operatorOverride: false);
        }

        public void OnSync(bool ok, string detail)
        {
            if (State.Role != HaRole.Active || !State.Syncing)
            {
                return;
            }

            State = State with { Syncing = false, HoldsSharedIp = true };
            Effects.Add(new HaEffect.TakeSharedIp());
            Effects.Add(new HaEffect.StartServices());
            string text = ok ? $"sync pull done ({detail}); serving" : $"sync pull failed ({detail}); serving with local data";
            Effects.Add(new HaEffect.RecordHistory(new HaTransition(HaRole.Active, HaRole.Active, State.Epoch, text)));
            Effects.Add(new HaEffect.Notify(HaEventKind.Sync, text));
            PublishState();
        }

        /// <summary>Heartbeat and every deadline; runs after each input, so any wake-up re-evaluates.</summary>
        public void OnTimers()
        {
            PublishDueHeartbeat();
            if (State.Handover is { } handover && Now >= handover.Deadline)
            {
                State = State with { Handover = null };
                if (handover.Stage == HandoverStage.AwaitingRelease)
                {
                    Effects.Add(new HaEffect.Notify(HaEventKind.TakeoverBlocked, $"planned switch {handover.RequestId} timed out: {State.PeerNodeId} did not release"));
                }
            }

            if (State.ShuttingDown)
            {
                // Still heartbeating, so the peer never takes over from a node that is alive; but no takeover,
                // switch-back or conflict win here: this node told its peer it is going away.
                LapseShutdownAnnouncement();
                return;
            }

            if (State.Peer is not null && machine.PeerReachable(State, Now))
            {
                CheckConflict(); // e.g. the pair was just resumed while both were Passive
            }

            if (State.Role == HaRole.Active)
            {
                State = State with { Takeover = null, PendingReason = null };
                return;
            }

            if (State.Takeover is { } takeover)
            {
                AdvanceTakeover(takeover);
                return;
            }

            ConsiderSwitchBack();
            if (State.Handover is not null || !IsPeerLost(out string cause))
            {
                return;
            }

            string? blocked = State switch
            {
                { Suspended: true } => "failover suspended by operator",
                { Peer.Suspended: true } => $"failover suspended by operator on {State.PeerNodeId}",
                { Peer.GoingDownAt: { } down } when Now < down + _s.RebootBlackoutWindow =>
                    $"{PeerGoingDown}; RebootBlackoutWindow={Ms(_s.RebootBlackoutWindow)} not over",
                _ => null,
            };
            if (blocked is not null)
            {
                if (State.PendingReason != blocked)
                {
                    Effects.Add(new HaEffect.Notify(HaEventKind.TakeoverBlocked, $"{cause}; no takeover: {blocked}"));
                }

                State = State with { PendingReason = blocked };
                return;
            }

            Effects.Add(new HaEffect.Notify(HaEventKind.PeerLost, cause));
            StartTakeover(cause, operatorOverride: false);
        }

        private void PublishDueHeartbeat()
        {
            if (Now >= State.NextHeartbeatAt)
            {
                Publish(PeerChannel.Heartbeat, PeerMessageKind.Heartbeat);
                State = State with { NextHeartbeatAt = Now + _s.HeartbeatInterval };
                if (State.Handover is { Stage: HandoverStage.ReleasedToPeer } released && State.Peer?.Role != HaRole.Active)
                {
                    // Released may have been lost: say it again until the peer shows Active, rather than leave the
                    // pair without an Active until the handover deadline. The peer promotes once, on the first it gets.
                    Publish(PeerChannel.Command, PeerMessageKind.Command, new PeerCommand(PeerCommandKind.Released, released.RequestId, released.Sync));
                }
            }
        }

        /// <summary>An announcement the appliance did not follow within RebootBlackoutWindow (the power-off failed, or
        /// nobody powered it off) is over: the peer has stopped waiting too, so this node takes up its duties again.</summary>
        private void LapseShutdownAnnouncement()
        {
            if (Now < State.ShutdownAnnouncedAt + _s.RebootBlackoutWindow)
            {
                return;
            }

            string cause = $"announced shutdown did not happen within RebootBlackoutWindow={Ms(_s.RebootBlackoutWindow)}: back on duty";
            State = State with { ShutdownAnnouncedAt = null };
            Effects.Add(new HaEffect.RecordHistory(new HaTransition(State.Role, State.Role, State.Epoch, cause)));
            PublishState();
        }

        /// <summary>
        /// The preferred node takes its role back once it has been a Passive beside a heard, unsuspended Active for
        /// SwitchBackAfter: a planned switch with sync, so there is never a second Active and no data is left behind.
        /// Anything that interrupts the wait (a conflict, a suspension, the peer unheard, a switch under way) restarts it.
        /// </summary>
        private void ConsiderSwitchBack()
        {
            bool waiting = _s.SwitchBackAfter > TimeSpan.Zero
                && State is { Role: HaRole.Passive, Suspended: false, Handover: null, Takeover: null, Conflict: null, Syncing: false }
                && State.Peer is { Role: HaRole.Active, Suspended: false, GoingDownAt: null }
                && machine.PeerReachable(State, Now)
                && machine.IsPreferred(State);
            if (!waiting)
            {
                State = State with { SwitchBackSince = null };
                return;
            }

            if (State.SwitchBackSince is not { } since)
            {
                State = State with { SwitchBackSince = Now };
                return;
            }

            if (Now < since + _s.SwitchBackAfter)
            {
                return;
            }

            string cause = $"switch-back: {State.NodeId} is PreferredActive and was Passive beside Active {State.PeerNodeId} for SwitchBackAfter={Ms(_s.SwitchBackAfter)}";
            State = State with { SwitchBackSince = null };
            Effects.Add(new HaEffect.RecordHistory(new HaTransition(State.Role, State.Role, State.Epoch, cause)));
            Effects.Add(new HaEffect.Notify(HaEventKind.SwitchBack, cause));
            RequestRelease("switch-back", sync: true);
        }

        private void AdvanceTakeover(Takeover takeover)
        {
            if (Now < takeover.WakeAt)
            {
                return;
            }

            switch (takeover.Stage)
            {
                case TakeoverStage.Isolated:
                    StartTakeover(takeover.Cause, takeover.OperatorOverride);
                    break;
                case TakeoverStage.FenceDelay:
                    StartFencing(takeover);
                    break;
                case TakeoverStage.AwaitingDark:
                    if (State.Peer is { } peer && !peer.HeardAt.IsEmpty && peer.HeardAt.Values.Max() + machine.SilenceTimeout(peer) is var dark && dark > Now)
                    {
                        // Some path heard the peer within the silence timeout (a will ended it early): not dark yet.
                        State = State with { Takeover = takeover with { WakeAt = dark } };
                        return;
                    }

                    Promote($"{takeover.Cause}; peer dark (BMC unreachable, every path silent, probes reach a target)", sync: false);
                    break;
                case TakeoverStage.Pending:
                    Effects.Add(new HaEffect.Notify(HaEventKind.FailoverPending, $"still pending: {State.PendingReason}"));
                    PublishState();
                    State = State with { LastAnnouncedAt = Now };
                    if (_s.FencingEnabled && _s.FailoverMode == FailoverMode.Automatic)
                    {
                        StartFencing(takeover); // BMCs come back; retry at each re-announcement
                    }
                    else
                    {
                        State = State with { Takeover = takeover with { WakeAt = Now + _s.FailedNotificationRate } };
                    }

                    break;
                default:
                    break;
            }
        }

        private void StartTakeover(string cause, bool operatorOverride)
        {
            var takeover = new Takeover(TakeoverStage.Probing, cause, operatorOverride, Now, TimeSpan.MaxValue);
            if (machine._targetCount == 0)
            {
                AfterProbes(takeover);
                return;
            }

            State = State with { Takeover = takeover };
            Effects.Add(new HaEffect.RunConnectivityProbes());
        }

        private bool IsPeerLost(out string cause)
        {
            cause = "";
            if (State.Role == HaRole.Active || machine.PeerReachable(State, Now))
            {
                return false;
            }

            if (Now < machine.PeerDeadline(State))
            {
                // Not reachable yet before the deadline only while no path has ever heard it: still waiting.
                return false;
            }

            cause = State.Peer switch
            {
                null or { HeardAt.IsEmpty: true } => $"no contact with {State.PeerNodeId} within PartnerContactTimeout={Ms(_s.PartnerContactTimeout)}",
                { WilledPaths.IsEmpty: false } p when p.HeardAt.Keys.All(path => p.WilledPaths.ContainsKey(path) || State.PathsDown.Contains(path)) =>
                    $"{State.PeerNodeId} offline (will, generation {p.WilledPaths.Values.Max().ToString(CultureInfo.InvariantCulture)}{LostWithoutWill(p)})",
                { Timing: { } timing } when timing.SilenceFloor > _s.PartnerFailoverTimeout =>
                    $"{State.PeerNodeId} silent on every path for {Ms(timing.SilenceFloor)} (twice the peer's HeartbeatInterval={Ms(timing.HeartbeatInterval)}; " +
                    $"our PartnerFailoverTimeout={Ms(_s.PartnerFailoverTimeout)} is shorter)",
                _ => $"{State.PeerNodeId} silent on every path for PartnerFailoverTimeout={Ms(_s.PartnerFailoverTimeout)}",
            };
            return true;
        }

        /// <summary>Heard paths that ended without a will: ours, lost with the peer (its embedded broker died with it).</summary>
        private static string LostWithoutWill(PeerView peer) =>
            peer.HeardAt.Keys.Where(path => !peer.WilledPaths.ContainsKey(path)).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } lost
                ? $"; our path {string.Join(", ", lost)} lost with it"
                : "";

        private void EnterPending(string reason, string cause, bool operatorOverride)
        {
            State = State with
            {
                Takeover = new Takeover(TakeoverStage.Pending, cause, operatorOverride, Now, Now + _s.FailedNotificationRate),
                PendingReason = reason,
                LastAnnouncedAt = Now,
            };
            if (State.Role != HaRole.FailoverPending)
            {
                ChangeRole(HaRole.FailoverPending, reason);
            }

            Effects.Add(new HaEffect.Notify(HaEventKind.FailoverPending, reason));
        }

        private void Promote(string cause, bool sync)
        {
            HaRole from = State.Role;
            State = State with
            {
                Role = HaRole.Active,
                Epoch = NextEpoch(State),
                Takeover = null,
                Handover = null,
                PendingReason = null,
                Conflict = null,
                Syncing = sync,
                HoldsSharedIp = !sync,
            };
            Effects.Add(new HaEffect.PersistState(State.ToPersisted(cause)));
            if (sync)
            {
                Effects.Add(new HaEffect.SyncPull());
            }
            else
            {
                Effects.Add(new HaEffect.TakeSharedIp());
                Effects.Add(new HaEffect.StartServices());
            }

            Effects.Add(new HaEffect.RecordHistory(new HaTransition(from, HaRole.Active, State.Epoch, cause)));
            Effects.Add(new HaEffect.Notify(HaEventKind.RoleChanged, $"{from} → Active (epoch {State.Epoch}): {cause}"));
            PublishState();
        }

        private void Demote(string cause, HaRole to = HaRole.Passive)
        {
            HaRole from = State.Role;
            State = State with { Role = to, HoldsSharedIp = false, Syncing = false, Takeover = null };
            Effects.Add(new HaEffect.PersistState(State.ToPersisted(cause)));
            Effects.Add(new HaEffect.StopServices());
            Effects.Add(new HaEffect.ReleaseSharedIp());
            Effects.Add(new HaEffect.RecordHistory(new HaTransition(from, to, State.Epoch, cause)));
            Effects.Add(new HaEffect.Notify(HaEventKind.RoleChanged, $"{from} → {to} (epoch {State.Epoch}): {cause}"));
            PublishState();
        }

        /// <summary>Passive ⇄ FailoverPending: nothing to release, only persist and record.</summary>
        private void ChangeRole(HaRole to, string cause)
        {
            HaRole from = State.Role;
            State = State with { Role = to };
            Effects.Add(new HaEffect.PersistState(State.ToPersisted(cause)));
            Effects.Add(new HaEffect.RecordHistory(new HaTransition(from, to, State.Epoch, cause)));
            Effects.Add(new HaEffect.Notify(HaEventKind.RoleChanged, $"{from} → {to}: {cause}"));
            PublishState();
        }

        private void ReleaseTo(string requestId, bool sync, string cause)
        {
            Demote(cause);
            State = State with { Handover = new Handover(HandoverStage.ReleasedToPeer, requestId, sync, Now + (2 * _s.PartnerFailoverTimeout)) };
            Publish(PeerChannel.Command, PeerMessageKind.Command, new PeerCommand(PeerCommandKind.Released, requestId, sync));
        }

        private CommandResult Establish(string peerNodeId)
        {
            if (!NodeIds.IsValid(peerNodeId) || peerNodeId == State.NodeId)
            {
                return CommandResult.Refused($"establish refused: PeerNodeId='{peerNodeId}' is invalid: allowed {NodeIds.Rule}, not this node's own id");
            }

            if (State.Role != HaRole.Off)
            {
                return CommandResult.Refused($"establish refused: already paired with {State.PeerNodeId} ({State.Role}); break the pair first");
            }

            bool samePeer = State.PeerNodeId == peerNodeId;
            State = State with
            {
                Started = true,
                Role = HaRole.Passive,
                PeerNodeId = peerNodeId,
                Epoch = samePeer ? State.Epoch : 0,
                PeerEpochSeen = samePeer ? State.PeerEpochSeen : 0,
                PairedAt = now.Wall,
                ContactSince = Now,
                NextHeartbeatAt = Now,
                Peer = samePeer ? State.Peer : null,
            };
            string cause = $"operator: paired with {peerNodeId}";
            Effects.Add(new HaEffect.PersistState(State.ToPersisted(cause)));
            Effects.Add(new HaEffect.RecordHistory(new HaTransition(HaRole.Off, HaRole.Passive, State.Epoch, cause)));
            Effects.Add(new HaEffect.Notify(HaEventKind.Pairing, cause));
            PublishState();
            return CommandResult.Done($"paired with {peerNodeId}; Passive until the pair elects an Active");
        }

        private CommandResult Break(string cause, bool tellPeer = true)
        {
            if (tellPeer)
            {
                Publish(PeerChannel.Command, PeerMessageKind.Command, new PeerCommand(PeerCommandKind.Break, $"{State.NodeId}-break", false));
            }

            Demote(cause, HaRole.Off);
            State = State with { Takeover = null, Handover = null, PendingReason = null, Conflict = null, Peer = null, ShutdownAnnouncedAt = null };
            Effects.Add(new HaEffect.Notify(HaEventKind.Pairing, cause));
            return CommandResult.Done("pair broken: this node is Off; no data was deleted");
        }

        private CommandResult BecomePrimary(bool sync)
        {
            if (State.Role == HaRole.Active)
            {
                return CommandResult.Refused("become-primary refused: this node is already Active");
            }

            if (!machine.PeerReachable(State, Now))
            {
                return CommandResult.Refused("become-primary refused: the peer is unreachable; use failover-now");
            }

            if (State.Peer!.Role != HaRole.Active)
            {
                return CommandResult.Refused($"become-primary refused: the peer is {State.Peer.Role}, not Active; use fix-conflict or failover-now");
            }

            string id = RequestRelease("operator", sync);
            return CommandResult.Done($"planned switch {id}: asked {State.PeerNodeId} to release; this node promotes when it confirms");
        }

        /// <summary>Phase one of a planned switch: ask the Active to release; <see cref="OnPeerCommand"/> promotes on Released.</summary>
        private string RequestRelease(string by, bool sync)
        {
            string id = $"{State.NodeId}-{by}-{Now.Ticks.ToString(CultureInfo.InvariantCulture)}";
            State = State with { Handover = new Handover(HandoverStage.AwaitingRelease, id, sync, Now + (2 * _s.PartnerFailoverTimeout)) };
            Publish(PeerChannel.Command, PeerMessageKind.Command, new PeerCommand(PeerCommandKind.RequestRelease, id, sync));
            return id;
        }

        private CommandResult BecomeBackup(bool sync, bool evenIfUnreachable)
        {
            if (State.Role != HaRole.Active)
            {
                return CommandResult.Refused($"become-backup refused: this node is {State.Role}, not Active");
            }

            if (machine.PeerReachable(State, Now))
            {
                string id = $"{State.NodeId}-{Now.Ticks.ToString(CultureInfo.InvariantCulture)}";
                ReleaseTo(id, sync, "operator: become-backup (planned switch)");
                return CommandResult.Done($"planned switch {id}: released; {State.PeerNodeId} promotes on confirmation");
            }

            if (!evenIfUnreachable)
            {
                return CommandResult.Refused("become-backup refused: the peer is unreachable and would not take over (use even-if-unreachable)");
            }

            // Nobody can take over; suspend so this node does not promote itself straight back.
            State = State with { Suspended = true };
            Demote("operator: become-backup even though the peer is unreachable; failover suspended");
            return CommandResult.Done("now Passive with no Active in the pair; failover suspended until resume");
        }

        private CommandResult FailoverNow()
        {
            if (State.Role == HaRole.Active)
            {
                return CommandResult.Refused("failover-now refused: this node is already Active");
            }

            bool reachable = machine.PeerReachable(State, Now);
            if (reachable && State.Peer!.Role == HaRole.Active)
            {
                return CommandResult.Refused("failover-now refused: the Active is reachable");
            }

            if (State.Suspended)
            {
                return CommandResult.Refused("failover-now refused: failover is suspended; resume first");
            }

            if (reachable)
            {
                // The peer answers and is not Active: nothing to fence, nobody serving.
                Promote("operator: failover-now (peer reachable, not Active)", sync: false);
                return CommandResult.Done($"Active (epoch {State.Epoch})");
            }

            State = State with { Takeover = null };
            StartTakeover("operator: failover-now (Active unreachable)", operatorOverride: true);
            return CommandResult.Done(State.Role == HaRole.Active
                ? $"Active (epoch {State.Epoch})"
                : "takeover started: probing/fencing the peer, then promoting");
        }

        private CommandResult FixConflict()
        {
            PeerView? peer = State.Peer;
            if (peer is null || !machine.PeerReachable(State, Now) || !(State.Role == peer.Role && State.Role is HaRole.Active or HaRole.Passive))
            {
                return CommandResult.Refused($"fix-conflict refused: no conflict (this node {State.Role}, peer {peer?.Role.ToString() ?? "unknown"})");
            }

            ResolveConflict(State.Role == HaRole.Active ? "both Active" : "both Passive", "by operator");
            return CommandResult.Done($"resolved: this node is {State.Role}");
        }

        private CommandResult SetSuspended(bool suspended)
        {
            if (State.Suspended == suspended)
            {
                return CommandResult.Done(suspended ? "already suspended" : "not suspended");
            }

            string cause = suspended ? "operator: failover suspended" : "operator: failover resumed";
            State = State with { Suspended = suspended, Takeover = suspended ? null : State.Takeover, PendingReason = null };
            if (suspended && State.Role == HaRole.FailoverPending)
            {
                ChangeRole(HaRole.Passive, cause);
            }
            else
            {
                Effects.Add(new HaEffect.PersistState(State.ToPersisted(cause)));
                Effects.Add(new HaEffect.RecordHistory(new HaTransition(State.Role, State.Role, State.Epoch, cause)));
                PublishState();
            }

            return CommandResult.Done(cause);
        }

        private CommandResult Shutdown(bool reboot)
        {
            string cause = reboot ? "operator: graceful reboot announced" : "operator: graceful shutdown announced";
            State = State with { ShutdownAnnouncedAt = State.ShutdownAnnouncedAt ?? Now };
            Effects.Add(new HaEffect.RecordHistory(new HaTransition(State.Role, State.Role, State.Epoch, cause)));
            PublishState();
            return CommandResult.Done($"{cause}; the peer applies RebootBlackoutWindow={Ms(_s.RebootBlackoutWindow)}");
        }

        private CommandResult CancelShutdown()
        {
            if (!State.ShuttingDown)
            {
                return CommandResult.Refused("cancel-shutdown refused: no graceful shutdown or reboot was announced");
            }

            const string cause = "operator: graceful shutdown cancelled";
            State = State with { ShutdownAnnouncedAt = null };
            Effects.Add(new HaEffect.RecordHistory(new HaTransition(State.Role, State.Role, State.Epoch, cause)));
            PublishState();
            return CommandResult.Done($"{cause}; the peer's RebootBlackoutWindow no longer applies");
        }

        private void PublishState() => Publish(PeerChannel.State, PeerMessageKind.State);

        private void Publish(PeerChannel channel, PeerMessageKind kind, PeerCommand? command = null) =>
            Effects.Add(new HaEffect.Publish(channel, new OutgoingMessage(
                kind, State.Role, State.Epoch, State.HoldsSharedIp, State.Suspended, State.ShuttingDown, State.PairedAt, command)));

        /// <summary>FailoverNow → "failover-now", as the CLI spells it.</summary>
        private static string Verb(OperatorCommand command) =>
            string.Concat(command.GetType().Name.Select((c, i) => char.IsUpper(c) && i > 0 ? $"-{char.ToLowerInvariant(c)}" : $"{char.ToLowerInvariant(c)}"));
    }
}
