using System.Diagnostics;

namespace Appliance.Tests.Fixtures;

/// <summary>Runs the real appliancectl executable and captures its exit code and output.</summary>
public static class CtlProcess
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <param name="stdin">Written to the CLI's standard input, which is then closed (secrets are never argv).</param>
    public static async Task<Result> RunAsync(IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string? workingDirectory = null, string? stdin = null)
    {
        var info = new ProcessStartInfo(RepoPaths.CtlExecutable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Remove("APPLIANCE_SOCKET");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
