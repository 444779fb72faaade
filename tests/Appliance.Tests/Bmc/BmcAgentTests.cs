using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Appliance.Core.Api;
using Appliance.Core.Ports;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Bmc;

/// <summary>
/// A real agent whose own BMC and whose fencing peer BMC are one real ipmi_sim (users root and oper);
/// the health poll stays at its default so only the startup poll talks to the sim besides the tests.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SimulatedBmcAgent : IAsyncLifetime
{
    private readonly TempDir _temp = new();

    public IpmiSimulator Sim { get; } = IpmiSimulator.Start();

    public AgentProcess Agent { get; private set; } = null!;

    public Task<CtlProcess.Result> Ctl(params string[] args) => CtlProcess.RunAsync(["--socket", Agent.SocketPath, .. args]);

    /// <summary>Settings pointing <paramref name="section"/> (<c>Appliance:Bmc</c> or the fencing peer) at <paramref name="sim"/>.</summary>
    public static Dictionary<string, string> BmcSettings(IpmiSimulator sim, string section = "Appliance:Bmc") => new()
    {
        [$"{section}:Kind"] = "Ipmi",
        [$"{section}:Host"] = "127.0.0.1",
        [$"{section}:Port"] = sim.Port.ToString(CultureInfo.InvariantCulture),
        [$"{section}:User"] = IpmiSimulator.User,
        [$"{section}:PasswordFile"] = sim.PasswordFile,
    };

    /// <summary><paramref name="sim"/> as this node's BMC and as the fencing peer's BMC, fencing enabled.</summary>
    public static Dictionary<string, string> OwnAndPeerSettings(IpmiSimulator sim)
    {
        var settings = BmcSettings(sim);
        foreach (var (key, value) in BmcSettings(sim, "Appliance:Ha:Fencing:Bmc"))
        {
            settings[key] = value;
        }

        settings["Appliance:Ha:Fencing:Enabled"] = "true";
        return settings;
    }

    public async Task InitializeAsync()
    {
        Agent = new AgentProcess(_temp.File("data"), OwnAndPeerSettings(Sim));
        Agent.Start();
        await Agent.WaitReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await Agent.DisposeAsync();
        Sim.Dispose();
        _temp.Dispose();
    }
}

