namespace Appliance.Core.Panel;

/// <summary>Debounce and hold timing for the buttons.</summary>
/// <param name="Debounce">A level must be stable this long before it counts (mechanical bounce trains last a few ms).</param>
/// <param name="Hold">Held this long, a key (or the Up+Down chord) fires a hold instead of a press.</param>
public sealed record ButtonTiming(TimeSpan Debounce, TimeSpan Hold)
{
    public static ButtonTiming Default { get; } = new(TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(2));
}

/// <summary>
/// Turns raw button levels into gestures: debounce (a level counts once it has been stable for
/// <see cref="ButtonTiming.Debounce"/>), press on release, hold while held, and the Up+Down chord.
/// Keys taking part in a chord never also produce presses. Thread-safe: GPIO callbacks arrive on driver threads.
/// Decisions use edge timestamps, and timers only end the waits: a late timer callback (a busy thread pool) can
/// delay a gesture but never lose or misclassify one — the next edge settles the previous level from its timestamps.
/// </summary>
public sealed class ButtonGestureDecoder : IButtonLevelSink, IDisposable
{
    private readonly Lock _gate = new();
    private readonly IPanelGestureSink _sink;
    private readonly ButtonTiming _timing;
    private readonly TimeProvider _time;
    private readonly KeyState[] _keys;
    private readonly ITimer _chordTimer;
    private bool _chordActive;
    private bool _chordFired;
    private long _chordSince;
    private bool _disposed;

