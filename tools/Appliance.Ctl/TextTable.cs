using System.Text;

namespace Appliance.Ctl;

/// <summary>
/// Plain aligned columns for serial consoles and KVMs: no colour, no box drawing, and never wider than
/// <see cref="Width"/> (the widest column shrinks and its cells are cut with '~').
/// </summary>
public static class TextTable
{
    public const int Width = 80;
    private const string Gap = "  ";

    public static string Render(IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = headers.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        var total = widths.Sum() + Gap.Length * (widths.Length - 1);
        // Shrink the widest column one character at a time, so wide columns end up sharing the cut.
        while (total > Width && widths.Max() > 4)
        {
            widths[Array.IndexOf(widths, widths.Max())]--;
            total--;
        }

        var text = new StringBuilder();
        AppendRow(text, headers, widths);
        AppendRow(text, widths.Select(w => new string('-', w)).ToArray(), widths);
        foreach (var row in rows)
        {
            AppendRow(text, row, widths);
        }

        return text.ToString();
    }

    /// <summary>Two columns, name and value, for one record.</summary>
    public static string RenderPairs(IEnumerable<(string Name, string Value)> pairs) =>
        Render(["FIELD", "VALUE"], pairs.Select(p => (IReadOnlyList<string>)[p.Name, p.Value]).ToArray());

    private static void AppendRow(StringBuilder text, IReadOnlyList<string> cells, int[] widths)
    {
        var line = new StringBuilder();
        for (var i = 0; i < cells.Count; i++)
        {
            var cell = cells[i].ReplaceLineEndings(" ");
            if (cell.Length > widths[i])
            {
                cell = cell[..(widths[i] - 1)] + "~";
            }

            line.Append(i == cells.Count - 1 ? cell : cell.PadRight(widths[i]) + Gap);
        }

        text.Append(line.ToString().TrimEnd()).Append('\n');
    }
}
