using System.Device.Gpio;
using System.Device.I2c;
using Appliance.Core.Failover;
using Appliance.Core.Panel;
using Appliance.Core.Ports;
using Appliance.Hw.FrontPanel;
using Appliance.Hw.FrontPanel.Hd44780;
using Appliance.Hw.FrontPanel.IdracLcd;
using Appliance.Hw.FrontPanel.LcdProc;
using Appliance.Hw.FrontPanel.Simulated;
using Appliance.Tests.Panel;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Appliance.Tests.FrontPanel;

public class FrontPanelRuntimeTests
{
    private sealed class Probe(bool i2c, bool gpio) : IPanelHardwareProbe
    {
        public bool HasI2cBus => i2c;

        public bool HasGpioChip => gpio;
    }

    private static FrontPanelDependencies Deps(FakeTimeProvider time, MutableStatusSource? status = null) =>
        new(status ?? new MutableStatusSource { Status = PanelRig.SampleStatus }, new RecordingCredentialSink(), PanelSettings.Default, time, NullLoggerFactory.Instance)
        {
            Probe = new Probe(false, false),
            OpenI2c = _ => throw new IOException("Could not open '/dev/i2c-1'"),
            OpenGpio = () => throw new PlatformNotSupportedException("no GPIO chip"),
        };

    [Fact]
    public void Validate_names_the_key_the_value_and_the_allowed_range()
    {
        var errors = new PanelOptions
        {
            Columns = 17,
            I2cAddress = 0x80,
            LcdProcPort = 0,
            DebounceMilliseconds = 500,
            Kind = PanelKind.Hd44780Gpio,
            LcdD7Pin = 25,
        }.Validate();

        Assert.Contains("Appliance:Panel:Columns/Rows=17x2 is not supported; allowed: 16x2 or 20x4", errors);
        Assert.Contains("Appliance:Panel:I2cAddress=0x80 is outside the 7-bit address range 0x03..0x77", errors);
        Assert.Contains("Appliance:Panel:LcdProcPort=0 is out of range; allowed: 1..65535", errors);
        Assert.Contains("Appliance:Panel:DebounceMilliseconds=500 is out of range; allowed: 0..200", errors);
        Assert.Contains("Appliance:Panel:LcdD7Pin=25 is already used by LcdRegisterSelectPin; GPIO pins must be distinct", errors);
        Assert.Empty(new PanelOptions().Validate());
        Assert.Empty(new PanelOptions { Kind = PanelKind.Hd44780Gpio, Columns = 20, Rows = 4 }.Validate());
    }

    [Fact]
    public void Invalid_options_give_no_panel_and_a_warning_instead_of_an_exception()
    {
        using var runtime = FrontPanelRuntime.Create(new PanelOptions { Rows = 3 }, Deps(new FakeTimeProvider()));
        Assert.Equal(PanelKind.None, runtime.Kind);
        Assert.Contains("Columns/Rows=16x3", runtime.Warning, StringComparison.Ordinal);
        Assert.Null(runtime.Controller);
        Assert.Null(runtime.RenderScreen());
    }

    [Fact]
    public void Auto_is_simulated_without_hardware_and_refuses_to_guess_with_hardware()
    {
        var time = new FakeTimeProvider();
        using var simulated = FrontPanelRuntime.Create(new PanelOptions(), Deps(time));
        Assert.Equal(PanelKind.Simulated, simulated.Kind);
        Assert.NotNull(simulated.RemotePress);

        using var onHardware = FrontPanelRuntime.Create(new PanelOptions(), Deps(time) with { Probe = new Probe(true, false) });
        Assert.Equal(PanelKind.None, onHardware.Kind);
        Assert.Contains("Appliance:Panel:Kind is not set", onHardware.Warning, StringComparison.Ordinal);
    }

    [Fact]
    public void An_i2c_bus_that_cannot_be_opened_gives_a_clear_warning_and_no_panel()
    {
        using var runtime = FrontPanelRuntime.Create(new PanelOptions { Kind = PanelKind.Hd44780I2c }, Deps(new FakeTimeProvider()));
        Assert.Equal(PanelKind.None, runtime.Kind);
        Assert.Equal("front panel Hd44780I2c could not be opened (/dev/i2c-1 address 0x27): Could not open '/dev/i2c-1'; running without a panel", runtime.Warning);
    }

