using Appliance.Core.Ports;
using Appliance.Hw.Processes;
using Microsoft.Extensions.Logging;

namespace Appliance.Agent.Ha;

public enum UnitActivity
{
    /// <summary>Inactive, failed or not installed: nothing of it runs.</summary>
    Stopped,

    /// <summary>Active or in any transition (activating, reloading, deactivating …).</summary>
    Running,

    /// <summary>The service manager could not tell (bus down, unparseable answer): not confirmed stopped.</summary>
    Unknown,
}

public sealed record UnitState(string Unit, UnitActivity Activity, string Detail);

/// <summary>A per-unit operation: ok, or why not.</summary>
public sealed record UnitResult(string Unit, bool Ok, string Detail);

/// <summary>Result of <see cref="ManagedServices.CheckStoppedAsync"/>: who was found running and stopped, who still runs.</summary>
public sealed record StoppedCheck(IReadOnlyList<string> StrayStopped, IReadOnlyList<UnitState> NotStopped)
{
    public bool AllStopped => NotStopped.Count == 0;
}

/// <summary>A start or stop that failed for some units; the others were still handled.</summary>
public sealed class ManagedServicesException : Exception
{
    public ManagedServicesException(string message)
        : base(message)
    {
    }

    public ManagedServicesException()
    {
    }

    public ManagedServicesException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>One service manager (systemd, Windows SCM): per-unit operations, no ordering policy.</summary>
public interface IUnitControl
{
    /// <summary>Called once at agent start, before anything else: make the manager stop the units if the agent dies.</summary>
    Task PrepareAsync(IReadOnlyList<string> units, CancellationToken cancellationToken);

    Task<UnitResult> StartAsync(string unit, CancellationToken cancellationToken);

    Task<UnitResult> StopAsync(string unit, CancellationToken cancellationToken);

    Task<UnitState> QueryAsync(string unit, CancellationToken cancellationToken);
}

/// <summary>
/// The ordered list of services only the Active runs. Start in configured order, stop in reverse.
/// A unit that fails does not stop the sequence: one broken unit must not keep the healthy ones down
/// (or, on demotion, leave the rest running on a node that is no longer Active). Failures are collected,
/// kept for /check_health (<see cref="Problem"/>) and thrown once at the end, which the engine turns into
/// an event without changing the role.
/// </summary>
public sealed partial class ManagedServices : IManagedServices, IDisposable
{
    private readonly IReadOnlyList<string> _units;
    private readonly IUnitControl _control;
    private readonly ILogger _logger;

    /// <summary>
    /// One operation at a time: a stray check must never interleave with a promotion's start (it would
    /// stop what the promotion just started) nor with a demotion's stop.
    /// </summary>
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>What the engine last asked for; read and written only under <see cref="_gate"/>.</summary>
    private Intent _intent = Intent.Undecided;

    private volatile string? _problem;

    /// <summary>The start-up preparation (the die-with-the-agent binding) failed; the stray check retries it. Under <see cref="_gate"/>.</summary>
    private bool _unprepared;

    private enum Intent
    {
        /// <summary>Before the start-up stop: nothing is known yet, so no stray check either.</summary>
        Undecided,
        Run,
        Stop,
    }

    public ManagedServices(IReadOnlyList<string> units, IUnitControl control, ILogger<ManagedServices> logger)
    {
        _units = [.. units];
        _control = control;
        _logger = logger;
    }

    /// <summary>Null when the last operation fully succeeded; otherwise why (for /check_health).</summary>
    public string? Problem => _problem;

    /// <summary>No units configured (Kind=None): every operation is empty, nothing to watch.</summary>
    public bool IsEmpty => _units.Count == 0;

    /// <summary>Builds the configured kind; Kind=None has no units, so every operation is empty.</summary>
    public static ManagedServices Create(ManagedServicesOptions options, ICommandRunner runner, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        IUnitControl control = options.Kind == ManagedServicesKind.Windows || (options.Kind == ManagedServicesKind.None && OperatingSystem.IsWindows())
            ? CreateWindows(options)
            : new SystemdUnitControl(options, runner);
        return new ManagedServices([.. options.Units], control, loggers.CreateLogger<ManagedServices>());
    }

