using System.Diagnostics;
using Appliance.Core.Failover;
using Appliance.Tests.Fixtures;
using Xunit.Abstractions;

namespace Appliance.Tests.Ha;

/// <summary>
/// Issue #3: crashes (SIGKILL), silent losses (SIGSTOP), broker outages and restarts in every order, on two real
/// agent processes with their embedded brokers or on one real Mosquitto; roles read as a load balancer reads them
/// (/UVMInterface/api/HighAvailability), invariants sampled every 100 ms over the whole scenario.
/// </summary>
public class HaRestartOrderTests(ITestOutputHelper output)
{
    public enum Mode
    {
        Embedded,
        External,
    }

    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(100);

    /// <summary>Down from 10 s so waiting it out stays cheap; a restarted node still hears a live peer well within it.</summary>
    private static readonly TimeSpan ContactTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The defaults the stored settings keep (<see cref="HaSettings.PartnerFailoverTimeout"/> 3 s).</summary>
    private static readonly HaSettings Defaults = new() { FencingEnabled = false };

    [Theory]
    [InlineData(Mode.Embedded)]
    [InlineData(Mode.External)]
    public async Task Sigkill_of_the_active_is_ended_by_its_will_not_by_PartnerFailoverTimeout(Mode mode)
    {
        await using var setup = await Setup.StartAsync(mode);
        var pair = setup.Pair;
        var (active, passive) = await pair.SettledAsync(Generous);
        long epoch = (await AgentPair.HaStatusAsync(active)).Epoch;

        await active.KillAsync();
        var took = await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "the Passive takes over");

