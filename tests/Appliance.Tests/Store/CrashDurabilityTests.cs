using System.Net.Http.Json;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Tests.Fixtures;
using Xunit.Abstractions;

namespace Appliance.Tests.Store;

/// <summary>
/// SIGKILL the real agent at random points while it commits a stream of role changes, then restart it:
/// the store must open (not corrupt) and hold every change the agent acknowledged as committed.
/// Kills: APPLIANCE_CRASH_KILLS (default 200); seed: APPLIANCE_CRASH_SEED to replay a failure.
/// </summary>
public class CrashDurabilityTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_acknowledged_change_survives_sigkill_at_random_points()
    {
        var kills = int.TryParse(Environment.GetEnvironmentVariable("APPLIANCE_CRASH_KILLS"), out var k) ? k : 200;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("APPLIANCE_CRASH_SEED"), out var s) ? s : Environment.TickCount;
        output.WriteLine($"seed {seed} (replay: APPLIANCE_CRASH_SEED={seed}), kills {kills}");
        var random = new Random(seed);

        using var temp = new TempDir();
        var dataDir = temp.File("data");
        var settings = new Dictionary<string, string> { ["Appliance:Store:HistoryCap"] = "1000000" };
        var previouslyAcked = new List<CommittedChange>();
        var lastEpoch = 0L;
        var totalAcked = 0;
        var killedMidRequest = 0;

        for (var round = 0; round <= kills; round++)
        {
            await using var agent = new AgentProcess(dataDir, settings);
            agent.Start();
            await agent.WaitReadyAsync();
            using var http = agent.CreateLocalClient();

            // Whatever was acknowledged before the last SIGKILL is on disk.
            var status = (await http.GetFromJsonAsync("api/v1/status", ApiJsonContext.Default.AgentStatus))!;
            var context = $"seed {seed}, round {round}";
            Assert.True(status.Epoch >= lastEpoch, $"{context}: epoch went back from {lastEpoch} to {status.Epoch}");
            Assert.True(status.Epoch <= lastEpoch + 1, $"{context}: epoch {status.Epoch} jumped past the last acknowledged {lastEpoch} (+1 in flight)");
            var history = (await http.GetFromJsonAsync("api/v1/history?limit=10000", ApiJsonContext.Default.HistoryEntryArray))!;
            var ids = history.Select(h => h.Id).ToHashSet();
            var lost = previouslyAcked.Where(c => !ids.Contains(c.HistoryId)).ToArray();
            Assert.True(lost.Length == 0, $"{context}: acknowledged changes lost: {string.Join(", ", lost.Select(c => c.HistoryId))}");
            lastEpoch = status.Epoch;
            if (round == kills)
            {
                break;
            }

            var acked = new List<CommittedChange>();
            using var stop = new CancellationTokenSource();
            var stream = Task.Run(async () =>
            {
                var role = status.Role == HaRole.Active ? HaRole.Passive : HaRole.Active;
                while (!stop.IsCancellationRequested)
                {
                    using var response = await http.PostAsJsonAsync("api/v1/ha/role", new SetRoleRequest(role, "crash test"), ApiJsonContext.Default.SetRoleRequest, stop.Token);
                    var change = (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.CommittedChange, stop.Token))!;
                    lock (acked)
                    {
                        acked.Add(change);
                    }

                    role = role == HaRole.Active ? HaRole.Passive : HaRole.Active;
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
                lastEpoch = previouslyAcked[^1].Epoch;
            }
        }

        output.WriteLine($"acknowledged changes checked: {totalAcked}; kills during a request: {killedMidRequest}; final epoch {lastEpoch}");
        Assert.True(totalAcked > kills, "the stream must commit changes between kills, or the test proves nothing");
        Assert.True(killedMidRequest > kills / 2, "most kills must land mid-request");
    }
}
