using System.Net.Http.Json;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Tests.Fixtures;
using Xunit.Abstractions;

namespace Appliance.Tests.Store;

/// <summary>
/// SIGKILL the real agent at random points while it commits a stream of HA settings changes (the same
/// checkpointed commit path as role and epoch changes), then restart it:
/// the store must open (not corrupt) and hold every change the agent acknowledged as committed.
/// Kills: APPLIANCE_CRASH_KILLS (default 200); seed: APPLIANCE_CRASH_SEED to replay a failure.
/// </summary>
public class CrashDurabilityTests(ITestOutputHelper output)
{
    /// <summary>Steps between 100 ms and 1,000 ms, so successive values differ and stay valid.</summary>
    private static TimeSpan Next(TimeSpan interval) =>
        TimeSpan.FromMilliseconds(interval.TotalMilliseconds % 1000 + 100);

    [Fact]
    public async Task Every_acknowledged_change_survives_sigkill_at_random_points()
    {
        var kills = int.TryParse(Environment.GetEnvironmentVariable("APPLIANCE_CRASH_KILLS"), out var k) ? k : 200;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("APPLIANCE_CRASH_SEED"), out var s) ? s : Environment.TickCount;
        output.WriteLine($"seed {seed} (replay: APPLIANCE_CRASH_SEED={seed}), kills {kills}");
        var random = new Random(seed);

        using var temp = new TempDir();
        var dataDir = temp.File("data");
        var configuration = new Dictionary<string, string> { ["Appliance:Store:HistoryCap"] = "1000000" };
        var previouslyAcked = new List<SettingsChanged>();
        var lastInterval = new HaSettings().HeartbeatInterval;
        var totalAcked = 0;
        var killedMidRequest = 0;

        for (var round = 0; round <= kills; round++)
        {
            await using var agent = new AgentProcess(dataDir, configuration);
            agent.Start();
            await agent.WaitReadyAsync();
            using var http = agent.CreateLocalClient();

            // Whatever was acknowledged before the last SIGKILL is on disk.
            var settings = (await http.GetFromJsonAsync("api/v1/ha/settings", ApiJsonContext.Default.HaSettings))!;
            var context = $"seed {seed}, round {round}";
            // The stored value is the last acknowledged one, or the one in flight when the kill landed.
            Assert.True(settings.HeartbeatInterval == lastInterval || settings.HeartbeatInterval == Next(lastInterval),
                $"{context}: HeartbeatInterval {settings.HeartbeatInterval} is neither the last acknowledged {lastInterval} nor the next one");
            var history = (await http.GetFromJsonAsync("api/v1/history?limit=10000", ApiJsonContext.Default.HistoryEntryArray))!;
            var ids = history.Select(h => h.Id).ToHashSet();
            var lost = previouslyAcked.Where(c => !ids.Contains(c.HistoryId)).ToArray();
            Assert.True(lost.Length == 0, $"{context}: acknowledged changes lost: {string.Join(", ", lost.Select(c => c.HistoryId))}");
            lastInterval = settings.HeartbeatInterval;
            if (round == kills)
            {
                break;
            }

            var acked = new List<SettingsChanged>();
            using var stop = new CancellationTokenSource();
            var stream = Task.Run(async () =>
            {
                var interval = settings.HeartbeatInterval;
                while (!stop.IsCancellationRequested)
                {
                    interval = Next(interval);
                    using var response = await http.PutAsJsonAsync("api/v1/ha/settings", settings with { HeartbeatInterval = interval }, ApiJsonContext.Default.HaSettings, stop.Token);
                    var change = (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.SettingsChanged, stop.Token))!;
                    lock (acked)
                    {
                        acked.Add(change);
                    }
                }
            });

            // Kill at a random point of the stream, once it is flowing (startup time varies with load).
            var flowing = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (AckedCount() == 0 && !stream.IsCompleted && DateTime.UtcNow < flowing)
            {
                await Task.Delay(1);
            }

            await Task.Delay(random.Next(0, 60));
            agent.Signal(Signals.SIGKILL);
            await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
            await stop.CancelAsync();
            try
            {
                await stream;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or System.Text.Json.JsonException)
            {
                killedMidRequest++; // the kill landed while a change was in flight: it may or may not have committed
            }

            lock (acked)
            {
                previouslyAcked = [.. acked];
            }

            int AckedCount()
            {
                lock (acked)
                {
                    return acked.Count;
                }
            }

            totalAcked += previouslyAcked.Count;
            if (previouslyAcked.Count > 0)
            {
                lastInterval = previouslyAcked[^1].Settings.HeartbeatInterval;
            }
        }

        output.WriteLine($"acknowledged changes checked: {totalAcked}; kills during a request: {killedMidRequest}; final HeartbeatInterval {lastInterval}");
        Assert.True(totalAcked > kills, "the stream must commit changes between kills, or the test proves nothing");
        Assert.True(killedMidRequest > kills / 2, "most kills must land mid-request");
    }
}
