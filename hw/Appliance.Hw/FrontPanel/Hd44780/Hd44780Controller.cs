using Appliance.Core.Panel;

namespace Appliance.Hw.FrontPanel.Hd44780;

/// <summary>
/// HD44780 instruction set over a 4-bit bus. Timings from the HD44780U datasheet (table 6, f_osc = 270 kHz):
/// clear display / return home 1.52 ms, every other instruction and data write 37 µs; the reset-by-instruction
/// waits (≥ 15 ms, ≥ 4.1 ms, ≥ 100 µs) from figure 24 "4-bit interface" initialisation.
/// </summary>
public sealed class Hd44780Controller : IDisposable
{
    public static readonly TimeSpan PowerOnWait = TimeSpan.FromMilliseconds(15);
    public static readonly TimeSpan FirstFunctionSetWait = TimeSpan.FromMicroseconds(4100);
    public static readonly TimeSpan SecondFunctionSetWait = TimeSpan.FromMicroseconds(100);
    public static readonly TimeSpan ClearOrHomeWait = TimeSpan.FromMicroseconds(1520);
    public static readonly TimeSpan InstructionWait = TimeSpan.FromMicroseconds(37);

    /// <summary>DDRAM address of column 0 on each row (rows 2 and 3 of a 20×4 continue rows 0 and 1).</summary>
    public static IReadOnlyList<byte> RowOffsets { get; } = [0x00, 0x40, 0x14, 0x54];

    private const byte ClearDisplay = 0x01;
    private const byte ReturnHome = 0x02;
    private const byte EntryModeIncrement = 0x06;
    private const byte DisplayOff = 0x08;
    private const byte DisplayOnCursorOff = 0x0C;
    private const byte FunctionSet4Bit2Line = 0x28;
    private const byte SetCgramAddress = 0x40;
    private const byte SetDdramAddress = 0x80;

    private readonly IHd44780Bus _bus;
    private readonly IHd44780Delay _delay;

    public Hd44780Controller(IHd44780Bus bus, PanelGeometry geometry, IHd44780Delay delay)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(delay);
        _bus = bus;
        _delay = delay;
        Geometry = geometry;
    }

    public PanelGeometry Geometry { get; }

    /// <summary>Resets the controller by instruction (works from any state, including 8-bit mode or mid-nibble) and clears it.</summary>
    public void Initialize()
    {
        // ≥ 15 ms after Vcc reaches 4.5 V; also covers a clear (1.52 ms) still running on a display in an unknown state.
        _delay.Wait(PowerOnWait);
        _bus.WriteNibble(false, 0x3);
        _delay.Wait(FirstFunctionSetWait);
        _bus.WriteNibble(false, 0x3);
        _delay.Wait(SecondFunctionSetWait);
        _bus.WriteNibble(false, 0x3);
        _delay.Wait(InstructionWait);
        _bus.WriteNibble(false, 0x2);
        _delay.Wait(InstructionWait);
        Command(FunctionSet4Bit2Line);
        Command(DisplayOff);
        Command(ClearDisplay);
        Command(EntryModeIncrement);
        Command(DisplayOnCursorOff);
    }

    public void Clear() => Command(ClearDisplay);

    public void Home() => Command(ReturnHome);

    public void SetCursor(int column, int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, Geometry.Columns);
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Geometry.Rows);
        Command((byte)(SetDdramAddress | (RowOffsets[row] + column)));
    }

    /// <summary>Writes character codes at the cursor (the address counter advances by itself in entry mode I/D = 1).</summary>
    public void Write(ReadOnlySpan<byte> characterCodes)
    {
        foreach (var code in characterCodes)
        {
            WriteByte(true, code);
            _delay.Wait(InstructionWait);
        }
    }

    /// <summary>Defines custom character <paramref name="slot"/> (0–7) from 8 rows of 5 pixels (bits 4..0). Leaves the address counter in CGRAM: set the cursor afterwards.</summary>
    public void CreateCustomCharacter(int slot, ReadOnlySpan<byte> rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slot, 7);
        if (rows.Length != 8)
        {
            throw new ArgumentException($"a custom character has 8 rows, got {rows.Length}", nameof(rows));
        }

        Command((byte)(SetCgramAddress | (slot << 3)));
        Span<byte> masked = stackalloc byte[8];
        for (var i = 0; i < 8; i++)
        {
            masked[i] = (byte)(rows[i] & 0x1F);
        }

        Write(masked);
    }

    public void SetBacklight(bool on) => _bus.SetBacklight(on);

    private void Command(byte instruction)
    {
        WriteByte(false, instruction);
        // 0x01 clear, 0x02/0x03 return home: the two slow instructions.
        _delay.Wait(instruction is >= ClearDisplay and <= 0x03 ? ClearOrHomeWait : InstructionWait);
    }

    private void WriteByte(bool registerSelect, byte value)
    {
        _bus.WriteNibble(registerSelect, (byte)(value >> 4));
        _bus.WriteNibble(registerSelect, (byte)(value & 0x0F));
    }

    public void Dispose() => _bus.Dispose();
}
