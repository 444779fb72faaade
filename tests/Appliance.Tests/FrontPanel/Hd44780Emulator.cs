using System.Device.I2c;
using System.Globalization;
using Appliance.Core.Panel;
using Appliance.Hw.FrontPanel.Hd44780;

namespace Appliance.Tests.FrontPanel;

/// <summary>A clock that only moves when the driver waits: the emulator checks every write against it.</summary>
public sealed class VirtualDelay : IHd44780Delay
{
    public TimeSpan Now { get; private set; }

    public void Wait(TimeSpan duration) => Now += duration;
}

/// <summary>
/// An HD44780 controller as the datasheet describes it, fed one latched nibble at a time (4-bit wiring, D0–D3 low).
/// It powers up in 8-bit mode, is busy for the documented execution times, and records a violation for every
/// write while busy, every write before the reset-by-instruction sequence, and every malformed address. Tests
/// read the visible rows, CGRAM and the mode flags.
/// </summary>
public sealed class Hd44780Emulator
{
    /// <summary>Characters 0–7 (custom glyphs) appear in <see cref="Row"/> as U+E000..U+E007.</summary>
    public const char CustomBase = '\uE000';

    private static readonly TimeSpan PowerOnBusy = TimeSpan.FromMilliseconds(15);
    private static readonly TimeSpan ExecutionTime = TimeSpan.FromMicroseconds(37);
    private static readonly TimeSpan ClearHomeTime = TimeSpan.FromMicroseconds(1520);

    private readonly Func<TimeSpan> _now;
    private readonly byte[] _ddram = Enumerable.Repeat((byte)' ', 0x80).ToArray();
    private readonly byte[] _cgram = new byte[64];
    private TimeSpan _busyUntil = PowerOnBusy;
    private int _resetStep; // 0..3 function sets seen while in 8-bit mode after power-up
    private byte? _highNibble;
    private int _address;
    private bool _addressInCgram;

    public Hd44780Emulator(PanelGeometry geometry, Func<TimeSpan> now)
    {
        Geometry = geometry;
        _now = now;
    }

    public PanelGeometry Geometry { get; }

    public List<string> Violations { get; } = [];

    public bool FourBitMode { get; private set; }

    /// <summary>True once a 4-bit function set with N = 1 (two-line addressing) has run.</summary>
    public bool Initialised { get; private set; }

    public bool TwoLines { get; private set; }

    public bool DisplayOn { get; private set; }

    public bool CursorOn { get; private set; }

    public bool BlinkOn { get; private set; }

    public bool Increment { get; private set; } = true;

    public bool Backlight { get; set; }

    public int Instructions { get; private set; }

    public int DataWrites { get; private set; }

    /// <summary>Latches one nibble (D7..D4 on the bus) with RS, as on the falling edge of E.</summary>
    public void Latch(bool registerSelect, byte nibble)
    {
        var now = _now();
        if (now < _busyUntil)
        {
            Violations.Add(string.Create(CultureInfo.InvariantCulture, $"write at {now.TotalMicroseconds:0} µs while busy until {_busyUntil.TotalMicroseconds:0} µs"));
        }

        if (!FourBitMode)
        {
            // 8-bit interface with D0–D3 tied low: one latch is one whole byte.
            Execute(registerSelect, (byte)(nibble << 4), now);
            return;
        }

        if (_highNibble is not { } high)
        {
            _highNibble = nibble;
            return;
        }

        _highNibble = null;
        Execute(registerSelect, (byte)((high << 4) | nibble), now);
    }

    private void Execute(bool registerSelect, byte value, TimeSpan now)
    {
        if (_resetStep < 4)
        {
            ExecuteReset(registerSelect, value, now);
            return;
        }

        if (registerSelect)
        {
            WriteData(value, now);
            return;
        }

        Instructions++;
        _busyUntil = now + ExecutionTime;
        if ((value & 0x80) != 0)
        {
            SetDdramAddress(value & 0x7F);
        }
        else if ((value & 0x40) != 0)
        {
            _addressInCgram = true;
            _address = value & 0x3F;
        }
        else if ((value & 0x20) != 0)
        {
            FunctionSet(value);
        }
        else if ((value & 0x10) != 0)
        {
            Violations.Add($"cursor/display shift 0x{value:x2} is not used by the driver");
        }
        else if ((value & 0x08) != 0)
        {
            DisplayOn = (value & 0x04) != 0;
            CursorOn = (value & 0x02) != 0;
            BlinkOn = (value & 0x01) != 0;
        }
        else if ((value & 0x04) != 0)
        {
            Increment = (value & 0x02) != 0;
            if ((value & 0x01) != 0)
            {
                Violations.Add("entry mode with display shift is not expected");
            }
        }
        else if ((value & 0x02) != 0)
        {
            _addressInCgram = false;
            _address = 0;
            _busyUntil = now + ClearHomeTime;
        }
        else if (value == 0x01)
        {
            Array.Fill(_ddram, (byte)' ');
            _addressInCgram = false;
            _address = 0;
            Increment = true;
            _busyUntil = now + ClearHomeTime;
        }
        else
        {
            Violations.Add("instruction 0x00 does not exist");
        }
    }

    /// <summary>Figure 24 of the datasheet: 0x3 (wait ≥ 4.1 ms), 0x3 (≥ 100 µs), 0x3, then 0x2 selects 4 bits.</summary>
    private void ExecuteReset(bool registerSelect, byte value, TimeSpan now)
    {
        var expected = _resetStep < 3 ? 0x30 : 0x20;
        if (registerSelect || value != expected)
        {
            Violations.Add($"before initialisation: got {(registerSelect ? "data" : "instruction")} 0x{value:x2}, expected function set 0x{expected:x2} (reset step {_resetStep + 1})");
            return;
        }

        _busyUntil = now + _resetStep switch
        {
            0 => TimeSpan.FromMicroseconds(4100),
            1 => TimeSpan.FromMicroseconds(100),
            _ => ExecutionTime,
        };
        _resetStep++;
        if (_resetStep == 4)
        {
            FourBitMode = true;
        }
    }

