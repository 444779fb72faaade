using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Appliance.Agent.Panel;
using Appliance.Agent.Store;
using Appliance.Core.Api;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Panel;

/// <summary>A real agent with the simulated front panel, driven by the real appliancectl.</summary>
public sealed class PanelAgent : IAsyncDisposable
{
    private readonly TempDir _temp = new();

    private PanelAgent(IDictionary<string, string> settings) =>
        Agent = new AgentProcess(_temp.File("data"), settings);

    public AgentProcess Agent { get; }

    public static async Task<PanelAgent> StartAsync(string kind = "Simulated")
    {
        var panel = new PanelAgent(new Dictionary<string, string> { ["Appliance:Panel:Kind"] = kind });
        panel.Agent.Start();
        await panel.Agent.WaitReadyAsync();
        return panel;
    }

    public Task<CtlProcess.Result> Ctl(params string[] args) => CtlProcess.RunAsync(["--socket", Agent.SocketPath, .. args]);

    /// <summary>Runs appliancectl and returns the screen it printed, failing on a non-zero exit.</summary>
    public async Task<string> Screen(params string[] args)
    {
        var result = await Ctl(args);
        Assert.True(result.ExitCode == 0, $"appliancectl {string.Join(' ', args)} exited {result.ExitCode}: {result.StdErr}");
        return result.StdOut;
    }

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        _temp.Dispose();
    }
}

public class PanelCtlTests
{
    private const string Border = "+----------------+";

    [Fact]
    public async Task Show_prints_the_status_screen_and_down_moves_to_show_ip()
    {
        await using var panel = await PanelAgent.StartAsync();
        var screen = await panel.Screen("panel", "show");
        var lines = screen.TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Equal(Border, lines[0]);
        Assert.Equal(Border, lines[3]);
        Assert.Equal("|OFF             |", lines[1]);
        Assert.Matches(@"^\|.{16}\|$", lines[2]);

        var moved = await panel.Screen("panel", "press", "down");
        Assert.StartsWith($"{Border}\n|Show IP       \u2191\u2193|\n", moved, StringComparison.Ordinal);
        Assert.Equal(moved, await panel.Screen("panel", "show"));

        // The API gives the same screen as text (default) and as JSON.
        using var http = panel.Agent.CreateLocalClient();
        Assert.Equal(moved, await http.GetStringAsync(new Uri("api/v1/panel", UriKind.Relative)));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("api/v1/panel", UriKind.Relative));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await http.SendAsync(request);
        var view = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), ApiJsonContext.Default.PanelView)!;
        Assert.Equal(("Simulated", 16, 2, true), (view.Kind, view.Columns, view.Rows, view.BacklightOn));
        Assert.Equal("Show IP       \u2191\u2193", view.Lines[0]);
        panel.Agent.AssertNoErrorsLogged();
    }

    [Fact]
    public async Task Buttons_off_ignores_presses_and_bad_inputs_change_nothing()
    {
        await using var panel = await PanelAgent.StartAsync();
        var settings = await panel.Ctl("panel", "settings", "--buttons", "off", "--json");
        Assert.Equal(0, settings.ExitCode);
        Assert.Contains("\"buttonsEnabled\":false", settings.StdOut, StringComparison.Ordinal);
        var home = await panel.Screen("panel", "show");
        Assert.Contains("|OFF ", home, StringComparison.Ordinal);
        Assert.Equal(home, await panel.Screen("panel", "press", "down"));

        (string[] Args, string Message)[] usage =
        [
            (["panel", "press", "left"], "'left'"),
            (["panel", "press", "up", "--hold", "11s"], "--hold 11s is invalid"),
            (["panel", "press", "up", "--hold", "soon"], "--hold soon is invalid"),
            (["panel", "press", "up", "--with", "up"], "--with up"),
            (["panel", "settings", "--buttons", "maybe"], "'maybe'"),
        ];
        foreach (var (args, message) in usage)
        {
            var result = await panel.Ctl(args);
            Assert.True(result.ExitCode == 2, $"{string.Join(' ', args)} exited {result.ExitCode}");
            Assert.Contains(message, result.StdErr, StringComparison.Ordinal);
        }

        // The API's own checks, for clients other than appliancectl.
        using var http = panel.Agent.CreateLocalClient();
        (string Body, string Message)[] badRequests =
        [
            ("{\"key\":\"left\"}", "key='left' is not a panel key: allowed up|down|check|back"),
            ("{\"key\":\"1\"}", "key='1' is not a panel key"),
            ("{}", "key is missing"),
            ("{\"key\":\"up\",\"holdMs\":10001}", "holdMs=10001 is out of range: allowed 0 to 10000"),
            ("{\"key\":\"up\",\"holdMs\":-1}", "holdMs=-1 is out of range"),
            ("{\"key\":\"up\",\"with\":\"UP\"}", "with='UP' is the pressed key itself"),
            ("{\"key\":\"up\",\"with\":\"side\"}", "with='side' is not a panel key"),
        ];
        foreach (var (body, message) in badRequests)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(new Uri("api/v1/panel/press", UriKind.Relative), content);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), ApiJsonContext.Default.ApiError)!;
            Assert.Contains(message, error.Error, StringComparison.Ordinal);
        }

        Assert.Equal(home, await panel.Screen("panel", "show"));
        Assert.Contains("\"buttonsEnabled\":false", (await panel.Ctl("panel", "settings", "--json")).StdOut, StringComparison.Ordinal);
        panel.Agent.AssertNoErrorsLogged();
    }

    [Fact]
    public async Task Without_a_simulated_panel_remote_presses_are_refused()
    {
        await using var panel = await PanelAgent.StartAsync(kind: "None");
        Assert.Contains("no front panel in use (kind None)", await panel.Screen("panel", "show"), StringComparison.Ordinal);
        var press = await panel.Ctl("panel", "press", "check");
        Assert.Equal(1, press.ExitCode);
        Assert.Contains("remote press works only on the simulated panel (this panel is None)", press.StdErr, StringComparison.Ordinal);
        panel.Agent.AssertNoErrorsLogged();
    }

    [Fact]
    public async Task A_bad_panel_option_stops_the_agent_with_exit_2_naming_the_key()
    {
        using var temp = new TempDir();
        await using var agent = new AgentProcess(temp.File("data"), new Dictionary<string, string> { ["Appliance:Panel:HoldMilliseconds"] = "50" });
        agent.Start();
        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("Appliance:Panel:HoldMilliseconds=50 is out of range; allowed: 500..10000", agent.OutputText, StringComparison.Ordinal);
    }
}

