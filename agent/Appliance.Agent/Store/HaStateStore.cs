using System.Text.Json;
using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;
using Appliance.Core.Ports;

namespace Appliance.Agent.Store;

/// <summary>
/// The failover engine's persistence over the agent store. Every save is checkpointed (durable across
/// power loss) before it returns, because the engine acts on a promotion only after it is persisted.
/// Pair keys: the engine never exposes key bytes, so the host stores each key it hands the engine under
/// its fingerprint (<see cref="RememberKey"/>) and the ring itself is saved as fingerprints.
/// </summary>
public sealed class HaStateStore(AgentStore store) : IHaStateStore
{
    private const string StateSetting = "ha.state";
    private const string RingSetting = "ha.keyring";
    private const string KeySecretPrefix = "ha-key:";

    public Task<HaPersistedState> LoadAsync(CancellationToken cancellationToken) => Task.FromResult(Load());

    public HaPersistedState Load()
    {
        var json = store.ReadSetting(StateSetting);
        var state = json is null ? HaPersistedState.Unpaired : JsonSerializer.Deserialize(json, HaStoreJson.Default.HaPersistedState)!;
        state.AssertValid();
        return state;
    }

    public Task SaveAsync(HaPersistedState state, CancellationToken cancellationToken)
    {
        state.AssertValid();
        store.WriteSetting(StateSetting, JsonSerializer.Serialize(state, HaStoreJson.Default.HaPersistedState));
        return Task.CompletedTask;
    }

    public Task<PairKeyRing?> LoadKeysAsync(CancellationToken cancellationToken)
    {
        if (store.ReadSetting(RingSetting) is not { } json)
        {
            return Task.FromResult<PairKeyRing?>(null);
        }

        var ring = JsonSerializer.Deserialize(json, HaStoreJson.Default.StoredKeyRing)!;
        var current = LoadKey(ring.Current);
        var previous = ring.Previous is null ? null : LoadKey(ring.Previous);
        return Task.FromResult<PairKeyRing?>(new PairKeyRing(current, previous, ring.PreviousAcceptedUntil));
    }

    public Task SaveKeysAsync(PairKeyRing keys, CancellationToken cancellationToken)
    {
        var ring = new StoredKeyRing(keys.Current.Fingerprint, keys.Previous?.Fingerprint, keys.PreviousAcceptedUntil);
        store.WriteSetting(RingSetting, JsonSerializer.Serialize(ring, HaStoreJson.Default.StoredKeyRing));
        return Task.CompletedTask;
    }

    /// <summary>Stores key material (encrypted) before it is given to the engine, so the ring can be rebuilt.</summary>
    public PairKey RememberKey(ReadOnlySpan<byte> keyBytes)
    {
        var key = new PairKey(keyBytes);
        store.WriteSecret(KeySecretPrefix + key.Fingerprint, Convert.ToBase64String(keyBytes));
        return key;
    }

    /// <summary>Forgets the pairing (break): role Off, no peer; keys and history are kept.</summary>
    public void Forget() => store.WriteSetting(StateSetting, JsonSerializer.Serialize(HaPersistedState.Unpaired, HaStoreJson.Default.HaPersistedState));

    private PairKey LoadKey(string fingerprint) =>
        store.ReadSecret(KeySecretPrefix + fingerprint) is { } base64
            ? new PairKey(Convert.FromBase64String(base64))
            : throw new InvalidDataException($"pair key {fingerprint} is referenced by the key ring but missing from the store");
}

internal sealed record StoredKeyRing(string Current, string? Previous, DateTimeOffset PreviousAcceptedUntil);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(HaPersistedState))]
[System.Text.Json.Serialization.JsonSerializable(typeof(StoredKeyRing))]
[System.Text.Json.Serialization.JsonSerializable(typeof(HaSettings))]
[System.Text.Json.Serialization.JsonSerializable(typeof(PairingRecord))]
internal sealed partial class HaStoreJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>Where the peer is and who it is, as learnt at <c>establish</c>.</summary>
public sealed record PairingRecord(string PeerNodeId, string PeerHost, int PeerPort, string KeyFingerprint);
