using System.Threading.Channels;
using Appliance.Core.Heartbeat;
using Appliance.Core.Ports;

namespace Appliance.Core.Failover;

/// <summary>The adapters the engine drives; the host implements them (see each interface).</summary>
public sealed record HaPorts(
    IHaStateStore Store,
    IPeerLink Link,
    IPeerFencer Fencer,
    ISharedAddress SharedAddress,
    IManagedServices Services,
    IConnectivityProbe Probe,
    IHaEvents Events,
    IDataMirror? Mirror = null);

/// <summary>
/// Runs <see cref="HaMachine"/>: one async loop over a bounded channel of inputs, TimeProvider-driven
/// wake-ups, effects executed in <see cref="HaEffect.Order"/> through <see cref="HaPorts"/>.
/// Long operations (fencing, probes, sync pull) run beside the loop and come back as inputs, so
/// heartbeats never stall behind a 60 s fence. The engine does not own (dispose) the ports.
/// </summary>
public sealed class FailoverEngine : IAsyncDisposable
{
    /// <summary>Bounded: operator calls and peer frames wait rather than grow memory.</summary>
    private const int InputCapacity = 256;

    private HaMachine _machine;
    private readonly HaPorts _ports;
    private readonly TimeProvider _time;
    private readonly Func<string> _health;
    private readonly long _origin;
    private readonly Channel<Work> _inputs = Channel.CreateBounded<Work>(
        new BoundedChannelOptions(InputCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>
    /// Frames waiting for the link, in the order the machine decided them. The loop never awaits the
    /// network: a frozen broker could hold a publish for the link's OperationTimeout, and the peer
    /// deadline must not wait behind it. Bounded; when full the oldest frame (a stale heartbeat) goes.
    /// </summary>
    private readonly Channel<(PeerChannel Channel, byte[] Frame)> _outbox = Channel.CreateBounded<(PeerChannel, byte[])>(
        new BoundedChannelOptions(OutboxCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });

    private const int OutboxCapacity = 64;
    private readonly CancellationTokenSource _stop = new();
    private readonly string _bootId;
    private HeartbeatCodec? _codec;
    private HaState _state;
    private HaSnapshot _snapshot;
    /// <summary>Events come on every path (each with its own replay window): recorded on first sighting only.</summary>
    private readonly RecentSet<(string Boot, long Sequence)> _peerEventsSeen = new(capacity: 128);
    private long _sequence;
    private long _generation;

    /// <summary>Will generation of each connected path, announced in every message (loop-owned).</summary>
    private readonly Dictionary<string, long> _connections = [];
    private long[]? _liveGenerations;
    private long _iterations;
    private long _waitingUntilTicks = long.MinValue;
    private bool _inSlowStep;
    private long _lastTurnTicks;

    /// <summary>What heartbeats say while the decision being applied moves the IP or services (see HeartbeatingAsync).</summary>
    private HaState _announcedWhileActing;

    /// <summary>Timers take at most about 49 days; a later wake is re-armed when this one fires.</summary>
    private static readonly TimeSpan MaxTimerDue = TimeSpan.FromDays(30);

    /// <summary>
    /// Added to every wait. System timers count whole milliseconds (a due time is truncated) on a coarse clock
    /// (4 ms on a HZ=250 Linux kernel), so a timer armed for exactly the remaining time often fired up to 4 ms early;
    /// the loop then found nothing due and re-armed for the rest, several times per wake — at 10 Hz a third of the
    /// loop's iterations and their timer-thread round trips. Waking this much late costs nothing the settings can
    /// express (the shortest PartnerFailoverTimeout is 300 ms).
    /// </summary>
    private static readonly TimeSpan TimerSlack = TimeSpan.FromMilliseconds(5);
    private ITimer? _wakeTimer;
    private long _armedWakeTicks = long.MinValue;
    private int _pumping;
    private Task _loop = Task.CompletedTask;
    private Task _pump = Task.CompletedTask;
    private Task _sender = Task.CompletedTask;

    public FailoverEngine(string nodeId, HaSettings settings, HaPorts ports, TimeProvider time, Func<string>? healthSummary = null)
    {
        if (!NodeIds.IsValid(nodeId))
        {
            throw new ArgumentException($"NodeId='{nodeId}' is invalid: allowed {NodeIds.Rule}", nameof(nodeId));
        }

        _machine = new HaMachine(settings);
        _ports = ports;
        _time = time;
        _health = healthSummary ?? (() => "ok");
        _origin = time.GetTimestamp();
        _bootId = Guid.NewGuid().ToString("N");
        _state = HaState.Initial(nodeId);
        _announcedWhileActing = _state;
        _snapshot = BuildSnapshot();
    }

    /// <summary>Latest view; replaced atomically after every decision.</summary>
    public HaSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>Rejected peer frames per reason (bad signature, replay, age …).</summary>
    public IReadOnlyDictionary<RejectReason, long> Rejections =>
        _codec?.RejectionCounts ?? Enum.GetValues<RejectReason>().ToDictionary(r => r, _ => 0L);

    /// <summary>
    /// The loop is parked on its timer with nothing queued: lets tests on a FakeTimeProvider advance
    /// virtual time only once every earlier step has been processed.
    /// </summary>
    internal bool IsIdle =>
        Monotonic.Ticks < Volatile.Read(ref _waitingUntilTicks)
        && (_inputs.Reader.Count == 0 || Volatile.Read(ref _inSlowStep)) // queued frames wait for the step anyway
        && Volatile.Read(ref _pumping) == 0;

    /// <summary>
    /// How long the loop has been overdue: neither parked until a time still to come (its timer, or the next
    /// heartbeat of a slow step) nor turning. A loop blocked on something that never returns, or starved of CPU,
    /// grows this; an idle one at a 130 s heartbeat does not. Zero before the loop runs.
    /// </summary>
    public TimeSpan LoopOverdue
    {
        get
        {
            long lastTurn = Volatile.Read(ref _lastTurnTicks);
            long waitingUntil = Volatile.Read(ref _waitingUntilTicks);
            long now = Monotonic.Ticks;
            return lastTurn == 0 || now < waitingUntil ? TimeSpan.Zero : TimeSpan.FromTicks(now - Math.Max(lastTurn, waitingUntil));
        }
    }

    /// <summary>Faults if the loop dies; the host should treat that as fatal (watchdog stops being fed).</summary>
    public Task Completion => _loop;

    /// <summary>Loads the persisted state and keys, connects the peer link and starts the loop.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        HaPersistedState persisted = await _ports.Store.LoadAsync(cancellationToken);
        persisted.AssertValid();
        if (await _ports.Store.LoadKeysAsync(cancellationToken) is { } keys)
        {
            _codec = NewCodec(keys, persisted.PeerNodeId);
        }

        await _ports.Link.StartAsync(BuildWill, cancellationToken);
        await _inputs.Writer.WriteAsync(new Work(new HaInput.Start(persisted)), cancellationToken);
        _loop = Task.Run(() => RunLoopAsync(_stop.Token), CancellationToken.None);
        _pump = Task.Run(() => PumpFramesAsync(_stop.Token), CancellationToken.None);
        _sender = Task.Run(() => SendFramesAsync(_stop.Token), CancellationToken.None);
    }

    /// <summary>Queues an operator command and waits for the machine's answer (ok, or a refusal saying why).</summary>
    public async Task<CommandResult> ExecuteAsync(OperatorCommand command, CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<CommandResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _inputs.Writer.WriteAsync(new Work(new HaInput.OperatorInput(command), Reply: reply), cancellationToken);
        return await reply.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Announces an event on the pair's …/events topic (signed like every message; never a secret).
    /// Goes through the loop so sequence numbers stay in send order. Dropped, not queued, when unpaired.
    /// </summary>
    public void PublishEvent(string kind, string message) =>
        _inputs.Writer.TryWrite(new Work(null, Event: new PeerEvent(kind, message)));

    /// <summary>
    /// Applies new settings from the next decision on, in the running loop: no link rebuild, no will, no
    /// restart — so changing a timeout on the Active never looks like a loss to the peer.
    /// </summary>
    public async Task ApplySettingsAsync(HaSettings settings, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<CommandResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _inputs.Writer.WriteAsync(new Work(null, Settings: settings, Reply: done), cancellationToken);
        await done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The link adapter reports a path's connection (of will <paramref name="generation"/>) going up or down.</summary>
    public ValueTask ReportPathAsync(string path, bool up, long generation, CancellationToken cancellationToken) =>
        _inputs.Writer.WriteAsync(new Work(new HaInput.PathChanged(path, up, generation)), cancellationToken);

    /// <summary>Key rotation: sign with <paramref name="next"/> now; the old key stays accepted for KeyOverlap.</summary>
    public async Task RotateKeyAsync(PairKey next, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<CommandResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _inputs.Writer.WriteAsync(new Work(null, Rotate: next, Reply: done), cancellationToken);
        CommandResult result = await done.Task.WaitAsync(cancellationToken);
        if (!result.Ok)
        {
            throw new InvalidOperationException(result.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _inputs.Writer.TryComplete();
        try
        {
            _outbox.Writer.TryComplete();
            await Task.WhenAll(_loop, _pump, _sender);
        }
        catch (OperationCanceledException)
        {
            // Normal shutdown.
        }

        if (_wakeTimer is not null)
        {
            await _wakeTimer.DisposeAsync();
        }

        _stop.Dispose();
    }

    private TimeSpan Monotonic => _time.GetElapsedTime(_origin);

    private HaClock Now => new(Monotonic, _time.GetUtcNow());

    private async Task PumpFramesAsync(CancellationToken cancellationToken)
    {
        ChannelReader<PeerFrame> incoming = _ports.Link.Incoming;
        while (await incoming.WaitToReadAsync(cancellationToken))
        {
            Interlocked.Increment(ref _pumping);
            try
            {
                while (incoming.TryRead(out PeerFrame? frame))
                {
                    await _inputs.Writer.WriteAsync(new Work(null, Frame: frame), cancellationToken);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _pumping);
            }
        }
    }

    private async Task RunLoopAsync(CancellationToken cancellationToken)
    {
        ChannelReader<Work> reader = _inputs.Reader;
        Volatile.Write(ref _lastTurnTicks, Monotonic.Ticks);
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan now = Monotonic;
            Work? work = await NextAsync(reader, _machine.NextWakeAt(_state, now), now, cancellationToken);
            if (work is { Rotate: { } next })
            {
                await RotateAsync(next, work.Value.Reply!, cancellationToken);
            }
            else if (work is { Settings: { } settings })
            {
                // Ours go out at once on the new interval; the machine covers a peer still on its old one.
                _machine = _machine.Reconfigure(settings, Monotonic);
                _state = _state with { NextHeartbeatAt = Monotonic };
                _codec?.SetAgeLimits(settings.MaxMessageAge, settings.MaxFutureSkew);
                work.Value.Reply!.TrySetResult(CommandResult.Done("settings applied"));
            }
            else if (work is { Event: { } peerEvent })
            {
                EnqueueEvent(peerEvent);
            }
            else if (ToInput(work) is { } input && IsCurrent(input))
            {
                await ApplyAsync(input, work?.Reply, cancellationToken);
            }

            Interlocked.Increment(ref _iterations);
            Volatile.Write(ref _lastTurnTicks, Monotonic.Ticks);
            Volatile.Write(ref _snapshot, BuildSnapshot());
        }
    }

    /// <summary>
    /// The next input, or null (a tick) once <paramref name="wakeAt"/> has come. One timer serves every wait and is
    /// re-armed only when the wake time moves: a fresh timer and linked token per wait woke the timer thread on
    /// every frame, a measurable share of the CPU at 10 Hz. The timer's tick is queued like any input.
    /// </summary>
    private async Task<Work?> NextAsync(ChannelReader<Work> reader, TimeSpan wakeAt, TimeSpan now, CancellationToken cancellationToken)
    {
        if (reader.TryRead(out Work ready))
        {
            return ready;
        }

        if (wakeAt <= now)
        {
            return null;
        }

        ArmWakeTimer(wakeAt, now);
        Volatile.Write(ref _waitingUntilTicks, wakeAt == TimeSpan.MaxValue ? long.MaxValue : (wakeAt + TimerSlack).Ticks); // it fires no earlier
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                if (reader.TryRead(out Work item))
                {
                    return item;
                }
            }

            return null;
        }
        finally
        {
            Volatile.Write(ref _waitingUntilTicks, long.MinValue);
        }
    }

    private void ArmWakeTimer(TimeSpan wakeAt, TimeSpan now)
    {
        if (wakeAt.Ticks == Volatile.Read(ref _armedWakeTicks))
        {
            return; // still set for this time (the usual case when a frame ends the wait)
        }

        _wakeTimer ??= _time.CreateTimer(static engine => ((FailoverEngine)engine!).OnWakeTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        TimeSpan due = wakeAt == TimeSpan.MaxValue
            ? Timeout.InfiniteTimeSpan
            : TimeSpan.FromMilliseconds(Math.Ceiling(TimeSpan.FromTicks(Math.Min((wakeAt - now).Ticks, MaxTimerDue.Ticks)).TotalMilliseconds)) + TimerSlack;
        Volatile.Write(ref _armedWakeTicks, wakeAt.Ticks);
        _wakeTimer.Change(due, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Disarms first: a timer may fire a little before the monotonic clock reaches the wake time, and the loop must
    /// then arm it again for the same time. A tick that finds the queue full is not needed (the loop is busy).
    /// </summary>
    private void OnWakeTimer()
    {
        Volatile.Write(ref _armedWakeTicks, long.MinValue);
        _inputs.Writer.TryWrite(new Work(new HaInput.Tick()));
    }

    private HaInput? ToInput(Work? work)
    {
        if (work is not { } item)
        {
            return new HaInput.Tick();
        }

        if (item.Frame is not { } frame)
        {
            return item.Input;
        }

        if (_codec is null)
        {
            return null; // unpaired: nothing can be verified
        }

        DecodeResult decoded = _codec.Decode(frame.Payload.Span, frame.PathName, _time.GetUtcNow());
        if (decoded.Message is not { } message)
        {
            return null;
        }

        if (message is { Kind: PeerMessageKind.Event, Event: { } peerEvent } && _peerEventsSeen.FirstSighting((message.BootId, message.Sequence)))
        {
            RecordPeerEvent(message.NodeId, peerEvent.Bounded());
        }

        return new HaInput.PeerMessageReceived(message, frame.PathName);
    }

    private void RecordPeerEvent(string peerNodeId, PeerEvent peerEvent)
    {
        try
        {
            _ports.Events.RecordPeerEvent(peerNodeId, peerEvent, _time.GetUtcNow());
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The peer's event is information, not a decision: losing it must not stop the loop.
            _ports.Events.Notify(HaEventKind.TakeoverBlocked, $"peer event not recorded: {ex.GetType().Name}: {ex.Message}", _time.GetUtcNow());
        }
    }

    /// <summary>
    /// Tracks which connection each path has; a loss report about a connection the path has already
    /// replaced (MQTTnet raises it late, on its own thread) is dropped, so it cannot mark a live path down.
    /// </summary>
    private bool IsCurrent(HaInput input)
    {
        if (input is not HaInput.PathChanged { Generation: > 0 } change)
        {
            return true;
        }

        if (change.Up)
        {
            _connections[change.Path] = change.Generation;
        }
        else if (_connections.TryGetValue(change.Path, out long current) && current > change.Generation)
        {
            return false;
        }
        else
        {
            _connections.Remove(change.Path);
        }

        _liveGenerations = _connections.Count == 0 ? null : [.. _connections.Values.Order()];
        return true;
    }

    private async Task ApplyAsync(HaInput input, TaskCompletionSource<CommandResult>? reply, CancellationToken cancellationToken)
    {
        HaClock now = Now;
        Decision decision = _machine.Decide(_state, input, now);
        try
        {
            if (input is HaInput.OperatorInput { Command: OperatorCommand.Establish establish }
                && decision.Effects.OfType<HaEffect.Reply>().Any(r => r.Result.Ok))
            {
                // The key must be in place before the first signed state message goes out.
                var keys = new PairKeyRing(establish.Key);
                await _ports.Store.SaveKeysAsync(keys, cancellationToken);
                _codec = NewCodec(keys, establish.PeerNodeId);
            }

            foreach (HaEffect.PersistState persist in decision.Effects.OfType<HaEffect.PersistState>())
            {
                persist.State.AssertValid();
                await _ports.Store.SaveAsync(persist.State, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Not durable: nothing else of this decision may act and the old state stands; the
            // next tick re-decides from it.
            _ports.Events.Notify(HaEventKind.TakeoverBlocked, $"decision not applied: {ex.GetType().Name}: {ex.Message}", now.Wall);
            reply?.TrySetResult(CommandResult.Refused($"refused: state could not be saved ({ex.Message})"));
            return;
        }

        // A demotion is not announced before its services are down; a promotion is, once persisted.
        _announcedWhileActing = _state.Role == HaRole.Active && decision.State.Role != HaRole.Active ? _state : decision.State;
        _state = decision.State;
        var published = false;
        foreach (HaEffect effect in decision.Effects.Where(e => e is not HaEffect.PersistState))
        {
            if (!published && effect.Order >= ReportableOrder)
            {
                // The role is real once persisted and the IP and services have moved: report it now,
                // not after the history and notifications behind it (each a durable write).
                Volatile.Write(ref _snapshot, BuildSnapshot());
                published = true;
            }

            await ExecuteAsync(effect, reply, now, cancellationToken);
        }
    }

    /// <summary>Effects from here on (probes, history, publish, notify, reply) don't change what the node is.</summary>
    private static readonly int ReportableOrder = new HaEffect.RunConnectivityProbes().Order;

    private async Task ExecuteAsync(HaEffect effect, TaskCompletionSource<CommandResult>? reply, HaClock now, CancellationToken cancellationToken)
    {
        switch (effect)
        {
            case HaEffect.FencePeer:
                RunBeside(async ct => new HaInput.FenceCompleted(await _ports.Fencer.FenceAsync(ct)),
                    ex => new HaInput.FenceCompleted(new FenceResult(FenceOutcome.Failed, $"fencer threw {ex.GetType().Name}", TimeSpan.Zero)));
                break;
            case HaEffect.SyncPull when _ports.Mirror is { } mirror:
                RunBeside(async ct => new HaInput.SyncCompleted(true, await mirror.PullAsync(ct)),
                    ex => new HaInput.SyncCompleted(false, $"{ex.GetType().Name}: {ex.Message}"));
                break;
            case HaEffect.SyncPull:
                await _inputs.Writer.WriteAsync(new Work(new HaInput.SyncCompleted(true, "no data mirror configured")), cancellationToken);
                break;
            case HaEffect.ReleaseSharedIp:
                await Survive("release shared IP", now, () => HeartbeatingAsync(() => _ports.SharedAddress.ReleaseAsync(cancellationToken), cancellationToken));
                break;
            case HaEffect.TakeSharedIp:
                await Survive("take shared IP", now, () => HeartbeatingAsync(() => _ports.SharedAddress.TakeAsync(cancellationToken), cancellationToken));
                break;
            case HaEffect.StopServices:
                await Survive("stop services", now, () => HeartbeatingAsync(async () =>
                {
                    await _ports.Services.StopAsync(cancellationToken);
                    if (!await _ports.Services.VerifyStoppedAsync(cancellationToken))
                    {
                        throw new InvalidOperationException("a managed service is still running after stop");
                    }
                }, cancellationToken));
                break;
            case HaEffect.StartServices:
                await Survive("start services", now, () => HeartbeatingAsync(() => _ports.Services.StartAsync(cancellationToken), cancellationToken));
                break;
            case HaEffect.RunConnectivityProbes:
                IReadOnlyList<ConnectivityTarget> targets = _machine.Settings.ParsedTargets();
                RunBeside(async ct =>
                {
                    bool[] reached = await Task.WhenAll(targets.Select(t => ProbeAsync(t, ct)));
                    return new HaInput.ProbesCompleted(reached.Count(r => r), targets.Count);
                }, _ => new HaInput.ProbesCompleted(0, targets.Count));
                break;
            case HaEffect.RecordHistory history:
                await Survive("record history", now, () =>
                {
                    _ports.Events.Record(history.Transition, now.Wall);
                    return Task.CompletedTask;
                });
                break;
            case HaEffect.Publish publish when _codec is not null:
                // Encoded here, so sequence numbers follow the machine's order; sent beside the loop.
                _outbox.Writer.TryWrite((publish.Channel, _codec.Encode(ToMessage(publish.Message, now.Wall))));
                break;
            case HaEffect.Notify notify:
                _ports.Events.Notify(notify.Kind, notify.Message, now.Wall);
                EnqueueEvent(new PeerEvent(notify.Kind.ToString(), notify.Message));
                break;
            case HaEffect.Reply answer:
                reply?.TrySetResult(answer.Result);
                break;
            default:
                break;
        }
    }

    private async Task<bool> ProbeAsync(ConnectivityTarget target, CancellationToken cancellationToken)
    {
        try
        {
            return await _ports.Probe.ReachesAsync(target, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>An effect that failed is announced, not fatal: the role decision stands (it is persisted).</summary>
    private void EnqueueEvent(PeerEvent peerEvent)
    {
        if (_codec is null || _state.Role == HaRole.Off)
        {
            return; // unpaired: there is no pair to tell, and nothing to sign with
        }

        _outbox.Writer.TryWrite((PeerChannel.Events, _codec.Encode(ToMessage(Draft(PeerMessageKind.Event, _state), _time.GetUtcNow()) with { Event = peerEvent })));
    }

    private static OutgoingMessage Draft(PeerMessageKind kind, HaState s) =>
        new(kind, s.Role, s.Epoch, s.HoldsSharedIp, s.Suspended, s.ShuttingDown, s.PairedAt);

    /// <summary>
    /// Runs a step that can take long (a unit may take its whole start timeout) while heartbeats keep going out on
    /// the usual interval: the loop is busy, and a silence longer than PartnerFailoverTimeout would make the peer
    /// promote beside this node. They announce <see cref="_announcedWhileActing"/>. Frames that arrive meanwhile
    /// wait in the input queue.
    /// </summary>
    private async Task HeartbeatingAsync(Func<Task> step, CancellationToken cancellationToken)
    {
        Task work = step();
        if (work.IsCompleted || _codec is null || _announcedWhileActing.Role == HaRole.Off)
        {
            await work;
            return;
        }

        using var stopDelay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Volatile.Write(ref _inSlowStep, true);
        try
        {
            while (true)
            {
                TimeSpan interval = _machine.Settings.HeartbeatInterval;
                Task delay = Task.Delay(interval, _time, stopDelay.Token);
                Volatile.Write(ref _waitingUntilTicks, (Monotonic + interval).Ticks);
                if (await Task.WhenAny(work, delay) == work)
                {
                    break;
                }

                Volatile.Write(ref _waitingUntilTicks, long.MinValue);
                await delay; // rethrows a cancellation of the engine
                _outbox.Writer.TryWrite((PeerChannel.Heartbeat, _codec.Encode(ToMessage(Draft(PeerMessageKind.Heartbeat, _announcedWhileActing), _time.GetUtcNow()))));
            }
        }
        finally
        {
            Volatile.Write(ref _waitingUntilTicks, long.MinValue);
            Volatile.Write(ref _inSlowStep, false);
            await stopDelay.CancelAsync();
        }

        await work;
    }

    private async Task SendFramesAsync(CancellationToken cancellationToken)
    {
        await foreach ((PeerChannel channel, byte[] frame) in _outbox.Reader.ReadAllAsync(cancellationToken))
        {
            await Survive("publish", Now, () => _ports.Link.PublishAsync(channel, frame, cancellationToken).AsTask());
        }
    }

    private async Task Survive(string what, HaClock now, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _ports.Events.Notify(HaEventKind.TakeoverBlocked, $"{what} failed: {ex.GetType().Name}: {ex.Message}", now.Wall);
        }
    }

    private void RunBeside(Func<CancellationToken, Task<HaInput>> operation, Func<Exception, HaInput> onError)
    {
        CancellationToken token = _stop.Token;
        _ = Task.Run(async () =>
        {
            HaInput result;
            try
            {
                result = await operation(token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                result = onError(ex);
            }

            try
            {
                await _inputs.Writer.WriteAsync(new Work(result), token);
            }
            catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException)
            {
                // The engine stopped while the operation ran; its result no longer matters.
            }
        }, token);
    }

    private async Task RotateAsync(PairKey next, TaskCompletionSource<CommandResult> done, CancellationToken cancellationToken)
    {
        if (_codec is null)
        {
            done.TrySetResult(CommandResult.Refused("rotate-key refused: this node is not paired"));
            return;
        }

        PairKeyRing rotated = _codec.Keys.Rotate(next, _time.GetUtcNow(), _machine.Settings.KeyOverlap);
        await _ports.Store.SaveKeysAsync(rotated, cancellationToken);
        _codec.Keys = rotated;
        done.TrySetResult(CommandResult.Done($"key {next.Fingerprint} installed; signing switches to it once the peer holds it; the previous key stays accepted for {HaSettings.Show(_machine.Settings.KeyOverlap)}"));
    }

    private HeartbeatCodec NewCodec(PairKeyRing keys, string? peer) =>
        new(_state.NodeId, keys, _machine.Settings.MaxMessageAge, _machine.Settings.MaxFutureSkew) { ExpectedPeer = peer };

    private PeerMessage ToMessage(OutgoingMessage draft, DateTimeOffset wall) => PeerTiming.Of(_machine.Settings).AnnouncedIn(new PeerMessage
    {
        NodeId = _state.NodeId,
        BootId = _bootId,
        Sequence = Interlocked.Increment(ref _sequence),
        SentAt = wall,
        Kind = draft.Kind,
        Role = draft.Role,
        Epoch = draft.Epoch,
        HoldsSharedIp = draft.HoldsSharedIp,
        Health = PeerMessage.CutHealth(_health()),
        MirrorPosition = _ports.Mirror?.Position ?? 0,
        ConnectionGeneration = Interlocked.Read(ref _generation),
        LiveGenerations = _liveGenerations,
        Suspended = draft.Suspended,
        GoingDown = draft.GoingDown,
        PairedAt = draft.PairedAt,
        Command = draft.Command,
    });

    /// <summary>Called by the link on each connect: the signed offline will for that connection generation.</summary>
    private ReadOnlyMemory<byte> BuildWill(long generation)
    {
        long seen;
        do
        {
            seen = Interlocked.Read(ref _generation);
        }
        while (generation > seen && Interlocked.CompareExchange(ref _generation, generation, seen) != seen);

        HaState state = _state;
        HeartbeatCodec? codec = _codec;
        return codec is null
            ? ReadOnlyMemory<byte>.Empty
            : codec.Encode(PeerTiming.Of(_machine.Settings).AnnouncedIn(new PeerMessage
            {
                NodeId = state.NodeId,
                BootId = _bootId,
                Sequence = 0,
                SentAt = _time.GetUtcNow(),
                Kind = PeerMessageKind.OfflineWill,
                Role = state.Role,
                Epoch = state.Epoch,
                ConnectionGeneration = generation,
                PairedAt = state.PairedAt,
            }));
    }

    private HaSnapshot BuildSnapshot()
    {
        HaState state = _state;
        TimeSpan now = Monotonic;
        return new HaSnapshot(
            state.Role,
            state.Epoch,
            state.Role != HaRole.Off,
            state.PeerNodeId,
            _machine.PeerReachable(state, now),
            state.Peer?.Role,
            state.Peer?.Epoch,
            state.Peer?.LastHeardWall,
            state.Conflict,
            state.Suspended || state.Peer?.Suspended == true,
            state.PendingReason,
            state.PathsUpSorted,
            Interlocked.Read(ref _iterations),
            _ports.Mirror?.Position,
            state.Peer?.MirrorPosition,
            state.Peer?.Timing,
            state.Peer?.Health,
            state.ShuttingDown,
            state.Peer?.GoingDownAt is not null);
    }

    private readonly record struct Work(
        HaInput? Input,
        PeerFrame? Frame = null,
        PairKey? Rotate = null,
        TaskCompletionSource<CommandResult>? Reply = null,
        PeerEvent? Event = null,
        HaSettings? Settings = null);
}
