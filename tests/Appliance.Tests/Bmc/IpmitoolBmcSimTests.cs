using System.Diagnostics;
using Appliance.Core.Health;
using Appliance.Core.Ports;
using Appliance.Hw.Bmc;
using Appliance.Hw.Processes;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Bmc;

/// <summary>The IPMI adapter driving real ipmitool against a real ipmi_sim.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class IpmitoolBmcSimTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly IpmiSimulator _sim = IpmiSimulator.Start();

    public void Dispose() => _sim.Dispose();

    private IBmc Bmc(BmcOptions? options = null, ICommandRunner? runner = null) =>
        BmcFactory.Create(options ?? _sim.Options(), runner)!;

    [Fact]
    public async Task Lan_reads_the_simulated_config_and_applies_static_vlan_then_dhcp()
    {
        var bmc = Bmc();
        var initial = await bmc.GetLanAsync(None);
        Assert.Equal(new BmcLanConfig(BmcIpSource.Static, "192.0.2.10", "255.255.255.0", "192.0.2.1", null, "02:00:00:00:00:10"), initial);

        await bmc.SetLanAsync(BmcLanRequest.Static("198.51.100.20", "255.255.255.128", "198.51.100.1", vlanId: 100), None);
        var applied = await bmc.GetLanAsync(None);
        Assert.Equal(new BmcLanConfig(BmcIpSource.Static, "198.51.100.20", "255.255.255.128", "198.51.100.1", 100, "02:00:00:00:00:10"), applied);
        // Persisted by the sim's lan_config_program, i.e. the BMC really stored it.
        Assert.Contains("ip_addr:198.51.100.20", File.ReadAllText(Path.Combine(_sim.Directory, "lan.state")), StringComparison.Ordinal);

        await bmc.SetLanAsync(BmcLanRequest.Dhcp(), None);
        var dhcp = await bmc.GetLanAsync(None);
        Assert.Equal(BmcIpSource.Dhcp, dhcp.IpSource);
        Assert.Null(dhcp.VlanId);
    }

    [Fact]
    public async Task Users_are_listed_and_a_new_password_logs_in_while_the_old_one_is_refused()
    {
        var bmc = Bmc();
        var users = await bmc.ListUsersAsync(None);
        Assert.Contains(new BmcUser(2, "root", true, "ADMINISTRATOR"), users);
        Assert.Contains(new BmcUser(3, "oper", true, "OPERATOR"), users);

        await bmc.SetPasswordAsync(3, "N3w pass'word", None);

        var operFile = Path.Combine(_sim.Directory, "oper.password");
        File.WriteAllText(operFile, "N3w pass'word\n");
        var asOper = Bmc(new BmcOptions { Kind = BmcKind.Ipmi, Host = "127.0.0.1", Port = _sim.Port, User = "oper", PasswordFile = operFile });
        Assert.Equal(BmcPowerState.Off, await asOper.GetPowerStateAsync(None));

        File.WriteAllText(operFile, "operpw\n");
        var error = await Assert.ThrowsAsync<BmcException>(() => asOper.GetPowerStateAsync(None));
        Assert.Equal(BmcErrorKind.AuthenticationFailed, error.Kind);
    }

    [Fact]
    public async Task New_password_never_appears_on_a_command_line_and_its_temp_file_is_private_and_removed()
    {
        var recorder = new RecordingCommandRunner(new ProcessCommandRunner());
        string? script = null;
        UnixFileMode? mode = null;
        recorder.OnCall = request =>
        {
            if (request.Arguments.Contains("exec"))
            {
                script = request.Arguments[^1];
                mode = File.GetUnixFileMode(script);
            }
        };

        await Bmc(runner: recorder).SetPasswordAsync(4, "Secret-Pa55", None);

        Assert.All(recorder.Calls, c => Assert.DoesNotContain(c.Arguments, a => a.Contains("Secret-Pa55", StringComparison.Ordinal)));
        Assert.All(recorder.Calls, c => Assert.DoesNotContain(c.Arguments, a => a.Contains(IpmiSimulator.Password, StringComparison.Ordinal)));
        Assert.All(recorder.Calls, c => Assert.Equal(IpmiSimulator.Password, c.Environment!["IPMI_PASSWORD"]));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        Assert.False(File.Exists(script));
        Assert.Equal(["user", "enable", "4"], recorder.Calls[^1].Arguments.TakeLast(3));
    }

    [Fact]
    public async Task Controller_info_and_fru_report_firmware_manufacturer_and_service_tag()
    {
        var bmc = Bmc();
        var mc = await bmc.GetControllerInfoAsync(None);
        Assert.Equal(new BmcControllerInfo("9.08", "Dell Inc.", "674", "2.0"), mc);
        var fru = await bmc.GetFruAsync(None);
        Assert.Equal(new BmcFru("SVCTAG1", "BSN123456", "PowerEdge R650", "Dell Inc."), fru);
    }

    [Fact]
    public async Task Power_on_off_cycle_and_soft_drive_the_real_host_process()
    {
        var bmc = Bmc();
        Assert.Equal(BmcPowerState.Off, await bmc.GetPowerStateAsync(None));

        await bmc.SetPowerAsync(BmcPowerAction.On, None);
        Assert.Equal(BmcPowerState.On, await bmc.GetPowerStateAsync(None));
        var first = Assert.IsType<int>(_sim.HostPid);
        Assert.False(IpmiSimulator.IsGone(first));

        // ipmi_sim powers off at once and back on after its cycle delay.
        await bmc.SetPowerAsync(BmcPowerAction.Cycle, None);
        await HostGoneAsync(first, "power cycle");
        Assert.Equal(BmcPowerState.On, await WaitForAsync(() => bmc.GetPowerStateAsync(None), s => s == BmcPowerState.On));
        var second = Assert.IsType<int>(_sim.HostPid);
        Assert.NotEqual(first, second);

        await bmc.SetPowerAsync(BmcPowerAction.Off, None);
        Assert.Equal(BmcPowerState.Off, await bmc.GetPowerStateAsync(None));
        await HostGoneAsync(second, "power off");

        // Soft = ACPI shutdown request: the sim's host gets SIGTERM.
        await bmc.SetPowerAsync(BmcPowerAction.On, None);
        var third = Assert.IsType<int>(_sim.HostPid);
        await bmc.SetPowerAsync(BmcPowerAction.Soft, None);
        Assert.Equal(BmcPowerState.Off, await WaitForAsync(() => bmc.GetPowerStateAsync(None), s => s == BmcPowerState.Off));
        await HostGoneAsync(third, "soft power off");
    }

    /// <summary>ipmi_sim's chassis-control script kills the host beside its answer: on a loaded machine a moment later.</summary>
    private static Task HostGoneAsync(int pid, string after) =>
        Poll.UntilAsync(() => IpmiSimulator.IsGone(pid), TimeSpan.FromSeconds(5), () => $"host process {pid} still running after {after}");

    [Fact]
    public async Task Sensors_report_readings_thresholds_and_status_changes()
    {
        var bmc = Bmc();
        var sensors = await bmc.ReadSensorsAsync(None);
        var inlet = Assert.Single(sensors, s => s.Name == "Inlet Temp");
        Assert.Equal(new BmcSensor("Inlet Temp", 30, "degrees C", BmcSensorStatus.Ok, new BmcThresholds(null, null, null, 112, 144, 160)), inlet);
        Assert.Equal(4800, Assert.Single(sensors, s => s.Name == "Fan1").Reading);

        _sim.SetTemperature(150);
        var hot = await WaitForAsync(async () => (await bmc.ReadSensorsAsync(None)).Single(s => s.Name == "Inlet Temp"),
            s => s.Status != BmcSensorStatus.Ok);
        Assert.Equal(BmcSensorStatus.Critical, hot.Status);
        Assert.Equal(150, hot.Reading);
    }

    [Fact]
    public async Task Sel_lists_threshold_events_and_clears()
    {
        var bmc = Bmc();
        Assert.Empty(await bmc.ReadEventLogAsync(None));

        _sim.SetTemperature(150);
        var log = await WaitForAsync(() => bmc.ReadEventLogAsync(None), l => l.Count >= 2);
        Assert.Equal("Upper Non-critical going high | Reading 150 > Threshold 112 degrees C", log[0].Description);
        Assert.Equal("Temperature Inlet Temp", log[0].Sensor);
        Assert.True(log[0].Asserted);
        Assert.Equal(HealthSeverity.Warning, HealthSeverityMap.ForLogEntry(log[0]));
        Assert.Equal(HealthSeverity.Critical, HealthSeverityMap.ForLogEntry(log[1]));

        await bmc.ClearEventLogAsync(None);
        Assert.Empty(await WaitForAsync(() => bmc.ReadEventLogAsync(None), l => l.Count == 0));
    }

    [Fact]
    public async Task Health_poller_publishes_sensor_and_sel_changes_from_the_simulator()
    {
        var sink = new ListSink();
        var poller = new HardwareHealthPoller(Bmc(), sink, TimeProvider.System);
        await poller.PollOnceAsync(None);
        Assert.Empty(sink.Events);

        _sim.SetTemperature(150);
        await WaitForAsync(async () => { await poller.PollOnceAsync(None); return sink.Events; },
            e => e.Any(x => x.Source == HealthSource.Sensor) && e.Count(x => x.Source == HealthSource.EventLog) >= 2);
        var sensorEvent = sink.Events.First(e => e.Source == HealthSource.Sensor);
        Assert.Equal(HealthSeverity.Critical, sensorEvent.Severity);
        Assert.Equal("Inlet Temp critical (150 degrees C)", sensorEvent.Message);

        _sim.SetTemperature(30);
        await WaitForAsync(async () => { await poller.PollOnceAsync(None); return sink.Events; },
            e => e.Any(x => x.Message == "Inlet Temp back to normal (30 degrees C)" && x.Severity == HealthSeverity.Info));
    }

    [Fact]
    public async Task Fencing_powers_off_the_peer_process_and_confirms_it_is_gone()
    {
        var bmc = Bmc();
        await bmc.SetPowerAsync(BmcPowerAction.On, None);
        var peer = Assert.IsType<int>(_sim.HostPid);
        Assert.False(IpmiSimulator.IsGone(peer));

        var fencer = BmcFactory.CreateFencer(new FencingOptions { Enabled = true, Bmc = _sim.Options(), PollInterval = TimeSpan.FromMilliseconds(200) })!;
        var check = await fencer.CheckAsync(None);
        Assert.Equal(FenceOutcome.CheckPassed, check.Outcome);
        Assert.False(IpmiSimulator.IsGone(peer));

        var result = await fencer.FenceAsync(None);

        Assert.Equal(FenceOutcome.ConfirmedOff, result.Outcome);
        Assert.True(IpmiSimulator.IsGone(peer), $"peer process {peer} still running after fencing");
        Assert.InRange(result.Elapsed, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Wrong_password_is_an_authentication_error_in_bounded_time_and_fencing_reports_failed()
    {
        var options = _sim.Options(TimeSpan.FromSeconds(5));
        options.PasswordFile = Path.Combine(_sim.Directory, "wrong.password");
        File.WriteAllText(options.PasswordFile, "not-calvin\n");
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<BmcException>(() => Bmc(options).GetPowerStateAsync(None));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.Equal(BmcErrorKind.AuthenticationFailed, error.Kind);
        Assert.Contains("rejected user 'root'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-calvin", error.Message, StringComparison.Ordinal);

        var fence = await BmcFactory.CreateFencer(new FencingOptions { Enabled = true, Bmc = options })!.FenceAsync(None);
        Assert.Equal(FenceOutcome.Failed, fence.Outcome);
    }

    [Fact]
    public async Task Lcd_raw_oem_commands_are_sent_byte_exact_and_the_sims_rejection_is_surfaced()
    {
        var recorder = new RecordingCommandRunner(new ProcessCommandRunner());
        var lcd = (IBmcFrontLcd)Bmc(runner: recorder);

        var error = await Assert.ThrowsAsync<BmcException>(() => lcd.SetUserStringAsync("BT-A1 ACTIVE", None));

        // ipmi_sim implements no Dell OEM Set System Info parameters.
        Assert.Equal(BmcErrorKind.Rejected, error.Kind);
        Assert.Contains("raw Dell LCD string (0x06 0x58 0xc1)", error.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid command", error.Message, StringComparison.Ordinal);
        var call = Assert.Single(recorder.Calls);
        string[] expected = ["raw", "0x06", "0x58", "0xc1", "0x00", "0x00", "0x0c",
            "0x42", "0x54", "0x2d", "0x41", "0x31", "0x20", "0x41", "0x43", "0x54", "0x49", "0x56", "0x45"];
        Assert.Equal(expected, call.Arguments.TakeLast(expected.Length));
    }

    internal static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        // The sim polls temp.val once a second; give it a few periods.
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value) || watch.Elapsed > TimeSpan.FromSeconds(8))
                return value;
            await Task.Delay(200);
        }
    }

    private sealed class ListSink : IHealthEventSink
    {
        private readonly List<HealthEvent> _events = [];

        public List<HealthEvent> Events
        {
            get
            {
                lock (_events)
                    return [.. _events];
            }
        }

        public ValueTask PublishAsync(HealthEvent healthEvent, CancellationToken cancellationToken)
        {
            lock (_events)
                _events.Add(healthEvent);
            return ValueTask.CompletedTask;
        }
    }
}
