using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;

namespace Appliance.Core.Ports;

/// <summary>Status history and notifications (the host stores history and forwards events).</summary>
public interface IHaEvents
{
    /// <summary>One history row per transition, with its cause.</summary>
    void Record(HaTransition transition, DateTimeOffset at);

    /// <summary>Operator-visible event (also used for effect failures the engine survived).</summary>
    void Notify(HaEventKind kind, string message, DateTimeOffset at);

    /// <summary>
    /// An event the peer announced on …/events (verified, once even though it came on every path),
    /// so either node's history tells what happened to the pair. Never re-announced.
    /// </summary>
    void RecordPeerEvent(string peerNodeId, PeerEvent peerEvent, DateTimeOffset at);
}
