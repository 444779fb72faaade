using System.Diagnostics;

namespace Appliance.Hw.FrontPanel.Hd44780;

/// <summary>The waits the HD44780 needs between instructions; injected so tests run on a virtual clock.</summary>
public interface IHd44780Delay
{
    void Wait(TimeSpan duration);
}

/// <summary>Real waits: spin for sub-millisecond waits (Thread.Sleep would round 37 µs up to ~1 ms per character), sleep otherwise.</summary>
public sealed class HardwareDelay : IHd44780Delay
{
    public static HardwareDelay Instance { get; } = new();

    public void Wait(TimeSpan duration)
    {
        if (duration >= TimeSpan.FromMilliseconds(2))
        {
            Thread.Sleep(duration + TimeSpan.FromMilliseconds(1));
            return;
        }

        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until)
        {
            Thread.SpinWait(20);
        }
    }
}