    public ButtonGestureDecoder(IPanelGestureSink sink, ButtonTiming timing, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(timing);
        ArgumentNullException.ThrowIfNull(time);
        _sink = sink;
        _timing = timing;
        _time = time;
        _keys = new KeyState[Enum.GetValues<PanelKey>().Length];
        for (var i = 0; i < _keys.Length; i++)
        {
            var key = (PanelKey)i;
            _keys[i] = new KeyState(
                time.CreateTimer(_ => OnDebounceElapsed(key), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan),
                time.CreateTimer(_ => OnHoldElapsed(key), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        }

        _chordTimer = time.CreateTimer(_ => OnChordElapsed(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public void OnLevel(PanelKey key, bool pressed)
    {
        PanelGesture? settled = null;
        PanelGesture? immediate = null;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var state = _keys[(int)key];
            var now = _time.GetTimestamp();

            // The level before this edge may have been stable long enough although its timer has not run yet.
            if (state.Raw != state.Stable && _time.GetElapsedTime(state.LastEdge, now) >= _timing.Debounce)
            {
                settled = CommitLocked(key, now);
            }

            state.Raw = pressed;
            state.LastEdge = now;
            if (_timing.Debounce <= TimeSpan.Zero)
            {
                immediate = CommitLocked(key, now);
            }
            else
            {
                // Every edge restarts the window: only a level that stops bouncing is committed.
                state.DebounceTimer.Change(_timing.Debounce, Timeout.InfiniteTimeSpan);
            }
        }

        Emit(settled);
        Emit(immediate);
    }

    private void OnDebounceElapsed(PanelKey key)
    {
        PanelGesture? gesture = null;
        lock (_gate)
        {
            var state = _keys[(int)key];
            var now = _time.GetTimestamp();

            if (_disposed)
            {
                return;
            }

            // Timers run on a coarser clock than timestamps and may fire a little early: wait out the rest.
            var left = _timing.Debounce - _time.GetElapsedTime(state.LastEdge, now);
            if (left > TimeSpan.Zero)
            {
                state.DebounceTimer.Change(left, Timeout.InfiniteTimeSpan);
            }
            else
            {
                gesture = CommitLocked(key, now);
            }
        }

        Emit(gesture);
    }

    private PanelGesture? CommitLocked(PanelKey key, long now)
    {
        var state = _keys[(int)key];
        if (state.Raw == state.Stable)
        {
            return null;
        }

        state.Stable = state.Raw;
        return state.Stable ? KeyDownLocked(key, state, now) : KeyUpLocked(key, state, now);
    }

    private PanelGesture? KeyDownLocked(PanelKey key, KeyState state, long now)
    {
        // Hold time counts from the edge that started the settled level, not from the (possibly late) commit.
        state.PressedAt = state.LastEdge;
        state.HoldFired = false;
        if (IsChordKey(key) && _keys[(int)Partner(key)].Stable)
        {
            // Second chord key down: the chord replaces both single-key holds and presses.
            _chordActive = true;
            _chordFired = false;
            _chordSince = state.PressedAt;
            _keys[(int)PanelKey.Up].HoldTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _keys[(int)PanelKey.Down].HoldTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _chordTimer.Change(Remaining(_chordSince, now), Timeout.InfiniteTimeSpan);
            return null;
        }

        state.HoldTimer.Change(Remaining(state.PressedAt, now), Timeout.InfiniteTimeSpan);
        return null;
    }

    private PanelGesture? KeyUpLocked(PanelKey key, KeyState state, long now)
    {
        state.HoldTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        // The release counts from its first edge: that is when the key stopped being held.
        var releasedAt = state.LastEdge;
        if (IsChordKey(key) && _chordActive)
        {
            _chordTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            PanelGesture? lateChord = null;
            if (!_chordFired && _time.GetElapsedTime(_chordSince, releasedAt) >= _timing.Hold)
            {
                _chordFired = true;
                lateChord = PanelGesture.UpDownChord;
            }

            if (!_keys[(int)PanelKey.Up].Stable && !_keys[(int)PanelKey.Down].Stable)
            {
                _chordActive = false;
            }

            return lateChord;
        }

        if (state.HoldFired)
        {
            return null;
        }

        return _time.GetElapsedTime(state.PressedAt, releasedAt) >= _timing.Hold ? PanelGesture.Hold(key) : PanelGesture.Press(key);
    }

    private TimeSpan Remaining(long since, long now)
    {
        var left = _timing.Hold - _time.GetElapsedTime(since, now);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private void OnHoldElapsed(PanelKey key)
    {
        PanelGesture? gesture = null;
        lock (_gate)
        {
            var state = _keys[(int)key];
            if (!_disposed && state.Stable && !state.HoldFired && !(IsChordKey(key) && _chordActive))
            {
                var left = Remaining(state.PressedAt, _time.GetTimestamp());
                if (left > TimeSpan.Zero)
                {
                    state.HoldTimer.Change(left, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    state.HoldFired = true;
                    gesture = PanelGesture.Hold(key);
                }
            }
        }

        Emit(gesture);
    }

    private void OnChordElapsed()
    {
        PanelGesture? gesture = null;
        lock (_gate)
        {
            if (!_disposed && _chordActive && !_chordFired && _keys[(int)PanelKey.Up].Stable && _keys[(int)PanelKey.Down].Stable)
            {
                var left = Remaining(_chordSince, _time.GetTimestamp());
                if (left > TimeSpan.Zero)
                {
                    _chordTimer.Change(left, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    _chordFired = true;
                    gesture = PanelGesture.UpDownChord;
                }
            }
        }

        Emit(gesture);
    }

    private void Emit(PanelGesture? gesture)
    {
        if (gesture is { } g)
        {
            _sink.OnGesture(g);
        }
    }

    private static bool IsChordKey(PanelKey key) => key is PanelKey.Up or PanelKey.Down;

    private static PanelKey Partner(PanelKey key) => key == PanelKey.Up ? PanelKey.Down : PanelKey.Up;

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var state in _keys)
            {
                state.DebounceTimer.Dispose();
                state.HoldTimer.Dispose();
            }

            _chordTimer.Dispose();
        }
    }

    private sealed class KeyState(ITimer debounceTimer, ITimer holdTimer)
    {
        public ITimer DebounceTimer { get; } = debounceTimer;

        public ITimer HoldTimer { get; } = holdTimer;

        public bool Raw { get; set; }

        public bool Stable { get; set; }

        public long LastEdge { get; set; }

        public long PressedAt { get; set; }

        public bool HoldFired { get; set; }
    }
}