/// <summary>appliancectl bmc … → the agent's /api/v1/bmc → ipmitool → ipmi_sim, all real processes.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class BmcAgentTests(SimulatedBmcAgent fixture) : IClassFixture<SimulatedBmcAgent>
{
    private readonly IpmiSimulator _sim = fixture.Sim;

    private Task<CtlProcess.Result> Ctl(params string[] args) => fixture.Ctl(args);

    [Fact]
    public async Task Info_shows_the_service_tag_and_firmware_in_80_columns_and_as_json()
    {
        var table = await Ctl("bmc", "info");
        Assert.Equal(0, table.ExitCode);
        Assert.Matches(@"(?m)^Service tag +SVCTAG1$", table.StdOut);
        Assert.Matches(@"(?m)^BMC firmware +9\.08$", table.StdOut);
        AssertFits80(table.StdOut);

        var json = await Ctl("bmc", "info", "--json");
        var info = JsonSerializer.Deserialize(json.StdOut, ApiJsonContext.Default.BmcInfo)!;
        Assert.Equal(new BmcFru("SVCTAG1", "BSN123456", "PowerEdge R650", "Dell Inc."), info.Fru);
        Assert.Equal(BmcKind.Ipmi, info.Kind);
    }

    [Fact]
    public async Task Net_set_static_with_vlan_then_dhcp_round_trips_through_net_show()
    {
        var set = await Ctl("bmc", "net", "set", "--ip", "198.51.100.20", "--netmask", "255.255.255.128", "--gateway", "198.51.100.1", "--vlan", "100");
        Assert.Equal(0, set.ExitCode);

        var shown = await NetShowAsync();
        Assert.Equal(new BmcLanConfig(BmcIpSource.Static, "198.51.100.20", "255.255.255.128", "198.51.100.1", 100, "02:00:00:00:00:10"), shown);
        var table = await Ctl("bmc", "net", "show");
        Assert.Matches(@"(?m)^VLAN +100$", table.StdOut);
        AssertFits80(table.StdOut);

        // --vlan omitted keeps the current VLAN.
        Assert.Equal(0, (await Ctl("bmc", "net", "set", "--dhcp")).ExitCode);
        shown = await NetShowAsync();
        Assert.Equal((BmcIpSource.Dhcp, 100), (shown.IpSource, shown.VlanId));

        Assert.Equal(0, (await Ctl("bmc", "net", "set", "--dhcp", "--vlan", "off")).ExitCode);
        Assert.Null((await NetShowAsync()).VlanId);
    }

    [Fact]
    public async Task A_vlan_out_of_range_is_refused_naming_field_and_range_and_the_bmc_is_unchanged()
    {
        var before = await NetShowAsync();
        var stateFile = Path.Combine(_sim.Directory, "lan.state");
        var stateBefore = File.Exists(stateFile) ? File.ReadAllText(stateFile) : null;

        var result = await Ctl("bmc", "net", "set", "--ip", "203.0.113.9", "--netmask", "255.255.255.0", "--gateway", "203.0.113.1", "--vlan", "5000");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("appliancectl: vlan '5000' is invalid: VLAN id must be 1–4094 (or off)\n", result.StdErr);
        Assert.Equal(before, await NetShowAsync());
        Assert.Equal(stateBefore, File.Exists(stateFile) ? File.ReadAllText(stateFile) : null);
    }

    [Fact]
    public async Task Net_set_with_conflicting_options_is_a_usage_error()
    {
        var result = await Ctl("bmc", "net", "set", "--dhcp", "--ip", "198.51.100.20");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("give either --dhcp, or --ip, --netmask and --gateway", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Power_on_then_off_drives_the_simulated_host_and_status_follows()
    {
        var on = await Ctl("bmc", "power", "on");
        Assert.Equal(0, on.ExitCode);
        Assert.Equal("power on requested; power is now on\n", on.StdOut);
        Assert.Equal("power is on\n", (await Ctl("bmc", "power", "status")).StdOut);
        var host = Assert.IsType<int>(_sim.HostPid);

        var off = await Ctl("bmc", "power", "off");
        Assert.Equal(0, off.ExitCode);
        var status = await Ctl("bmc", "power", "status");
        Assert.Equal((0, "power is off\n"), (status.ExitCode, status.StdOut));
        Assert.True(IpmiSimulator.IsGone(host), $"host process {host} still running after power off");
    }

    [Fact]
    public async Task Sensors_are_listed_with_status_and_critical_limits()
    {
        var result = await Ctl("bmc", "sensors");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"(?m)^Inlet Temp +\d+ +degrees C +Ok +- / 144$", result.StdOut);
        Assert.Matches(@"(?m)^Fan1 +4800 ", result.StdOut);
        AssertFits80(result.StdOut);
    }

    [Fact]
    public async Task Sel_lists_threshold_events_and_clear_empties_it()
    {
        try
        {
            _sim.SetTemperature(150);
            var entries = await WaitForAsync(async () => JsonSerializer.Deserialize((await Ctl("bmc", "sel", "--json")).StdOut, ApiJsonContext.Default.BmcSelEntryArray)!,
                e => e.Length >= 2);
            Assert.Contains(entries, e => e.Sensor == "Temperature Inlet Temp" && e.Description.StartsWith("Upper Critical going high", StringComparison.Ordinal));

            var table = await Ctl("bmc", "sel");
            Assert.Equal(0, table.ExitCode);
            Assert.Contains("Temperature Inlet Temp", table.StdOut, StringComparison.Ordinal);
            AssertFits80(table.StdOut);

            var clear = await Ctl("bmc", "sel", "--clear");
            Assert.Equal(0, clear.ExitCode);
            Assert.EndsWith("system event log cleared\n", clear.StdOut, StringComparison.Ordinal);
            Assert.Equal("system event log is empty\n", (await WaitForAsync(() => Ctl("bmc", "sel"), r => r.StdOut.Contains("empty", StringComparison.Ordinal))).StdOut);
        }
        finally
        {
            _sim.SetTemperature(30);
        }
    }

    [Fact]
    public async Task Set_password_reads_stdin_and_the_new_password_logs_in_with_ipmitool()
    {
        const string password = "Fresh-Pa55word";
        var result = await SetPasswordAsync(3, password + "\n");

        Assert.Equal((0, "password of BMC user 3 set\n"), (result.ExitCode, result.StdOut));
        Assert.Equal(0, await IpmitoolAsOperAsync(password));
        Assert.NotEqual(0, await IpmitoolAsOperAsync("operpw"));
        Assert.DoesNotContain(password, fixture.Agent.OutputText, StringComparison.Ordinal);
        var history = await Ctl("history", "--json");
        Assert.DoesNotContain(password, history.StdOut, StringComparison.Ordinal);
        Assert.Contains("password of BMC user 3 set", history.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_password_with_nothing_on_stdin_changes_nothing()
    {
        var result = await SetPasswordAsync(4, "");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no password on stdin", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_too_short_password_is_refused_without_echoing_it()
    {
        var result = await SetPasswordAsync(4, "xyzzy12\n");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("appliancectl: password '<7 characters>' is invalid: length must be 8–20 characters\n", result.StdErr);
        Assert.DoesNotContain("xyzzy12", fixture.Agent.OutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fence_test_reaches_the_peer_bmc_with_valid_credentials_and_powers_nothing()
    {
        var before = _sim.HostPid;
        var result = await Ctl("bmc", "fence-test");
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("fence check passed (CheckPassed, ", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("peer BMC answers with valid credentials", result.StdOut, StringComparison.Ordinal);
        Assert.Equal(before, _sim.HostPid);
    }

    [Fact]
    public async Task Api_maps_an_unknown_power_action_to_400_with_the_allowed_values()
    {
        using var http = fixture.Agent.CreateLocalClient();
        using var response = await http.PostAsync(new Uri("api/v1/bmc/power/explode", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), ApiJsonContext.Default.ApiError)!;
        Assert.Equal("action 'explode' is invalid: on, off, cycle or soft", error.Error);
    }

    private Task<CtlProcess.Result> SetPasswordAsync(int id, string stdin) =>
        CtlProcess.RunAsync(["--socket", fixture.Agent.SocketPath, "bmc", "user", "set-password", "--id", id.ToString(CultureInfo.InvariantCulture)], stdin: stdin);

    private async Task<BmcLanConfig> NetShowAsync()
    {
        var result = await Ctl("bmc", "net", "show", "--json");
        Assert.Equal(0, result.ExitCode);
        return JsonSerializer.Deserialize(result.StdOut, ApiJsonContext.Default.BmcLanConfig)!;
    }

    private async Task<int> IpmitoolAsOperAsync(string password)
    {
        var info = new ProcessStartInfo("ipmitool", ["-I", "lanplus", "-H", "127.0.0.1", "-p", _sim.Port.ToString(CultureInfo.InvariantCulture),
            "-U", "oper", "-E", "-C", "3", "-N", "1", "-R", "1", "chassis", "power", "status"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["IPMI_PASSWORD"] = password;
        using var process = Process.Start(info)!;
        var drain = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(limit.Token);
        await drain;
        return process.ExitCode;
    }

    internal static void AssertFits80(string text) =>
        Assert.All(text.TrimEnd('\n').Split('\n'), l => Assert.True(l.Length <= 80, $"line wider than 80: '{l}'"));

    internal static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done, double seconds = 10)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value) || watch.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                return value;
            }

            await Task.Delay(250);
        }
    }
}
