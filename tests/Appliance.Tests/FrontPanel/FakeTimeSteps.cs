using Microsoft.Extensions.Time.Testing;

namespace Appliance.Tests.FrontPanel;

public static class FakeTimeSteps
{
    /// <summary>
    /// FakeTimeProvider.Advance moves the clock first and fires due timers afterwards, so a timer armed inside a
    /// callback would start from the end of a long jump. Stepping 1 ms at a time keeps chained timers
    /// (debounce, then hold) as accurate as on a real clock.
    /// </summary>
    public static void Elapse(this FakeTimeProvider time, TimeSpan duration)
    {
        var step = TimeSpan.FromMilliseconds(1);
        var remaining = duration;
        while (remaining > TimeSpan.Zero)
        {
            var next = remaining < step ? remaining : step;
            time.Advance(next);
            remaining -= next;
        }
    }
}
