using Appliance.Core.Ports;

namespace Appliance.Core.Health;

/// <summary>Maps BMC sensor status and log entries to operator severities.</summary>
public static class HealthSeverityMap
{
    /// <summary>Severity of a sensor being in <paramref name="status"/>.</summary>
    public static HealthSeverity ForSensor(BmcSensorStatus status) => status switch
    {
        BmcSensorStatus.Ok => HealthSeverity.Info,
        BmcSensorStatus.NonCritical => HealthSeverity.Warning,
        BmcSensorStatus.NotAvailable => HealthSeverity.Warning,
        BmcSensorStatus.Critical => HealthSeverity.Critical,
        BmcSensorStatus.NonRecoverable => HealthSeverity.Critical,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown sensor status"),
    };

    /// <summary>
    /// Severity of a SEL entry: the BMC's own severity when stated (Redfish), otherwise derived from
    /// the IPMI event text. A deassertion means the condition ended, so it is informational.
    /// </summary>
    public static HealthSeverity ForLogEntry(BmcSelEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        switch (entry.Severity)
        {
            case BmcLogSeverity.Ok: return HealthSeverity.Info;
            case BmcLogSeverity.Warning: return HealthSeverity.Warning;
            case BmcLogSeverity.Critical: return HealthSeverity.Critical;
            case BmcLogSeverity.Unstated: break;
            default: throw new ArgumentOutOfRangeException(nameof(entry), entry.Severity, "unknown log severity");
        }

        if (!entry.Asserted)
            return HealthSeverity.Info;
        var text = entry.Description;
        // Order matters: "Non-critical" contains "critical".
        if (Contains(text, "non-recoverable") || Contains(text, "failure detected") || Contains(text, "power supply ac lost")
            || Contains(text, "uncorrectable") || Contains(text, "machine check"))
            return HealthSeverity.Critical;
        if (Contains(text, "non-critical") || Contains(text, "predictive") || Contains(text, "correctable")
            || Contains(text, "redundancy degraded") || Contains(text, "redundancy lost"))
            return HealthSeverity.Warning;
        if (Contains(text, "critical"))
            return HealthSeverity.Critical;
        return HealthSeverity.Info;
    }

    private static bool Contains(string text, string part) => text.Contains(part, StringComparison.OrdinalIgnoreCase);
}
