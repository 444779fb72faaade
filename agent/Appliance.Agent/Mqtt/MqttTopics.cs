using Appliance.Core.Ports;
using MQTTnet.Protocol;

namespace Appliance.Agent.Mqtt;

/// <summary>
/// The one place that maps <see cref="PeerChannel"/> to topic suffix, QoS and retain flag:
/// <c>appliance/v1/{pair}/{node}/{heartbeat|state|events|cmd}</c>. A node publishes under its own id
/// and subscribes to its peer's.
/// </summary>
internal sealed class MqttTopics
{
    private const string Root = "appliance/v1";

    private static readonly PeerChannel[] AllChannels = Enum.GetValues<PeerChannel>();

    private readonly Dictionary<PeerChannel, string> _own;
    private readonly Dictionary<PeerChannel, string> _peer;
    private readonly Dictionary<string, PeerChannel> _peerByTopic;

    public MqttTopics(string pairId, string nodeId, string peerNodeId)
    {
        _own = AllChannels.ToDictionary(c => c, c => Topic(pairId, nodeId, c));
        _peer = AllChannels.ToDictionary(c => c, c => Topic(pairId, peerNodeId, c));
        _peerByTopic = _peer.ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);
    }

    public static IReadOnlyList<PeerChannel> Channels => AllChannels;

    public static string Topic(string pairId, string nodeId, PeerChannel channel) =>
        $"{Root}/{pairId}/{nodeId}/{Suffix(channel)}";

    public static string Suffix(PeerChannel channel) => channel switch
    {
        PeerChannel.Heartbeat => "heartbeat",
        PeerChannel.State => "state",
        PeerChannel.Events => "events",
        PeerChannel.Command => "cmd",
        _ => throw new ArgumentOutOfRangeException(nameof(channel), channel, "unknown peer channel"),
    };

    /// <summary>Heartbeats are superseded by the next one, so QoS 0; everything else must arrive.</summary>
    public static MqttQualityOfServiceLevel QualityOfService(PeerChannel channel) =>
        channel == PeerChannel.Heartbeat ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce;

    /// <summary>Only the state is retained: a late subscriber must learn the peer's last state (or its will).</summary>
    public static bool Retain(PeerChannel channel) => channel == PeerChannel.State;

    public string Own(PeerChannel channel) => _own[channel];

    public string Peer(PeerChannel channel) => _peer[channel];

    public bool TryGetPeerChannel(string topic, out PeerChannel channel) => _peerByTopic.TryGetValue(topic, out channel);
}
