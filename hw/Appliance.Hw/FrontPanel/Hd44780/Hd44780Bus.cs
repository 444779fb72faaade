using System.Device.Gpio;
using System.Device.I2c;

namespace Appliance.Hw.FrontPanel.Hd44780;

/// <summary>How nibbles reach an HD44780 wired in 4-bit mode (R/W tied low: the busy flag is never read).</summary>
public interface IHd44780Bus : IDisposable
{
    /// <summary>Latches one nibble (D4–D7) with RS = <paramref name="registerSelect"/> on the falling edge of E.</summary>
    void WriteNibble(bool registerSelect, byte nibble);

    /// <summary>Switches the backlight (a transistor on the backpack or a GPIO pin).</summary>
    void SetBacklight(bool lit);
}

/// <summary>
/// PCF8574 I²C backpack: P0 = RS, P1 = R/W, P2 = E, P3 = backlight, P4–P7 = D4–D7.
/// Each nibble is two byte writes, E high then E low; the controller latches on the falling edge.
/// </summary>
public sealed class Pcf8574Hd44780Bus : IHd44780Bus
{
    public const int DefaultAddress = 0x27;

    private const byte RegisterSelectBit = 0x01;
    private const byte EnableBit = 0x04;
    private const byte BacklightBit = 0x08;

    private readonly I2cDevice _device;
    private readonly bool _ownsDevice;
    private byte _backlight = BacklightBit;

    public Pcf8574Hd44780Bus(I2cDevice device, bool ownsDevice = true)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        _ownsDevice = ownsDevice;
    }

    public void WriteNibble(bool registerSelect, byte nibble)
    {
        var value = (byte)(((nibble & 0x0F) << 4) | _backlight | (registerSelect ? RegisterSelectBit : 0));
        _device.WriteByte((byte)(value | EnableBit));
        _device.WriteByte(value);
    }

    public void SetBacklight(bool lit)
    {
        _backlight = lit ? BacklightBit : (byte)0;

        // E stays low, so the controller ignores this write; only the expander's P3 changes.
        _device.WriteByte(_backlight);
    }

    public void Dispose()
    {
        if (_ownsDevice)
        {
            _device.Dispose();
        }
    }
}

/// <summary>GPIO pin numbers of a directly wired HD44780 in 4-bit mode (logical numbering of the GPIO controller).</summary>
/// <param name="RegisterSelect">RS pin.</param>
/// <param name="Enable">E pin.</param>
/// <param name="Data">D4, D5, D6, D7 pins, in that order.</param>
/// <param name="Backlight">Backlight pin (active high), or null when the backlight is hard-wired.</param>
public sealed record Hd44780GpioPins(int RegisterSelect, int Enable, IReadOnlyList<int> Data, int? Backlight);

/// <summary>Direct 4-bit GPIO wiring: RS, E, D4–D7 and an optional backlight pin; R/W tied to ground.</summary>
public sealed class GpioHd44780Bus : IHd44780Bus
{
    private readonly GpioController _gpio;
    private readonly Hd44780GpioPins _pins;
    private readonly bool _ownsController;

    public GpioHd44780Bus(GpioController gpio, Hd44780GpioPins pins, bool ownsController = true)
    {
        ArgumentNullException.ThrowIfNull(gpio);
        ArgumentNullException.ThrowIfNull(pins);
        if (pins.Data.Count != 4)
        {
            throw new ArgumentException($"4-bit wiring needs exactly 4 data pins (D4–D7), got {pins.Data.Count}", nameof(pins));
        }

        _gpio = gpio;
        _pins = pins;
        _ownsController = ownsController;
        foreach (var pin in Pins())
        {
            _gpio.OpenPin(pin, PinMode.Output, PinValue.Low);
        }
    }

    private IEnumerable<int> Pins()
    {
        yield return _pins.RegisterSelect;
        yield return _pins.Enable;
        foreach (var pin in _pins.Data)
        {
            yield return pin;
        }

        if (_pins.Backlight is { } backlight)
        {
            yield return backlight;
        }
    }

    public void WriteNibble(bool registerSelect, byte nibble)
    {
        _gpio.Write(_pins.RegisterSelect, registerSelect ? PinValue.High : PinValue.Low);
        for (var bit = 0; bit < 4; bit++)
        {
            _gpio.Write(_pins.Data[bit], ((nibble >> bit) & 1) != 0 ? PinValue.High : PinValue.Low);
        }

        // E pulse ≥ 450 ns (datasheet PWEH); a GPIO write through the kernel takes longer than that.
        _gpio.Write(_pins.Enable, PinValue.High);
        _gpio.Write(_pins.Enable, PinValue.Low);
    }

    public void SetBacklight(bool lit)
    {
        if (_pins.Backlight is { } pin)
        {
            _gpio.Write(pin, lit ? PinValue.High : PinValue.Low);
        }
    }

    public void Dispose()
    {
        if (_ownsController)
        {
            _gpio.Dispose();
        }
    }
}
