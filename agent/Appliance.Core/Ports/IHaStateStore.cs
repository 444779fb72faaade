using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;

namespace Appliance.Core.Ports;

/// <summary>Durable HA state (LiteDB in the host). SaveAsync returns only once the write is durable.</summary>
public interface IHaStateStore
{
    /// <summary>The last saved state, or <see cref="HaPersistedState.Unpaired"/> on first boot.</summary>
    Task<HaPersistedState> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Durable (fsync'd) before it returns: the engine acts on nothing until then.</summary>
    Task SaveAsync(HaPersistedState state, CancellationToken cancellationToken);

    /// <summary>The pair key ring (current + overlap key), or null when never paired. Never logged.</summary>
    Task<PairKeyRing?> LoadKeysAsync(CancellationToken cancellationToken);

    Task SaveKeysAsync(PairKeyRing keys, CancellationToken cancellationToken);
}
