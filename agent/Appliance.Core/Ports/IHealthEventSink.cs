using Appliance.Core.Health;

namespace Appliance.Core.Ports;

/// <summary>Receives hardware health events (the host records them and forwards them to MQTT and the panel).</summary>
public interface IHealthEventSink
{
    /// <summary>Takes one event; must not throw for a delivery problem of its own.</summary>
    ValueTask PublishAsync(HealthEvent healthEvent, CancellationToken cancellationToken);
}
