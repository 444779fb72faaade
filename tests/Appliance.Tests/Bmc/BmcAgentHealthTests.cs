using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Appliance.Core.Api;
using Appliance.Core.Panel;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Bmc;

/// <summary>The agent's BMC wiring beyond the API: the health poller's history entries, no BMC, a bad BMC key.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class BmcAgentHealthTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Health_poller_records_a_critical_temperature_and_its_recovery_in_history_and_on_the_panel()
    {
        using var sim = IpmiSimulator.Start();
        var settings = SimulatedBmcAgent.BmcSettings(sim);
        settings["Appliance:Bmc:HealthPollInterval"] = "00:00:01";
        settings["Appliance:Panel:Kind"] = "Simulated";
        await using var agent = new AgentProcess(_temp.File("data"), settings);
        agent.Start();
        await agent.WaitReadyAsync();

        sim.SetTemperature(150);
        var critical = await WaitForHistoryAsync(agent, "critical: Inlet Temp critical (150 degrees C)");
        Assert.Equal("bmc sensor Inlet Temp", critical.Cause);
        Assert.Contains(await ReadHistoryAsync(agent), e => e.Kind == "health" && e.Cause.StartsWith("bmc eventlog ", StringComparison.Ordinal));
        // The operator at the box sees the fault on the front panel's Health screen (the panel refreshes every second):
        // the sensor event or a SEL entry it raised, whichever the poller recorded last.
        const string criticalAlert = @"Alert: \d\d-\d\d \d\d:\d\d critical: (Inlet Temp critical \(150 degrees C\)|SEL \S+ Temperature Inlet Temp: .*\(asserted\))";
        await BmcAgentTests.WaitForAsync(() => PanelHealthTextAsync(agent), text => Regex.IsMatch(text, criticalAlert), seconds: 10);

        sim.SetTemperature(30);
        await WaitForHistoryAsync(agent, "info: Inlet Temp back to normal (30 degrees C)");
        // A recovery is not an alert: after two more refreshes the panel still names an alert, not "back to normal" — the
        // critical event, or a newer warning (on a loaded machine a poll may time out: "BMC not answering" is one).
        await Task.Delay(PanelController.RefreshInterval * 2);
        var afterRecovery = await PanelHealthTextAsync(agent);
        Assert.Matches(@"Alert: \d\d-\d\d \d\d:\d\d (critical|warning): ", afterRecovery);
        Assert.DoesNotContain("back to normal", afterRecovery, StringComparison.Ordinal);
        // The agent logs each event too; a critical one at Error level, so nothing else may be an error.
        Assert.Contains(agent.Output, l => l.Contains("Hardware health Critical from Sensor Inlet Temp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_bmc_the_verbs_say_so_and_the_api_answers_409()
    {
        await using var agent = new AgentProcess(_temp.File("data"), new Dictionary<string, string> { ["Appliance:Bmc:Kind"] = "None" });
        agent.Start();
        await agent.WaitReadyAsync();

        var info = await CtlProcess.RunAsync(["--socket", agent.SocketPath, "bmc", "info"]);
        Assert.Equal((1, "appliancectl: no BMC configured (Appliance:Bmc:Kind)\n"), (info.ExitCode, info.StdErr));
        var fence = await CtlProcess.RunAsync(["--socket", agent.SocketPath, "bmc", "fence-test"]);
        Assert.Equal((1, "appliancectl: fencing is not configured (Appliance:Ha:Fencing:Enabled)\n"), (fence.ExitCode, fence.StdErr));

        using var http = agent.CreateLocalClient();
        using var response = await http.GetAsync(new Uri("api/v1/bmc/power", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        agent.AssertNoErrorsLogged();
    }

    [Fact]
    public async Task A_wrong_bmc_password_is_a_401_one_liner_and_a_failed_fence_test_exits_1()
    {
        using var sim = IpmiSimulator.Start();
        var wrong = IpmiSimulator.WritePasswordFile(_temp.File("wrong.password"), "not-calvin");
        var settings = SimulatedBmcAgent.OwnAndPeerSettings(sim);
        settings["Appliance:Bmc:PasswordFile"] = wrong;
        settings["Appliance:Ha:Fencing:Bmc:PasswordFile"] = wrong;
        await using var agent = new AgentProcess(_temp.File("data"), settings);
        agent.Start();
        await agent.WaitReadyAsync();

        using var http = agent.CreateLocalClient();
        using var response = await http.GetAsync(new Uri("api/v1/bmc/power", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), ApiJsonContext.Default.ApiError)!;
        Assert.Contains("rejected user 'root'", error.Error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Error);

        var fence = await CtlProcess.RunAsync(["--socket", agent.SocketPath, "bmc", "fence-test"]);
        Assert.Equal(1, fence.ExitCode);
        Assert.StartsWith("appliancectl: fence check FAILED (Failed, ", fence.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("not-calvin", agent.OutputText + fence.StdErr + error.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_health_poll_interval_stops_the_agent_with_exit_2_naming_the_key()
    {
        var settings = new Dictionary<string, string> { ["Appliance:Bmc:Kind"] = "None", ["Appliance:Bmc:HealthPollInterval"] = "00:00:00.5" };
        await using var agent = new AgentProcess(_temp.File("data"), settings);
        agent.Start();
        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Appliance:Bmc:HealthPollInterval '00:00:00.5000000' is invalid: 00:00:01 to 01:00:00", agent.OutputText, StringComparison.Ordinal);
    }

    /// <summary>
    /// The simulated panel's Health screen as one text: home, down to Health, Check, then Down through its pages
    /// (remote presses through the API, as a person would press the buttons).
    /// </summary>
    private static async Task<string> PanelHealthTextAsync(AgentProcess agent)
    {
        using var http = agent.CreateLocalClient();
        async Task<PanelView> Press(string key)
        {
            using var response = await http.PostAsJsonAsync("api/v1/panel/press", new PanelPressRequest(key, null, null), ApiJsonContext.Default.PanelPressRequest);
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.PanelView))!;
        }

        await Press("back"); // a detail page → its title card
        await Press("back"); // a title card → home
        foreach (var _ in new[] { "Show IP", "Role", "Health" })
        {
            await Press("down");
        }

        var page = await Press("check");
        var lines = new List<string>(page.Lines);
        for (var pages = 1; page.Lines[^1].EndsWith(PanelGlyph.DownArrow) && pages < 10; pages++)
        {
            page = await Press("down");
            lines.AddRange(page.Lines);
        }

        return string.Join(' ', lines.Select(l => l.TrimEnd(PanelGlyph.UpArrow, PanelGlyph.DownArrow).Trim()).Where(l => l.Length > 0));
    }

    private static async Task<HistoryEntry[]> ReadHistoryAsync(AgentProcess agent)
    {
        var result = await CtlProcess.RunAsync(["--socket", agent.SocketPath, "history", "--limit", "200", "--json"]);
        Assert.Equal(0, result.ExitCode);
        return JsonSerializer.Deserialize(result.StdOut, ApiJsonContext.Default.HistoryEntryArray)!;
    }

    private static async Task<HistoryEntry> WaitForHistoryAsync(AgentProcess agent, string message)
    {
        var entries = await BmcAgentTests.WaitForAsync(() => ReadHistoryAsync(agent), e => e.Any(x => x.Message == message), seconds: 15);
        return Assert.Single(entries, e => e.Kind == "health" && e.Message == message);
    }
}
