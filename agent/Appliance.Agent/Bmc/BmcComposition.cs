using Appliance.Agent.Ha;
using Appliance.Agent.Hosting;
using Appliance.Agent.Store;
using Appliance.Core.Api;
using Appliance.Core.Health;
using Appliance.Core.Ports;
using Appliance.Hw.Bmc;

namespace Appliance.Agent.Bmc;

/// <summary>This node's own BMC (null when none is configured or detected); the API answers 409 without one.</summary>
public sealed class BmcHandle(IBmc? bmc)
{
    public IBmc? Bmc { get; } = bmc;
}

/// <summary>The BMC adapters built from configuration before the host starts, so a bad one stops the agent early.</summary>
public sealed record BmcParts(IBmc? Bmc, IPeerFencer Fencer, TimeSpan HealthPollInterval);

/// <summary>Builds and registers the own BMC, the peer fencer and the hardware health poller.</summary>
public static class BmcComposition
{
    /// <summary>Builds the adapters; on a configuration problem returns null and the one-line reason.</summary>
    public static BmcParts? Build(AgentOptions options, TimeProvider time, out string? error)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            var bmc = BmcFactory.Create(options.Bmc, timeProvider: time);
            var fencer = BmcFactory.CreateFencer(options.Ha.Fencing, timeProvider: time) ?? new FencingNotConfigured();
            error = null;
            return new BmcParts(bmc, fencer, options.Bmc.HealthPollInterval);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            error = e.Message;
            return null;
        }
    }

    public static IServiceCollection AddBmc(this IServiceCollection services, BmcParts parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        services.AddSingleton(parts.Fencer);
        services.AddSingleton(new BmcHandle(parts.Bmc));
        if (parts.Bmc is null)
        {
            return services;
        }

        // Factory registrations: the container disposes them (a Redfish adapter owns an HttpClient and a session).
        services.AddSingleton(_ => parts.Bmc);
        if (parts.Bmc is IBmcFrontLcd lcd)
        {
            services.AddSingleton(_ => lcd);
        }

        services.AddSingleton<IHealthEventSink, HistoryHealthSink>();
        services.AddHostedService(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            var poller = new HardwareHealthPoller(parts.Bmc, sp.GetRequiredService<IHealthEventSink>(), time, parts.HealthPollInterval);
            return new HardwareHealthService(poller, parts.HealthPollInterval, time, sp.GetRequiredService<ILogger<HardwareHealthService>>());
        });
        return services;
    }
}

/// <summary>
/// Runs the hardware health poller for the agent's lifetime. An unexpected failure restarts it after one period:
/// a health-monitoring bug must never stop the host (BackgroundService's default), which runs the HA engine.
/// </summary>
public sealed partial class HardwareHealthService(HardwareHealthPoller poller, TimeSpan period, TimeProvider time, ILogger<HardwareHealthService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await poller.RunAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogPollerFailed(e, period);
                await Task.Delay(period, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Hardware health polling failed; restarting in {Period}")]
    private partial void LogPollerFailed(Exception exception, TimeSpan period);
}

/// <summary>Records every hardware health event in the status history and the log.</summary>
public sealed partial class HistoryHealthSink(AgentStore store, Ha.HaService ha, ILogger<HistoryHealthSink> logger) : IHealthEventSink
{
    public const string HistoryKind = "health";

    public ValueTask PublishAsync(HealthEvent healthEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(healthEvent);
        var level = healthEvent.Severity switch
        {
            HealthSeverity.Critical => LogLevel.Error,
            HealthSeverity.Warning => LogLevel.Warning,
            _ => LogLevel.Information,
        };
        LogHealthEvent(level, healthEvent.Severity, healthEvent.Source, healthEvent.Subject, healthEvent.Message);
        var message = Describe(healthEvent);
        ha.PublishEvent(HistoryKind, message);
        try
        {
            store.AppendHistory(HistoryKind, message, $"bmc {healthEvent.Source.ToString().ToLowerInvariant()} {healthEvent.Subject}");
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The poller must keep polling; the event is still in the log.
            LogHistoryFailed(e.Message);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>True for a recorded hardware warning or critical event; Info ("back to normal", "BMC answering again") is not an alert.</summary>
    public static bool IsAlert(HistoryEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.Kind == HistoryKind
            && (entry.Message.StartsWith(Prefix(HealthSeverity.Warning), StringComparison.Ordinal)
                || entry.Message.StartsWith(Prefix(HealthSeverity.Critical), StringComparison.Ordinal));
    }

    /// <summary>"critical: Inlet Temp critical (150 degrees C)": the severity leads, so history readers and <see cref="IsAlert"/> can filter on it.</summary>
    internal static string Describe(HealthEvent healthEvent) => Prefix(healthEvent.Severity) + healthEvent.Message;

    private static string Prefix(HealthSeverity severity) => severity.ToString().ToLowerInvariant() + ": ";

    [LoggerMessage(Message = "Hardware health {Severity} from {Source} {Subject}: {HealthMessage}")]
    private partial void LogHealthEvent(LogLevel level, HealthSeverity severity, HealthSource source, string subject, string healthMessage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hardware health event not recorded in history: {Reason}")]
    private partial void LogHistoryFailed(string reason);
}
