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
        var (a, b, _, _, inboxA, inboxB) = await StartPairAsync(tls: false);

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
        var (a, b, _, brokerB, inboxA, inboxB) = await StartPairAsync(tls: false);

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

    [Fact]
    public async Task Tls_endpoint_with_client_certificates_carries_the_peer_path()
    {
        var (a, b, _, _, _, inboxB) = await StartPairAsync(tls: true);

        await a.PublishAsync(PeerChannel.State, Bytes("a-state-over-tls"), CancellationToken.None);
        await inboxB.WaitForAsync(PeerChannel.State, "a-state-over-tls", MqttPathEndpoint.LocalPathName);
        await inboxB.WaitForAsync(PeerChannel.State, "a-state-over-tls", MqttPathEndpoint.PeerPathName);
        Assert.Contains(b.GetPathStatus(), p => p.Name == "peer" && p.Endpoint.Contains("TLS", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tls_endpoint_refuses_a_client_without_a_certificate_from_the_pinned_ca()
    {
        var (_, _, optionsA, _, _, _) = await StartPairAsync(tls: true);

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

    private async Task<(MqttPeerLink A, MqttPeerLink B, MqttLinkOptions OptionsA, EmbeddedMqttBroker BrokerB, FrameInbox InboxA, FrameInbox InboxB)> StartPairAsync(bool tls)
    {
        var optionsA = EmbeddedOptions(NodeA, NodeB, tls);
        var optionsB = EmbeddedOptions(NodeB, NodeA, tls);
        PointAt(optionsA, optionsB, tls);
        PointAt(optionsB, optionsA, tls);

        var brokerA = Track(new EmbeddedMqttBroker(optionsA.EmbeddedBroker, Log.CreateLogger<EmbeddedMqttBroker>()));
        var brokerB = Track(new EmbeddedMqttBroker(optionsB.EmbeddedBroker, Log.CreateLogger<EmbeddedMqttBroker>()));
        await brokerA.StartAsync(CancellationToken.None);
        await brokerB.StartAsync(CancellationToken.None);
        var a = Track(NewLink(optionsA, Log, out var inboxA));
        var b = Track(NewLink(optionsB, Log, out var inboxB));
        await Task.WhenAll(a.StartAsync(WillFor(NodeA), CancellationToken.None), b.StartAsync(WillFor(NodeB), CancellationToken.None));

        // StartAsync returns after the subscriptions of every path that connected: all of them here.
        Assert.All(a.GetPathStatus().Concat(b.GetPathStatus()), p => Assert.True(p.Connected, p.ToString()));
        return (a, b, optionsA, brokerB, inboxA, inboxB);
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
