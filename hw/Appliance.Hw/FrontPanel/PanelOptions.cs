using System.Globalization;
using Appliance.Core.Panel;
using Appliance.Hw.FrontPanel.Buttons;
using Appliance.Hw.FrontPanel.Hd44780;

namespace Appliance.Hw.FrontPanel;

/// <summary>Which front panel this appliance has.</summary>
public enum PanelKind
{
    /// <summary>Simulated when the machine has no /dev/i2c-* and no /dev/gpiochip*; otherwise <see cref="None"/> with a warning to set the kind.</summary>
    Auto,
    Hd44780I2c,
    Hd44780Gpio,
    LcdProc,
    IdracLcd,
    Simulated,
    None,
}

/// <summary>Configuration section <c>Appliance:Panel</c>.</summary>
public sealed class PanelOptions
{
    public const string SectionName = "Appliance:Panel";

    public PanelKind Kind { get; set; } = PanelKind.Auto;

    /// <summary>16 (with Rows = 2) or 20 (with Rows = 4).</summary>
    public int Columns { get; set; } = 16;

    public int Rows { get; set; } = 2;

    /// <summary>Linux I²C bus number: /dev/i2c-N.</summary>
    public int I2cBusId { get; set; } = 1;

    /// <summary>7-bit address of the PCF8574 backpack; "0x27" is accepted in configuration.</summary>
    public int I2cAddress { get; set; } = Pcf8574Hd44780Bus.DefaultAddress;

    // Direct GPIO wiring; defaults are the common Raspberry Pi wiring (BCM numbering).
    public int LcdRegisterSelectPin { get; set; } = 25;

    public int LcdEnablePin { get; set; } = 24;

    public int LcdD4Pin { get; set; } = 23;

    public int LcdD5Pin { get; set; } = 17;

    public int LcdD6Pin { get; set; } = 18;

    public int LcdD7Pin { get; set; } = 22;

    public int? LcdBacklightPin { get; set; }

    public string LcdProcHost { get; set; } = "127.0.0.1";

    public int LcdProcPort { get; set; } = 13666;

    /// <summary>GPIO buttons next to an HD44780 (ignored for LcdProc, IdracLcd, Simulated, None).</summary>
    public bool GpioButtons { get; set; } = true;

    public int ButtonUpPin { get; set; } = 5;

    public int ButtonDownPin { get; set; } = 6;

    public int ButtonCheckPin { get; set; } = 13;

    public int? ButtonBackPin { get; set; }

    /// <summary>True when a pressed button pulls its pin to ground (the usual wiring, internal pull-up).</summary>
    public bool ButtonsActiveLow { get; set; } = true;

    public int DebounceMilliseconds { get; set; } = 20;

    public int HoldMilliseconds { get; set; } = 2000;

    public PanelGeometry Geometry => new(Columns, Rows);

    public ButtonTiming ButtonTiming => new(TimeSpan.FromMilliseconds(DebounceMilliseconds), TimeSpan.FromMilliseconds(HoldMilliseconds));

    public Hd44780GpioPins LcdPins => new(LcdRegisterSelectPin, LcdEnablePin, [LcdD4Pin, LcdD5Pin, LcdD6Pin, LcdD7Pin], LcdBacklightPin);

    public ButtonPins ButtonPins => new(ButtonUpPin, ButtonDownPin, ButtonCheckPin, ButtonBackPin, ButtonsActiveLow);

    /// <summary>Every problem with these options, each naming the key, the value and what is allowed; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(Kind))
        {
            errors.Add($"{SectionName}:Kind={Kind} is not a panel kind; allowed: {string.Join(", ", Enum.GetNames<PanelKind>())}");
        }

        if (!((Columns == 16 && Rows == 2) || (Columns == 20 && Rows == 4)))
        {
            errors.Add($"{SectionName}:Columns/Rows={Columns}x{Rows} is not supported; allowed: 16x2 or 20x4");
        }

        Range(errors, nameof(I2cBusId), I2cBusId, 0, 255);
        if (I2cAddress is < 0x03 or > 0x77)
        {
            errors.Add($"{SectionName}:I2cAddress=0x{I2cAddress.ToString("x2", CultureInfo.InvariantCulture)} is outside the 7-bit address range 0x03..0x77");
        }

        if (Kind == PanelKind.LcdProc && string.IsNullOrWhiteSpace(LcdProcHost))
        {
            errors.Add($"{SectionName}:LcdProcHost is empty; give the host LCDd listens on (e.g. 127.0.0.1)");
        }

        Range(errors, nameof(LcdProcPort), LcdProcPort, 1, 65535);
        Range(errors, nameof(DebounceMilliseconds), DebounceMilliseconds, 0, 200);
        Range(errors, nameof(HoldMilliseconds), HoldMilliseconds, 500, 10_000);
        if (HoldMilliseconds <= 2 * DebounceMilliseconds)
        {
            errors.Add($"{SectionName}:HoldMilliseconds={HoldMilliseconds} must be more than twice DebounceMilliseconds={DebounceMilliseconds}");
        }

        if (Kind == PanelKind.Hd44780Gpio)
        {
            DistinctPins(errors, "GPIO", [
                (nameof(LcdRegisterSelectPin), LcdRegisterSelectPin), (nameof(LcdEnablePin), LcdEnablePin),
                (nameof(LcdD4Pin), LcdD4Pin), (nameof(LcdD5Pin), LcdD5Pin), (nameof(LcdD6Pin), LcdD6Pin), (nameof(LcdD7Pin), LcdD7Pin),
                (nameof(LcdBacklightPin), LcdBacklightPin),
                .. GpioButtons ? ButtonPinList() : []]);
        }
        else if (Kind == PanelKind.Hd44780I2c && GpioButtons)
        {
            DistinctPins(errors, "GPIO", ButtonPinList());
        }

        return errors;
    }

    private List<(string Name, int? Pin)> ButtonPinList() =>
        [(nameof(ButtonUpPin), ButtonUpPin), (nameof(ButtonDownPin), ButtonDownPin), (nameof(ButtonCheckPin), ButtonCheckPin), (nameof(ButtonBackPin), ButtonBackPin)];

    private static void Range(List<string> errors, string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{SectionName}:{name}={value} is out of range; allowed: {min}..{max}");
        }
    }

    private static void DistinctPins(List<string> errors, string what, List<(string Name, int? Pin)> pins)
    {
        var seen = new Dictionary<int, string>();
        foreach (var (name, pin) in pins)
        {
            if (pin is not { } number)
            {
                continue;
            }

            if (number is < 0 or > 1023)
            {
                errors.Add($"{SectionName}:{name}={number} is out of range; allowed: 0..1023");
            }
            else if (!seen.TryAdd(number, name))
            {
                errors.Add($"{SectionName}:{name}={number} is already used by {seen[number]}; {what} pins must be distinct");
            }
        }
    }
}