        // The broker the killed node was connected to publishes its will at once. (Its restart next to the new
        // Active is the second half of the both-down test, former Passive first.)
        string? cause = await AgentPair.LastPromotionCauseAsync(passive);
        output.WriteLine($"{mode}: SIGKILL → the Passive answers Active after {took.TotalMilliseconds:0} ms: {cause}");
        Assert.True(cause?.Contains(" offline (will, generation ", StringComparison.Ordinal) == true,
            $"takeover after {took.TotalMilliseconds:0} ms, cause: {cause}\n{await AgentPair.HistoryTextAsync(passive)}");
        Assert.True((await AgentPair.HaStatusAsync(passive)).Epoch > epoch);
    }

    [Theory]
    [InlineData(Mode.Embedded)]
    [InlineData(Mode.External)]
    public async Task Sigstop_of_the_active_is_a_silent_loss_and_after_sigcont_the_higher_epoch_stays_active(Mode mode)
    {
        await using var setup = await Setup.StartAsync(mode);
        var pair = setup.Pair;
        // SettledAsync: the Passive has heard the Active, so the takeover has to outbid a known epoch.
        var (active, passive) = await pair.SettledAsync(Generous);
        long epoch = (await AgentPair.HaStatusAsync(active)).Epoch;

        active.Signal(Signals.SIGSTOP);
        try
        {
            var took = await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "takeover after the silent loss");
            Assert.True(took >= TimeSpan.FromSeconds(2), $"a silent loss must wait for PartnerFailoverTimeout (3 s), took {took}");
            string? cause = await AgentPair.LastPromotionCauseAsync(passive);
            output.WriteLine($"{mode}: SIGSTOP → the Passive answers Active after {took.TotalMilliseconds:0} ms: {cause}");
            Assert.True(cause?.EndsWith("silent on every path for PartnerFailoverTimeout=3s", StringComparison.Ordinal) == true, cause);
        }
        finally
        {
            active.Signal(Signals.SIGCONT);
        }

        await pair.WaitForAsync(pair.ExactlyOneActiveAsync, Generous, "one Active after the stopped node resumes");
        var (winner, loser) = (await AgentPair.HaStatusAsync(passive), await AgentPair.HaStatusAsync(active));
        Assert.True(winner.Role == HaRole.Active && winner.Epoch > epoch && loser.Epoch == epoch,
            $"the takeover must win with the higher epoch: took over {winner.Role} {winner.Epoch}, resumed {loser.Role} {loser.Epoch}\n" +
            await AgentPair.HistoryTextAsync(active));
    }

    [Theory]
    [InlineData(Mode.Embedded)]
    [InlineData(Mode.External)]
    public async Task A_passive_killed_and_restarted_on_its_data_dir_rejoins_passive_and_the_active_never_moves(Mode mode)
    {
        await using var setup = await Setup.StartAsync(mode, ContactTimeout);
        var pair = setup.Pair;
        var (active, passive) = await pair.SettledAsync(Generous);
        long epoch = (await AgentPair.HaStatusAsync(active)).Epoch;
        await using var watch = pair.WatchRoles(SampleEvery);

        await passive.KillAsync();
        await pair.WaitForAsync(async () => (await AgentPair.HaStatusAsync(active)).Engine?.PeerReachable == false, Generous, "the Active sees its peer gone");
        await RestartPastContactTimeoutAsync(pair, passive);

        await watch.AssertAlwaysAsync(s => s[active] == "Active" && s[passive] is null or "Passive", "the Active stays Active, the restarted node is never Active");
        Assert.Equal(epoch, (await AgentPair.HaStatusAsync(active)).Epoch);
        Assert.Equal(epoch, (await AgentPair.HaStatusAsync(passive)).Engine!.PeerEpoch);
    }

    [Theory]
    [InlineData(Mode.Embedded)]
    [InlineData(Mode.External)]
    public async Task Both_killed_and_restarted_in_either_order_the_first_promotes_after_PartnerContactTimeout_the_second_joins_passive(Mode mode)
    {
        await using var setup = await Setup.StartAsync(mode, ContactTimeout);
        var pair = setup.Pair;
        await using var watch = pair.WatchRoles(SampleEvery);

        foreach (bool formerActiveFirst in new[] { true, false })
        {
            var (active, passive) = await pair.SettledAsync(Generous);
            var (first, second) = formerActiveFirst ? (active, passive) : (passive, active);
            string secondId = (await AgentPair.HaStatusAsync(first)).Engine!.PeerNodeId!;
            long epoch = (await AgentPair.HaStatusAsync(active)).Epoch;
            await Task.WhenAll(active.KillAsync(), passive.KillAsync());

            var alone = Stopwatch.StartNew();
            first.Start();
            await pair.WaitForAsync(async () => await AgentPair.RoleAsync(first) == "Active", Generous, $"the node started first ({Former(first == active)}) promotes alone");
            string order = $"{Former(first == active)} first";
            Assert.True(alone.Elapsed >= ContactTimeout, $"{order}: Active after {alone.Elapsed}, before PartnerContactTimeout={ContactTimeout}");
            string? cause = await AgentPair.LastPromotionCauseAsync(first);
            output.WriteLine($"{mode}, {order}: Active {alone.Elapsed.TotalMilliseconds:0} ms after its start, epoch {epoch} → {(await AgentPair.HaStatusAsync(first)).Epoch}: {cause}");
            Assert.True(cause == $"no contact with {secondId} within PartnerContactTimeout=3s", $"{order}: {cause}");
            Assert.True((await AgentPair.HaStatusAsync(first)).Epoch > epoch, $"{order}: a new epoch above the pair's last one ({epoch})");

            await RestartPastContactTimeoutAsync(pair, second);
            Assert.Equal("Active", await AgentPair.RoleAsync(first));
            Assert.Equal("Passive", await AgentPair.RoleAsync(second));
        }

        await watch.AssertNeverTwoActivesAsync();
    }

    [Fact]
    public async Task Agents_started_while_the_broker_is_down_elect_one_active_once_it_is_up()
    {
        // PartnerContactTimeout stays 10 s: the broker is back well before either node may promote alone.
        await using var setup = await Setup.StartAsync(Mode.External);
        var pair = setup.Pair;
        var (active, passive) = await pair.SettledAsync(Generous);
        string activeId = (await AgentPair.HaStatusAsync(passive)).Engine!.PeerNodeId!;
        await using var watch = pair.WatchRoles(SampleEvery);

        setup.Broker.Kill();
        await Task.WhenAll(active.KillAsync(), passive.KillAsync());
        active.Start();
        passive.Start();
        await Task.WhenAll(active.WaitReadyAsync(), passive.WaitReadyAsync());
        Assert.All(await Task.WhenAll(AgentPair.RoleAsync(active), AgentPair.RoleAsync(passive)), role => Assert.Equal("Passive", role));

        await setup.Broker.StartAsync();
        var elected = await pair.WaitForAsync(pair.ExactlyOneActiveAsync, Generous, "one Active once the broker is up");
        output.WriteLine($"one Active {elected.TotalMilliseconds:0} ms after the broker started");

        await watch.AssertNeverTwoActivesAsync();
        // Elected by the conflict rule on the first heartbeats (higher epoch), not by a contact timeout.
        string? cause = await AgentPair.LastPromotionCauseAsync(active);
        Assert.True(cause?.StartsWith("conflict (both Passive", StringComparison.Ordinal) == true && cause.EndsWith($"{activeId} is Active", StringComparison.Ordinal),
            $"{cause}\n{await AgentPair.HistoryTextAsync(active)}");
    }

    [Fact]
    public async Task The_single_broker_restarting_at_once_changes_nothing_and_down_past_PartnerFailoverTimeout_heals_to_one_active()
    {
        await using var setup = await Setup.StartAsync(Mode.External);
        var pair = setup.Pair;
        var (active, passive) = await pair.SettledAsync(Generous);
        long epoch = (await AgentPair.HaStatusAsync(active)).Epoch;
        long historyBefore = (await AgentPair.HistoryAsync(passive)).Max(e => e.Id);

        // Back at once: the Passive's silence is the time since the Active's last heartbeat (≤ HeartbeatInterval) + the
        // restart + the later reconnect tick (≤ ReconnectInterval), as each side announces its new connection as retained
        // state: no failover for a broker back within 3 s − 1 s − 1 s at defaults. Longer is a partition, as below.
        await using (var watch = pair.WatchRoles(SampleEvery))
        {
            var lastBefore = (await AgentPair.HaStatusAsync(passive)).Engine!.LastHeartbeatAt!.Value;
            setup.Broker.Kill();
            await setup.Broker.StartAsync();
            var back = DateTimeOffset.UtcNow;
            DateTimeOffset heardAgain = default;
            await pair.WaitForAsync(async () => (heardAgain = (await AgentPair.HaStatusAsync(passive)).Engine?.LastHeartbeatAt ?? default) > back,
                Generous, "the Passive hears the Active through the restarted broker");
            await pair.WaitForAsync(async () => (await AgentPair.HaStatusAsync(active)).Engine?.LastHeartbeatAt > back, Generous, "and the Active the Passive");
            output.WriteLine($"broker restarted at once: the Passive heard nothing for {(heardAgain - lastBefore).TotalMilliseconds:0} ms");
            await watch.AssertAlwaysAsync(s => s[active] == "Active" && s[passive] == "Passive", "no role change");
        }

        Assert.Equal(epoch, (await AgentPair.HaStatusAsync(active)).Epoch);
        Assert.DoesNotContain((await AgentPair.HistoryAsync(passive)).Where(e => e.Id > historyBefore), AgentPair.IsPromotion);

        // Down for longer: each node is alone, and with no connectivity targets configured the Passive promotes.
        setup.Broker.Kill();
        var took = await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "the isolated Passive promotes");
        Assert.True(took >= TimeSpan.FromSeconds(2), $"promoted {took} after the broker died, before PartnerFailoverTimeout (3 s)");
        Assert.Equal("Active", await AgentPair.RoleAsync(active));

        await setup.Broker.StartAsync();
        var healed = await pair.WaitForAsync(pair.ExactlyOneActiveAsync, Generous, "one Active once the broker is back");
        output.WriteLine($"broker down: the isolated Passive promoted after {took.TotalMilliseconds:0} ms; one Active {healed.TotalMilliseconds:0} ms after the broker was back");
        var (winner, loser) = (await AgentPair.HaStatusAsync(passive), await AgentPair.HaStatusAsync(active));
        string history = await AgentPair.HistoryTextAsync(active);
        Assert.True(winner.Role == HaRole.Active && winner.Epoch > loser.Epoch, $"the later promotion (higher epoch) must win:\n{history}");
        Assert.True(history.Contains("conflict (both Active", StringComparison.Ordinal), history);
        Assert.True(healed < TimeSpan.FromSeconds(5), $"resolved {healed} after the broker came back: more than a few heartbeats");
    }

    private static string Former(bool wasActive) => wasActive ? "former Active" : "former Passive";

    /// <summary>
    /// Starts a killed node again on its data dir, waits until it hears the Active, then lets its PartnerContactTimeout
    /// run out: the moment it would promote had it missed the Active. The caller's <see cref="RoleWatch"/> covers it all.
    /// </summary>
    private static async Task RestartPastContactTimeoutAsync(AgentPair pair, AgentProcess node)
    {
        var started = Stopwatch.StartNew();
        node.Start();
        await node.WaitReadyAsync();
        await pair.WaitForAsync(async () => (await AgentPair.HaStatusAsync(node)).Engine is { PeerReachable: true, PeerRole: HaRole.Active },
            Generous, "the restarted node hears the Active");
        var rest = ContactTimeout + TimeSpan.FromSeconds(1) - started.Elapsed;
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest);
        }
    }

    /// <summary>A settled pair in <see cref="Mode"/>, external on one Mosquitto this owns; disposed pair first, then the broker.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        private readonly MosquittoBroker? _broker;

        private Setup(AgentPair pair, MosquittoBroker? broker)
        {
            Pair = pair;
            _broker = broker;
        }

        public AgentPair Pair { get; }

        public MosquittoBroker Broker => _broker ?? throw new InvalidOperationException("an embedded pair has no external broker");

        /// <param name="contactTimeout">PartnerContactTimeout stored on both nodes (it survives their restarts); default 10 s when null.</param>
        public static async Task<Setup> StartAsync(Mode mode, TimeSpan? contactTimeout = null)
        {
            var broker = mode == Mode.External ? await MosquittoBroker.StartNewAsync() : null;
            Setup? setup = null;
            try
            {
                setup = new Setup(broker is null ? await AgentPair.StartEmbeddedAsync() : await AgentPair.StartExternalAsync([broker.PlainPort]), broker);
                if (contactTimeout is { } timeout)
                {
                    await setup.Pair.PutHaSettingsAsync(Defaults with { PartnerContactTimeout = timeout });
                }

                return setup;
            }
            catch
            {
                if (setup is not null)
                {
                    await setup.DisposeAsync();
                }
                else if (broker is not null)
                {
                    await broker.DisposeAsync();
                }

                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Pair.DisposeAsync();
            if (_broker is not null)
            {
                await _broker.DisposeAsync();
            }
        }
    }
}
