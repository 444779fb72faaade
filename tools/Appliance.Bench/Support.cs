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

    /// <summary>
    /// Two CPU windows of <paramref name="pid"/>, both reported: from <paramref name="startAfter"/> after
    /// <paramref name="since"/> (includes the JIT's tier-up of the code paths just started) and from 60 s after it,
    /// the steady cost, judged against <paramref name="target"/>.
    /// </summary>
    public static async Task FirstAndSteadyCpuAsync(int pid, TimeSpan startAfter, TimeSpan window, string label, string since, string target)
    {
        await Task.Delay(startAfter);
        var first = await CpuPercentAsync(pid, window);
        Report.Line(label, string.Create(CultureInfo.InvariantCulture, $"{first:F2} % of one core over {window.TotalSeconds:F0} s right after {since}"), "");
        var steadyFrom = TimeSpan.FromSeconds(60) - startAfter - window;
        if (steadyFrom > TimeSpan.Zero)
        {
            await Task.Delay(steadyFrom);
        }

        var steady = await CpuPercentAsync(pid, window);
        Report.Line(label, string.Create(CultureInfo.InvariantCulture, $"{steady:F2} % of one core over {window.TotalSeconds:F0} s from 60 s after {since}"), target);
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

/// <summary>
/// Where a process's resident memory sits, summed from /proc/PID/smaps by mapping: managed assemblies
/// (file-backed .dll images, nearly fully resident through the kernel's fault-around), native
/// libraries, executable memory (the W^X double mapping that holds JIT output, precode and stubs) and
/// anonymous memory (GC heap, malloc arenas, thread stacks).
/// </summary>
public sealed record MemoryBreakdown(long ManagedAssemblies, long NativeLibraries, long ExecutableMemory, long Anonymous, long Other, int LoadedAssemblies, int Threads)
{
    public static MemoryBreakdown Read(int pid)
    {
        long managed = 0, native = 0, executable = 0, anonymous = 0, other = 0;
        var assemblies = new HashSet<string>(StringComparer.Ordinal);
        var mapping = "";
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            if (IsMappingHeader(line))
            {
                var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                mapping = fields.Length > 5 ? fields[5].Trim() : "";
                continue;
            }

            if (!line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                continue;
            }

            var bytes = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            if (mapping.EndsWith(".dll", StringComparison.Ordinal))
            {
                managed += bytes;
                assemblies.Add(mapping);
            }
            else if (mapping.Contains(".so", StringComparison.Ordinal))
            {
                native += bytes;
            }
            else if (mapping.Contains("doublemapper", StringComparison.Ordinal))
            {
                executable += bytes;
            }
            else if (mapping.Length == 0 || mapping.StartsWith('['))
            {
                anonymous += bytes;
            }
            else
            {
                other += bytes;
            }
        }

        var threads = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Threads:", StringComparison.Ordinal));
        return new(managed, native, executable, anonymous, other, assemblies.Count, int.Parse(threads["Threads:".Length..].Trim(), CultureInfo.InvariantCulture));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"assemblies {Mb(ManagedAssemblies)} ({LoadedAssemblies} files), native libs {Mb(NativeLibraries)}, JIT/stubs {Mb(ExecutableMemory)}, anonymous {Mb(Anonymous)}{(Other > 0 ? $", other {Mb(Other)}" : "")}; {Threads} threads");

    private static string Mb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):F1} MB");

    /// <summary>"start-end perms offset dev inode [path]" (lower-case hex); field lines start "Rss:", "VmFlags:"….</summary>
    private static bool IsMappingHeader(string line)
    {
        var dash = line.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && !line.AsSpan(0, dash).ContainsAnyExcept(LowerHex);
    }

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");
}
