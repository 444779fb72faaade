using Appliance.Agent.Mqtt;
using Appliance.Core.Ports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Appliance.Tests.Mqtt;

/// <summary>The configuration keys the host binds, and that bad keys stop startup with every error listed.</summary>
public class MqttLinkRegistrationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddMqttPeerLink(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Keys_under_PeerLink_bind_to_the_options_and_the_link_is_the_peer_link()
    {
        await using var provider = Build(new()
        {
            ["PeerLink:PairId"] = "pair1",
            ["PeerLink:NodeId"] = "node-a",
            ["PeerLink:PeerNodeId"] = "node-b",
            ["PeerLink:EmbeddedBroker:BindAddress"] = "127.0.0.1",
            ["PeerLink:EmbeddedBroker:Port"] = "11883",
            ["PeerLink:PeerBroker:Host"] = "192.0.2.7",
            ["PeerLink:PeerBroker:Port"] = "11884",
            ["PeerLink:ExternalBrokers:0:Name"] = "site-mq",
            ["PeerLink:ExternalBrokers:0:Host"] = "mq.example",
            ["PeerLink:ExternalBrokers:0:Port"] = "8883",
            ["PeerLink:ExternalBrokers:0:Tls:Enabled"] = "true",
            ["PeerLink:KeepAlive"] = "00:00:03",
            ["PeerLink:ReconnectInterval"] = "00:00:00.5",
        });

        var options = provider.GetRequiredService<IOptions<MqttLinkOptions>>().Value;
        var link = provider.GetRequiredService<IPeerLink>();

        Assert.Equal(("pair1", "node-a", "node-b"), (options.PairId, options.NodeId, options.PeerNodeId));
        Assert.Equal(("127.0.0.1", 11883), (options.EmbeddedBroker.BindAddress, options.EmbeddedBroker.Port));
        Assert.Equal(("192.0.2.7", 11884), (options.PeerBroker.Host, options.PeerBroker.Port));
        var external = Assert.Single(options.ExternalBrokers);
        Assert.Equal(("site-mq", "mq.example", 8883, true), (external.Name, external.Host, external.Port, external.Tls.Enabled));
        Assert.Equal(TimeSpan.FromSeconds(3), options.KeepAlive);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.ReconnectInterval);
        Assert.Same(provider.GetRequiredService<MqttPeerLink>(), link);
        Assert.Equal(["local", "peer", "site-mq"], ((MqttPeerLink)link).GetPathStatus().Select(p => p.Name));
        Assert.Contains(provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>(), s => s is EmbeddedMqttBroker);
    }

    [Fact]
    public async Task Invalid_keys_fail_validation_naming_each_key()
    {
        await using var provider = Build(new()
        {
            ["PeerLink:PairId"] = "pair/1",
            ["PeerLink:NodeId"] = "node-a",
            ["PeerLink:PeerNodeId"] = "node-b",
            ["PeerLink:PeerBroker:Host"] = "192.0.2.7",
            ["PeerLink:EmbeddedBroker:Port"] = "99999",
        });

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<MqttLinkOptions>>().Value);

        Assert.Contains(ex.Failures, f => f.StartsWith("PeerLink:PairId is 'pair/1'", StringComparison.Ordinal));
        Assert.Contains("PeerLink:EmbeddedBroker:Port is 99999; allowed 1–65535.", ex.Failures);
    }
}
