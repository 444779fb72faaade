using Appliance.Agent.Mqtt;
using Appliance.Core.Ports;
using Appliance.Tests.Fixtures;
using static Appliance.Tests.Mqtt.MqttLinkTestKit;

namespace Appliance.Tests.Mqtt;

/// <summary>
/// Default mode, no external parts: two nodes, each with its own embedded MQTTnet broker on a free
/// loopback port, each link connected to both brokers (paths "local" and "peer").
/// </summary>
public sealed class EmbeddedBrokerLinkTests : MqttLinkTestBase
{
    [Fact]
    public async Task Nodes_exchange_all_four_channels_over_both_paths()
    {
        var (a, b, _, _, _, inboxA, inboxB) = await StartPairAsync(tls: false);

        foreach (var channel in Enum.GetValues<PeerChannel>())
        {
            await a.PublishAsync(channel, Bytes($"a-{channel}"), CancellationToken.None);
            await b.PublishAsync(channel, Bytes($"b-{channel}"), CancellationToken.None);
            foreach (var path in new[] { MqttPathEndpoint.LocalPathName, MqttPathEndpoint.PeerPathName })
            {
                await inboxB.WaitForAsync(channel, $"a-{channel}", path);
                await inboxA.WaitForAsync(channel, $"b-{channel}", path);
            }
        }
    }

    [Fact]
    public async Task Losing_oneBroker_keeps_frames_flowing_and_the_path_returns_on_restart()
    {
        var (a, b, _, _, brokerB, inboxA, inboxB) = await StartPairAsync(tls: false);

        await brokerB.StopAsync(CancellationToken.None);
        await WaitForPathsAsync(a, paths => !paths.Single(p => p.Name == "peer").Connected);

        // Only node A's broker is left: A's "local" and B's "peer" path carry everything.
        await a.PublishAsync(PeerChannel.Heartbeat, Bytes("hb-while-b-broker-down"), CancellationToken.None);
        await b.PublishAsync(PeerChannel.Command, Bytes("cmd-while-b-broker-down"), CancellationToken.None);
        await inboxB.WaitForAsync(PeerChannel.Heartbeat, "hb-while-b-broker-down", MqttPathEndpoint.PeerPathName);
        await inboxA.WaitForAsync(PeerChannel.Command, "cmd-while-b-broker-down", MqttPathEndpoint.LocalPathName);
        Assert.True(a.GetPathStatus().Single(p => p.Name == "local").Connected);

        var generationBefore = b.GetPathStatus().Single(p => p.Name == "local").Generation;
        var reconnected = new TaskCompletionSource<MqttPathStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.PathConnected += status => reconnected.TrySetResult(status);
        await brokerB.StartAsync(CancellationToken.None);
        await WaitAllConnectedAsync(a);
        await WaitAllConnectedAsync(b);

        var bLocal = b.GetPathStatus().Single(p => p.Name == "local");
        Assert.True(bLocal.Generation > generationBefore, $"generation {bLocal.Generation} after reconnect, {generationBefore} before");
        Assert.True(bLocal.ReconnectCount >= 1);
        var announced = await reconnected.Task.WaitAsync(Bound);
        Assert.Equal(("local", true), (announced.Name, announced.Connected));
        Assert.True(announced.Generation > generationBefore);
        await a.PublishAsync(PeerChannel.Events, Bytes("event-after-restart"), CancellationToken.None);
        await inboxB.WaitForAsync(PeerChannel.Events, "event-after-restart", MqttPathEndpoint.LocalPathName);
    }

