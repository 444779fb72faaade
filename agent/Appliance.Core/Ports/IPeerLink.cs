using System.Threading.Channels;

namespace Appliance.Core.Ports;

/// <summary>The inter-appliance channels; each maps to one MQTT topic suffix.</summary>
public enum PeerChannel
{
    /// <summary><c>…/heartbeat</c>, QoS 0, never retained.</summary>
    Heartbeat,

    /// <summary><c>…/state</c>, QoS 1, retained; the Last Will sets it to offline.</summary>
    State,

    /// <summary><c>…/events</c>, QoS 1: health, fencing, panel and history events.</summary>
    Events,

    /// <summary><c>…/cmd</c>, QoS 1: the planned-switch handshake and operator commands.</summary>
    Command,
}

/// <summary>One signed message received from the peer, with the path (broker) it came over.</summary>
public sealed record PeerFrame(PeerChannel Channel, string PathName, ReadOnlyMemory<byte> Payload);

/// <summary>
/// Transport between the two appliances (MQTT in production, a simulated network in tests).
/// Payloads are opaque, already-signed bytes: the link neither signs nor trusts them.
/// </summary>
public interface IPeerLink : IAsyncDisposable
{
    /// <summary>Messages from the peer over every path, in arrival order per path; bounded.</summary>
    ChannelReader<PeerFrame> Incoming { get; }

    /// <summary>
    /// Connects every path. <paramref name="willPayload"/> builds the signed offline state for a
    /// connection generation (as Sparkplug's bdSeq), set as that connection's Last Will.
    /// </summary>
    Task StartAsync(Func<long, ReadOnlyMemory<byte>> willPayload, CancellationToken cancellationToken);

    /// <summary>Publishes on every connected path; a path that is down is skipped, never awaited.</summary>
    ValueTask PublishAsync(PeerChannel channel, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);
}
