using Appliance.Core.Health;
using Appliance.Core.Ports;

namespace Appliance.Tests.Health;

public sealed class HardwareHealthTrackerTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);

    private static BmcSensor Sensor(string name, double? reading, BmcSensorStatus status) =>
        new(name, reading, "degrees C", status, BmcThresholds.None);

    private static BmcSelEntry Entry(string id, string description, bool asserted = true) =>
        new(id, "Pre-Init 0000000396", "Temperature Inlet Temp", description, asserted, BmcLogSeverity.Unstated);

    [Fact]
    public void Sensors_leaving_and_returning_to_ok_become_events_with_mapped_severity()
    {
        var tracker = new HardwareHealthTracker();
        Assert.Empty(tracker.ObserveSensors([Sensor("Inlet", 25, BmcSensorStatus.Ok)], At));

        var warning = Assert.Single(tracker.ObserveSensors([Sensor("Inlet", 45, BmcSensorStatus.NonCritical)], At));
        Assert.Equal(new HealthEvent(At, HealthSeverity.Warning, HealthSource.Sensor, "Inlet", "Inlet non-critical (45 degrees C)"), warning);
        Assert.Empty(tracker.ObserveSensors([Sensor("Inlet", 46, BmcSensorStatus.NonCritical)], At));

        var critical = Assert.Single(tracker.ObserveSensors([Sensor("Inlet", 50.5, BmcSensorStatus.Critical)], At));
        Assert.Equal((HealthSeverity.Critical, "Inlet critical (50.5 degrees C)"), (critical.Severity, critical.Message));

        var back = Assert.Single(tracker.ObserveSensors([Sensor("Inlet", 30, BmcSensorStatus.Ok)], At));
        Assert.Equal((HealthSeverity.Info, "Inlet back to normal (30 degrees C)"), (back.Severity, back.Message));
    }

    [Fact]
    public void A_sensor_already_out_of_range_on_the_first_poll_is_reported()
    {
        var tracker = new HardwareHealthTracker();
        var events = tracker.ObserveSensors([Sensor("PSU2", null, BmcSensorStatus.NonRecoverable), Sensor("Fan", 4000, BmcSensorStatus.Ok)], At);
        var e = Assert.Single(events);
        Assert.Equal((HealthSeverity.Critical, "PSU2 non-recoverable (no reading)"), (e.Severity, e.Message));
    }

    [Fact]
    public void The_first_sel_snapshot_is_a_baseline_and_later_new_entries_are_events()
    {
        var tracker = new HardwareHealthTracker();
        Assert.Empty(tracker.ObserveEventLog([Entry("1", "Upper Critical going high")], At));

        var events = tracker.ObserveEventLog([Entry("1", "Upper Critical going high"), Entry("2", "Upper Critical going high", asserted: false)], At);
        var e = Assert.Single(events);
        Assert.Equal(new HealthEvent(At, HealthSeverity.Info, HealthSource.EventLog, "2",
            "SEL 2: Temperature Inlet Temp: Upper Critical going high (deasserted)"), e);
    }

    [Fact]
    public void After_a_clear_a_reused_record_id_with_new_content_is_new()
    {
        var tracker = new HardwareHealthTracker();
        tracker.ObserveEventLog([Entry("1", "Upper Non-critical going high")], At);
        Assert.Empty(tracker.ObserveEventLog([], At));
        var e = Assert.Single(tracker.ObserveEventLog([Entry("1", "Upper Non-recoverable going high")], At));
        Assert.Equal(HealthSeverity.Critical, e.Severity);
    }

    [Fact]
    public void Bmc_reachability_changes_are_reported_once_each_way()
    {
        var tracker = new HardwareHealthTracker();
        Assert.Empty(tracker.ObserveReachability(true, "", At));
        var down = Assert.Single(tracker.ObserveReachability(false, "BMC 192.0.2.5:623 does not answer", At));
        Assert.Equal((HealthSeverity.Warning, "BMC not answering: BMC 192.0.2.5:623 does not answer"), (down.Severity, down.Message));
        Assert.Empty(tracker.ObserveReachability(false, "still down", At));
        Assert.Equal(HealthSeverity.Info, Assert.Single(tracker.ObserveReachability(true, "", At)).Severity);
    }

    [Theory]
    [InlineData("Upper Non-critical going high", true, HealthSeverity.Warning)]
    [InlineData("Upper Critical going high", true, HealthSeverity.Critical)]
    [InlineData("Upper Non-recoverable going high", true, HealthSeverity.Critical)]
    [InlineData("Upper Critical going high", false, HealthSeverity.Info)]
    [InlineData("Correctable ECC | DIMM A1", true, HealthSeverity.Warning)]
    [InlineData("Uncorrectable ECC | DIMM A1", true, HealthSeverity.Critical)]
    [InlineData("Power Supply AC lost", true, HealthSeverity.Critical)]
    [InlineData("Log area reset/cleared", true, HealthSeverity.Info)]
    public void Ipmi_sel_text_maps_to_severity(string description, bool asserted, HealthSeverity expected) =>
        Assert.Equal(expected, HealthSeverityMap.ForLogEntry(Entry("9", description, asserted)));

    [Theory]
    [InlineData(BmcLogSeverity.Ok, HealthSeverity.Info)]
    [InlineData(BmcLogSeverity.Warning, HealthSeverity.Warning)]
    [InlineData(BmcLogSeverity.Critical, HealthSeverity.Critical)]
    public void A_stated_severity_wins_over_the_text(BmcLogSeverity stated, HealthSeverity expected) =>
        Assert.Equal(expected, HealthSeverityMap.ForLogEntry(Entry("9", "Upper Critical going high") with { Severity = stated }));
}