    /// <summary>
    /// The local path takes the peer's messages in-process as its own broker accepts them: wills included, and the
    /// retained state a subscriber would get on SUBSCRIBE (here the peer's will, left before this link started).
    /// </summary>
    [Fact]
    public async Task The_in_process_local_path_delivers_the_peers_will_and_finds_it_retained_when_started_later()
    {
        var (a, b, optionsA, brokerA, brokerB, inboxA, _) = await StartPairAsync(tls: false);
        var bGenerationOnA = b.GetPathStatus().Single(p => p.Name == "peer").Generation;

        await b.DisposeAsync(); // abrupt: no DISCONNECT, so A's broker publishes B's will
        await inboxA.WaitForAsync(PeerChannel.State, WillText(NodeB, bGenerationOnA), MqttPathEndpoint.LocalPathName);

        await a.DisposeAsync();
        var restarted = Track(NewLink(optionsA, Log, out var inboxRestarted, brokerA));
        await Task.Run(() => restarted.StartAsync(WillFor(NodeA), CancellationToken.None));
        await inboxRestarted.WaitForAsync(PeerChannel.State, WillText(NodeB, bGenerationOnA), MqttPathEndpoint.LocalPathName);
        Assert.True(brokerB.IsRunning);
    }

    /// <summary>A planned stop leaves the offline state retained on the own broker, where the peer's client reads it.</summary>
    [Fact]
    public async Task A_planned_disconnect_leaves_the_offline_state_on_the_own_broker_for_the_peer()
    {
        var (a, b, _, _, _, _, inboxB) = await StartPairAsync(tls: false);

        await a.DisconnectGracefullyAsync(Bytes("a-offline"), CancellationToken.None);

        // Through B's client of A's broker (A injected it there) and through B's broker (A's client published it).
        await inboxB.WaitForAsync(PeerChannel.State, "a-offline", MqttPathEndpoint.PeerPathName);
        await inboxB.WaitForAsync(PeerChannel.State, "a-offline", MqttPathEndpoint.LocalPathName);
        Assert.All(a.GetPathStatus(), p => Assert.False(p.Connected, p.ToString()));
        Assert.DoesNotContain(inboxB.Frames, f => Text(f).StartsWith("will:", StringComparison.Ordinal));
        Assert.True(b.GetPathStatus().Single(p => p.Name == "local").Connected);
    }

