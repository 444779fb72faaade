using System.Text;

namespace Appliance.Core.Panel;

/// <summary>The supported character-LCD geometries.</summary>
public readonly record struct PanelGeometry
{
    public static PanelGeometry Lcd16x2 { get; } = new(16, 2);

    public static PanelGeometry Lcd20x4 { get; } = new(20, 4);

    public PanelGeometry(int columns, int rows)
    {
        if (!((columns == 16 && rows == 2) || (columns == 20 && rows == 4)))
        {
            throw new ArgumentOutOfRangeException(nameof(columns), $"panel geometry {columns}x{rows} is not supported; allowed: 16x2, 20x4");
        }

        Columns = columns;
        Rows = rows;
    }

    public int Columns { get; }

    public int Rows { get; }

    public override string ToString() => $"{Columns}x{Rows}";
}

/// <summary>
/// Icon characters the menu puts into frames. Drivers map them to custom glyphs (HD44780 CGRAM slots 0–3)
/// or to ASCII stand-ins when the display has none.
/// </summary>
public static class PanelGlyph
{
    public const char UpArrow = '\u2191';
    public const char DownArrow = '\u2193';
    public const char Check = '\u2713';
    public const char Heartbeat = '\u2665';

    public static IReadOnlyList<char> All { get; } = [UpArrow, DownArrow, Check, Heartbeat];

    /// <summary>Plain ASCII stand-in for a glyph (LCDproc, logs); other characters pass through.</summary>
    public static char ToAscii(char c) => c switch
    {
        UpArrow => '^',
        DownArrow => 'v',
        Check => '*',
        Heartbeat => '+',
        _ => c,
    };
}

/// <summary>One full screen: exactly <see cref="PanelGeometry.Rows"/> lines of exactly <see cref="PanelGeometry.Columns"/> characters.</summary>
public sealed class PanelFrame : IEquatable<PanelFrame>
{
    private readonly string[] _lines;

    public PanelFrame(PanelGeometry geometry, IEnumerable<string> lines, bool backlightOn = true)
    {
        Geometry = geometry;
        _lines = new string[geometry.Rows];
        var given = lines.Take(geometry.Rows + 1).ToList();
        if (given.Count > geometry.Rows)
        {
            throw new ArgumentException($"frame has more than {geometry.Rows} lines for a {geometry} panel", nameof(lines));
        }

        for (var row = 0; row < geometry.Rows; row++)
        {
            var text = row < given.Count ? given[row] : "";
            _lines[row] = Fit(text, geometry.Columns);
        }

        BacklightOn = backlightOn;
    }

    public PanelGeometry Geometry { get; }

    public IReadOnlyList<string> Lines => _lines;

    public bool BacklightOn { get; }

    /// <summary>True when a line shows a secret (the offered password): such a frame goes to the display, never to a log.</summary>
    public bool ContainsSecret { get; init; }

    /// <summary>Cuts or pads <paramref name="text"/> to exactly <paramref name="width"/> characters; control characters become spaces.</summary>
    public static string Fit(string text, int width)
    {
        var sb = new StringBuilder(width);
        foreach (var c in text)
        {
            if (sb.Length == width)
            {
                break;
            }

            sb.Append(char.IsControl(c) ? ' ' : c);
        }

        return sb.ToString().PadRight(width);
    }

    /// <summary>The screen as a framed box (used by <c>appliancectl panel show</c>).</summary>
    public string RenderBox()
    {
        var border = "+" + new string('-', Geometry.Columns) + "+";
        var sb = new StringBuilder();
        sb.Append(border).Append('\n');
        foreach (var line in _lines)
        {
            sb.Append('|').Append(line).Append("|\n");
        }

        sb.Append(border).Append('\n');
        if (!BacklightOn)
        {
            sb.Append("(backlight dimmed)\n");
        }

        return sb.ToString();
    }

    public bool Equals(PanelFrame? other) =>
        other is not null && other.Geometry == Geometry && other.BacklightOn == BacklightOn && other._lines.AsSpan().SequenceEqual(_lines);

    public override bool Equals(object? obj) => Equals(obj as PanelFrame);

    public override int GetHashCode() => HashCode.Combine(Geometry, BacklightOn, string.Join('\n', _lines));

    public override string ToString() =>
        (ContainsSecret ? "(screen with a secret, not shown)" : string.Join(" | ", _lines)) + (BacklightOn ? "" : " (dim)");
}

/// <summary>A character display the panel controller draws on (HD44780, LCDproc, simulated).</summary>
public interface IPanelDisplay
{
    PanelGeometry Geometry { get; }

    /// <summary>Puts <paramref name="frame"/> on the display; implementations write only what changed since the last frame.</summary>
    void Show(PanelFrame frame);
}

/// <summary>
/// Remote button presses. Only the simulated panel implements this: on real hardware, physical presence is what
/// authorises a password reset, so no API path may press a real panel's buttons.
/// </summary>
public interface IRemotePanelPress
{
    /// <param name="key">The key to press.</param>
    /// <param name="hold">How long it stays down (zero for a short press).</param>
    /// <param name="chordWith">A second key held down together with <paramref name="key"/> (a chord), or null.</param>
    /// <param name="cancellationToken">Cancels the wait while the key is held.</param>
    Task PressAsync(PanelKey key, TimeSpan hold, PanelKey? chordWith, CancellationToken cancellationToken);
}
