using System.Globalization;

namespace Appliance.Bench;

public static class Report
{
    public static void Line(string what, string figure, string target) =>
        Console.Out.WriteLine($"  {what,-34} {figure}{(target.Length > 0 ? "   (" + target + ")" : "")}");

    public static void Section(string title) => Console.Out.WriteLine($"\n== {title}");
}

public static class Stats
{
    public static double Median(IReadOnlyList<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>Reads a process's resident memory and CPU time from /proc.</summary>
public static class ProcStat
{
    public static long RssBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>CPU used by <paramref name="pid"/> over <paramref name="window"/>, in % of one core.</summary>
    public static async Task<double> CpuPercentAsync(int pid, TimeSpan window)
    {
        var before = CpuTime(pid);
        await Task.Delay(window);
        return (CpuTime(pid) - before) / window * 100;
    }

    /// <summary>User + system CPU time; fields 14 and 15 of /proc/PID/stat, in clock ticks (100 Hz on Linux).</summary>
    public static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }
}
