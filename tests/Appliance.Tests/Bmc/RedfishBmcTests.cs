using System.Diagnostics;
using System.Text.Json.Nodes;
using Appliance.Core.Health;
using Appliance.Core.Ports;
using Appliance.Hw.Bmc;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Bmc;

/// <summary>The Redfish adapter against an in-test HTTPS server with iDRAC 9 resource shapes (not a real iDRAC).</summary>
public sealed class RedfishBmcTests : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private FakeIdracServer _idrac = null!;
    private RedfishBmc _bmc = null!;

    public async Task InitializeAsync()
    {
        _idrac = await FakeIdracServer.StartAsync();
        _bmc = Create(_idrac.Thumbprint);
    }

    public async Task DisposeAsync()
    {
        await _bmc.DisposeAsync();
        await _idrac.DisposeAsync();
    }

    private RedfishBmc Create(string? pin, string password = FakeIdracServer.Password, TimeSpan? timeout = null) => new(new BmcOptions
    {
        Kind = BmcKind.Redfish, Host = "127.0.0.1", Port = _idrac.Port, User = FakeIdracServer.User, PasswordFile = "unused",
        CertificateThumbprint = pin, CommandTimeout = timeout ?? TimeSpan.FromSeconds(10),
    }, () => password);

    private static JsonNode Json(string body) => JsonNode.Parse(body)!;

    [Fact]
    public async Task Logs_in_once_with_a_session_and_sends_the_token_on_every_request()
    {
        Assert.Equal(BmcPowerState.On, await _bmc.GetPowerStateAsync(None));
        Assert.Equal(new BmcFru("7QX4B23", "CNFCP0034200AB", "PowerEdge R660", "Dell Inc."), await _bmc.GetFruAsync(None));

        var requests = _idrac.Requests;
        Assert.Equal(("POST", "/redfish/v1/SessionService/Sessions"), (requests[0].Method, requests[0].Path));
        Assert.True(JsonNode.DeepEquals(Json("""{"UserName":"root","Password":"calvin"}"""), Json(requests[0].Body)));
        Assert.Equal(3, requests.Count);
        Assert.All(requests.Skip(1), r => Assert.True(r.HadToken));

        await _bmc.DisposeAsync();
        Assert.Equal(("DELETE", "/redfish/v1/SessionService/Sessions/7"), (_idrac.Requests[^1].Method, _idrac.Requests[^1].Path));
    }

    [Fact]
    public async Task Controller_info_falls_back_to_the_system_manufacturer()
    {
        Assert.Equal(new BmcControllerInfo("7.10.30.00", "Dell Inc.", null, null), await _bmc.GetControllerInfoAsync(None));
    }

    [Fact]
    public async Task Lan_is_read_from_ethernet_interfaces_and_written_through_dell_attributes()
    {
        Assert.Equal(new BmcLanConfig(BmcIpSource.Static, "192.0.2.20", "255.255.255.0", "192.0.2.1", null, "d0:8e:79:00:00:01"),
            await _bmc.GetLanAsync(None));

        await _bmc.SetLanAsync(BmcLanRequest.Static("198.51.100.7", "255.255.255.0", "198.51.100.1", 42), None);
        var patch = _idrac.Requests[^1];
        Assert.Equal(("PATCH", "/redfish/v1/Managers/iDRAC.Embedded.1/Attributes"), (patch.Method, patch.Path));
        Assert.True(JsonNode.DeepEquals(Json("""
            {"Attributes":{"IPv4.1.DHCPEnable":"Disabled","IPv4Static.1.Address":"198.51.100.7","IPv4Static.1.Netmask":"255.255.255.0",
             "IPv4Static.1.Gateway":"198.51.100.1","NIC.1.VLanEnable":"Enabled","NIC.1.VLanID":42}}
            """), Json(patch.Body)));
        Assert.Equal(new BmcLanConfig(BmcIpSource.Static, "198.51.100.7", "255.255.255.0", "198.51.100.1", 42, "d0:8e:79:00:00:01"),
            await _bmc.GetLanAsync(None));

        await _bmc.SetLanAsync(BmcLanRequest.Dhcp(), None);
        Assert.True(JsonNode.DeepEquals(Json("""{"Attributes":{"IPv4.1.DHCPEnable":"Enabled","NIC.1.VLanEnable":"Disabled"}}"""),
            Json(_idrac.Requests[^1].Body)));
        var dhcp = await _bmc.GetLanAsync(None);
        Assert.Equal((BmcIpSource.Dhcp, (int?)null), (dhcp.IpSource, dhcp.VlanId));
    }

    [Fact]
    public async Task Users_are_slots_2_to_16_and_a_password_patch_enables_the_slot()
    {
        var users = await _bmc.ListUsersAsync(None);
        Assert.Equal(Enumerable.Range(2, 15), users.Select(u => u.Id));
        Assert.Equal(new BmcUser(2, "root", true, "Administrator"), users[0]);

        await _bmc.SetPasswordAsync(3, "Op3rator-pass", None);
        var patch = _idrac.Requests[^1];
        Assert.Equal(("PATCH", "/redfish/v1/AccountService/Accounts/3"), (patch.Method, patch.Path));
        Assert.True(JsonNode.DeepEquals(Json("""{"Password":"Op3rator-pass","Enabled":true}"""), Json(patch.Body)));
        Assert.True((await _bmc.ListUsersAsync(None)).Single(u => u.Id == 3).Enabled);
    }

    [Theory]
    [InlineData(BmcPowerAction.Off, "ForceOff", "Off")]
    [InlineData(BmcPowerAction.Soft, "GracefulShutdown", "Off")]
    [InlineData(BmcPowerAction.Cycle, "PowerCycle", "On")]
    [InlineData(BmcPowerAction.On, "On", "On")]
    public async Task Power_actions_map_to_computer_system_reset(BmcPowerAction action, string resetType, string expectedState)
    {
        await _bmc.SetPowerAsync(action, None);
        var post = _idrac.Requests[^1];
        Assert.Equal(("POST", "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset"), (post.Method, post.Path));
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["ResetType"] = resetType }, Json(post.Body)));
        Assert.Equal(expectedState, _idrac.Power);
    }

    [Fact]
    public async Task Sensors_come_from_thermal_and_power_with_thresholds_and_absent_ones_skipped()
    {
        var sensors = await _bmc.ReadSensorsAsync(None);
        Assert.Equal(
        [
            new BmcSensor("System Board Inlet Temp", 23, "degrees C", BmcSensorStatus.Ok, new BmcThresholds(null, -7, 3, 42, 47, null)),
            new BmcSensor("CPU1 Temp", 91, "degrees C", BmcSensorStatus.NonCritical, new BmcThresholds(null, null, null, 88, 93, null)),
            new BmcSensor("System Board Fan1A", 6240, "RPM", BmcSensorStatus.Ok, new BmcThresholds(null, 480, null, null, null, null)),
            new BmcSensor("PS1 Voltage 1", 230, "Volts", BmcSensorStatus.Ok, BmcThresholds.None),
            new BmcSensor("PS2 Status", null, "Watts", BmcSensorStatus.Critical, BmcThresholds.None),
        ], sensors);
    }

    [Fact]
    public async Task Sel_follows_next_links_returns_oldest_first_with_severity_and_clears()
    {
        _idrac.Sel.Add(new JsonObject { ["Id"] = "1", ["Created"] = "2026-11-24T00:01:00-00:00", ["Message"] = "The chassis is closed while the power is off.", ["Severity"] = "OK", ["SensorType"] = "Physical Chassis Security", ["EntryCode"] = "Deassert" });
        _idrac.Sel.Add(new JsonObject { ["Id"] = "2", ["Created"] = "2026-11-24T00:02:00-00:00", ["Message"] = "The power supply PS2 is not receiving input power.", ["Severity"] = "Critical", ["SensorType"] = "Power Supply", ["EntryCode"] = "Assert" });

        var log = await _bmc.ReadEventLogAsync(None);
        Assert.Equal(["1", "2"], log.Select(e => e.Id));
        Assert.Equal(new BmcSelEntry("2", "2026-11-24T00:02:00-00:00", "Power Supply", "The power supply PS2 is not receiving input power.", true, BmcLogSeverity.Critical), log[1]);
        Assert.False(log[0].Asserted);
        Assert.Equal(HealthSeverity.Critical, HealthSeverityMap.ForLogEntry(log[1]));

        await _bmc.ClearEventLogAsync(None);
        Assert.Equal(("POST", "/redfish/v1/Managers/iDRAC.Embedded.1/LogServices/Sel/Actions/LogService.ClearLog", "{}"),
            (_idrac.Requests[^1].Method, _idrac.Requests[^1].Path, _idrac.Requests[^1].Body));
        Assert.Empty(await _bmc.ReadEventLogAsync(None));
    }

    [Fact]
    public async Task Lcd_string_is_set_through_dell_system_attributes()
    {
        await _bmc.SetUserStringAsync("BT-B ACTIVE", None);
        Assert.Equal("User Defined", _idrac.SystemAttributes["LCD.1.Configuration"]!.GetValue<string>());
        Assert.Equal("BT-B ACTIVE", _idrac.SystemAttributes["LCD.1.UserDefinedString"]!.GetValue<string>());
    }

    [Fact]
    public async Task Wrong_certificate_pin_is_refused_before_any_request_reaches_the_server()
    {
        var wrongPin = new string('A', 64);
        await using var pinned = Create(wrongPin);
        var error = await Assert.ThrowsAsync<BmcException>(() => pinned.GetPowerStateAsync(None));
        Assert.Equal(BmcErrorKind.UntrustedCertificate, error.Kind);
        Assert.Equal($"iDRAC 127.0.0.1:{_idrac.Port} presented certificate SHA-256 {_idrac.Thumbprint}, expected pinned SHA-256 {wrongPin}; nothing was sent", error.Message);
        Assert.Empty(_idrac.Requests);
    }

    [Fact]
    public async Task Without_a_pin_a_self_signed_certificate_fails_system_trust()
    {
        await using var unpinned = Create(pin: null);
        var error = await Assert.ThrowsAsync<BmcException>(() => unpinned.GetPowerStateAsync(None));
        Assert.Equal(BmcErrorKind.UntrustedCertificate, error.Kind);
        Assert.Contains("expected a certificate valid under system trust", error.Message, StringComparison.Ordinal);
        Assert.Empty(_idrac.Requests);
    }

    [Fact]
    public async Task Wrong_password_is_an_authentication_error()
    {
        await using var wrong = Create(_idrac.Thumbprint, password: "nope-nope");
        var error = await Assert.ThrowsAsync<BmcException>(() => wrong.GetPowerStateAsync(None));
        Assert.Equal(BmcErrorKind.AuthenticationFailed, error.Kind);
        Assert.Equal($"iDRAC 127.0.0.1:{_idrac.Port} rejected user 'root' (wrong user name or password) during login", error.Message);
        Assert.DoesNotContain("nope-nope", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rejected_request_carries_the_redfish_message()
    {
        _idrac.Accounts.Remove(9);
        var error = await Assert.ThrowsAsync<BmcException>(() => _bmc.SetPasswordAsync(9, "Str0ng-pass", None));
        Assert.Equal(BmcErrorKind.Unsupported, error.Kind);
        Assert.EndsWith("(HTTP 404): Resource /redfish/v1/AccountService/Accounts/9 not found.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slow_idrac_hits_the_request_timeout_in_bounded_time()
    {
        _idrac.ResponseDelay = TimeSpan.FromSeconds(5);
        await using var impatient = Create(_idrac.Thumbprint, timeout: TimeSpan.FromMilliseconds(500));
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<BmcException>(() => impatient.GetPowerStateAsync(None));
        Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(500) + TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
        Assert.Equal(BmcErrorKind.Timeout, error.Kind);
        Assert.Equal($"iDRAC 127.0.0.1:{_idrac.Port} did not answer login within 0.5 s", error.Message);
    }

    [Fact]
    public async Task Fencing_over_redfish_confirms_off_and_check_powers_nothing()
    {
        var fencer = new BmcFencer(_bmc, new FencingOptions { Enabled = true, PollInterval = TimeSpan.FromMilliseconds(50) }, TimeProvider.System);
        Assert.Equal(FenceOutcome.CheckPassed, (await fencer.CheckAsync(None)).Outcome);
        Assert.Equal("On", _idrac.Power);
        Assert.DoesNotContain(_idrac.Requests, r => r.Method == "POST" && r.Path.EndsWith("ComputerSystem.Reset", StringComparison.Ordinal));

        var result = await fencer.FenceAsync(None);
        Assert.Equal(FenceOutcome.ConfirmedOff, result.Outcome);
        Assert.Equal("Off", _idrac.Power);
    }

    [Fact]
    public async Task Power_off_that_is_not_confirmed_in_time_is_a_failed_fence()
    {
        _idrac.IgnorePowerOff = true;
        var fencer = new BmcFencer(_bmc, new FencingOptions
        {
            Enabled = true, Timeout = TimeSpan.FromMilliseconds(800), PollInterval = TimeSpan.FromMilliseconds(100),
        }, TimeProvider.System);

        var result = await fencer.FenceAsync(None);

        Assert.Equal(FenceOutcome.Failed, result.Outcome);
        Assert.Equal("power off not confirmed within 0.8 s", result.Detail);
        // Timers may fire a fraction of a millisecond early against the Stopwatch; the bound that matters is the upper one.
        Assert.InRange(result.Elapsed, TimeSpan.FromMilliseconds(790), TimeSpan.FromSeconds(3));
        Assert.True(_idrac.Requests.Count(r => r.Method == "GET" && r.Path == "/redfish/v1/Systems/System.Embedded.1") >= 2);
    }

    [Fact]
    public async Task Health_poller_runs_on_the_time_provider_period()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));
        var sink = new EventChannel();
        var poller = new HardwareHealthPoller(_bmc, sink, time, TimeSpan.FromSeconds(60));
        using var stop = new CancellationTokenSource();
        var run = poller.RunAsync(stop.Token);

        // First poll at start: CPU1 (Warning) and PS2 (Critical) are already out of range.
        Assert.Equal(["CPU1 Temp", "PS2 Status"], [(await sink.ReadAsync()).Subject, (await sink.ReadAsync()).Subject]);
        _idrac.Sel.Add(new JsonObject { ["Id"] = "1", ["Created"] = "c", ["Message"] = "Fan 3 failed.", ["Severity"] = "Critical", ["SensorType"] = "Fan", ["EntryCode"] = "Assert" });
        var getsBefore = _idrac.Requests.Count;

        time.Advance(TimeSpan.FromSeconds(60));
        var selEvent = await sink.ReadAsync();
        Assert.Equal(new HealthEvent(time.GetUtcNow(), HealthSeverity.Critical, HealthSource.EventLog, "1", "SEL 1: Fan: Fan 3 failed. (asserted)"), selEvent);
        Assert.True(_idrac.Requests.Count > getsBefore);

        await stop.CancelAsync();
        await run;
    }

    private sealed class EventChannel : IHealthEventSink
    {
        private readonly System.Threading.Channels.Channel<HealthEvent> _channel = System.Threading.Channels.Channel.CreateUnbounded<HealthEvent>();

        public async Task<HealthEvent> ReadAsync()
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await _channel.Reader.ReadAsync(limit.Token);
        }

        public ValueTask PublishAsync(HealthEvent healthEvent, CancellationToken cancellationToken) => _channel.Writer.WriteAsync(healthEvent, cancellationToken);
    }
}