    private static WindowsServiceControl CreateWindows(ManagedServicesOptions options) => OperatingSystem.IsWindows()
        ? new WindowsServiceControl(options)
        : throw new PlatformNotSupportedException($"{ManagedServicesOptions.Section}:Kind=Windows needs Windows: use Systemd or None here");

    /// <summary>
    /// Agent start, before it rejoins the pair: install the die-with-the-agent binding, then stop every
    /// managed service (a previous run may have been killed while Active). Throws if the binding could
    /// not be installed or a service keeps running.
    /// </summary>
    public Task<StoppedCheck> EnsureStoppedAtStartAsync(CancellationToken cancellationToken) =>
        ExclusiveAsync(Intent.Stop, async () =>
        {
            await BindAsync(cancellationToken);
            try
            {
                await StopUnitsAsync(cancellationToken);
            }
            catch (ManagedServicesException)
            {
                // Logged per unit; the check below decides, since a unit that refused the stop may be stopped anyway.
            }

            StoppedCheck check = await CheckStoppedCoreAsync(cancellationToken);
            if (!check.AllStopped)
            {
                throw new ManagedServicesException(_problem ?? "a managed service is still running");
            }

            return check;
        }, cancellationToken);

    /// <summary>
    /// Raised after a start that left nothing to report: every unit started and bound to the agent. The start-up
    /// stop's failure is then moot, as the engine's order to run stands.
    /// </summary>
    public event Action? StartedAndBound;

    /// <summary>
    /// Starts every unit in order. A start-up preparation that failed is retried first: an Active's services must
    /// die with the agent. If it fails again the units are started all the same (a node that serves unbound beats
    /// one that serves nothing) and the start reports it.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken) =>
        ExclusiveAsync(Intent.Run, async () =>
        {
            string? unbound = null;
            if (_unprepared)
            {
                try
                {
                    await BindAsync(cancellationToken);
                }
                catch (Exception e) when (e is ManagedServicesException or IOException or UnauthorizedAccessException)
                {
                    unbound = $"the managed services run without the binding to the agent: {e.Message}";
                }
            }

            await ApplyToEachAsync("start", _units, _control.StartAsync, LogStarted, LogStartFailed, cancellationToken);
            if (unbound is not null)
            {
                _problem = unbound;
                throw new ManagedServicesException(unbound);
            }

            StartedAndBound?.Invoke();
        }, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) =>
        ExclusiveAsync(Intent.Stop, () => StopUnitsAsync(cancellationToken), cancellationToken);

    /// <summary>Installs the die-with-the-agent binding; until it succeeds, <see cref="_unprepared"/> marks it for a retry. Under <see cref="_gate"/>.</summary>
    private async Task BindAsync(CancellationToken cancellationToken)
    {
        _unprepared = true;
        await _control.PrepareAsync(_units, cancellationToken);
        _unprepared = false;
    }

    private Task StopUnitsAsync(CancellationToken cancellationToken) =>
        ApplyToEachAsync("stop", _units.Reverse(), _control.StopAsync, LogStopped, LogStopFailed, cancellationToken);

