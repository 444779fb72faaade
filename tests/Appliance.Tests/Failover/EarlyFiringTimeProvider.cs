namespace Appliance.Tests.Failover;

/// <summary>
/// Time from <paramref name="inner"/>, but every timer fires <paramref name="early"/> before its due time: real
/// timers run on a coarser clock than the stopwatch and can fire just before it reads the time they were set for.
/// A loop that trusts "my timer fired, so the time has come" and waits for that timer again parks for good.
/// (Against a FakeTimeProvider stepped in 100 ms, <paramref name="early"/> must exceed a step to be seen.)
/// </summary>
internal sealed class EarlyFiringTimeProvider(TimeProvider inner, TimeSpan early) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new EarlyTimer(inner.CreateTimer(callback, state, Early(dueTime), period), this);

    private TimeSpan Early(TimeSpan dueTime) => dueTime > early ? dueTime - early : dueTime;

    private sealed class EarlyTimer(ITimer timer, EarlyFiringTimeProvider provider) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => timer.Change(provider.Early(dueTime), period);

        public void Dispose() => timer.Dispose();

        public ValueTask DisposeAsync() => timer.DisposeAsync();
    }
}
