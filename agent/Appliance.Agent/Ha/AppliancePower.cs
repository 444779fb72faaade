using System.Globalization;
using Appliance.Agent.Store;
using Appliance.Core.Failover;
using Appliance.Hw.Processes;

namespace Appliance.Agent.Ha;

/// <summary>
/// <c>Appliance:Ha:Power</c>: how <c>ha shutdown [--reboot]</c> powers the appliance off or reboots it once the
/// peer has the announcement. Unset (the default outside the OS image), the command only announces: a
/// developer's <c>make run</c> or a test never reboots the machine it runs on.
/// </summary>
public sealed class PowerOptions
{
    public const string Section = "Appliance:Ha:Power";

    /// <summary>Run as configured (no arguments appended), e.g. <c>/usr/bin/systemctl poweroff</c>.</summary>
    public HookCommand? PowerOff { get; set; }

    /// <summary>E.g. <c>/usr/bin/systemctl reboot</c>.</summary>
    public HookCommand? Reboot { get; set; }

    /// <summary>systemctl returns once the job is queued; a command that hangs is killed and reported.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        PowerOff?.Validate(errors, $"{Section}:{nameof(PowerOff)}");
        Reboot?.Validate(errors, $"{Section}:{nameof(Reboot)}");
        HaOptionChecks.Range(errors, $"{Section}:Timeout", Timeout, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        return errors;
    }
}

/// <summary>
/// The second half of <c>ha shutdown</c>: the engine has announced it (the peer now applies RebootBlackoutWindow
/// when this node goes silent, and the planned stop that the OS sends the agent says offline with it), then this
/// runs the configured power command. The announcement stays if the command fails: the operator powers off by
/// other means (BMC, console), and the peer must still wait, unless the operator takes it back (cancel-shutdown).
/// </summary>
public sealed partial class AppliancePower(PowerOptions options, ICommandRunner runner, AgentStore store, ILogger<AppliancePower> logger)
{
    private const int OutputLimitBytes = 4096;

    public async Task<CommandResult> RunAsync(bool reboot, CommandResult announced, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(announced);
        string verb = reboot ? "reboot" : "power off";
        string key = $"{PowerOptions.Section}:{(reboot ? nameof(PowerOptions.Reboot) : nameof(PowerOptions.PowerOff))}";
        if ((reboot ? options.Reboot : options.PowerOff) is not { } command)
        {
            return CommandResult.Done($"{announced.Message}; {key} is not set: {verb} the appliance now (or ha cancel-shutdown to stay up)");
        }

        var spec = new CommandSpec(command.Path, [.. command.Arguments], options.Timeout, OutputLimitBytes);
        CommandOutcome outcome = await runner.RunAsync(spec, cancellationToken);
        string line = string.Create(CultureInfo.InvariantCulture, $"{verb}: {spec} {(outcome.Succeeded ? "accepted" : outcome.Summary)}");
        store.AppendHistory("power", line, "operator: ha shutdown");
        if (!outcome.Succeeded)
        {
            LogPowerCommandFailed(logger, verb, spec.ToString(), outcome.Summary);
            return CommandResult.Refused($"{announced.Message}; but {line}: {verb} the appliance by other means (the peer still waits), or ha cancel-shutdown to stay up");
        }

        LogPowerCommandRun(logger, verb, spec.ToString());
        return CommandResult.Done($"{announced.Message}; {line}");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Operator {Verb}: {Command} accepted")]
    private static partial void LogPowerCommandRun(ILogger logger, string verb, string command);

    [LoggerMessage(Level = LogLevel.Error, Message = "Operator {Verb}: {Command} failed: {Reason}")]
    private static partial void LogPowerCommandFailed(ILogger logger, string verb, string command, string reason);
}
