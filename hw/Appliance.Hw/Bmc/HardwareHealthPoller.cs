using Appliance.Core.Health;
using Appliance.Core.Ports;

namespace Appliance.Hw.Bmc;

/// <summary>
/// Polls the BMC's sensors and SEL on a TimeProvider period and publishes changes as health events
/// (detection is the pure <see cref="HardwareHealthTracker"/>). A BMC that stops answering is itself an event.
/// </summary>
public sealed class HardwareHealthPoller(IBmcHealth bmc, IHealthEventSink sink, TimeProvider timeProvider, TimeSpan? period = null)
{
    /// <summary>Default poll period.</summary>
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromSeconds(60);

    private readonly HardwareHealthTracker _tracker = new();

    /// <summary>Polls now, then every period until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period ?? DefaultPeriod, timeProvider);
        do
        {
            await PollOnceAsync(cancellationToken);
        }
        while (await WaitAsync(timer, cancellationToken));
    }

    /// <summary>One poll: sensors and SEL, publishing every change found.</summary>
    public async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var events = new List<HealthEvent>();
        try
        {
            var sensors = await bmc.ReadSensorsAsync(cancellationToken);
            var log = await bmc.ReadEventLogAsync(cancellationToken);
            var now = timeProvider.GetUtcNow();
            events.AddRange(_tracker.ObserveReachability(true, "", now));
            events.AddRange(_tracker.ObserveSensors(sensors, now));
            events.AddRange(_tracker.ObserveEventLog(log, now));
        }
        catch (BmcException ex)
        {
            events.AddRange(_tracker.ObserveReachability(false, ex.Message, timeProvider.GetUtcNow()));
        }

        foreach (var e in events)
            await sink.PublishAsync(e, cancellationToken);
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
