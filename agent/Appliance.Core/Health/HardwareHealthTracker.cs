using Appliance.Core.Ports;

namespace Appliance.Core.Health;

/// <summary>
/// Turns successive sensor and SEL snapshots into health events: a sensor leaving OK (or changing
/// between non-OK states), a sensor returning to OK (Info), and SEL entries not seen before.
/// The first snapshot is a baseline: existing SEL entries are history, not news, but sensors that are
/// already out of range are reported. Not thread-safe: one poller owns it.
/// </summary>
public sealed class HardwareHealthTracker
{
    private readonly Dictionary<string, BmcSensorStatus> _sensorStatus = new(StringComparer.Ordinal);
    private HashSet<string>? _seenLogKeys;
    private bool _bmcDown;

    /// <summary>Events for a sensor snapshot taken at <paramref name="at"/>.</summary>
    public IReadOnlyList<HealthEvent> ObserveSensors(IReadOnlyList<BmcSensor> sensors, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(sensors);
        var events = new List<HealthEvent>();
        foreach (var sensor in sensors)
        {
            var previous = _sensorStatus.TryGetValue(sensor.Name, out var known) ? known : BmcSensorStatus.Ok;
            _sensorStatus[sensor.Name] = sensor.Status;
            if (previous == sensor.Status)
                continue;
            var message = sensor.Status == BmcSensorStatus.Ok
                ? $"{sensor.Name} back to normal ({Describe(sensor)})"
                : $"{sensor.Name} {StatusText(sensor.Status)} ({Describe(sensor)})";
            events.Add(new HealthEvent(at, HealthSeverityMap.ForSensor(sensor.Status), HealthSource.Sensor, sensor.Name, message));
        }

        return events;
    }

    /// <summary>Events for the SEL entries that were not in the previous snapshot.</summary>
    public IReadOnlyList<HealthEvent> ObserveEventLog(IReadOnlyList<BmcSelEntry> entries, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(entries);
        // Record ids restart after a clear, so identity is id plus content.
        var keys = new HashSet<string>(entries.Select(Key), StringComparer.Ordinal);
        var previous = _seenLogKeys;
        _seenLogKeys = keys;
        if (previous is null)
            return [];
        var events = new List<HealthEvent>();
        foreach (var entry in entries)
        {
            if (previous.Contains(Key(entry)))
                continue;
            var state = entry.Asserted ? "asserted" : "deasserted";
            events.Add(new HealthEvent(at, HealthSeverityMap.ForLogEntry(entry), HealthSource.EventLog, entry.Id,
                $"SEL {entry.Id}: {entry.Sensor}: {entry.Description} ({state})"));
        }

        return events;
    }

    /// <summary>One event when the BMC stops answering, and one when it answers again.</summary>
    public IReadOnlyList<HealthEvent> ObserveReachability(bool answered, string detail, DateTimeOffset at)
    {
        if (answered == !_bmcDown)
            return [];
        _bmcDown = !answered;
        return answered
            ? [new HealthEvent(at, HealthSeverity.Info, HealthSource.Bmc, "bmc", "BMC answering again")]
            : [new HealthEvent(at, HealthSeverity.Warning, HealthSource.Bmc, "bmc", $"BMC not answering: {detail}")];
    }

    private static string Key(BmcSelEntry e) => $"{e.Id}\u001f{e.Timestamp}\u001f{e.Sensor}\u001f{e.Description}\u001f{e.Asserted}";

    private static string StatusText(BmcSensorStatus status) => status switch
    {
        BmcSensorStatus.NonCritical => "non-critical",
        BmcSensorStatus.Critical => "critical",
        BmcSensorStatus.NonRecoverable => "non-recoverable",
        BmcSensorStatus.NotAvailable => "no reading",
        _ => "ok",
    };

    private static string Describe(BmcSensor sensor) =>
        sensor.Reading is { } value
            ? $"{value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} {sensor.Unit}".TrimEnd()
            : "no reading";
}