    [Fact]
    public void A_missing_bmc_lcd_adapter_disables_the_idrac_panel_with_a_warning()
    {
        using var runtime = FrontPanelRuntime.Create(new PanelOptions { Kind = PanelKind.IdracLcd }, Deps(new FakeTimeProvider()));
        Assert.Equal(PanelKind.None, runtime.Kind);
        Assert.Contains("no BMC front-LCD adapter", runtime.Warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hd44780_over_i2c_with_gpio_buttons_end_to_end()
    {
        var time = new FakeTimeProvider();
        var delay = new VirtualDelay();
        var lcd = new Hd44780Emulator(PanelGeometry.Lcd16x2, () => delay.Now);
        var device = new EmulatedPcf8574Device(lcd);
        var driver = new FakeGpioDriver();
        using var runtime = FrontPanelRuntime.Create(
            new PanelOptions { Kind = PanelKind.Hd44780I2c },
            Deps(time) with { OpenI2c = settings => settings is { BusId: 1, DeviceAddress: 0x27 } ? device : throw new IOException("wrong bus"), OpenGpio = () => new GpioController(driver), Delay = delay });
        Assert.Null(runtime.Warning);
        Assert.Null(runtime.RemotePress);

        await runtime.Controller!.RefreshAsync(CancellationToken.None);
        Assert.Equal(["PASSIVE", "10.0.0.5"], lcd.Rows.Select(r => r.TrimEnd()));

        driver.SetInput(6, PinValue.Low);
        time.Elapse(TimeSpan.FromMilliseconds(100));
        driver.SetInput(6, PinValue.High);
        time.Elapse(TimeSpan.FromMilliseconds(50));
        Assert.Equal([$"Show IP       {PanelGlyph.UpArrow}{PanelGlyph.DownArrow}", $"eth0 {PanelGlyph.Check}shared"], lcd.RowsWithGlyphs().Select(r => r.TrimEnd()));

        var bytes = device.BytesWritten;
        await runtime.Controller.RefreshAsync(CancellationToken.None);
        Assert.Equal(bytes, device.BytesWritten);
        Assert.Empty(lcd.Violations);
    }

    [Fact]
    public async Task An_unplugged_display_keeps_the_panel_running_and_recovers()
    {
        var time = new FakeTimeProvider();
        var delay = new VirtualDelay();
        var lcd = new Hd44780Emulator(PanelGeometry.Lcd16x2, () => delay.Now);
        var device = new EmulatedPcf8574Device(lcd);
        var status = new MutableStatusSource { Status = PanelRig.SampleStatus };
        using var runtime = FrontPanelRuntime.Create(
            new PanelOptions { Kind = PanelKind.Hd44780I2c, GpioButtons = false },
            Deps(time, status) with { OpenI2c = _ => device, Delay = delay });

        device.Unplugged = true;
        status.Status = PanelRig.SampleStatus with { Role = HaRole.Active };
        await runtime.Controller!.RefreshAsync(CancellationToken.None);
        device.Unplugged = false;
        await runtime.Controller.RefreshAsync(CancellationToken.None);

        Assert.Equal("ACTIVE", lcd.Row(0).TrimEnd());
        Assert.Empty(lcd.Violations);
    }

    [Fact]
    public void Only_the_simulated_panel_can_be_pressed_remotely()
    {
        Assert.True(typeof(IRemotePanelPress).IsAssignableFrom(typeof(SimulatedPanel)));
        Assert.False(typeof(IRemotePanelPress).IsAssignableFrom(typeof(Hd44780Display)));
        Assert.False(typeof(IRemotePanelPress).IsAssignableFrom(typeof(LcdProcPanel)));
        var implementers = typeof(SimulatedPanel).Assembly.GetTypes().Where(t => t.IsClass && typeof(IRemotePanelPress).IsAssignableFrom(t));
        Assert.Equal([typeof(SimulatedPanel)], implementers);
    }

    [Fact]
    public async Task The_dell_lcd_shows_role_and_address_within_14_characters_and_writes_only_on_change()
    {
        var bmc = new RecordingBmcLcd();
        var status = new MutableStatusSource { Status = PanelRig.SampleStatus with { Role = HaRole.Active } };
        using var runtime = FrontPanelRuntime.Create(new PanelOptions { Kind = PanelKind.IdracLcd }, Deps(new FakeTimeProvider(), status) with { BmcFrontLcd = bmc });
        var presenter = runtime.IdracLcd!;

        Assert.True(await presenter.UpdateAsync(status.Status, CancellationToken.None));
        Assert.False(await presenter.UpdateAsync(status.Status, CancellationToken.None));
        Assert.True(await presenter.UpdateAsync(status.Status with { Role = HaRole.Passive }, CancellationToken.None));

        Assert.Equal(["ACT 10.0.0.5", "PAS 10.0.0.5"], bmc.Texts);
        Assert.Contains("|PAS 10.0.0.5", runtime.RenderScreen(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HaRole.Off, "10.0.0.5", "OFF 10.0.0.5")]
    [InlineData(HaRole.Active, "10.1.2.3", "ACT 10.1.2.3")]
    [InlineData(HaRole.Active, "1.2.3.4", "ACTIVE 1.2.3.4")]
    [InlineData(HaRole.Passive, "192.168.1.20", "P 192.168.1.20")]
    [InlineData(HaRole.Passive, "192.168.100.20", "PASSIVE")]
    [InlineData(HaRole.FailoverPending, "192.168.100.200", "PENDING")]
    [InlineData(HaRole.Active, null, "ACTIVE")]
    public void Front_lcd_text_fits_the_dell_lcd(HaRole role, string? address, string expected)
    {
        var status = new PanelStatus { Role = role, Interfaces = address is null ? [] : [new("eth0", address, true)] };
        var text = FrontLcdText.Format(status);
        Assert.Equal(expected, text);
        Assert.True(text.Length <= IBmcFrontLcd.MaxLength);
    }

    private sealed class RecordingBmcLcd : IBmcFrontLcd
    {
        public List<string> Texts { get; } = [];

        public Task SetUserStringAsync(string text, CancellationToken cancellationToken)
        {
            Texts.Add(text);
            return Task.CompletedTask;
        }
    }
}
