using System.Diagnostics;

namespace Appliance.Tests.Fixtures;

/// <summary>What a command-line tool printed and returned.</summary>
public sealed record ToolResult(int ExitCode, string Output, string Error);

/// <summary>Runs a short-lived tool (ip, tmux, bash, systemd-analyze) to completion: argv only, both streams captured, bounded.</summary>
public static class Tool
{
    public static ToolResult Run(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(60);
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish in {limit.TotalSeconds:0} s");
        }

        return new ToolResult(process.ExitCode, output, error.GetAwaiter().GetResult());
    }

    /// <summary>Standard output of a command that must succeed; otherwise throws with its error output.</summary>
    public static string Checked(string file, params string[] arguments)
    {
        ToolResult result = Run(file, arguments);
        return result.ExitCode == 0 ? result.Output
            : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({result.ExitCode}): {result.Error.Trim()}");
    }
}
