using System.Text;
using Appliance.Agent.Mqtt;
using Appliance.Core.Ports;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Mqtt;

/// <summary>Options with test-speed timings, a readable will payload, and frame waiting for the MQTT link tests.</summary>
internal static class MqttLinkTestKit
{
    public const string NodeA = "node-a";
    public const string NodeB = "node-b";

    /// <summary>Generous bound for anything that should happen within milliseconds; only reached on failure.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public static string NewPairId() => "pair-" + Guid.NewGuid().ToString("N")[..8];

    public static MqttLinkOptions BaseOptions(string pairId, string node, string peer) => new()
    {
        PairId = pairId,
        NodeId = node,
        PeerNodeId = peer,
        KeepAlive = TimeSpan.FromSeconds(2),
        ConnectTimeout = TimeSpan.FromSeconds(2),
        ReconnectInterval = TimeSpan.FromMilliseconds(200),
        OperationTimeout = TimeSpan.FromMilliseconds(700),
    };

    /// <summary>External-broker options: the embedded broker off, one path per given broker.</summary>
    public static MqttLinkOptions ExternalOptions(string pairId, string node, string peer, params MqttBrokerEndpointOptions[] brokers)
    {
        var options = BaseOptions(pairId, node, peer);
        options.EmbeddedBroker.Enabled = false;
        options.ExternalBrokers.AddRange(brokers);
        return options;
    }

    /// <summary>The caller-side will builder: names the node and carries the generation, as the codec's will would.</summary>
    public static Func<long, ReadOnlyMemory<byte>> WillFor(string node) => generation => Bytes($"will:{node}:{generation}");

    public static string WillText(string node, long generation) => $"will:{node}:{generation}";

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(PeerFrame frame) => Encoding.UTF8.GetString(frame.Payload.Span);

    /// <summary>A link; in embedded mode on <paramref name="ownBroker"/>, the node's started broker.</summary>
    public static MqttPeerLink NewLink(MqttLinkOptions options, RecordingLog log, EmbeddedMqttBroker? ownBroker = null) =>
        new(options, ownBroker, log.CreateLogger<MqttPeerLink>(), TimeProvider.System);

    public static MqttPeerLink NewLink(MqttLinkOptions options, RecordingLog log, out FrameInbox inbox, EmbeddedMqttBroker? ownBroker = null)
    {
        var link = NewLink(options, log, ownBroker);
        inbox = new FrameInbox(link);
        return link;
    }

    /// <summary>Polls the link's path status until the predicate holds.</summary>
    public static async Task WaitForPathsAsync(MqttPeerLink link, Func<IReadOnlyList<MqttPathStatus>, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Bound);
        while (!condition(link.GetPathStatus()))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"path condition not met; paths: {string.Join("; ", link.GetPathStatus())}");
            }

            await Task.Delay(20);
        }
    }

    public static Task WaitAllConnectedAsync(MqttPeerLink link) => WaitForPathsAsync(link, paths => paths.All(p => p.Connected));
}

/// <summary>
/// Drains a link's incoming queue in the background and keeps every frame, so a test can wait for
/// one frame without discarding others (the same payload arrives once per path).
/// </summary>
internal sealed class FrameInbox
{
    private readonly MqttPeerLink _link;
    private readonly List<PeerFrame> _frames = [];

    public FrameInbox(MqttPeerLink link)
    {
        _link = link;
        _ = DrainAsync();
    }

    public IReadOnlyList<PeerFrame> Frames
    {
        get
        {
            lock (_frames)
            {
                return _frames.ToList();
            }
        }
    }

    public IReadOnlyList<string> Texts(PeerChannel channel) =>
        Frames.Where(f => f.Channel == channel).Select(MqttLinkTestKit.Text).ToList();

    public async Task<PeerFrame> WaitForAsync(Func<PeerFrame, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? MqttLinkTestKit.Bound);
        while (true)
        {
            if (Frames.FirstOrDefault(match) is { } frame)
            {
                return frame;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException(
                    $"no matching frame within {timeout ?? MqttLinkTestKit.Bound}; received: {string.Join(", ", Frames.Select(f => $"{f.Channel}/{f.PathName}/{MqttLinkTestKit.Text(f)}"))}; paths: {string.Join("; ", _link.GetPathStatus())}");
            }

            await Task.Delay(10);
        }
    }

    public Task<PeerFrame> WaitForAsync(PeerChannel channel, string text, string? path = null, TimeSpan? timeout = null) =>
        WaitForAsync(f => f.Channel == channel && MqttLinkTestKit.Text(f) == text && (path is null || f.PathName == path), timeout);

    private async Task DrainAsync()
    {
        await foreach (var frame in _link.Incoming.ReadAllAsync())
        {
            lock (_frames)
            {
                _frames.Add(frame);
            }
        }
    }
}
