using System.Device.Gpio;
using Appliance.Core.Panel;
using Appliance.Hw.FrontPanel.Hd44780;
using Lcd = Appliance.Hw.FrontPanel.Hd44780.Hd44780Controller;

namespace Appliance.Tests.FrontPanel;

public class Hd44780DisplayTests
{
    private sealed class Rig
    {
        public Rig(PanelGeometry geometry)
        {
            Lcd = new Hd44780Emulator(geometry, () => Delay.Now);
            Device = new EmulatedPcf8574Device(Lcd);
            Display = new Hd44780Display(new Lcd(new Pcf8574Hd44780Bus(Device), geometry, Delay));
        }

        public VirtualDelay Delay { get; } = new();

        public Hd44780Emulator Lcd { get; }

        public EmulatedPcf8574Device Device { get; }

        public Hd44780Display Display { get; }
    }

    [Theory]
    [InlineData(16, 2)]
    [InlineData(20, 4)]
    public void Init_follows_the_datasheet_sequence_and_leaves_a_blank_lit_display(int columns, int rows)
    {
        var rig = new Rig(new PanelGeometry(columns, rows));

        Assert.Empty(rig.Lcd.Violations);
        Assert.True(rig.Lcd.FourBitMode);
        Assert.True(rig.Lcd.Initialised);
        Assert.True(rig.Lcd.DisplayOn);
        Assert.False(rig.Lcd.CursorOn);
        Assert.False(rig.Lcd.BlinkOn);
        Assert.True(rig.Lcd.Increment);
        Assert.All(rig.Lcd.Rows, row => Assert.Equal(new string(' ', columns), row));

        // Waits are the datasheet minimums, not padding: 15 + 4.1 + 0.1 ms + a clear (1.52 ms) + 37 µs steps.
        Assert.InRange(rig.Delay.Now.TotalMilliseconds, 15 + 4.1 + 0.1 + 1.52, 25);
    }

    [Theory]
    [InlineData(16, 2)]
    [InlineData(20, 4)]
    public void Text_lands_on_the_right_rows(int columns, int rows)
    {
        var geometry = new PanelGeometry(columns, rows);
        var rig = new Rig(geometry);
        var lines = Enumerable.Range(0, rows).Select(r => $"row {r} " + new string((char)('a' + r), columns)).ToArray();

        rig.Display.Show(new PanelFrame(geometry, lines));

        Assert.Empty(rig.Lcd.Violations);
        for (var r = 0; r < rows; r++)
        {
            Assert.Equal(lines[r][..columns], rig.Lcd.Row(r));
        }
    }

    [Fact]
    public void Custom_glyphs_are_loaded_into_cgram_and_shown()
    {
        var geometry = PanelGeometry.Lcd16x2;
        var rig = new Rig(geometry);
        var line = $"{PanelGlyph.UpArrow}{PanelGlyph.DownArrow} ok {PanelGlyph.Check} {PanelGlyph.Heartbeat}";

        rig.Display.Show(new PanelFrame(geometry, [line, "x"]));

        Assert.Empty(rig.Lcd.Violations);
        Assert.Equal(PanelFrame.Fit(line, 16), rig.Lcd.RowsWithGlyphs()[0]);
        Assert.Equal(Hd44780Emulator.CustomBase, rig.Lcd.Row(0)[0]);
        Assert.Equal(new byte[] { 0x04, 0x0E, 0x15, 0x04, 0x04, 0x04, 0x04, 0x00 }, rig.Lcd.Cgram(0));
    }

    [Fact]
    public void A_refresh_without_change_writes_nothing_and_a_one_cell_change_writes_one_cell()
    {
        var geometry = PanelGeometry.Lcd20x4;
        var rig = new Rig(geometry);
        rig.Display.Show(new PanelFrame(geometry, ["ACTIVE", "10.0.0.5", "CPU 3%", "no alerts"]));
        var before = rig.Device.BytesWritten;

        rig.Display.Show(new PanelFrame(geometry, ["ACTIVE", "10.0.0.5", "CPU 3%", "no alerts"]));
        Assert.Equal(before, rig.Device.BytesWritten);

        rig.Display.Show(new PanelFrame(geometry, ["ACTIVE", "10.0.0.5", "CPU 4%", "no alerts"]));

        // One set-address instruction plus one character: 2 bytes × 2 nibbles × 2 writes (E high, E low).
        Assert.Equal(8, rig.Device.BytesWritten - before);
        Assert.Equal("CPU 4%", rig.Lcd.Row(2).TrimEnd());
        Assert.Empty(rig.Lcd.Violations);
    }

