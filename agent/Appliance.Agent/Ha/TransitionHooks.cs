using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Appliance.Core.Failover;
using Appliance.Hw.Processes;
using Microsoft.Extensions.Logging;

namespace Appliance.Agent.Ha;

/// <summary>What a hook runs for: the role a transition entered, or a detected conflict.</summary>
public enum HookTrigger
{
    Active,
    Passive,
    Off,
    FailoverPending,
    Conflict,
}

/// <summary>One hook run, for history: exit code (null if killed or never started) and the first N KiB of output.</summary>
public sealed record HookResult(
    HookTrigger Trigger,
    string Hook,
    string Executable,
    int? ExitCode,
    bool TimedOut,
    string? Error,
    string StandardOutput,
    string StandardError,
    bool OutputTruncated,
    TimeSpan Elapsed)
{
    public bool Ok => ExitCode == 0;

    /// <summary>"OnActive /usr/local/sbin/dns-swing: exit code 0".</summary>
    public string Summary { get; init; } = "";

    /// <summary>The per-stream cap the output was captured under, for the truncation mark.</summary>
    public int OutputLimitKb { get; init; }

    /// <summary>The history text: the summary, then stdout and stderr as captured (each within the limit), marked when cut.</summary>
    public string HistoryMessage
    {
        get
        {
            var text = new StringBuilder(Summary);
            AppendStream(text, "stdout", StandardOutput);
            AppendStream(text, "stderr", StandardError);
            if (OutputTruncated)
            {
                text.Append(CultureInfo.InvariantCulture, $"\n[output truncated: only the first {OutputLimitKb} KiB of each stream kept]");
            }

            return text.ToString();
        }
    }

    private static void AppendStream(StringBuilder text, string name, string output)
    {
        if (output.Length > 0)
        {
            text.Append('\n').Append(name).Append(":\n").Append(output.TrimEnd('\n'));
        }
    }
}

/// <summary>
/// keepalived notify-style hooks. argv = the configured arguments, then role, epoch and cause; the
/// environment variable APPLIANCE_HA_TRIGGER names the trigger (so one Notify hook can tell a conflict
/// from a transition). Never a shell. Killed with its process tree at the timeout. Hooks run one at a
/// time in the order posted (a DNS swing to A must not overtake the later swing to B).
/// </summary>
public sealed partial class TransitionHooks : IAsyncDisposable
{
    public const string TriggerVariable = "APPLIANCE_HA_TRIGGER";

    /// <summary>Posted hooks waiting behind a slow one; beyond this a post is refused and reported.</summary>
    private const int QueueCapacity = 64;

    private readonly HooksOptions _options;
    private readonly ICommandRunner _runner;
    private readonly ILogger _logger;
    private readonly Action<HookResult> _onResult;
    private readonly Channel<Request> _queue = Channel.CreateBounded<Request>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _worker;

    // The engine records a transition before any conflict can be detected, so a conflict hook gets the
    // role and epoch the node actually has; Off/0 only if a conflict came before the first transition.
    private volatile HaTransition _last = new(HaRole.Off, HaRole.Off, 0, "start");

    /// <param name="onResult">Receives every posted hook's result (the host records it in history).</param>
    public TransitionHooks(HooksOptions options, ICommandRunner runner, ILogger<TransitionHooks> logger, Action<HookResult> onResult)
    {
        _options = options;
        _runner = runner;
        _logger = logger;
        _onResult = onResult;
        _worker = Task.Run(WorkAsync);
    }

    /// <summary>The trigger for a transition into <paramref name="role"/>.</summary>
    public static HookTrigger TriggerFor(HaRole role) => role switch
    {
        HaRole.Active => HookTrigger.Active,
        HaRole.Passive => HookTrigger.Passive,
        HaRole.FailoverPending => HookTrigger.FailoverPending,
        _ => HookTrigger.Off,
    };

    /// <summary>Queues the hooks of a transition without waiting (safe from IHaEvents.Record on the engine loop).</summary>
    public void Post(HaTransition transition)
    {
        ArgumentNullException.ThrowIfNull(transition);
        _last = transition;
        Post(TriggerFor(transition.To), transition.To, transition.Epoch, transition.Cause);
    }

    /// <summary>Queues the conflict hooks with the role and epoch of the last posted transition (from IHaEvents.Notify).</summary>
    public void PostConflict(string message)
    {
        HaTransition last = _last;
        Post(HookTrigger.Conflict, last.To, last.Epoch, message);
    }

