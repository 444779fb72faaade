using Appliance.Core.Ports;

namespace Appliance.Agent.Mqtt;

/// <summary>
/// One route of the link's frames: a client connection to a broker (<see cref="MqttPath"/>) or, in embedded
/// mode, the own broker in-process (<see cref="EmbeddedBrokerPath"/>). Incoming frames and up/down changes go
/// through the <see cref="MqttPathHooks"/> the path was built with.
/// </summary>
internal interface IMqttLinkPath : IAsyncDisposable
{
    string Name { get; }

    MqttPathStatus Status { get; }

    /// <summary>Comes up if it can within its timeout; afterwards the path keeps trying on its own until disposed.</summary>
    Task StartAsync(Func<long, ReadOnlyMemory<byte>> willPayload, CancellationToken cancellationToken);

    /// <summary>Publishes if the path is up; false when skipped or failed (never waits past the operation timeout).</summary>
    Task<bool> TryPublishAsync(PeerChannel channel, byte[] payload, CancellationToken cancellationToken);

    /// <summary>Planned shutdown: leaves <paramref name="offlineState"/> retained and no will behind; the path stays down.</summary>
    Task DisconnectGracefullyAsync(byte[] offlineState, CancellationToken cancellationToken);
}
