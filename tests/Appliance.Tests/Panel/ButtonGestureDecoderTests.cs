using Appliance.Core.Panel;
using Appliance.Tests.FrontPanel;
using Microsoft.Extensions.Time.Testing;

namespace Appliance.Tests.Panel;

public class ButtonGestureDecoderTests
{
    /// <summary>A clock whose timers never fire: the worst case of a starved thread pool.</summary>
    private sealed class StalledTimers(FakeTimeProvider clock) : TimeProvider
    {
        public override long GetTimestamp() => clock.GetTimestamp();

        public override long TimestampFrequency => clock.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new NeverTimer();

        private sealed class NeverTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>Timers that fire 2 ms early, as System.Threading.Timer's coarse tick can against Stopwatch timestamps.</summary>
    private sealed class EarlyTimers(FakeTimeProvider clock) : TimeProvider
    {
        private static readonly TimeSpan Early = TimeSpan.FromMilliseconds(2);

        public override long GetTimestamp() => clock.GetTimestamp();

        public override long TimestampFrequency => clock.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            new EarlyTimer(clock.CreateTimer(callback, state, Adjust(dueTime), period));

        private static TimeSpan Adjust(TimeSpan due) => due > Early ? due - Early : due;

        private sealed class EarlyTimer(ITimer inner) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(Adjust(dueTime), period);

            public void Dispose() => inner.Dispose();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    [Fact]
    public void Timers_that_fire_early_neither_lose_nor_shorten_anything()
    {
        var clock = new FakeTimeProvider();
        var sink = new RecordingGestureSink();
        using var decoder = new ButtonGestureDecoder(sink, ButtonTiming.Default, new EarlyTimers(clock));

        decoder.OnLevel(PanelKey.Down, true);
        clock.Elapse(TimeSpan.FromMilliseconds(60));
        decoder.OnLevel(PanelKey.Down, false);
        clock.Elapse(TimeSpan.FromMilliseconds(60));
        Assert.Equal([PanelGesture.Press(PanelKey.Down)], sink.Gestures);

        decoder.OnLevel(PanelKey.Check, true);
        clock.Elapse(TimeSpan.FromMilliseconds(1999));
        Assert.Single(sink.Gestures);
        clock.Elapse(TimeSpan.FromMilliseconds(2));
        Assert.Equal([PanelGesture.Press(PanelKey.Down), PanelGesture.Hold(PanelKey.Check)], sink.Gestures);
    }

    [Fact]
    public void Presses_and_holds_are_decided_from_edge_times_even_when_timers_never_run()
    {
        var clock = new FakeTimeProvider();
        var sink = new RecordingGestureSink();
        using var decoder = new ButtonGestureDecoder(sink, ButtonTiming.Default, new StalledTimers(clock));

        decoder.OnLevel(PanelKey.Down, true);
        clock.Advance(TimeSpan.FromMilliseconds(60));
        decoder.OnLevel(PanelKey.Down, false);
        clock.Advance(TimeSpan.FromMilliseconds(60));
        decoder.OnLevel(PanelKey.Check, true);
        clock.Advance(TimeSpan.FromMilliseconds(2500));
        decoder.OnLevel(PanelKey.Check, false);
        clock.Advance(TimeSpan.FromMilliseconds(60));
        decoder.OnLevel(PanelKey.Down, true);

        // Each key's last level settles at that key's next edge: Down's release now, Check's release below.
        Assert.Equal([PanelGesture.Press(PanelKey.Down)], sink.Gestures);
        decoder.OnLevel(PanelKey.Check, true);
        Assert.Equal([PanelGesture.Press(PanelKey.Down), PanelGesture.Hold(PanelKey.Check)], sink.Gestures);
    }

    [Fact]
    public void A_late_debounce_callback_still_measures_the_hold_from_the_edge()
    {
        var clock = new FakeTimeProvider();
        var sink = new RecordingGestureSink();
        using var decoder = new ButtonGestureDecoder(sink, ButtonTiming.Default, clock);

        decoder.OnLevel(PanelKey.Up, true);
        decoder.OnLevel(PanelKey.Down, true);

        // One jump: every callback runs late, at 2.5 s.
        clock.Advance(TimeSpan.FromMilliseconds(2500));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([PanelGesture.UpDownChord], sink.Gestures);

        decoder.OnLevel(PanelKey.Up, false);
        decoder.OnLevel(PanelKey.Down, false);
        clock.Elapse(TimeSpan.FromMilliseconds(100));
        Assert.Equal([PanelGesture.UpDownChord], sink.Gestures);
    }

    [Fact]
    public void Zero_debounce_commits_every_edge_at_once()
    {
        var clock = new FakeTimeProvider();
        var sink = new RecordingGestureSink();
        using var decoder = new ButtonGestureDecoder(sink, new ButtonTiming(TimeSpan.Zero, TimeSpan.FromSeconds(2)), clock);

        decoder.OnLevel(PanelKey.Back, true);
        decoder.OnLevel(PanelKey.Back, false);

        Assert.Equal([PanelGesture.Press(PanelKey.Back)], sink.Gestures);
    }
}
