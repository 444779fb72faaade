using Appliance.Agent.Ha;
using Appliance.Agent.Systemd;

namespace Appliance.Agent.Runtime;

/// <summary>
/// The agent's main loop: each iteration does the periodic work and then reports progress, which is
/// what feeds the systemd watchdog. A hung iteration stops the pings and systemd restarts the agent.
/// </summary>
public sealed partial class AgentLoop(
    NodeRuntime runtime,
    HaService ha,
    LoopProgress progress,
    ServiceNotifications notifications,
    TimeProvider time,
    ILogger<AgentLoop> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(notifications.LoopTick, time);
        var lastStatus = "";
        var rejections = new RejectionReport();
        do
        {
            if (rejections.Next(ha.Rejections) is { } rejected)
            {
                LogRejections(logger, rejected.Suspicious ? LogLevel.Warning : LogLevel.Information, rejected.Line);
            }

            var status = runtime.StatusLine;
            if (status != lastStatus)
            {
                notifications.Status(status);
                LogStatus(logger, status);
                lastStatus = status;
            }

            // A dead failover engine is a dead agent: stop feeding the watchdog so systemd restarts us.
            if (!ha.EngineFaulted)
            {
                progress.Report();
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Message = "{Rejections}")]
    private static partial void LogRejections(ILogger logger, LogLevel level, string rejections);

    [LoggerMessage(Level = LogLevel.Information, Message = "Status: {Status}")]
    private static partial void LogStatus(ILogger logger, string status);
}
