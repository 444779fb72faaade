using Appliance.Core.Panel;

namespace Appliance.Hw.FrontPanel.Hd44780;

/// <summary>
/// An <see cref="IPanelDisplay"/> on an HD44780: keeps a copy of what the controller shows and writes only the
/// cells that changed. A frame equal to the last one writes nothing — no clear per refresh, so no flicker.
/// </summary>
public sealed class Hd44780Display : IPanelDisplay, IDisposable
{
    /// <summary>5×8 patterns for <see cref="PanelGlyph.All"/>, loaded into CGRAM slots 0–3 in that order.</summary>
    public static IReadOnlyList<byte[]> GlyphPatterns { get; } =
    [
        [0x04, 0x0E, 0x15, 0x04, 0x04, 0x04, 0x04, 0x00], // up arrow
        [0x04, 0x04, 0x04, 0x04, 0x15, 0x0E, 0x04, 0x00], // down arrow
        [0x00, 0x01, 0x03, 0x16, 0x1C, 0x08, 0x00, 0x00], // check mark
        [0x00, 0x0A, 0x1F, 0x1F, 0x0E, 0x04, 0x00, 0x00], // heart (heartbeat)
    ];

    private readonly Lock _gate = new();
    private readonly Hd44780Controller _lcd;
    private readonly byte[][] _shown;
    private bool? _backlight;
    private int _cursorRow = -1;
    private int _cursorColumn = -1;
    private bool _stale;

    /// <summary>Initialises the controller, loads the icon glyphs and starts from a blank screen.</summary>
    public Hd44780Display(Hd44780Controller lcd)
    {
        ArgumentNullException.ThrowIfNull(lcd);
        _lcd = lcd;
        _shown = new byte[lcd.Geometry.Rows][];
        Reset();
    }

    /// <summary>
    /// Re-initialises the controller. Also used after a failed write: the controller may have latched only one
    /// nibble of a byte, so nothing it holds can be trusted any more.
    /// </summary>
    private void Reset()
    {
        _lcd.Initialize();
        for (var slot = 0; slot < GlyphPatterns.Count; slot++)
        {
            _lcd.CreateCustomCharacter(slot, GlyphPatterns[slot]);
        }

        // After the clear in Initialize every DDRAM cell holds a space.
        for (var row = 0; row < _shown.Length; row++)
        {
            _shown[row] = Enumerable.Repeat((byte)' ', _lcd.Geometry.Columns).ToArray();
        }

        _cursorRow = -1;
        _cursorColumn = -1;
        _backlight = null;
        _stale = false;
    }

    public PanelGeometry Geometry => _lcd.Geometry;

    public void Show(PanelFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Geometry != Geometry)
        {
            throw new ArgumentException($"frame is {frame.Geometry}, display is {Geometry}", nameof(frame));
        }

        lock (_gate)
        {
            try
            {
                ShowLocked(frame);
            }
            catch
            {
                _stale = true;
                throw;
            }
        }
    }

    private void ShowLocked(PanelFrame frame)
    {
        if (_stale)
        {
            Reset();
        }

        if (_backlight != frame.BacklightOn)
        {
            _lcd.SetBacklight(frame.BacklightOn);
            _backlight = frame.BacklightOn;
        }

        Span<byte> codes = stackalloc byte[Geometry.Columns];
        for (var row = 0; row < Geometry.Rows; row++)
        {
            Encode(frame.Lines[row], codes);
            WriteChangedRuns(row, codes);
        }
    }

    private void WriteChangedRuns(int row, ReadOnlySpan<byte> codes)
    {
        var shown = _shown[row];
        var column = 0;
        while (column < codes.Length)
        {
            if (codes[column] == shown[column])
            {
                column++;
                continue;
            }

            var end = column;
            while (end < codes.Length && codes[end] != shown[end])
            {
                end++;
            }

            // A CGRAM write (at construction) leaves the address counter outside DDRAM, so the first run always sets it.
            if (_cursorRow != row || _cursorColumn != column)
            {
                _lcd.SetCursor(column, row);
            }

            _lcd.Write(codes[column..end]);
            codes[column..end].CopyTo(shown.AsSpan(column));
            _cursorRow = row;
            _cursorColumn = end;
            column = end;
        }
    }

    /// <summary>Maps text to character codes of the A00 character ROM; icons go to their CGRAM slots.</summary>
    internal static void Encode(string line, Span<byte> codes)
    {
        for (var i = 0; i < codes.Length; i++)
        {
            var c = i < line.Length ? line[i] : ' ';
            codes[i] = CodeFor(c);
        }
    }

    internal static byte CodeFor(char c)
    {
        for (var slot = 0; slot < PanelGlyph.All.Count; slot++)
        {
            if (PanelGlyph.All[slot] == c)
            {
                return (byte)slot;
            }
        }

        // A00 ROM matches ASCII from 0x20 to 0x7D except 0x5C (yen sign); 0x7E/0x7F are arrows.
        return c is >= ' ' and <= '}' and not '\\' ? (byte)c : (byte)'?';
    }

    public void Dispose() => _lcd.Dispose();
}
