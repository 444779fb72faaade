using System.Globalization;
using Appliance.Agent.Runtime;
using Microsoft.Extensions.Hosting.Systemd;

namespace Appliance.Agent.Systemd;

/// <summary>
/// Everything the agent tells its service manager through sd_notify: READY=1 once the store is open
/// and the API listens (ApplicationStarted), STATUS= lines, WATCHDOG=1 driven by the main loop's own
/// progress at half of WATCHDOG_USEC, and STOPPING=1 on shutdown.
/// It goes through <see cref="ISystemdNotifier"/> (Microsoft's <see cref="SystemdNotifier"/>, enabled by
/// NOTIFY_SOCKET), the same object <c>UseSystemd()</c>'s lifetime uses, so tests that set NOTIFY_SOCKET
/// exercise the production path. Under systemd the lifetime also sends READY=1/STOPPING=1 at the same
/// moments; systemd ignores the repeat.
/// </summary>
public sealed partial class ServiceNotifications(
    ISystemdNotifier notifier,
    IHostApplicationLifetime lifetime,
    LoopProgress progress,
    TimeProvider time,
    ILogger<ServiceNotifications> logger,
    TimeSpan? watchdogPingInterval) : BackgroundService
{
    /// <summary>
    /// How often the main loop must complete an iteration: twice per watchdog ping, so every ping sees progress;
    /// at most once a second otherwise (status lines need no more, and each iteration costs idle CPU).
    /// </summary>
    public TimeSpan LoopTick => watchdogPingInterval is { } ping && ping / 2 < MaxLoopTick ? ping / 2 : MaxLoopTick;

    private static readonly TimeSpan MaxLoopTick = TimeSpan.FromSeconds(1);

    public void Status(string line)
    {
        if (notifier.IsEnabled)
        {
            // STATUS= is a single line: a newline would start a new assignment.
            notifier.Notify(new ServiceState("STATUS=" + line.ReplaceLineEndings(" ")));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!notifier.IsEnabled)
        {
            return;
        }

        lifetime.ApplicationStopping.Register(() => notifier.Notify(ServiceState.Stopping));
        await WaitForStartedAsync(stoppingToken).ConfigureAwait(false);
        notifier.Notify(ServiceState.Ready);
        LogReady(logger);

        var interval = watchdogPingInterval;
        if (interval is null)
        {
            return;
        }

        LogWatchdog(logger, interval.Value.TotalMilliseconds);
        using var timer = new PeriodicTimer(interval.Value, time);
        var lastSeen = progress.Iterations;
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var now = progress.Iterations;
            if (now != lastSeen)
            {
                notifier.Notify(new ServiceState("WATCHDOG=1"));
                lastSeen = now;
            }
            else
            {
                LogNoProgress(logger);
            }
        }
    }

    /// <summary>Half of WATCHDOG_USEC (sd_watchdog_enabled(3)), or null when no watchdog is armed for this process.</summary>
    public static TimeSpan? WatchdogPingInterval(string? usecText, string? pidText, int processId)
    {
        if (!long.TryParse(usecText, NumberStyles.None, CultureInfo.InvariantCulture, out var usec) || usec <= 0)
        {
            return null;
        }

        if (!string.IsNullOrEmpty(pidText) && pidText != processId.ToString(CultureInfo.InvariantCulture))
        {
            return null; // the watchdog belongs to another process of the unit
        }

        return TimeSpan.FromMicroseconds(usec / 2.0);
    }

    private Task WaitForStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        return started.Task.WaitAsync(stoppingToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Notified the service manager: READY=1")]
    private static partial void LogReady(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Watchdog armed: pinging every {IntervalMs} ms while the main loop progresses")]
    private static partial void LogWatchdog(ILogger logger, double intervalMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Main loop made no progress since the last watchdog ping; withholding WATCHDOG=1")]
    private static partial void LogNoProgress(ILogger logger);
}