    /// <summary>DL = 1 really switches a 4-bit controller back to 8 bits: that is why 0x3, 0x3, 0x3, 0x2 resets from any state.</summary>
    private void FunctionSet(byte value)
    {
        FourBitMode = (value & 0x10) == 0;
        TwoLines = (value & 0x08) != 0;
        Initialised = FourBitMode && TwoLines;
    }

    private void SetDdramAddress(int address)
    {
        if (TwoLines && !(address is <= 0x27 or (>= 0x40 and <= 0x67)))
        {
            Violations.Add($"DDRAM address 0x{address:x2} does not exist in 2-line mode");
        }

        _addressInCgram = false;
        _address = address;
    }

    private void WriteData(byte value, TimeSpan now)
    {
        DataWrites++;
        _busyUntil = now + ExecutionTime;
        if (!Initialised)
        {
            Violations.Add($"data 0x{value:x2} written before the function set");
        }

        if (_addressInCgram)
        {
            _cgram[_address] = (byte)(value & 0x1F);
            _address = (_address + (Increment ? 1 : -1)) & 0x3F;
            return;
        }

        _ddram[_address] = value;
        _address = NextDdramAddress(_address);
    }

    private int NextDdramAddress(int address)
    {
        if (!Increment)
        {
            return address == 0x00 ? 0x67 : address == 0x40 ? 0x27 : address - 1;
        }

        return address switch
        {
            0x27 => 0x40,
            0x67 => 0x00,
            _ => address + 1,
        };
    }

    /// <summary>DDRAM start address of each visible row.</summary>
    public int RowAddress(int row) => row switch
    {
        0 => 0x00,
        1 => 0x40,
        2 => Geometry.Columns,
        _ => 0x40 + Geometry.Columns,
    };

    /// <summary>What a person sees on <paramref name="row"/>: blank while the display is off.</summary>
    public string Row(int row)
    {
        if (!DisplayOn)
        {
            return new string(' ', Geometry.Columns);
        }

        var start = RowAddress(row);
        return new string(_ddram.AsSpan(start, Geometry.Columns).ToArray().Select(ToChar).ToArray());
    }

    public IReadOnlyList<string> Rows => Enumerable.Range(0, Geometry.Rows).Select(Row).ToList();

    /// <summary>The 8 pattern rows of custom character <paramref name="slot"/>.</summary>
    public byte[] Cgram(int slot) => _cgram.AsSpan(slot * 8, 8).ToArray();

    /// <summary>Rows with custom characters translated back to the panel glyph whose pattern they hold ('?' if none).</summary>
    public IReadOnlyList<string> RowsWithGlyphs() => Rows.Select(row => new string(row.Select(c =>
    {
        if (c < CustomBase || c > CustomBase + 7)
        {
            return c;
        }

        var pattern = Cgram(c - CustomBase);
        for (var i = 0; i < Hd44780Display.GlyphPatterns.Count; i++)
        {
            if (Hd44780Display.GlyphPatterns[i].AsSpan().SequenceEqual(pattern))
            {
                return PanelGlyph.All[i];
            }
        }

        return '?';
    }).ToArray())).ToList();

    private static char ToChar(byte code) => code < 8 ? (char)(CustomBase + code) : (char)code;
}

/// <summary>
/// A PCF8574 backpack on the I²C bus in front of an <see cref="Hd44780Emulator"/>: receives exactly the bytes the
/// driver writes and latches the data nibble and RS on every falling edge of E (P2), like the real wiring.
/// </summary>
public sealed class EmulatedPcf8574Device : I2cDevice
{
    private byte _last;

    public EmulatedPcf8574Device(Hd44780Emulator lcd, int busId = 1, int address = 0x27)
    {
        Lcd = lcd;
        ConnectionSettings = new I2cConnectionSettings(busId, address);
    }

    public Hd44780Emulator Lcd { get; }

    public override I2cConnectionSettings ConnectionSettings { get; }

    public long BytesWritten { get; private set; }

    /// <summary>When set, the next write throws like a NACK from an unplugged backpack.</summary>
    public bool Unplugged { get; set; }

    public override void WriteByte(byte value)
    {
        if (Unplugged)
        {
            throw new IOException("Error 6 performing I2C data transfer (no ACK)");
        }

        BytesWritten++;
        if ((value & 0x02) != 0)
        {
            Lcd.Violations.Add("R/W (P1) driven high: the driver must never read");
        }

        Lcd.Backlight = (value & 0x08) != 0;
        var fallingEdge = (_last & 0x04) != 0 && (value & 0x04) == 0;
        if (fallingEdge)
        {
            if ((_last & 0xF1) != (value & 0xF1))
            {
                Lcd.Violations.Add($"RS/data changed with the falling edge of E (0x{_last:x2} -> 0x{value:x2})");
            }

            Lcd.Latch((_last & 0x01) != 0, (byte)(_last >> 4));
        }

        _last = value;
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        foreach (var b in buffer)
        {
            WriteByte(b);
        }
    }

    public override byte ReadByte() => throw new NotSupportedException("the HD44780 driver never reads the expander");

    public override void Read(Span<byte> buffer) => throw new NotSupportedException("the HD44780 driver never reads the expander");

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer) => throw new NotSupportedException("the HD44780 driver never reads the expander");
}