    /// <summary>Runs <paramref name="operation"/> alone; <paramref name="intent"/> (if any) is what the engine now wants.</summary>
    private async Task ExclusiveAsync(Intent? intent, Func<Task> operation, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _intent = intent ?? _intent;
            await operation();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<T> ExclusiveAsync<T>(Intent? intent, Func<Task<T>> operation, CancellationToken cancellationToken)
    {
        T result = default!;
        await ExclusiveAsync(intent, async () => { result = await operation(); }, cancellationToken);
        return result;
    }

    /// <summary>Continue-and-report: every unit gets its turn, failures are collected and thrown once at the end.</summary>
    private async Task ApplyToEachAsync(
        string operation,
        IEnumerable<string> units,
        Func<string, CancellationToken, Task<UnitResult>> action,
        Action<ILogger, string> logDone,
        Action<ILogger, string, string> logFailed,
        CancellationToken cancellationToken)
    {
        var failures = new List<UnitResult>();
        foreach (string unit in units)
        {
            UnitResult result = await action(unit, cancellationToken);
            if (result.Ok)
            {
                logDone(_logger, unit);
            }
            else
            {
                logFailed(_logger, unit, result.Detail);
                failures.Add(result);
            }
        }

        Conclude(operation, failures);
    }

    public async Task<bool> VerifyStoppedAsync(CancellationToken cancellationToken) =>
        (await CheckStoppedAsync(cancellationToken)).AllStopped;

    public Task<StoppedCheck> CheckStoppedAsync(CancellationToken cancellationToken) =>
        ExclusiveAsync(null, () => CheckStoppedCoreAsync(cancellationToken), cancellationToken);

    /// <summary>
    /// The periodic check on a node that must not run the services: null (nothing done) unless the
    /// engine's last order was "stop" and <paramref name="nodeIsActive"/> — asked under the same gate
    /// that a promotion's start takes — says no. A promotion persists Active before it starts the
    /// services, so a check that wins the gate first only stops what the promotion then starts again,
    /// and one that loses it sees Active (or the Run order) and does nothing. If the start-up preparation
    /// failed, it is retried first and a failure throws (the check did not run); so a returned check with
    /// <see cref="StoppedCheck.AllStopped"/> means the start-up stop is now fully done.
    /// </summary>
    public Task<StoppedCheck?> StopStrayAsync(Func<bool> nodeIsActive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(nodeIsActive);
        return ExclusiveAsync<StoppedCheck?>(null, async () =>
        {
            if (nodeIsActive() || _intent != Intent.Stop)
            {
                return null;
            }

            if (_unprepared)
            {
                await BindAsync(cancellationToken);
            }

            return await CheckStoppedCoreAsync(cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// On the Passive: every unit must be stopped. One that is not (started by hand) is stopped now and
    /// reported; <see cref="StoppedCheck.NotStopped"/> lists what still is not confirmed stopped after that.
    /// </summary>
    private async Task<StoppedCheck> CheckStoppedCoreAsync(CancellationToken cancellationToken)
    {
        var stray = new List<string>();
        var notStopped = new List<UnitState>();
        foreach (string unit in _units.Reverse())
        {
            UnitState state = await _control.QueryAsync(unit, cancellationToken);
            if (state.Activity == UnitActivity.Stopped)
            {
                continue;
            }

            // Unknown is stopped too: stopping is always the safe direction on a Passive.
            LogStray(_logger, unit, state.Activity, state.Detail);
            UnitResult stop = await _control.StopAsync(unit, cancellationToken);
            UnitState after = await _control.QueryAsync(unit, cancellationToken);
            if (after.Activity == UnitActivity.Stopped)
            {
                stray.Add(unit);
            }
            else
            {
                notStopped.Add(after with { Detail = $"{after.Detail}; stop: {stop.Detail}" });
            }
        }

        _problem = notStopped.Count == 0 ? null
            : "still running on a node that must not run them: " + string.Join("; ", notStopped.Select(s => $"{s.Unit} ({s.Detail})"));
        return new StoppedCheck(stray, notStopped);
    }

    public void Dispose() => _gate.Dispose();

    private void Conclude(string operation, List<UnitResult> failures)
    {
        if (failures.Count == 0)
        {
            _problem = null;
            return;
        }

        string problem = $"{operation} failed for {failures.Count} of {_units.Count} managed services: "
            + string.Join("; ", failures.Select(f => $"{f.Unit} ({f.Detail})"));
        _problem = problem;
        throw new ManagedServicesException(problem);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Managed service {Unit} started")]
    private static partial void LogStarted(ILogger logger, string unit);

    [LoggerMessage(Level = LogLevel.Error, Message = "Managed service {Unit} failed to start: {Detail}; continuing with the others")]
    private static partial void LogStartFailed(ILogger logger, string unit, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Managed service {Unit} stopped")]
    private static partial void LogStopped(ILogger logger, string unit);

    [LoggerMessage(Level = LogLevel.Error, Message = "Managed service {Unit} failed to stop: {Detail}; continuing with the others")]
    private static partial void LogStopFailed(ILogger logger, string unit, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Managed service {Unit} is {Activity} ({Detail}) on a node that must not run it; stopping it")]
    private static partial void LogStray(ILogger logger, string unit, UnitActivity activity, string detail);
}
