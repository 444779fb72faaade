using Appliance.Hw.Processes;


namespace Appliance.Hw.Bmc;

/// <summary>Runs ipmitool or racadm through the shared process seam and turns what cannot complete into a <see cref="BmcException"/>.</summary>
internal static class BmcTool
{
    /// <summary>A full SEL (a few thousand entries) or SDR listing fits with room to spare; more means something is wrong.</summary>
    private const int OutputLimitBytes = 1024 * 1024;

    /// <summary>A spec for one tool call: argv only, secrets only in <paramref name="environment"/>.</summary>
    public static CommandSpec Spec(string tool, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout) =>
        new(tool, arguments, timeout, OutputLimitBytes, environment);

    /// <summary>The outcome of a command that ran to its exit (any exit code); <paramref name="operation"/> names it in errors and is never a secret.</summary>
    public static async Task<CommandOutcome> RunAsync(ICommandRunner runner, CommandSpec spec, string operation, CancellationToken cancellationToken)
    {
        CommandOutcome outcome = await runner.RunAsync(spec, cancellationToken);
        string tool = Path.GetFileName(spec.Executable);
        if (outcome.StartError is { } startError)
            throw new BmcException(BmcErrorKind.ToolMissing, $"cannot run {spec.Executable} for {operation}: {startError} (is it installed?)");
        if (outcome.TimedOut)
            throw new BmcException(BmcErrorKind.Timeout, $"{tool} {operation} did not finish within {spec.Timeout.TotalSeconds:0.#} s (killed)");
        if (outcome.OutputTruncated)
            throw new BmcException(BmcErrorKind.InvalidResponse, $"{tool} {operation} printed more than {OutputLimitBytes / 1024} KiB");
        return outcome;
    }
}