    /// <summary>Queues without waiting; a full queue is reported through the result callback, not thrown.</summary>
    public void Post(HookTrigger trigger, HaRole role, long epoch, string cause)
    {
        if (Configured(trigger).Count == 0)
        {
            return;
        }

        if (!_queue.Writer.TryWrite(new Request(trigger, role, epoch, cause)))
        {
            LogDropped(_logger, trigger, QueueCapacity);
            _onResult(new HookResult(trigger, "queue", "", null, false, $"not run: {QueueCapacity} hooks already waiting", "", "", false, TimeSpan.Zero)
            {
                Summary = $"{trigger} hooks not run: {QueueCapacity} hooks already waiting",
            });
        }
    }

    /// <summary>Runs the trigger's specific hook, then the generic Notify hook, and returns their results.</summary>
    public async Task<IReadOnlyList<HookResult>> RunAsync(HookTrigger trigger, HaRole role, long epoch, string cause, CancellationToken cancellationToken)
    {
        var results = new List<HookResult>();
        foreach ((string name, HookCommand hook) in Configured(trigger))
        {
            string[] arguments = [.. hook.Arguments, role.ToString(), epoch.ToString(CultureInfo.InvariantCulture), cause];
            var spec = new CommandSpec(hook.Path, arguments, _options.Timeout, _options.OutputLimitKb * 1024,
                new Dictionary<string, string?> { [TriggerVariable] = trigger.ToString() });
            CommandOutcome outcome = await _runner.RunAsync(spec, cancellationToken);
            var result = new HookResult(trigger, name, hook.Path, outcome.ExitCode, outcome.TimedOut, outcome.StartError,
                outcome.StandardOutput, outcome.StandardError, outcome.OutputTruncated, outcome.Elapsed)
            {
                Summary = $"{name} {hook.Path}: {outcome.Summary}",
                OutputLimitKb = _options.OutputLimitKb,
            };
            if (result.Ok)
            {
                LogHookOk(_logger, name, hook.Path, trigger, (long)outcome.Elapsed.TotalMilliseconds);
            }
            else
            {
                LogHookFailed(_logger, name, hook.Path, trigger, outcome.Summary);
            }

            results.Add(result);
        }

        return results;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        try
        {
            await _worker;
        }
        catch (OperationCanceledException)
        {
            // A hook still running at shutdown was killed with its tree; nothing more to do.
        }

        _stop.Dispose();
    }

    private List<(string Name, HookCommand Hook)> Configured(HookTrigger trigger)
    {
        HookCommand? specific = trigger switch
        {
            HookTrigger.Active => _options.OnActive,
            HookTrigger.Passive => _options.OnPassive,
            HookTrigger.Off => _options.OnOff,
            HookTrigger.FailoverPending => _options.OnFailoverPending,
            _ => _options.OnConflict,
        };
        var hooks = new List<(string, HookCommand)>(2);
        if (specific is not null)
        {
            hooks.Add(("On" + trigger, specific));
        }

        if (_options.Notify is { } notify)
        {
            hooks.Add((nameof(HooksOptions.Notify), notify));
        }

        return hooks;
    }

    private async Task WorkAsync()
    {
        await foreach (Request request in _queue.Reader.ReadAllAsync(_stop.Token))
        {
            foreach (HookResult result in await RunAsync(request.Trigger, request.Role, request.Epoch, request.Cause, _stop.Token))
            {
                _onResult(result);
            }
        }
    }

    private sealed record Request(HookTrigger Trigger, HaRole Role, long Epoch, string Cause);

    [LoggerMessage(Level = LogLevel.Information, Message = "Hook {Hook} ({Executable}) for {Trigger} succeeded in {ElapsedMs} ms")]
    private static partial void LogHookOk(ILogger logger, string hook, string executable, HookTrigger trigger, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Hook {Hook} ({Executable}) for {Trigger} failed: {Outcome}")]
    private static partial void LogHookFailed(ILogger logger, string hook, string executable, HookTrigger trigger, string outcome);

    [LoggerMessage(Level = LogLevel.Error, Message = "Hooks for {Trigger} not run: {Capacity} hooks already waiting")]
    private static partial void LogDropped(ILogger logger, HookTrigger trigger, int capacity);
}
