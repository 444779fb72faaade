using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Agent;

/// <summary>
/// The real agent process against a real AF_UNIX datagram socket set as NOTIFY_SOCKET: the same
/// notifier object UseSystemd() uses in production.
/// </summary>
public class SdNotifyTests
{
    [Fact]
    public async Task Ready_only_when_listening_then_status_watchdog_and_stopping_on_sigterm()
    {
        using var temp = new TempDir();
        using var notify = new NotifySocket(temp.File("notify.sock"));
        await using var agent = new AgentProcess(temp.File("data"), environment: new Dictionary<string, string>
        {
            ["NOTIFY_SOCKET"] = notify.Path,
            ["WATCHDOG_USEC"] = "1000000",
        });
        agent.Start();

        await notify.WaitForAsync("READY=1", TimeSpan.FromSeconds(30));
        // READY means the store is open and the API listens: the first request must succeed, no retry.
        using (var local = agent.CreateLocalClient())
        {
            var status = await local.GetStringAsync(new Uri("api/v1/status", UriKind.Relative));
            Assert.Contains("\"role\":\"Off\"", status, StringComparison.Ordinal);
        }

        var afterReady = await notify.CollectAsync(TimeSpan.FromSeconds(2.2));
        // WATCHDOG_USEC=1 s: pings every 0.5 s while the main loop progresses, so ≥ 3 in 2.2 s.
        Assert.True(afterReady.Count(d => d == "WATCHDOG=1") >= 3, "watchdog pings: " + string.Join(" | ", afterReady));

        agent.Signal(Signals.SIGTERM);
        await notify.WaitForAsync("STOPPING=1", TimeSpan.FromSeconds(5));
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        agent.AssertNoErrorsLogged();
    }

    [Fact]
    public async Task Status_line_is_sent_before_or_with_ready_and_names_the_role()
    {
        using var temp = new TempDir();
        using var notify = new NotifySocket(temp.File("notify.sock"));
        await using var agent = new AgentProcess(temp.File("data"), environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path });
        agent.Start();

        var seen = await notify.WaitForAsync("READY=1", TimeSpan.FromSeconds(30));
        seen.AddRange(await notify.CollectAsync(TimeSpan.FromSeconds(0.5)));
        Assert.Contains(seen, d => d.StartsWith("STATUS=role Off, epoch 0, unpaired, node ", StringComparison.Ordinal));
        Assert.DoesNotContain(seen, d => d == "WATCHDOG=1"); // no WATCHDOG_USEC, no pings
    }

    [Fact]
    public async Task Sigterm_stops_within_five_seconds_and_releases_the_store()
    {
        using var temp = new TempDir();
        var dataDir = temp.File("data");
        await using (var first = new AgentProcess(dataDir))
        {
            first.Start();
            await first.WaitReadyAsync();
            first.Signal(Signals.SIGTERM);
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        }

        await using var second = new AgentProcess(dataDir);
        second.Start();
        await second.WaitReadyAsync(); // the lock was released and the store closed cleanly
        using var local = second.CreateLocalClient();
        var history = await local.GetStringAsync(new Uri("api/v1/history?limit=5", UriKind.Relative));
        Assert.Contains("\"message\":\"stopped\"", history, StringComparison.Ordinal);
        Assert.Contains("\"bootCount\":2", await local.GetStringAsync(new Uri("api/v1/status", UriKind.Relative)), StringComparison.Ordinal);
    }
}