    [Fact]
    public void Backlight_follows_the_frame_without_touching_the_controller()
    {
        var geometry = PanelGeometry.Lcd16x2;
        var rig = new Rig(geometry);
        rig.Display.Show(new PanelFrame(geometry, ["hello"]));
        Assert.True(rig.Lcd.Backlight);
        var instructions = rig.Lcd.Instructions + rig.Lcd.DataWrites;

        rig.Display.Show(new PanelFrame(geometry, ["hello"], backlightOn: false));

        Assert.False(rig.Lcd.Backlight);
        Assert.Equal(instructions, rig.Lcd.Instructions + rig.Lcd.DataWrites);
        Assert.Equal("hello", rig.Lcd.Row(0).TrimEnd());
    }

    [Fact]
    public void After_a_failed_write_the_display_reinitialises_and_redraws_everything()
    {
        var geometry = PanelGeometry.Lcd16x2;
        var rig = new Rig(geometry);
        rig.Display.Show(new PanelFrame(geometry, ["one", "two"]));

        rig.Device.Unplugged = true;
        Assert.Throws<IOException>(() => rig.Display.Show(new PanelFrame(geometry, ["three", "four"])));
        rig.Device.Unplugged = false;
        rig.Display.Show(new PanelFrame(geometry, ["three", "four"]));

        Assert.Equal(["three", "four"], rig.Lcd.Rows.Select(r => r.TrimEnd()));
        Assert.Empty(rig.Lcd.Violations);
    }

    [Fact]
    public void The_emulator_rejects_data_before_the_reset_sequence_and_writes_while_busy()
    {
        var delay = new VirtualDelay();
        var lcd = new Hd44780Emulator(PanelGeometry.Lcd16x2, () => delay.Now);
        var device = new EmulatedPcf8574Device(lcd);
        var bus = new Pcf8574Hd44780Bus(device);

        // Data straight after power-up: busy (< 15 ms) and not initialised.
        bus.WriteNibble(true, 0x4);
        Assert.Contains(lcd.Violations, v => v.Contains("busy", StringComparison.Ordinal));
        Assert.Contains(lcd.Violations, v => v.Contains("before initialisation", StringComparison.Ordinal));

        // A reset sequence without the 4.1 ms wait after the first 0x3.
        var lcd2 = new Hd44780Emulator(PanelGeometry.Lcd16x2, () => delay.Now);
        var bus2 = new Pcf8574Hd44780Bus(new EmulatedPcf8574Device(lcd2));
        delay.Wait(TimeSpan.FromMilliseconds(20));
        bus2.WriteNibble(false, 0x3);
        delay.Wait(TimeSpan.FromMilliseconds(1));
        bus2.WriteNibble(false, 0x3);
        Assert.Single(lcd2.Violations);
        Assert.Contains("busy until", lcd2.Violations[0], StringComparison.Ordinal);
    }

    [Fact]
    public void The_gpio_wiring_is_decoded_by_the_same_emulator()
    {
        var geometry = PanelGeometry.Lcd20x4;
        var delay = new VirtualDelay();
        var driver = new FakeGpioDriver();
        var lcd = new Hd44780Emulator(geometry, () => delay.Now);
        int[] data = [23, 17, 18, 22];
        _ = new GpioLcdDecoder(driver, lcd, rs: 25, enable: 24, data, backlight: 4);
        using var gpio = new GpioController(driver);
        using var display = new Hd44780Display(new Lcd(
            new GpioHd44780Bus(gpio, new Hd44780GpioPins(25, 24, data, 4), ownsController: false), geometry, delay));

        display.Show(new PanelFrame(geometry, ["Show IP", $"eth0 {PanelGlyph.Check}shared", "10.0.0.5", $"{PanelGlyph.Heartbeat} peer"]));

        Assert.Empty(lcd.Violations);
        Assert.Equal(["Show IP", $"eth0 {PanelGlyph.Check}shared", "10.0.0.5", $"{PanelGlyph.Heartbeat} peer"], lcd.RowsWithGlyphs().Select(r => r.TrimEnd()));
        Assert.True(lcd.Backlight);
        Assert.Equal(PinMode.Output, driver.Modes[24]);
    }
}
