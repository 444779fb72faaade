using System.Text;
using Appliance.Hw.Processes;

namespace Appliance.Agent.Ha;

/// <summary>systemd through <c>systemctl</c> (argv, never a shell), plus the BindsTo drop-ins.</summary>
public sealed class SystemdUnitControl : IUnitControl
{
    public const string DropInName = "50-appliance-agent.conf";

    /// <summary>is-active prints one word; error text goes to stderr and is kept short.</summary>
    private const int OutputLimitBytes = 4096;

    private const UnixFileMode DropInFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode DropInDirectoryMode = DropInFileMode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ReloadTimeout = TimeSpan.FromSeconds(60);

    private readonly ManagedServicesOptions _options;
    private readonly ICommandRunner _runner;

    public SystemdUnitControl(ManagedServicesOptions options, ICommandRunner runner)
    {
        _options = options;
        _runner = runner;
    }

    /// <summary>The drop-in body: systemd stops the unit when the agent's unit stops or dies (SIGKILL included).</summary>
    public string DropInContent => $"[Unit]\nBindsTo={_options.AgentUnit}\nAfter={_options.AgentUnit}\n";

    public string DropInPath(string unit) => Path.Combine(_options.DropInDirectory, unit + ".d", DropInName);

    /// <summary>
    /// The list the agent's own unit reads in its ExecStopPost= (images/systemd/appliance-agent.service),
    /// one unit per line. BindsTo= alone is not enough: while systemd waits to restart a crashed agent
    /// (Restart=on-failure) the unit counts as activating, not inactive, so the bound units would keep
    /// running until the new agent's start stops them — seconds in which the peer has already taken over.
    /// ExecStopPost= runs as soon as the process is gone. A static line reading this file, not a drop-in
    /// for the agent's unit: systemd 252 ignored an ExecStopPost= that a daemon-reload added while the
    /// unit was still starting (seen in make image-test), and the agent reloads during its own start.
    /// </summary>
    public static string StopListContent(IReadOnlyList<string> units)
    {
        ArgumentNullException.ThrowIfNull(units);
        return string.Concat(units.Select(unit => unit + "\n"));
    }

    /// <summary>
    /// Writes a drop-in per unit and the agent unit's stop list (<see cref="StopListContent"/>), removes
    /// ours from units no longer managed (a config change between runs must not keep binding them to the
    /// agent), then reloads systemd so the bindings take effect. Without them, a SIGKILLed agent would
    /// leave its workload running while the peer takes over.
    /// </summary>
    public async Task PrepareAsync(IReadOnlyList<string> units, CancellationToken cancellationToken)
    {
        bool changed = false;
        foreach (string unit in units)
        {
            changed |= await WriteIfDifferentAsync(DropInPath(unit), DropInContent, cancellationToken);
        }

        if (units.Count > 0)
        {
            await WriteIfDifferentAsync(_options.StopListPath, StopListContent(units), cancellationToken);
        }
        else if (File.Exists(_options.StopListPath))
        {
            File.Delete(_options.StopListPath);
        }

        if (Directory.Exists(_options.DropInDirectory))
        {
            foreach (string directory in Directory.EnumerateDirectories(_options.DropInDirectory, "*.d"))
            {
                string unit = Path.GetFileName(directory)[..^2];
                string stale = Path.Combine(directory, DropInName);
                if (!units.Contains(unit, StringComparer.Ordinal) && File.Exists(stale))
                {
                    File.Delete(stale);
                    changed = true;
                }
            }
        }

        // Reload even when the files were already there: a reload that failed last run must not be trusted.
        if (changed || units.Count > 0)
        {
            CommandOutcome reload = await RunAsync(["daemon-reload"], ReloadTimeout, cancellationToken);
            if (!reload.Succeeded)
            {
                throw new ManagedServicesException($"systemctl daemon-reload after writing the BindsTo drop-ins {reload.Summary}");
            }
        }
    }

    public Task<UnitResult> StartAsync(string unit, CancellationToken cancellationToken) =>
        ActAsync("start", unit, _options.StartTimeout, cancellationToken);

    public Task<UnitResult> StopAsync(string unit, CancellationToken cancellationToken) =>
        ActAsync("stop", unit, _options.StopTimeout, cancellationToken);

    public async Task<UnitState> QueryAsync(string unit, CancellationToken cancellationToken)
    {
        CommandOutcome outcome = await RunAsync(["is-active", unit], QueryTimeout, cancellationToken);
        return new UnitState(unit, ParseIsActive(outcome), outcome.Summary + (outcome.StandardOutput.Trim() is { Length: > 0 } word ? $", {word}" : ""));
    }

    /// <summary>
    /// <c>systemctl is-active</c> prints the ActiveState word (exit 0 only for active). inactive, failed and
    /// unknown (no such unit loaded) mean nothing runs; every transition state still runs something; no word
    /// (bus unreachable, killed) proves nothing.
    /// </summary>
    public static UnitActivity ParseIsActive(CommandOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.ExitCode is null)
        {
            return UnitActivity.Unknown;
        }

        return outcome.StandardOutput.Trim() switch
        {
            "inactive" or "failed" or "unknown" => UnitActivity.Stopped,
            "active" or "activating" or "deactivating" or "reloading" or "refreshing" or "maintenance" => UnitActivity.Running,
            _ => UnitActivity.Unknown,
        };
    }

    private async Task<UnitResult> ActAsync(string verb, string unit, TimeSpan timeout, CancellationToken cancellationToken)
    {
        CommandOutcome outcome = await RunAsync([verb, unit], timeout, cancellationToken);
        return new UnitResult(unit, outcome.Succeeded, outcome.Summary);
    }

    private Task<CommandOutcome> RunAsync(string[] arguments, TimeSpan timeout, CancellationToken cancellationToken) =>
        _runner.RunAsync(new CommandSpec(_options.SystemctlPath, arguments, timeout, OutputLimitBytes), cancellationToken);

    private static async Task<bool> WriteIfDifferentAsync(string path, string content, CancellationToken cancellationToken)
    {
        if (File.Exists(path) && await File.ReadAllTextAsync(path, cancellationToken) == content)
        {
            return false;
        }

        string directory = Path.GetDirectoryName(path)!;
        string temporary = path + ".tmp";
        Directory.CreateDirectory(directory);

        // New files get 0666/0777 & ~umask, and the agent's umask is narrowed for its API socket (0117):
        // a directory without the search bit, which root without CAP_DAC_OVERRIDE cannot enter, so not
        // even the file below could be written. chmod is not masked: systemd's own unit-file modes. A
        // directory that can be entered keeps its mode (/run/appliance is systemd's, 0750).
        if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(directory).HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(directory, DropInDirectoryMode);
        }

        await File.WriteAllTextAsync(temporary, content, new UTF8Encoding(false), cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, DropInFileMode);
        }

        File.Move(temporary, path, overwrite: true); // systemd never reads a half-written drop-in
        return true;
    }
}