/// <summary>The password reset end to end; its own class so it runs beside the other panel tests.</summary>
public class PanelPasswordResetCtlTests
{
    [Fact]
    public async Task Password_reset_from_the_panel_stores_only_a_hash_and_records_history()
    {
        await using var panel = await PanelAgent.StartAsync();
        await panel.Screen("panel", "press", "down");

        // Off by default: the chord on Show IP does nothing.
        var refused = await panel.Screen("panel", "press", "up", "--hold", "2.5s", "--with", "down");
        Assert.Contains("|Show IP ", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("New admin pw", refused, StringComparison.Ordinal);

        Assert.Contains("allowed", await panel.Screen("panel", "settings", "--allow-password-reset", "on"), StringComparison.Ordinal);
        var offer = await panel.Screen("panel", "press", "up", "--hold", "2.5s", "--with", "down");
        var offerLines = offer.Split('\n');
        Assert.StartsWith("|New admin pw", offerLines[1], StringComparison.Ordinal);
        var password = offerLines[2].Trim('|').Trim();
        Assert.Matches("^[A-Za-z0-9]{8,16}$", password);

        Assert.Contains("|Password set", await panel.Screen("panel", "press", "check"), StringComparison.Ordinal);
        var history = await panel.Screen("history", "--json");
        Assert.Contains("admin password reset from panel", history, StringComparison.Ordinal);
        Assert.Contains("panel settings changed", history, StringComparison.Ordinal);

        panel.Agent.Signal(Signals.SIGTERM);
        Assert.Equal(0, await panel.Agent.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.DoesNotContain(password, panel.Agent.OutputText, StringComparison.Ordinal);
        panel.Agent.AssertNoErrorsLogged();
        var dbPath = Path.Combine(panel.Agent.DataDir, AgentStore.DatabaseFileName);
        var db = await File.ReadAllBytesAsync(dbPath);
        Assert.Equal(-1, db.AsSpan().IndexOf(Encoding.UTF8.GetBytes(password)));
        Assert.NotEqual(-1, db.AsSpan().IndexOf(Encoding.UTF8.GetBytes(StoreAdminCredentialSink.SecretName)));

        // The stored record is a PBKDF2 hash that verifies against the password shown, and the settings survived.
        using var store = AgentStore.Open(panel.Agent.DataDir, 1000, null, TimeProvider.System);
        var hash = store.ReadSecret(StoreAdminCredentialSink.SecretName)!;
        Assert.StartsWith($"pbkdf2-sha256${StoreAdminCredentialSink.Iterations}$", hash, StringComparison.Ordinal);
        Assert.True(StoreAdminCredentialSink.Verify(password, hash));
        Assert.False(StoreAdminCredentialSink.Verify(password + "x", hash));
        Assert.Contains("\"allowPasswordReset\":true", store.ReadSetting(PanelSettingsStore.SettingName), StringComparison.Ordinal);
    }
}
