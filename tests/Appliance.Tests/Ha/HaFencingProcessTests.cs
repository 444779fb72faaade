using System.Net.Http.Json;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Core.Ports;
using Appliance.Hw.Bmc;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Ha;

/// <summary>
/// Fencing in a real pair: two agent processes, a real ipmi_sim driven by ipmitool, and the simulator's chassis
/// power is the Active agent process itself, so "powered off" means that process was SIGKILLed.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HaFencingProcessTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(1);

    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_silently_lost_active_is_powered_off_through_its_bmc_and_is_dead_before_the_passive_promotes()
    {
        using var sim = IpmiSimulator.Start();
        await using var pair = await AgentPair.StartEmbeddedAsync(FencingPair.AgentSettings(sim));
        await pair.PutHaSettingsAsync(FencingPair.Settings(Heartbeat, FailoverTimeout, fencing: true));
        var (active, passive) = await pair.SettledAsync(Generous);
        var pid = active.Pid;
        sim.AdoptHost(pid);
        var peerBmc = BmcFactory.Create(sim.Options())!;
        Assert.Equal(BmcPowerState.On, await peerBmc.GetPowerStateAsync(CancellationToken.None));

        var historyBefore = await LastHistoryIdAsync(passive);
        var stoppedAt = DateTimeOffset.UtcNow;
        active.Signal(Signals.SIGSTOP);
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "the Passive fences and takes over");
        var answeredActiveAt = DateTimeOffset.UtcNow;
        Assert.True(IpmiSimulator.IsGone(pid), $"pid {pid} still runs while its peer answers Active");

        // Order of events: SIGSTOP → the BMC kills the Active process → a power status read finds it dead → the Passive
        // promotes (recorded in its history) and a load balancer sees it Active.
        var death = Assert.Single(sim.HostDeaths);
        Assert.Equal(pid, death.Pid);
        // The role is served as soon as it is persisted; its history entry follows a moment later.
        HistoryEntry[] history = [];
        await pair.WaitForAsync(async () =>
        {
            history = (await AgentPair.HistoryAsync(passive)).Where(e => e.Id > historyBefore).ToArray();
            return history.Any(AgentPair.IsPromotion);
        }, Generous, "the promotion in the Passive's history");
        var promotion = Assert.Single(history, AgentPair.IsPromotion);
        var order = $"SIGSTOP {stoppedAt:HH:mm:ss.fff}, BMC kill {death.KilledAt:HH:mm:ss.fff}, BMC sees it dead {death.SeenDeadAt:HH:mm:ss.fff}, " +
            $"answered Active {answeredActiveAt:HH:mm:ss.fff}, promotion recorded {promotion.Time:HH:mm:ss.fff}";
        Assert.True(stoppedAt < death.KilledAt && death.KilledAt <= death.SeenDeadAt && death.SeenDeadAt < answeredActiveAt && death.SeenDeadAt < promotion.Time, order);
        Assert.Contains("fence ConfirmedOff: peer BMC confirms power off", promotion.Cause, StringComparison.Ordinal);
        Assert.Contains(history, e => e.Kind == nameof(HaEventKind.Fencing) && e.Message.StartsWith("fencing ", StringComparison.Ordinal));
        Assert.Equal(137, await active.WaitForExitAsync(TimeSpan.FromSeconds(10))); // 128 + SIGKILL: killed by the BMC, not exited
        Assert.Equal(BmcPowerState.Off, await peerBmc.GetPowerStateAsync(CancellationToken.None));
        passive.AssertNoErrorsLogged();
    }

    [Fact]
    public async Task With_a_wrong_bmc_password_fencing_is_unconfirmed_and_the_passive_waits_in_failover_pending()
    {
        using var sim = IpmiSimulator.Start();
        var wrong = IpmiSimulator.WritePasswordFile(_temp.File("wrong.password"), "not-calvin");
        await using var pair = await AgentPair.StartEmbeddedAsync(FencingPair.AgentSettings(sim, passwordFile: wrong));
        await pair.PutHaSettingsAsync(FencingPair.Settings(Heartbeat, FailoverTimeout, fencing: true, FencingUnconfirmedPolicy.Wait));
        var (active, passive) = await pair.SettledAsync(Generous);
        sim.AdoptHost(active.Pid);

        var historyBefore = await LastHistoryIdAsync(passive);
        active.Signal(Signals.SIGSTOP);
        await pair.WaitForAsync(async () => (await AgentPair.HaStatusAsync(passive)).Role == HaRole.FailoverPending, Generous,
            "the Passive cannot confirm the fence and waits");
        var pending = await AgentPair.HaStatusAsync(passive);
        Assert.StartsWith("fencing unconfirmed (fence Failed: ", pending.Engine!.PendingReason, StringComparison.Ordinal);

        // Well past the failover timeout it still has not promoted, and nothing powered the stopped Active off.
        for (var i = 0; i < 15; i++)
        {
            Assert.Equal("Passive", await AgentPair.RoleAsync(passive)); // what a load balancer sees of FailoverPending
            await Task.Delay(200);
        }

        Assert.Equal(HaRole.FailoverPending, (await AgentPair.HaStatusAsync(passive)).Role);
        Assert.False(IpmiSimulator.IsGone(active.Pid));
        Assert.Empty(sim.HostDeaths);
        var history = (await AgentPair.HistoryAsync(passive)).Where(e => e.Id > historyBefore).ToArray();
        Assert.Contains(history, e => e.Kind == nameof(HaEventKind.Fencing));
        Assert.Contains(history, e => e.Kind == "role" && e.Message.StartsWith("Passive -> FailoverPending", StringComparison.Ordinal));
        Assert.DoesNotContain(history, AgentPair.IsPromotion);
        Assert.DoesNotContain("not-calvin", passive.OutputText, StringComparison.Ordinal);

        // The Active was only frozen: once it runs again it is still the one Active and the waiting node stands down.
        active.Signal(Signals.SIGCONT);
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(active) == "Active" && (await AgentPair.HaStatusAsync(passive)).Role == HaRole.Passive,
            Generous, "the resumed Active keeps its role, the pending node returns to Passive");
    }

    private static async Task<long> LastHistoryIdAsync(AgentProcess node) => (await AgentPair.HistoryAsync(node)).Max(e => e.Id);
}
