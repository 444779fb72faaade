using Appliance.Agent.Runtime;
using Appliance.Agent.Systemd;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Appliance.Tests.Agent;

/// <summary>The watchdog is fed by the main loop's progress, not by a timer: a stalled loop gets no pings.</summary>
public class WatchdogTests
{
    private sealed class RecordingNotifier : ISystemdNotifier
    {
        public List<string> Sent { get; } = [];

        public bool IsEnabled => true;

        public void Notify(ServiceState state)
        {
            lock (Sent)
            {
                Sent.Add(state.ToString());
            }
        }

        public int Count(string text)
        {
            lock (Sent)
            {
                return Sent.Count(s => s == text);
            }
        }
    }

    [Theory]
    [InlineData("2000000", null, 1.0)]
    [InlineData("2000000", "4242", 1.0)]
    [InlineData("2000000", "1", null)]
    [InlineData(null, null, null)]
    [InlineData("0", null, null)]
    [InlineData("abc", null, null)]
    public void Ping_interval_is_half_of_watchdog_usec_for_this_process_only(string? usec, string? pid, double? seconds) =>
        Assert.Equal(seconds is null ? null : TimeSpan.FromSeconds(seconds.Value), ServiceNotifications.WatchdogPingInterval(usec, pid, 4242));

    [Fact]
    public async Task Pings_only_while_the_loop_progresses()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var notifier = new RecordingNotifier();
        var lifetime = new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance);
        var progress = new LoopProgress(time);
        using var notifications = new ServiceNotifications(notifier, lifetime, progress, time,
            NullLogger<ServiceNotifications>.Instance, TimeSpan.FromMilliseconds(500));
        await notifications.StartAsync(CancellationToken.None);
        lifetime.NotifyStarted();
        await WaitUntil(() => notifier.Count("READY=1") == 1);

        for (var i = 0; i < 4; i++)
        {
            progress.Report();
            time.Advance(TimeSpan.FromMilliseconds(500));
            var expected = i + 1;
            await WaitUntil(() => notifier.Count("WATCHDOG=1") == expected);
        }

        // The loop stalls: time passes, no progress, no pings.
        for (var i = 0; i < 4; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(20);
        }

        Assert.Equal(4, notifier.Count("WATCHDOG=1"));
        await notifications.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void Health_fails_when_the_main_loop_stalls()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var progress = new LoopProgress(time);
        progress.Report();
        time.Advance(NodeRuntime.StallThreshold);
        Assert.True(NodeRuntime.Evaluate(progress).Healthy);
        time.Advance(TimeSpan.FromSeconds(1));
        var (healthy, message) = NodeRuntime.Evaluate(progress);
        Assert.False(healthy);
        Assert.Equal("main loop stalled for 6.0 s", message);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
