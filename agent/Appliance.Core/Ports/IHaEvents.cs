using Appliance.Core.Failover;

namespace Appliance.Core.Ports;

/// <summary>Status history and notifications (the host stores history and forwards events).</summary>
public interface IHaEvents
{
    /// <summary>One history row per transition, with its cause.</summary>
    void Record(HaTransition transition, DateTimeOffset at);

    /// <summary>Operator-visible event (also used for effect failures the engine survived).</summary>
    void Notify(HaEventKind kind, string message, DateTimeOffset at);
}
