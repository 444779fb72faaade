using System.Net;
using Appliance.Agent.Mqtt;
using Appliance.Core.Ports;
using Appliance.Tests.Fixtures;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Server;
using static Appliance.Tests.Mqtt.MqttLinkTestKit;

namespace Appliance.Tests.Mqtt;

/// <summary>
/// The path supervision checks each connection every ReconnectInterval (200 ms here). Heartbeats both ways on the
/// connection are the proof of life; a quiet connection costs a PINGREQ. Counted at a real MQTTnet broker.
/// </summary>
public sealed class PathSupervisionTests
{
    [Fact]
    public async Task A_quiet_connection_is_pinged_and_one_carrying_heartbeats_both_ways_is_not()
    {
        var port = FreePort.Tcp();
        var pingsFromNodeA = 0;
        using var broker = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
            .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port).Build());
        broker.InterceptingInboundPacketAsync += e =>
        {
            if (e.Packet is MqttPingReqPacket && e.ClientId.Contains(NodeA, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref pingsFromNodeA);
            }

            return Task.CompletedTask;
        };
        await broker.StartAsync();

        var pairId = NewPairId();
        var log = new RecordingLog();
        await using var link = NewLink(
            ExternalOptions(pairId, NodeA, NodeB, new MqttBrokerEndpointOptions { Name = "ext", Host = "127.0.0.1", Port = port }), log, out var inbox);
        await link.StartAsync(WillFor(NodeA), CancellationToken.None);
        await WaitAllConnectedAsync(link);

        // Quiet: about ten checks in two seconds, each a ping (the client's own keep-alive, 2 s, never fires: it sees the
        // PINGREQs). Counted from the first one: in a cold test process the first check waits for the JIT. The bounds
        // leave room for a loaded machine (delayed ticks are coalesced) and still tell the two cases apart.
        var deadline = DateTime.UtcNow + Bound;
        while (Volatile.Read(ref pingsFromNodeA) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var quietFrom = Volatile.Read(ref pingsFromNodeA);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.InRange(Volatile.Read(ref pingsFromNodeA) - quietFrom, 4, 12);

        using var peer = new MqttClientFactory().CreateMqttClient();
        await peer.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("peer-" + NodeB).Build());
        using var stop = new CancellationTokenSource();
        var heartbeats = Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                await peer.PublishStringAsync(MqttTopics.Topic(pairId, NodeB, PeerChannel.Heartbeat), $"hb-{n}");
                await link.PublishAsync(PeerChannel.Heartbeat, Bytes($"a-{n}"), CancellationToken.None);
                await Task.Delay(20);
            }
        });

        await inbox.WaitForAsync(f => f.Channel == PeerChannel.Heartbeat);
        await Task.Delay(TimeSpan.FromMilliseconds(300)); // a check already under way when the first one arrived may still ping
        var before = Volatile.Read(ref pingsFromNodeA);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var whileHeard = Volatile.Read(ref pingsFromNodeA) - before;
        await stop.CancelAsync();
        await heartbeats;

        // Ten checks went by (about ten pings without the rule); a few may find a 200 ms gap if the publisher is starved.
        Assert.InRange(whileHeard, 0, 3);
        Assert.True(link.GetPathStatus()[0].LastCheckedAlive > DateTimeOffset.UtcNow.AddSeconds(-1));
    }
}
