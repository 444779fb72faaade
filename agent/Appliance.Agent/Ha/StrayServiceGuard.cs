namespace Appliance.Agent.Ha;

/// <summary>
/// Every <c>StrayCheckInterval</c> on a node that is not Active: a managed service found running
/// (started by hand, or by a dependency) is stopped and reported. Between transitions only: the check
/// goes through <see cref="ManagedServices.StopStrayAsync"/>, which shares the gate of the engine's
/// start and stop and acts only while the engine's last order was "stop".
/// </summary>
public sealed partial class StrayServiceGuard : IAsyncDisposable
{
    private readonly ManagedServices _services;
    private readonly Func<bool> _nodeIsActive;
    private readonly TimeSpan _interval;
    private readonly Action<StoppedCheck> _report;
    private readonly TimeProvider _time;
    private readonly ILogger<StrayServiceGuard> _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private PeriodicTimer? _timer;

    /// <param name="nodeIsActive">Asked under the services gate before each check: true skips it.</param>
    /// <param name="report">Called after every check that ran (not after a skipped one), found something or not.</param>
    public StrayServiceGuard(ManagedServices services, Func<bool> nodeIsActive, TimeSpan interval, Action<StoppedCheck> report, TimeProvider time, ILogger<StrayServiceGuard> logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _services = services;
        _nodeIsActive = nodeIsActive;
        _interval = interval;
        _report = report;
        _time = time;
        _logger = logger;
    }

    /// <summary>The first check is one interval from now (the start-up stop has just run).</summary>
    public void Start()
    {
        // Created here, not in the loop: the interval counts from this call, whenever the loop gets a thread.
        _timer = new PeriodicTimer(_interval, _time);
        PeriodicTimer timer = _timer;
        _loop = Task.Run(() => RunAsync(timer, _stop.Token), CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
            // The loop ends by cancellation.
        }

        _timer?.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                if (await _services.StopStrayAsync(_nodeIsActive, cancellationToken) is { } check)
                {
                    _report(check);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // One failed round (store busy, systemctl missing) must not end the guard: the next tick retries.
                LogCheckFailed(_logger, e.GetType().Name, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Stray managed-service check failed: {Kind}: {Reason}; retrying at the next interval")]
    private static partial void LogCheckFailed(ILogger logger, string kind, string reason);
}