    [Fact]
    public async Task Tls_endpoint_with_client_certificates_carries_the_peer_path()
    {
        var (a, b, _, _, _, _, inboxB) = await StartPairAsync(tls: true);

        await a.PublishAsync(PeerChannel.State, Bytes("a-state-over-tls"), CancellationToken.None);
        await inboxB.WaitForAsync(PeerChannel.State, "a-state-over-tls", MqttPathEndpoint.LocalPathName);
        await inboxB.WaitForAsync(PeerChannel.State, "a-state-over-tls", MqttPathEndpoint.PeerPathName);
        Assert.Contains(b.GetPathStatus(), p => p.Name == "peer" && p.Endpoint.Contains("TLS", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tls_endpoint_refuses_a_client_without_a_certificate_from_the_pinned_ca()
    {
        var (_, _, optionsA, _, _, _, _) = await StartPairAsync(tls: true);

        // A stranger trusting the right CA but presenting no client certificate.
        var stranger = BaseOptions(Pair, "node-x", NodeA);
        stranger.EmbeddedBroker.Enabled = false;
        stranger.ExternalBrokers.Add(new MqttBrokerEndpointOptions
        {
            Name = "a-tls",
            Host = "127.0.0.1",
            Port = optionsA.EmbeddedBroker.Tls.Port,
            Tls = { Enabled = true, CaFile = TestPki.Shared.CaFile },
        });
        var link = Track(NewLink(stranger, Log));
        await link.StartAsync(WillFor("node-x"), CancellationToken.None);

        var status = Assert.Single(link.GetPathStatus());
        Assert.False(status.Connected);
        Assert.NotNull(status.LastError);
    }

    /// <summary>
    /// With ReuseAddress (SO_REUSEPORT on Linux) a second broker bound beside the first and the kernel split the
    /// connections between them: parallel pairs whose free ports collided saw each other's hellos at establish.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_broker_on_a_port_another_broker_holds_fails_to_start_instead_of_sharing_it(bool tlsPortCollides)
    {
        var first = EmbeddedOptions(NodeA, NodeB, tls: true);
        await Track(new EmbeddedMqttBroker(first.EmbeddedBroker, Log.CreateLogger<EmbeddedMqttBroker>())).StartAsync(CancellationToken.None);
        var second = EmbeddedOptions(NodeB, NodeA, tls: true);
        if (tlsPortCollides)
        {
            second.EmbeddedBroker.Tls.Port = first.EmbeddedBroker.Tls.Port;
        }
        else
        {
            second.EmbeddedBroker.Port = first.EmbeddedBroker.Port;
        }

        var broker = Track(new EmbeddedMqttBroker(second.EmbeddedBroker, Log.CreateLogger<EmbeddedMqttBroker>()));
        var error = await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => broker.StartAsync(CancellationToken.None));
        Assert.Equal(System.Net.Sockets.SocketError.AddressAlreadyInUse, error.SocketErrorCode);
        Assert.False(broker.IsRunning);
    }

    private async Task<(MqttPeerLink A, MqttPeerLink B, MqttLinkOptions OptionsA, EmbeddedMqttBroker BrokerA, EmbeddedMqttBroker BrokerB, FrameInbox InboxA, FrameInbox InboxB)> StartPairAsync(bool tls)
    {
        var optionsA = EmbeddedOptions(NodeA, NodeB, tls);
        var optionsB = EmbeddedOptions(NodeB, NodeA, tls);
        PointAt(optionsA, optionsB, tls);
        PointAt(optionsB, optionsA, tls);

        var brokerA = Track(new EmbeddedMqttBroker(optionsA.EmbeddedBroker, Log.CreateLogger<EmbeddedMqttBroker>()));
        var brokerB = Track(new EmbeddedMqttBroker(optionsB.EmbeddedBroker, Log.CreateLogger<EmbeddedMqttBroker>()));
        await brokerA.StartAsync(CancellationToken.None);
        await brokerB.StartAsync(CancellationToken.None);
        var a = Track(NewLink(optionsA, Log, out var inboxA, brokerA));
        var b = Track(NewLink(optionsB, Log, out var inboxB, brokerB));
        // Off xunit's synchronization context, as in the agent (which has none): the paths' supervision loops capture
        // the context they start on, and xunit's two threads, shared with every test running in parallel, delayed
        // ping replies past OperationTimeout under load.
        await Task.Run(() => Task.WhenAll(a.StartAsync(WillFor(NodeA), CancellationToken.None), b.StartAsync(WillFor(NodeB), CancellationToken.None)));

        // StartAsync returns after the subscriptions of every path that connected: all of them here.
        Assert.All(a.GetPathStatus().Concat(b.GetPathStatus()), p => Assert.True(p.Connected, p.ToString()));
        return (a, b, optionsA, brokerA, brokerB, inboxA, inboxB);
    }

    private MqttLinkOptions EmbeddedOptions(string node, string peer, bool tls)
    {
        var options = BaseOptions(Pair, node, peer);
        options.EmbeddedBroker.BindAddress = "127.0.0.1";
        options.EmbeddedBroker.Port = FreePort.Tcp();
        if (tls)
        {
            var pki = TestPki.Shared;
            options.EmbeddedBroker.Tls = new EmbeddedBrokerTlsOptions
            {
                Enabled = true,
                Port = FreePort.Tcp(),
                CertificateFile = pki.ServerCertificateFile,
                KeyFile = pki.ServerKeyFile,
                ClientCaFile = pki.CaFile,
            };
        }

        return options;
    }

    private static void PointAt(MqttLinkOptions from, MqttLinkOptions to, bool tls)
    {
        from.PeerBroker.Host = "127.0.0.1";
        if (!tls)
        {
            from.PeerBroker.Port = to.EmbeddedBroker.Port;
            return;
        }

        var pki = TestPki.Shared;
        from.PeerBroker.Port = to.EmbeddedBroker.Tls.Port;
        from.PeerBroker.Tls = new MqttClientTlsFileOptions
        {
            Enabled = true,
            CaFile = pki.CaFile,
            ClientCertificateFile = pki.ClientCertificateFile(from.NodeId),
            ClientKeyFile = pki.ClientKeyFile(from.NodeId),
        };
    }

}
