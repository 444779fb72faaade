using Appliance.Core.Ports;
using Appliance.Hw.Bmc;

namespace Appliance.Tests.Bmc;

/// <summary>Bad input is refused with field, value and range, and nothing reaches the BMC.</summary>
public sealed class BmcValidationTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static (IBmc Bmc, RecordingCommandRunner Runner) Ipmi()
    {
        var runner = new RecordingCommandRunner();
        var options = new BmcOptions { Kind = BmcKind.Ipmi, Host = "192.0.2.5", User = "root", PasswordFile = "/nonexistent" };
        return (BmcFactory.Create(options, runner)!, runner);
    }

    public static TheoryData<BmcLanRequest, string> BadLan => new()
    {
        { BmcLanRequest.Static("300.1.1.1", "255.255.255.0", "192.0.2.1"), "address '300.1.1.1' is invalid: a dotted IPv4 address a.b.c.d" },
        { BmcLanRequest.Static("10.1", "255.255.255.0", "10.0.0.1"), "address '10.1' is invalid: a dotted IPv4 address a.b.c.d" },
        { BmcLanRequest.Static("127.0.0.5", "255.0.0.0", "127.0.0.1"), "address '127.0.0.5' is invalid: a unicast IPv4 address (not 0.x, 127.x, multicast or broadcast)" },
        { BmcLanRequest.Static("192.0.2.10", "255.0.255.0", "192.0.2.1"), "netmask '255.0.255.0' is invalid: a contiguous IPv4 netmask from 128.0.0.0 to 255.255.255.254" },
        { BmcLanRequest.Static("192.0.2.10", "255.255.255.255", "192.0.2.1"), "netmask '255.255.255.255' is invalid: a contiguous IPv4 netmask from 128.0.0.0 to 255.255.255.254" },
        { BmcLanRequest.Static("192.0.2.10", "255.255.255.0", "198.51.100.1"), "gateway '198.51.100.1' is invalid: the gateway must be inside 192.0.2.0/24" },
        { BmcLanRequest.Static("192.0.2.10", "255.255.255.0", "192.0.2.10"), "gateway '192.0.2.10' is invalid: the gateway must differ from the BMC's own address" },
        { BmcLanRequest.Static("192.0.2.10", "255.255.255.0", null!), "gateway '' is invalid: a dotted IPv4 address a.b.c.d" },
        { BmcLanRequest.Dhcp(vlanId: 0), "vlan '0' is invalid: VLAN id must be 1–4094 (or off)" },
        { BmcLanRequest.Static("192.0.2.10", "255.255.255.0", "192.0.2.1", 4095), "vlan '4095' is invalid: VLAN id must be 1–4094 (or off)" },
    };

    [Theory]
    [MemberData(nameof(BadLan))]
    public async Task Bad_lan_settings_are_refused_before_anything_is_sent(BmcLanRequest request, string message)
    {
        var (bmc, runner) = Ipmi();
        var error = await Assert.ThrowsAsync<BmcValidationException>(() => bmc.SetLanAsync(request, None));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.Empty(runner.Calls);
    }

    [Theory]
    [InlineData(0, "Str0ngPass", "user id '0' is invalid: user id must be 1–15")]
    [InlineData(16, "Str0ngPass", "user id '16' is invalid: user id must be 1–15")]
    [InlineData(3, "short", "password '<5 characters>' is invalid: length must be 8–20 characters")]
    [InlineData(3, "abcdefghijklmnopqrstu", "password '<21 characters>' is invalid: length must be 8–20 characters")]
    [InlineData(3, "pässwort-1", "password '<10 characters>' is invalid: printable ASCII characters only (space to ~)")]
    [InlineData(3, "tab\there12", "password '<10 characters>' is invalid: printable ASCII characters only (space to ~)")]
    [InlineData(3, "both'and\"q", "password '<10 characters>' is invalid: must not contain both ' and \" (ipmitool cannot quote it)")]
    public async Task Bad_ipmi_user_requests_are_refused_without_showing_the_password(int id, string password, string message)
    {
        var (bmc, runner) = Ipmi();
        var error = await Assert.ThrowsAsync<BmcValidationException>(() => bmc.SetPasswordAsync(id, password, None));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, error.Message, StringComparison.Ordinal);
        Assert.Empty(runner.Calls);
    }

    [Theory]
    [InlineData(1, "user id '1' is invalid: user id must be 2–16")]
    [InlineData(17, "user id '17' is invalid: user id must be 2–16")]
    public async Task Idrac_user_ids_are_2_to_16(int id, string message)
    {
        // Port 9 on loopback: nothing listens, so a request that slipped past validation would fail as Unreachable instead.
        using var bmc = new RedfishBmc(new BmcOptions { Kind = BmcKind.Redfish, Host = "127.0.0.1", Port = 9, User = "root", PasswordFile = "x" }, () => "calvin");
        var error = await Assert.ThrowsAsync<BmcValidationException>(() => bmc.SetPasswordAsync(id, "Str0ngPass", None));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FIFTEEN-CHARS!!", "lcd text 'FIFTEEN-CHARS!!' is invalid: at most 14 characters")]
    [InlineData("Grüße", "lcd text 'Grüße' is invalid: printable ASCII characters only (space to ~)")]
    public async Task Bad_lcd_text_is_refused(string text, string message)
    {
        var (bmc, runner) = Ipmi();
        var error = await Assert.ThrowsAsync<BmcValidationException>(() => ((IBmcFrontLcd)bmc).SetUserStringAsync(text, None));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.Empty(runner.Calls);
    }

    [Fact]
    public void Options_validation_names_every_bad_key()
    {
        var options = new BmcOptions
        {
            Kind = BmcKind.Redfish, Port = 70000, CipherSuite = 99, CommandTimeout = TimeSpan.Zero, CertificateThumbprint = "abc",
        };
        Assert.Equal(
        [
            "Appliance:Bmc:Port '70000' is invalid: 1–65535",
            "Appliance:Bmc:CipherSuite '99' is invalid: 0–17 (3 or 17 recommended)",
            "Appliance:Bmc:CommandTimeout '00:00:00' is invalid: above 0 and at most 00:05:00",
            "Appliance:Bmc:Host '' is invalid: required for Redfish over the network",
            "Appliance:Bmc:User '' is invalid: required for Redfish over the network",
            "Appliance:Bmc:PasswordFile '' is invalid: required for Redfish over the network (a file holding the password)",
            "Appliance:Bmc:CertificateThumbprint 'abc' is invalid: 64 hex digits (SHA-256), colons or spaces allowed",
        ], options.Validate());
        var thrown = Assert.Throws<InvalidOperationException>(() => BmcFactory.Create(options));
        Assert.Contains("Appliance:Bmc:Port '70000'", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fencing_options_require_a_network_bmc_and_a_sane_poll()
    {
        var fencing = new FencingOptions { Enabled = true, Bmc = new BmcOptions { Kind = BmcKind.Racadm }, PollInterval = TimeSpan.FromSeconds(30) };
        Assert.Equal(
        [
            "Appliance:Ha:Fencing:Bmc:Kind 'Racadm' is invalid: the peer's BMC needs Ipmi or Redfish",
            "Appliance:Ha:Fencing:PollInterval '00:00:30' is invalid: above 0 and below the timeout",
        ], fencing.Validate());
        Assert.Empty(new FencingOptions { Enabled = false, Bmc = new BmcOptions { Kind = BmcKind.Racadm } }.Validate());
        Assert.Null(BmcFactory.CreateFencer(new FencingOptions()));
    }

    [Fact]
    public void Factory_auto_detects_the_local_ipmi_device_when_no_kind_is_set()
    {
        Assert.IsType<IpmitoolBmc>(BmcFactory.Create(new BmcOptions(), localDevicePresent: () => true));
        Assert.Null(BmcFactory.Create(new BmcOptions(), localDevicePresent: () => false));
        Assert.Null(BmcFactory.Create(new BmcOptions { Kind = BmcKind.None }, localDevicePresent: () => true));
    }

    [Fact]
    public async Task Local_interface_sends_no_credentials()
    {
        var runner = new RecordingCommandRunner().Answer("Chassis Power is on\n");
        var bmc = BmcFactory.Create(new BmcOptions(), runner, localDevicePresent: () => true)!;
        Assert.Equal(BmcPowerState.On, await bmc.GetPowerStateAsync(None));
        var call = Assert.Single(runner.Calls);
        Assert.Equal(["-I", "open", "chassis", "power", "status"], call.Arguments);
        Assert.Empty(call.Environment!);
    }
}
