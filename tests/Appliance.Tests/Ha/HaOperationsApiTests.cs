using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Ha;

/// <summary>
/// The HA operations through the API of a real pair: status code, the engine's words, the roles a load balancer
/// sees and the history. One pair per test, driven through the operations in an order a technician could use.
/// </summary>
public class HaOperationsApiTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Failover_now_and_fix_conflict_are_refused_with_the_reason_while_the_pair_is_healthy_and_change_nothing()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var (active, passive) = await pair.SettledAsync(Generous);
        var epoch = (await AgentPair.HaStatusAsync(active)).Epoch;

        await AssertCommandAsync(passive, "failover-now", HttpStatusCode.Conflict, "failover-now refused: the Active is reachable");
        await AssertCommandAsync(active, "failover-now", HttpStatusCode.Conflict, "failover-now refused: this node is already Active");
        await AssertCommandAsync(passive, "fix-conflict", HttpStatusCode.Conflict, "fix-conflict refused: no conflict (this node Passive, peer Active)");
        await AssertCommandAsync(active, "fix-conflict", HttpStatusCode.Conflict, "fix-conflict refused: no conflict (this node Active, peer Passive)");

        Assert.Equal("Active", await AgentPair.RoleAsync(active));
        Assert.Equal("Passive", await AgentPair.RoleAsync(passive));
        Assert.Equal(epoch, (await AgentPair.HaStatusAsync(active)).Epoch);
    }

    [Fact]
    public async Task Suspend_resume_and_shutdown_answer_record_and_show_in_status()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var (active, passive) = await pair.SettledAsync(Generous);

        await AssertCommandAsync(passive, "suspend", HttpStatusCode.OK, "operator: failover suspended");
        Assert.True((await AgentPair.HaStatusAsync(passive)).Engine!.Suspended);
        await AssertCommandAsync(passive, "suspend", HttpStatusCode.OK, "already suspended");
        await AssertCommandAsync(passive, "failover-now", HttpStatusCode.Conflict, "failover-now refused: the Active is reachable");
        await AssertCommandAsync(passive, "resume", HttpStatusCode.OK, "operator: failover resumed");
        Assert.False((await AgentPair.HaStatusAsync(passive)).Engine!.Suspended);
        await AssertCommandAsync(passive, "resume", HttpStatusCode.OK, "not suspended");
        Assert.Contains("operator: failover suspended", await AgentPair.HistoryTextAsync(passive), StringComparison.Ordinal);
        Assert.Contains("operator: failover resumed", await AgentPair.HistoryTextAsync(passive), StringComparison.Ordinal);

        // No Appliance:Ha:Power commands (as under make run and in tests): announced, and the operator is told.
        await AssertCommandAsync(active, "shutdown", HttpStatusCode.OK,
            "operator: graceful shutdown announced; the peer applies RebootBlackoutWindow=14min; Appliance:Ha:Power:PowerOff is not set: power off the appliance now (or ha cancel-shutdown to stay up)", """{"reboot":false}""");
        await AssertCommandAsync(active, "shutdown", HttpStatusCode.OK,
            "operator: graceful reboot announced; the peer applies RebootBlackoutWindow=14min; Appliance:Ha:Power:Reboot is not set: reboot the appliance now (or ha cancel-shutdown to stay up)", """{"reboot":true}""");
        var history = await AgentPair.HistoryTextAsync(active);
        Assert.Contains("operator: graceful shutdown announced", history, StringComparison.Ordinal);
        Assert.Contains("operator: graceful reboot announced", history, StringComparison.Ordinal);
        Assert.Equal("Active", await AgentPair.RoleAsync(active)); // an announcement, not a role change
        Assert.Equal("Passive", await AgentPair.RoleAsync(passive));
    }

    [Fact]
    public async Task An_announced_reboot_holds_the_Passive_for_RebootBlackoutWindow_then_it_takes_over_and_the_node_rejoins()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var window = TimeSpan.FromSeconds(8);
        await pair.PutHaSettingsAsync(new HaSettings { FencingEnabled = false, RebootBlackoutWindow = window });
        var (active, passive) = await pair.SettledAsync(Generous);

        // As the OS image does it: announce, then the power command's shutdown stops the agent with SIGTERM.
        var announced = Stopwatch.StartNew();
        await AssertCommandAsync(active, "shutdown", HttpStatusCode.OK, "operator: graceful reboot announced; the peer applies RebootBlackoutWindow=8s", """{"reboot":true,"announceOnly":true}""");
        await pair.WaitForAsync(async () => (await AgentPair.HaStatusAsync(passive)).Engine!.PeerShutdownAnnounced, Generous, "the Passive hears the announcement");
        active.Signal(Signals.SIGTERM);
        Assert.Equal(0, await active.WaitForExitAsync(Generous));

        // Past PartnerFailoverTimeout (3 s) the peer is lost, and the blackout holds the takeover.
        await Task.Delay(TimeSpan.FromSeconds(4));
        var held = (await AgentPair.HaStatusAsync(passive)).Engine!;
        Assert.Equal(HaRole.Passive, held.Role);
        Assert.Equal("peer announced a graceful shutdown; RebootBlackoutWindow=8s not over", held.PendingReason);

        // The box did not come back within the window: the Passive takes over, not before the window ran out.
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "the Passive takes over once the blackout is over");
        Assert.True(announced.Elapsed >= window, $"took over {announced.Elapsed} after the announcement, inside RebootBlackoutWindow={window}");

        active.Start(); // the reboot finished late: it rejoins as Passive beside the new Active
        await active.WaitReadyAsync();
        await pair.WaitForAsync(pair.ExactlyOneActiveAsync, Generous, "the rebooted node rejoins");
        Assert.Equal("Passive", await AgentPair.RoleAsync(active));
        Assert.False((await AgentPair.HaStatusAsync(passive)).Engine!.PeerShutdownAnnounced); // a new boot: the announcement is over
    }

    [Fact]
    public async Task An_announced_Active_stays_heard_and_after_cancel_shutdown_a_crash_fails_over_at_once()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var (active, passive) = await pair.SettledAsync(Generous);

        await AssertCommandAsync(active, "shutdown", HttpStatusCode.OK, "operator: graceful reboot announced", """{"reboot":true,"announceOnly":true}""");
        Assert.True((await AgentPair.HaStatusAsync(active)).Engine!.ShutdownAnnounced);
        await pair.WaitForAsync(async () => (await AgentPair.HaStatusAsync(passive)).Engine!.PeerShutdownAnnounced, Generous, "the Passive hears the announcement");

        // Past PartnerFailoverTimeout (3 s): the announcing node still heartbeats, so it is heard, not merely waited for.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.True((await AgentPair.HaStatusAsync(passive)).Engine!.PeerReachable);
        await AssertCommandAsync(active, "become-backup", HttpStatusCode.Conflict, "become-backup refused: a graceful shutdown was announced; cancel-shutdown first");

        // The technician changes their mind at the console.
        var cancel = await CtlProcess.RunAsync(["ha", "cancel-shutdown", "--socket", active.SocketPath]);
        Assert.True(cancel.ExitCode == 0, cancel.StdErr);
        Assert.Equal("operator: graceful shutdown cancelled; the peer's RebootBlackoutWindow no longer applies", cancel.StdOut.Trim());
        await pair.WaitForAsync(async () => !(await AgentPair.HaStatusAsync(passive)).Engine!.PeerShutdownAnnounced, Generous, "the Passive hears the cancel");
        Assert.Contains("operator: graceful shutdown cancelled", await AgentPair.HistoryTextAsync(active), StringComparison.Ordinal);

        // A crash now is a crash, not the announced reboot: no 14-minute blackout.
        active.Signal(Signals.SIGKILL);
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "the Passive takes over at once");
    }

    [Fact]
    public async Task Set_role_switches_the_pair_is_validated_and_needs_the_token_over_tcp()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var (active, passive) = await pair.SettledAsync(Generous);

        await AssertCommandAsync(passive, "role", HttpStatusCode.BadRequest, "role=Off is invalid here: allowed Active or Passive (use 'break' to leave the pair)", """{"role":"Off"}""");
        await AssertCommandAsync(active, "role", HttpStatusCode.Conflict, "become-primary refused: this node is already Active", """{"role":"Active"}""");

        using (var tcp = passive.CreateTcpClient())
        {
            using var content = new StringContent("""{"role":"Active"}""", Encoding.UTF8, "application/json");
            using var anonymous = await tcp.PostAsync(new Uri("api/v1/ha/role", UriKind.Relative), content);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("", await anonymous.Content.ReadAsStringAsync());
        }

        Assert.Equal("Passive", await AgentPair.RoleAsync(passive)); // refused requests changed nothing

        await AssertCommandAsync(passive, "role", HttpStatusCode.OK, "planned switch ", """{"role":"Active","cause":"automation"}""");
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active" && await AgentPair.RoleAsync(active) == "Passive", Generous, "set_failover_role Active on the Passive switches the pair");
        Assert.Contains("planned switch", await AgentPair.HistoryTextAsync(passive), StringComparison.Ordinal);

        await pair.SettledAsync(Generous);
        await AssertCommandAsync(passive, "role", HttpStatusCode.OK, "planned switch ", """{"role":"Passive"}""");
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(active) == "Active" && await AgentPair.RoleAsync(passive) == "Passive", Generous, "set_failover_role Passive on the Active switches back");
    }

    [Fact]
    public async Task Break_takes_both_sides_off_and_a_second_break_is_refused()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var (active, passive) = await pair.SettledAsync(Generous);

        await AssertCommandAsync(passive, "break", HttpStatusCode.OK, "pair broken: this node is Off; no data was deleted");
        Assert.Equal("Off", await AgentPair.RoleAsync(passive));
        Assert.False((await AgentPair.HaStatusAsync(passive)).Paired);
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(active) == "Off", Generous, "the peer goes Off when told of the break");
        Assert.Contains("broke the pair", await AgentPair.HistoryTextAsync(active), StringComparison.Ordinal);

        await AssertCommandAsync(passive, "break", HttpStatusCode.Conflict, "not paired: nothing to break");
        await AssertCommandAsync(passive, "failover-now", HttpStatusCode.Conflict, "not paired: run 'appliancectl ha establish");
    }

    [Fact]
    public async Task A_stranger_as_PreferredActive_is_refused_and_the_preferred_node_takes_its_role_back_after_SwitchBackAfter()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var (active, passive) = await pair.SettledAsync(Generous);
        string activeId = (await AgentPair.HaStatusAsync(passive)).Engine!.PeerNodeId!;
        string passiveId = (await AgentPair.HaStatusAsync(active)).Engine!.PeerNodeId!;

        using (var http = active.CreateLocalClient())
        {
            string before = await http.GetStringAsync(new Uri("api/v1/ha/settings", UriKind.Relative));
            using var refused = await http.PutAsJsonAsync("api/v1/ha/settings", new HaSettings { FencingEnabled = false, PreferredActive = "node-x" }, ApiJsonContext.Default.HaSettings);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal($"PreferredActive='node-x' is not in this pair: allowed null, '{activeId}' or '{passiveId}'",
                (await refused.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiError))!.Error);
            Assert.Equal(before, await http.GetStringAsync(new Uri("api/v1/ha/settings", UriKind.Relative)));
        }

        await pair.PutHaSettingsAsync(new HaSettings { FencingEnabled = false, PreferredActive = activeId, SwitchBackAfter = TimeSpan.FromSeconds(10) });
        await AssertCommandAsync(active, "become-backup", HttpStatusCode.OK, "planned switch");
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "the planned switch away from the preferred node");

        var home = await pair.WaitForAsync(async () => await AgentPair.RoleAsync(active) == "Active" && await AgentPair.RoleAsync(passive) == "Passive",
            TimeSpan.FromSeconds(40), "the preferred node takes its role back");
        Assert.True(home >= TimeSpan.FromSeconds(9), $"switched back after {home}, before SwitchBackAfter=10s");
        Assert.Contains($"switch-back: {activeId} is PreferredActive and was Passive beside Active {passiveId} for SwitchBackAfter=10s", await AgentPair.HistoryTextAsync(active), StringComparison.Ordinal);
        Assert.Contains("sync pull", await AgentPair.HistoryTextAsync(active), StringComparison.Ordinal); // it pulled before serving
    }

    [Fact]
    public async Task Shutdown_announces_then_runs_the_configured_power_command_and_a_failing_one_is_reported()
    {
        using var temp = new TempDir();
        string calls = temp.File("calls");
        string power = HookTestKit.Script(temp.File("power"), $"""
            echo "$1" >> {calls}
            if [ "$1" = poweroff ]; then echo 'Access denied' >&2; exit 1; fi
            exit 0

            """);
        await using var pair = await AgentPair.StartEmbeddedAsync(new Dictionary<string, string>
        {
            ["Appliance:Ha:Power:Reboot:Path"] = power,
            ["Appliance:Ha:Power:Reboot:Arguments:0"] = "reboot",
            ["Appliance:Ha:Power:PowerOff:Path"] = power,
            ["Appliance:Ha:Power:PowerOff:Arguments:0"] = "poweroff",
        });
        var (active, _) = await pair.SettledAsync(Generous);

        // Through appliancectl, as a technician at the console would.
        var announceOnly = await CtlProcess.RunAsync(["ha", "shutdown", "--reboot", "--announce-only", "--socket", active.SocketPath]);
        Assert.True(announceOnly.ExitCode == 0, announceOnly.StdErr);
        Assert.Equal("operator: graceful reboot announced; the peer applies RebootBlackoutWindow=14min", announceOnly.StdOut.Trim());
        Assert.False(File.Exists(calls));

        await AssertCommandAsync(active, "shutdown", HttpStatusCode.OK,
            $"operator: graceful reboot announced; the peer applies RebootBlackoutWindow=14min; reboot: {power} reboot accepted", """{"reboot":true}""", exact: true);
        Assert.Equal(["reboot"], File.ReadAllLines(calls));

        await AssertCommandAsync(active, "shutdown", HttpStatusCode.Conflict,
            $"operator: graceful shutdown announced; the peer applies RebootBlackoutWindow=14min; but power off: {power} poweroff exit code 1: Access denied: power off the appliance by other means (the peer still waits), or ha cancel-shutdown to stay up",
            """{"reboot":false}""", exact: true);
        Assert.Equal(["reboot", "poweroff"], File.ReadAllLines(calls));

        var history = await AgentPair.HistoryAsync(active);
        Assert.Contains(history, e => e.Kind == "power" && e.Message == $"reboot: {power} reboot accepted" && e.Cause == "operator: ha shutdown");
        Assert.Contains(history, e => e.Kind == "power" && e.Message == $"power off: {power} poweroff exit code 1: Access denied");
    }

    /// <summary>POSTs <paramref name="body"/> to /api/v1/ha/<paramref name="operation"/> over the local socket; asserts status and the answer's start.</summary>
    private static async Task AssertCommandAsync(AgentProcess node, string operation, HttpStatusCode status, string expectedStart, string body = "{}", bool exact = false)
    {
        using var http = node.CreateLocalClient();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri($"api/v1/ha/{operation}", UriKind.Relative), content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{operation} {body}: {(int)response.StatusCode} {text}");
        var message = status == HttpStatusCode.BadRequest
            ? System.Text.Json.JsonSerializer.Deserialize(text, ApiJsonContext.Default.ApiError)!.Error
            : System.Text.Json.JsonSerializer.Deserialize(text, ApiJsonContext.Default.CommandResult)!.Message;
        if (exact)
        {
            Assert.Equal(expectedStart, message);
        }
        else
        {
            Assert.StartsWith(expectedStart, message, StringComparison.Ordinal);
        }
    }
}
