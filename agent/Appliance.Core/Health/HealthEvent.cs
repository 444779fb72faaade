namespace Appliance.Core.Health;

/// <summary>How urgent a health event is for the operator.</summary>
public enum HealthSeverity
{
    /// <summary>Informational (including a sensor back to normal).</summary>
    Info,

    /// <summary>Needs attention soon.</summary>
    Warning,

    /// <summary>Needs attention now (hardware at or past a critical limit).</summary>
    Critical,
}

/// <summary>Where a health event came from.</summary>
public enum HealthSource
{
    /// <summary>A sensor changed status.</summary>
    Sensor,

    /// <summary>A new System Event Log entry.</summary>
    EventLog,

    /// <summary>The BMC itself (not answering, or answering again).</summary>
    Bmc,
}

/// <summary>One hardware health event for history, MQTT events and the panel.</summary>
/// <param name="Subject">Sensor name, SEL record id, or "bmc".</param>
public sealed record HealthEvent(
    DateTimeOffset At, HealthSeverity Severity, HealthSource Source, string Subject, string Message);
