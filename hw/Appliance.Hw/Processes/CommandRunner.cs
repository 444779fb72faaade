using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using CliWrap;

namespace Appliance.Hw.Processes;

/// <summary>One external command: argv only (never a shell string), a hard timeout and an output cap.</summary>
public sealed record CommandSpec(
    string Executable,
    IReadOnlyList<string> Arguments,
    TimeSpan Timeout,
    int OutputLimitBytes,
    IReadOnlyDictionary<string, string?>? Environment = null)
{
    /// <summary>"systemctl start a.service": for logs and error messages (arguments are never secrets here).</summary>
    public override string ToString() => string.Join(' ', [Executable, .. Arguments]);
}

/// <summary>
/// What happened. <see cref="ExitCode"/> is null when the process never started or was killed at the timeout.
/// Output holds at most the spec's limit; <see cref="OutputTruncated"/> says that more was discarded.
/// </summary>
public sealed record CommandOutcome(
    int? ExitCode,
    string StandardOutput,
    string StandardError,
    bool TimedOut,
    bool OutputTruncated,
    string? StartError,
    TimeSpan Elapsed)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>The spec's timeout, for the summary of a killed command (a loaded machine kills it later than that).</summary>
    public TimeSpan Timeout { get; init; }

    /// <summary>One line for history and exception messages.</summary>
    public string Summary => (StartError, TimedOut, ExitCode) switch
    {
        (not null, _, _) => $"did not start: {StartError}",
        (_, true, _) => $"killed at its {Timeout.TotalSeconds:0.#} s timeout (after {Elapsed.TotalSeconds:0.#} s)",
        _ => $"exit code {ExitCode}" + (string.IsNullOrWhiteSpace(StandardError) ? "" : $": {FirstLine(StandardError)}"),
    };

    private static string FirstLine(string text) => text.Trim().Split('\n')[0].Trim();
}

/// <summary>
/// The one seam between the agent and the tools it runs (systemctl, hooks, ipmitool, racadm): tests
/// replace only the process start, everything above it is production code.
/// </summary>
public interface ICommandRunner
{
    /// <summary>Never throws for a failing, missing or hanging command; only <paramref name="cancellationToken"/> cancels.</summary>
    Task<CommandOutcome> RunAsync(CommandSpec spec, CancellationToken cancellationToken);
}

/// <summary>Runs commands with CliWrap; at the timeout (on <paramref name="timeProvider"/>) the whole process tree is killed.</summary>
public sealed class ProcessCommandRunner(TimeProvider timeProvider) : ICommandRunner
{
    /// <summary>A runner on the system clock.</summary>
    public ProcessCommandRunner() : this(TimeProvider.System) { }

    /// <summary>
    /// After the process exits, output still arriving is read this long. A hook that leaves a background
    /// child holding its stdout must not turn into a timeout (and lose its exit code).
    /// </summary>
    private static readonly TimeSpan DrainAfterExit = TimeSpan.FromMilliseconds(500);

    public async Task<CommandOutcome> RunAsync(CommandSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var drainEnds = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stdout = new BoundedCapture(spec.OutputLimitBytes, drainEnds.Task);
        var stderr = new BoundedCapture(spec.OutputLimitBytes, drainEnds.Task);
        using var timeout = new CancellationTokenSource(spec.Timeout, timeProvider);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var clock = Stopwatch.StartNew();
        Command command = Cli.Wrap(spec.Executable)
            .WithArguments(spec.Arguments)
            .WithValidation(CommandResultValidation.None)
            .WithStandardOutputPipe(PipeTarget.Create(stdout.DrainAsync))
            .WithStandardErrorPipe(PipeTarget.Create(stderr.DrainAsync));
        if (spec.Environment is { Count: > 0 } environment)
        {
            command = command.WithEnvironmentVariables(environment);
        }

        try
        {
            // The forceful token makes CliWrap kill the process tree, so a hook's children die with it.
            CommandTask<CommandResult> running = command.ExecuteAsync(deadline.Token);
            _ = EndDrainAfterExitAsync(running.ProcessId, drainEnds, deadline.Token);
            CommandResult result = await running;
            return Outcome(result.ExitCode, timedOut: false, startError: null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Outcome(null, timedOut: true, startError: null);
        }
        catch (Win32Exception ex)
        {
            return Outcome(null, timedOut: false, startError: StartFailure(spec.Executable, ex));
        }

        CommandOutcome Outcome(int? exitCode, bool timedOut, string? startError) => new(
            exitCode, stdout.Text, stderr.Text, timedOut, stdout.Truncated || stderr.Truncated, startError, clock.Elapsed) { Timeout = spec.Timeout };
    }

    private static async Task EndDrainAfterExitAsync(int processId, TaskCompletionSource drainEnds, CancellationToken cancellationToken)
    {
        try
        {
            using Process process = Process.GetProcessById(processId);
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (ArgumentException)
        {
            // Already exited and reaped.
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await Task.Delay(DrainAfterExit, CancellationToken.None);
        drainEnds.TrySetResult();
    }

    private static string StartFailure(string executable, Win32Exception ex) =>
        File.Exists(executable) ? $"'{executable}' could not be executed ({(ex.InnerException ?? ex).Message})"
            : $"'{executable}' does not exist";

    /// <summary>
    /// Keeps the first N bytes and keeps draining, so a chatty process never blocks on a full pipe. Stops
    /// when <paramref name="drainEnds"/> completes (the process is gone; whoever still holds the pipe is not it).
    /// </summary>
    private sealed class BoundedCapture(int limit, Task drainEnds)
    {
        private readonly byte[] _kept = new byte[limit];
        private int _length;

        public bool Truncated { get; private set; }

        public string Text => Encoding.UTF8.GetString(_kept, 0, _length);

        public async Task DrainAsync(Stream source, CancellationToken cancellationToken)
        {
            byte[] buffer = new byte[8192];
            while (true)
            {
                Task<int> reading = source.ReadAsync(buffer, cancellationToken).AsTask();
                if (await Task.WhenAny(reading, drainEnds) != reading)
                {
                    // The pending read ends (faulted) when CliWrap disposes the pipe; observe it so it is not reported.
                    _ = reading.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                    Truncated = true;
                    return;
                }

                int read = await reading;
                if (read == 0)
                {
                    return;
                }

                int keep = Math.Min(read, limit - _length);
                buffer.AsSpan(0, keep).CopyTo(_kept.AsSpan(_length));
                _length += keep;

                Truncated |= keep < read;
            }
        }
    }
}
