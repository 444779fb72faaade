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
/// </summary>
public sealed class ButtonGestureDecoder : IButtonLevelSink, IDisposable
{
    private readonly Lock _gate = new();
    private readonly IPanelGestureSink _sink;
    private readonly ButtonTiming _timing;
    private readonly KeyState[] _keys;
    private readonly ITimer _chordTimer;
    private bool _chordActive;
    private bool _disposed;

    public ButtonGestureDecoder(IPanelGestureSink sink, ButtonTiming timing, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(timing);
        ArgumentNullException.ThrowIfNull(time);
        _sink = sink;
        _timing = timing;
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
        PanelGesture? gesture = null;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var state = _keys[(int)key];
            state.Raw = pressed;
            if (_timing.Debounce <= TimeSpan.Zero)
            {
                gesture = CommitLocked(key);
            }
            else
            {
                // Every edge restarts the window: only a level that stops bouncing is committed.
                state.DebounceTimer.Change(_timing.Debounce, Timeout.InfiniteTimeSpan);
            }
        }

        Emit(gesture);
    }

    private void OnDebounceElapsed(PanelKey key)
    {
        PanelGesture? gesture;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            gesture = CommitLocked(key);
        }

        Emit(gesture);
    }

    private PanelGesture? CommitLocked(PanelKey key)
    {
        var state = _keys[(int)key];
        if (state.Raw == state.Stable)
        {
            return null;
        }

        state.Stable = state.Raw;
        return state.Stable ? KeyDownLocked(key, state) : KeyUpLocked(key, state);
    }

    private PanelGesture? KeyDownLocked(PanelKey key, KeyState state)
    {
        state.HoldFired = false;
        if (IsChordKey(key) && _keys[(int)Partner(key)].Stable)
        {
            // Second chord key down: the chord replaces both single-key holds and presses.
            _chordActive = true;
            _keys[(int)PanelKey.Up].HoldTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _keys[(int)PanelKey.Down].HoldTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _chordTimer.Change(_timing.Hold, Timeout.InfiniteTimeSpan);
            return null;
        }

        state.HoldTimer.Change(_timing.Hold, Timeout.InfiniteTimeSpan);
        return null;
    }

    private PanelGesture? KeyUpLocked(PanelKey key, KeyState state)
    {
        state.HoldTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (IsChordKey(key) && _chordActive)
        {
            _chordTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            if (!_keys[(int)PanelKey.Up].Stable && !_keys[(int)PanelKey.Down].Stable)
            {
                _chordActive = false;
            }

            return null;
        }

        return state.HoldFired ? null : PanelGesture.Press(key);
    }

    private void OnHoldElapsed(PanelKey key)
    {
        PanelGesture? gesture = null;
        lock (_gate)
        {
            var state = _keys[(int)key];
            if (!_disposed && state.Stable && !state.HoldFired && !(IsChordKey(key) && _chordActive))
            {
                state.HoldFired = true;
                gesture = PanelGesture.Hold(key);
            }
        }

        Emit(gesture);
    }

    private void OnChordElapsed()
    {
        PanelGesture? gesture = null;
        lock (_gate)
        {
            if (!_disposed && _chordActive && _keys[(int)PanelKey.Up].Stable && _keys[(int)PanelKey.Down].Stable)
            {
                gesture = PanelGesture.UpDownChord;
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

        public bool HoldFired { get; set; }
    }
}
