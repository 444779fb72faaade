namespace Appliance.Agent.Runtime;

/// <summary>
/// Liveness of the agent's main loop, as the loop itself reports it. The systemd watchdog and
/// <c>/check_health</c> read this instead of trusting a timer thread that would keep ticking while
/// the loop is stuck.
/// </summary>
public sealed class LoopProgress(TimeProvider time)
{
    private long _iterations;
    private long _lastProgressTimestamp = time.GetTimestamp();

    public long Iterations => Interlocked.Read(ref _iterations);

    /// <summary>Called by the main loop once per completed iteration.</summary>
    public void Report()
    {
        Interlocked.Increment(ref _iterations);
        Interlocked.Exchange(ref _lastProgressTimestamp, time.GetTimestamp());
    }

    /// <summary>Time since the loop last completed an iteration.</summary>
    public TimeSpan SinceLastProgress => time.GetElapsedTime(Interlocked.Read(ref _lastProgressTimestamp));
}
