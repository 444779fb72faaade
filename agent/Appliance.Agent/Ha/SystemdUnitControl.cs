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

    public const string AgentDropInName = "50-appliance-managed-services.conf";

    public string AgentDropInPath => Path.Combine(_options.DropInDirectory, _options.AgentUnit + ".d", AgentDropInName);

    /// <summary>
    /// The drop-in for the agent's own unit. BindsTo= alone is not enough: while systemd waits to restart
    /// a crashed agent (Restart=on-failure) the unit counts as activating, not inactive, so the bound
    /// units keep running until the new agent's start stops them — seconds in which the peer has already
    /// taken over. ExecStopPost= runs as soon as the main process is gone, crash and SIGKILL included.
    /// --no-block: never wait on a job from inside the agent's own stop. Backslashes (as in app\x2dweb.service)
    /// are doubled because systemd unescapes command lines; unit names cannot hold anything else it parses.
    /// </summary>
    public string AgentDropInContent(IReadOnlyList<string> units) =>
        $"[Service]\nExecStopPost=-{_options.SystemctlPath} stop --no-block -- {string.Join(' ', units.Select(u => u.Replace("\\", "\\\\", StringComparison.Ordinal)))}\n";

    /// <summary>
    /// Writes a drop-in per unit and one for the agent's unit (<see cref="AgentDropInContent"/>), removes
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
            changed |= await WriteIfDifferentAsync(AgentDropInPath, AgentDropInContent(units), cancellationToken);
        }
        else if (File.Exists(AgentDropInPath))
        {
            File.Delete(AgentDropInPath);
            changed = true;
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
        // even the file below could be written. chmod is not masked: systemd's own unit-file modes.
        if (!OperatingSystem.IsWindows())
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
