using Appliance.Core.Ports;
using Appliance.Hw.Bmc;

namespace Appliance.Tests.Bmc;

/// <summary>racadm cannot run here: the adapter is checked at its command seam with canned racadm output.</summary>
public sealed class RacadmBmcTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private const string Ipv4 = """
        [Key=iDRAC.Embedded.1#IPv4.1]
        Address=192.0.2.30
        DHCPEnable=Disabled
        DNS1=0.0.0.0
        Enable=Enabled
        Gateway=192.0.2.1
        Netmask=255.255.255.0
        """;

    private const string Nic = """
        [Key=iDRAC.Embedded.1#NIC.1]
        Autoneg=Enabled
        Enable=Enabled
        MACAddress=d0:94:66:00:00:01
        Selection=Dedicated
        VLanEnable=Enabled
        VLanID=42
        VLanPriority=0
        """;

    private const string SysInfo = """
        RAC Information:
        RAC Date/Time           = Tue Nov 24 2026 00:00:00
        Firmware Version        = 7.10.30.00
        Firmware Build          = 12

        System Information:
        System Model            = PowerEdge R660
        System BIOS Version     = 1.6.6
        Service Tag             = 7QX4B23
        Power Status            = ON
        """;

    private const string SensorInfo = """
        Sensor Type : TEMPERATURE
        <Sensor Name>                  <Status>    <Reading>   <lc>      <uc>      <lnc>[R/W]   <unc>[R/W]
        System Board Inlet Temp        Ok          23C         -7C       47C       3C           42C
        CPU1 Temp                      Critical    99C         3C        98C       8C           93C
        Sensor Type : FAN
        <Sensor Name>                  <Status>    <Reading>   <lc>      <uc>      <PWM %>
        System Board Fan1A             Ok          6240 RPM    480 RPM   NA        26%
        """;

    private const string Sel = """
        Record:      1
        Date/Time:   11/24/2026 00:01:02
        Source:      system
        Severity:    Ok
        Description: Log cleared.
        -------------------------------------------------------------------------------
        Record:      2
        Date/Time:   11/24/2026 00:02:03
        Source:      system
        Severity:    Critical
        Description: The power supply PS2 is not receiving input power.
        -------------------------------------------------------------------------------
        """;

    private static (IBmc Bmc, RecordingCommandRunner Runner) Create()
    {
        var runner = new RecordingCommandRunner();
        return (BmcFactory.Create(new BmcOptions { Kind = BmcKind.Racadm }, runner)!, runner);
    }

    private static string[] Args(RecordingCommandRunner runner, int index) => [.. runner.Calls[index].Arguments];

    [Fact]
    public async Task Lan_is_read_from_the_ipv4_and_nic_groups()
    {
        var (bmc, runner) = Create();
        runner.Answer(Ipv4).Answer(Nic);
        Assert.Equal(new BmcLanConfig(BmcIpSource.Static, "192.0.2.30", "255.255.255.0", "192.0.2.1", 42, "d0:94:66:00:00:01"), await bmc.GetLanAsync(None));
        Assert.Equal(["get", "iDRAC.IPv4"], Args(runner, 0));
        Assert.Equal(["get", "iDRAC.NIC"], Args(runner, 1));
        Assert.All(runner.Calls, c => Assert.Equal("racadm", c.Executable));
    }

    [Fact]
    public async Task Static_lan_with_vlan_uses_setniccfg_then_the_vlan_attributes()
    {
        var (bmc, runner) = Create();
        runner.Answer("Static IP configuration enabled and modified successfully").Answer("Object value modified successfully").Answer("Object value modified successfully");
        await bmc.SetLanAsync(BmcLanRequest.Static("192.0.2.31", "255.255.255.0", "192.0.2.1", 42), None);
        Assert.Equal(["setniccfg", "-s", "192.0.2.31", "255.255.255.0", "192.0.2.1"], Args(runner, 0));
        Assert.Equal(["set", "iDRAC.NIC.VLanID", "42"], Args(runner, 1));
        Assert.Equal(["set", "iDRAC.NIC.VLanEnable", "Enabled"], Args(runner, 2));
    }

    [Fact]
    public async Task Dhcp_turns_vlan_off()
    {
        var (bmc, runner) = Create();
        runner.Answer("DHCP is now ENABLED").Answer("Object value modified successfully");
        await bmc.SetLanAsync(BmcLanRequest.Dhcp(), None);
        Assert.Equal(["setniccfg", "-d"], Args(runner, 0));
        Assert.Equal(["set", "iDRAC.NIC.VLanEnable", "Disabled"], Args(runner, 1));
    }

    [Fact]
    public async Task Users_are_read_per_slot_2_to_16()
    {
        var (bmc, runner) = Create();
        runner.Answer("[Key=iDRAC.Embedded.1#Users.2]\nEnable=Enabled\nPrivilege=0x1ff\nUserName=root\n");
        for (var id = 3; id <= 16; id++)
            runner.Answer($"[Key=iDRAC.Embedded.1#Users.{id}]\nEnable=Disabled\nPrivilege=0x0\nUserName=\n");
        var users = await bmc.ListUsersAsync(None);
        Assert.Equal(15, users.Count);
        Assert.Equal(new BmcUser(2, "root", true, "0x1ff"), users[0]);
        Assert.Equal(new BmcUser(16, "", false, "0x0"), users[^1]);
        Assert.Equal(["get", "iDRAC.Users.16"], Args(runner, 14));
    }

    [Fact]
    public async Task Setting_a_password_is_refused_because_racadm_would_expose_it()
    {
        var (bmc, runner) = Create();
        var error = await Assert.ThrowsAsync<BmcException>(() => bmc.SetPasswordAsync(3, "Str0ng-pass", None));
        Assert.Equal(BmcErrorKind.Unsupported, error.Kind);
        Assert.Empty(runner.Calls);
    }

    [Fact]
    public async Task Sysinfo_gives_firmware_and_service_tag()
    {
        var (bmc, runner) = Create();
        runner.Answer(SysInfo).Answer(SysInfo);
        Assert.Equal("7.10.30.00", (await bmc.GetControllerInfoAsync(None)).FirmwareVersion);
        Assert.Equal(new BmcFru("7QX4B23", null, "PowerEdge R660", null), await bmc.GetFruAsync(None));
    }

    [Fact]
    public async Task Power_uses_serveraction()
    {
        var (bmc, runner) = Create();
        runner.Answer("Server power status: OFF\n").Answer("Server power operation successful\n");
        Assert.Equal(BmcPowerState.Off, await bmc.GetPowerStateAsync(None));
        await bmc.SetPowerAsync(BmcPowerAction.Off, None);
        Assert.Equal(["serveraction", "powerstatus"], Args(runner, 0));
        Assert.Equal(["serveraction", "powerdown"], Args(runner, 1));
    }

    [Fact]
    public async Task Sensors_and_sel_are_parsed_from_racadm_tables()
    {
        var (bmc, runner) = Create();
        runner.Answer(SensorInfo).Answer(Sel).Answer("The SEL was cleared successfully.\n");
        Assert.Equal(
        [
            new BmcSensor("System Board Inlet Temp", 23, "degrees C", BmcSensorStatus.Ok, new BmcThresholds(null, -7, null, null, 47, null)),
            new BmcSensor("CPU1 Temp", 99, "degrees C", BmcSensorStatus.Critical, new BmcThresholds(null, 3, null, null, 98, null)),
            new BmcSensor("System Board Fan1A", 6240, "RPM", BmcSensorStatus.Ok, new BmcThresholds(null, 480, null, null, null, null)),
        ], await bmc.ReadSensorsAsync(None));
        var log = await bmc.ReadEventLogAsync(None);
        Assert.Equal(new BmcSelEntry("2", "11/24/2026 00:02:03", "system", "The power supply PS2 is not receiving input power.", true, BmcLogSeverity.Critical), log[1]);
        Assert.Equal(2, log.Count);
        await bmc.ClearEventLogAsync(None);
        Assert.Equal(["clrsel"], Args(runner, 2));
    }

    [Fact]
    public async Task An_error_line_with_exit_code_0_is_still_an_error()
    {
        var (bmc, runner) = Create();
        runner.Answer("ERROR: Unable to perform the requested action.\n");
        var error = await Assert.ThrowsAsync<BmcException>(() => bmc.ClearEventLogAsync(None));
        Assert.Equal(BmcErrorKind.Rejected, error.Kind);
        Assert.Equal("local iDRAC (racadm) failed clrsel: ERROR: Unable to perform the requested action.", error.Message);
    }

    [Fact]
    public async Task Lcd_string_uses_the_system_lcd_attributes()
    {
        var (bmc, runner) = Create();
        runner.Answer("Object value modified successfully").Answer("Object value modified successfully");
        await ((IBmcFrontLcd)bmc).SetUserStringAsync("BT-A PASSIVE", None);
        Assert.Equal(["set", "System.LCD.Configuration", "User Defined"], Args(runner, 0));
        Assert.Equal(["set", "System.LCD.UserDefinedString", "BT-A PASSIVE"], Args(runner, 1));
    }
}
