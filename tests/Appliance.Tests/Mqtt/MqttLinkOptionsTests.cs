using Appliance.Agent.Mqtt;
using Appliance.Core.Ports;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.Tests.Mqtt;

public class MqttLinkOptionsTests
{
    private static MqttLinkOptions Valid() => new()
    {
        PairId = "pair1",
        NodeId = "node-a",
        PeerNodeId = "node-b",
        PeerBroker = { Host = "10.0.0.2", Port = 1883 },
    };

    [Fact]
    public void Defaults_with_ids_and_peer_host_are_valid()
    {
        var options = Valid();

        Assert.Empty(options.Validate());
        Assert.True(options.EmbeddedBroker.Enabled);
        Assert.Equal("0.0.0.0", options.EmbeddedBroker.BindAddress);
        Assert.Equal(1883, options.EmbeddedBroker.Port);
        Assert.Equal(TimeSpan.FromSeconds(5), options.KeepAlive);
    }

    [Theory]
    [InlineData("pair+1")]
    [InlineData("pair#")]
    [InlineData("pair/x")]
    [InlineData("")]
    [InlineData("an-id-that-is-much-too-long-for-a-topic-level-because-it-has-more-than-64-chars")]
    public void Pair_id_that_is_not_a_safe_topic_level_is_rejected_naming_key_and_value(string pairId)
    {
        var options = Valid();
        options.PairId = pairId;

        var error = Assert.Single(options.Validate());

        Assert.Contains("PeerLink:PairId", error, StringComparison.Ordinal);
        Assert.Contains($"'{pairId}'", error, StringComparison.Ordinal);
        Assert.Contains("[A-Za-z0-9_-]{1,64}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_bad_value_gets_its_own_error_with_key_value_and_range()
    {
        var options = Valid();
        options.PeerNodeId = "node-a";
        options.EmbeddedBroker.Port = 0;
        options.PeerBroker.Port = 70000;
        options.KeepAlive = TimeSpan.FromMilliseconds(1500);
        options.ReconnectInterval = TimeSpan.FromMinutes(5);
        options.IncomingCapacity = 1;

        var errors = options.Validate();

        Assert.Contains(errors, e => e.Contains("PeerLink:PeerNodeId", StringComparison.Ordinal) && e.Contains("same as", StringComparison.Ordinal));
        Assert.Contains("PeerLink:EmbeddedBroker:Port is 0; allowed 1–65535.", errors);
        Assert.Contains("PeerLink:PeerBroker:Port is 70000; allowed 1–65535.", errors);
        Assert.Contains(errors, e => e.StartsWith("PeerLink:KeepAlive is '00:00:01.5000000'", StringComparison.Ordinal) && e.Contains("whole seconds", StringComparison.Ordinal));
        Assert.Contains("PeerLink:ReconnectInterval is '00:05:00'; allowed 00:00:00.0500000–00:01:00.", errors);
        Assert.Contains("PeerLink:IncomingCapacity is 1; allowed 16–1000000.", errors);
        Assert.Equal(6, errors.Count);
    }

    [Fact]
    public void External_broker_problems_name_the_list_index()
    {
        var options = Valid();
        options.ExternalBrokers.Add(new MqttBrokerEndpointOptions { Name = "peer", Host = "mq1" });
        options.ExternalBrokers.Add(new MqttBrokerEndpointOptions { Host = "mq2", Username = "node-a" });
        options.ExternalBrokers.Add(new MqttBrokerEndpointOptions
        {
            Host = "mq3",
            Tls = { Enabled = true, CaFile = "/nonexistent/ca.crt", ClientCertificateFile = "/nonexistent/c.crt" },
        });

        var errors = options.Validate();

        Assert.Contains("PeerLink:ExternalBrokers:0:Name is 'peer', already used by another path; path names must be unique.", errors);
        Assert.Contains(errors, e => e.StartsWith("PeerLink:ExternalBrokers:1:Username and PeerLink:ExternalBrokers:1:PasswordFile must be set together", StringComparison.Ordinal));
        Assert.Contains("PeerLink:ExternalBrokers:2:Tls:CaFile is '/nonexistent/ca.crt'; the file does not exist.", errors);
        Assert.Contains("PeerLink:ExternalBrokers:2:Tls:ClientCertificateFile and PeerLink:ExternalBrokers:2:Tls:ClientKeyFile must be set together.", errors);
    }

    [Fact]
    public void No_path_at_all_is_rejected()
    {
        var options = Valid();
        options.EmbeddedBroker.Enabled = false;

        var error = Assert.Single(options.Validate());

        Assert.Contains("at least one path", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Link_constructor_refuses_invalid_options_with_every_error()
    {
        var options = Valid();
        options.NodeId = "a/b";
        options.PeerBroker.Host = "";

        var ex = Assert.Throws<ArgumentException>(() => new MqttPeerLink(options, null, NullLogger<MqttPeerLink>.Instance, TimeProvider.System));

        Assert.Contains("PeerLink:NodeId is 'a/b'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PeerLink:PeerBroker:Host is ''", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Embedded_mode_connects_as_a_client_only_to_the_peer_broker_the_own_one_is_used_in_process()
    {
        var paths = MqttPathEndpoint.FromOptions(Valid());

        var peer = Assert.Single(paths);
        Assert.Equal(("peer", "10.0.0.2", 1883), (peer.Name, peer.Host, peer.Port));
    }

    [Fact]
    public void Link_constructor_in_embedded_mode_refuses_to_run_without_the_own_broker()
    {
        var ex = Assert.Throws<ArgumentException>(() => new MqttPeerLink(Valid(), null, NullLogger<MqttPeerLink>.Instance, TimeProvider.System));

        Assert.Contains("PeerLink:EmbeddedBroker:Enabled is true but no embedded broker was given", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Topics_map_every_channel_to_its_suffix_qos_and_retain_flag()
    {
        var topics = new MqttTopics("pair1", "node-a", "node-b");

        Assert.Equal("appliance/v1/pair1/node-a/heartbeat", topics.Own(PeerChannel.Heartbeat));
        Assert.Equal("appliance/v1/pair1/node-b/state", topics.Peer(PeerChannel.State));
        Assert.Equal("appliance/v1/pair1/node-a/events", topics.Own(PeerChannel.Events));
        Assert.Equal("appliance/v1/pair1/node-b/cmd", topics.Peer(PeerChannel.Command));
        Assert.True(topics.TryGetPeerChannel("appliance/v1/pair1/node-b/cmd", out var channel));
        Assert.Equal(PeerChannel.Command, channel);
        Assert.False(topics.TryGetPeerChannel("appliance/v1/pair1/node-a/cmd", out _));
        Assert.Equal(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtMostOnce, MqttTopics.QualityOfService(PeerChannel.Heartbeat));
        Assert.All(
            [PeerChannel.State, PeerChannel.Events, PeerChannel.Command],
            c => Assert.Equal(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce, MqttTopics.QualityOfService(c)));
        Assert.Equal([PeerChannel.State], Enum.GetValues<PeerChannel>().Where(MqttTopics.Retain));
    }
}
