using System.Globalization;
using Appliance.Agent.Mqtt;
using Appliance.Core.Ports;
using Appliance.Tests.Fixtures;
using static Appliance.Tests.Mqtt.MqttLinkTestKit;

namespace Appliance.Tests.Mqtt;

/// <summary>
/// Last Will behaviour against a real mosquitto: a crashed peer's will reaches the link fast, the
/// link's own will carries the generation of its current connection, and a planned disconnect
/// publishes the offline state instead of letting the will fire.
/// </summary>
public sealed class LastWillTests : MqttLinkTestBase
{
    /// <summary>Bounded wait for a will after an abrupt socket close (mosquitto sends it in ~ms).</summary>
    private static readonly TimeSpan WillBound = TimeSpan.FromSeconds(2);

    protected override bool UsesMosquitto => true;

    [Fact]
    public async Task Will_of_a_sigkilled_peer_process_arrives_on_the_state_channel()
    {
        var a = Track(NewLink(Options(NodeA, NodeB), Log, out var inboxA));
        await a.StartAsync(WillFor(NodeA), CancellationToken.None);
        var peerClientId = $"{Pair}-peer-process";
        using var peer = MosquittoClientProcess.Start(
            "mosquitto_sub", "-h", "127.0.0.1", "-p", Port, "-V", "mqttv5", "-i", peerClientId, "-t", "unused/topic",
            "--will-topic", MqttTopics.Topic(Pair, NodeB, PeerChannel.State), "--will-payload", "peer-process-will",
            "--will-qos", "1", "--will-retain");
        await Broker.WaitForLogAsync($"New client connected .* as {peerClientId} ", Bound);

        peer.Kill();

        var frame = await inboxA.WaitForAsync(PeerChannel.State, "peer-process-will", "mq", WillBound);
        Assert.Equal(PeerChannel.State, frame.Channel);
    }

    [Fact]
    public async Task Own_will_fires_on_abrupt_close_and_carries_the_generation_of_the_reconnected_session()
    {
        var a = Track(NewLink(Options(NodeA, NodeB), Log));
        var b = Track(NewLink(Options(NodeB, NodeA), Log, out var inboxB));
        await Task.WhenAll(a.StartAsync(WillFor(NodeA), CancellationToken.None), b.StartAsync(WillFor(NodeB), CancellationToken.None));
        var firstGeneration = a.GetPathStatus()[0].Generation;

        Broker.Kill();
        await WaitForPathsAsync(a, paths => !paths[0].Connected);
        await Broker.StartAsync();
        await WaitAllConnectedAsync(a);
        await WaitAllConnectedAsync(b);
        var reconnectedGeneration = a.GetPathStatus()[0].Generation;
        Assert.True(reconnectedGeneration > firstGeneration, $"generation {reconnectedGeneration} after reconnect, {firstGeneration} before");

        // DisposeAsync drops the socket without DISCONNECT: to the broker this is a crash.
        await a.DisposeAsync();

        await inboxB.WaitForAsync(PeerChannel.State, WillText(NodeA, reconnectedGeneration), "mq", WillBound);
        Assert.DoesNotContain(WillText(NodeA, firstGeneration), inboxB.Texts(PeerChannel.State));
    }

    [Fact]
    public async Task Planned_disconnect_publishes_the_offline_state_and_suppresses_the_will()
    {
        var a = Track(NewLink(Options(NodeA, NodeB), Log));
        var b = Track(NewLink(Options(NodeB, NodeA), Log, out var inboxB));
        await Task.WhenAll(a.StartAsync(WillFor(NodeA), CancellationToken.None), b.StartAsync(WillFor(NodeB), CancellationToken.None));
        await a.PublishAsync(PeerChannel.State, Bytes("a-online"), CancellationToken.None);
        await inboxB.WaitForAsync(PeerChannel.State, "a-online");

        await a.DisconnectGracefullyAsync(Bytes("a-offline-planned"), CancellationToken.None);

        await inboxB.WaitForAsync(PeerChannel.State, "a-offline-planned", "mq");
        await Broker.WaitForLogAsync($@"Client {Pair}\.node-a\.mq disconnected\.", Bound);
        Assert.False(Assert.Single(a.GetPathStatus()).Connected);

        // The retained state a late subscriber (a real mosquitto_sub) gets is the planned one, not the will.
        using var late = MosquittoClientProcess.Start(
            "mosquitto_sub", "-h", "127.0.0.1", "-p", Port, "-t", MqttTopics.Topic(Pair, NodeA, PeerChannel.State), "-C", "1", "-W", "5");
        Assert.Equal(0, await late.WaitForExitAsync(Bound));
        Assert.Equal(["a-offline-planned"], late.OutputLines);
        Assert.DoesNotContain(inboxB.Texts(PeerChannel.State), t => t.StartsWith($"will:{NodeA}:", StringComparison.Ordinal));
    }

    private string Port => Broker.PlainPort.ToString(CultureInfo.InvariantCulture);

    private MqttLinkOptions Options(string node, string peer) =>
        ExternalOptions(Pair, node, peer, Endpoint(Broker.PlainPort));
}
