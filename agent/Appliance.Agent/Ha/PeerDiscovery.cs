using System.Text;
using Appliance.Agent.Mqtt;
using MQTTnet;
using MQTTnet.Protocol;

namespace Appliance.Agent.Ha;

/// <summary>
/// How <c>establish</c> learns the peer's node id: every agent keeps a retained, unsigned hello
/// (<c>appliance/v1/hello/{node}</c>, payload = its node id) on its own broker; the establishing node
/// reads the hellos on the peer's broker and takes the one that is not its own. The hello carries no
/// secret and grants nothing: a forged id only yields a peer whose signed heartbeats never verify.
/// </summary>
public static class PeerDiscovery
{
    public const string HelloPrefix = "appliance/v1/hello/";

    /// <summary>Publishes (retained) this node's hello on a broker.</summary>
    public static async Task PublishHelloAsync(MqttPathCredentialsFactory endpoint, string nodeId, MqttLinkOptions options, CancellationToken cancellationToken)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(endpoint.Builder($"hello-{nodeId}", options).Build(), cancellationToken);
        await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(HelloPrefix + nodeId)
            .WithPayload(Encoding.UTF8.GetBytes(nodeId))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(true)
            .Build(), cancellationToken);
        await client.DisconnectAsync(cancellationToken: cancellationToken);
    }

    /// <summary>The single node id other than <paramref name="ownNodeId"/> that has a hello on the broker.</summary>
    /// <exception cref="InvalidOperationException">No other node, or several: the message says which.</exception>
    public static async Task<string> FindPeerAsync(MqttPathCredentialsFactory endpoint, string ownNodeId, MqttLinkOptions options, TimeSpan listen, CancellationToken cancellationToken)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        client.ApplicationMessageReceivedAsync += e =>
        {
            var id = e.ApplicationMessage.Topic[HelloPrefix.Length..];
            if (id != ownNodeId && Core.Failover.NodeIds.IsValid(id))
            {
                lock (seen)
                {
                    seen.Add(id);
                }
            }

            return Task.CompletedTask;
        };

        try
        {
            await client.ConnectAsync(endpoint.Builder($"discover-{ownNodeId}", options).Build(), cancellationToken);
            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(HelloPrefix + "+", MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken);
            await Task.Delay(listen, cancellationToken); // retained hellos arrive right after SUBACK
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested
            && e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or TimeoutException)
        {
            // A slow SUBACK (the operation timeout is short) is as much "not reachable" as a refused connect.
            throw new InvalidOperationException($"peer broker {endpoint} is not reachable: {e.Message}", e);
        }

        try
        {
            await client.DisconnectAsync(cancellationToken: cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested
            && e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or TimeoutException)
        {
            // The hellos are in hand; a lost DISCONNECT only leaves the broker to notice the closed socket.
        }

        lock (seen)
        {
            return seen.Count switch
            {
                1 => seen.Single(),
                0 => throw new InvalidOperationException($"no appliance agent announces itself on {endpoint}: is the peer's agent running and its broker reachable?"),
                _ => throw new InvalidOperationException($"several agents announce themselves on {endpoint} ({string.Join(", ", seen.Order())}): pair through the peer's own broker"),
            };
        }
    }
}

/// <summary>An endpoint to open short-lived clients on (the link's credentials and TLS handling, no will).</summary>
public sealed class MqttPathCredentialsFactory : IDisposable
{
    private readonly MqttPathCredentials _credentials;
    private readonly string _display;

    private MqttPathCredentialsFactory(MqttPathEndpoint endpoint)
    {
        _credentials = new MqttPathCredentials(endpoint);
        _display = endpoint.ToString();
    }

    public static MqttPathCredentialsFactory Own(MqttLinkOptions options) =>
        new(new MqttPathEndpoint(MqttPathEndpoint.LocalPathName, MqttPathEndpoint.LocalHost(options.EmbeddedBroker), options.EmbeddedBroker.Port, new MqttClientTlsFileOptions(), null, null));

    public static MqttPathCredentialsFactory Peer(MqttLinkOptions options) =>
        new(new MqttPathEndpoint(MqttPathEndpoint.PeerPathName, options.PeerBroker.Host, options.PeerBroker.Port, options.PeerBroker.Tls, options.PeerBroker.Username, options.PeerBroker.PasswordFile));

    public static IEnumerable<MqttPathCredentialsFactory> External(MqttLinkOptions options) =>
        options.ExternalBrokers.Select((b, i) => new MqttPathCredentialsFactory(new MqttPathEndpoint(b.EffectiveName(i), b.Host, b.Port, b.Tls, b.Username, b.PasswordFile)));

    internal MqttClientOptionsBuilder Builder(string clientId, MqttLinkOptions options) => _credentials.CreateBuilder(clientId, options);

    public override string ToString() => _display;

    public void Dispose() => _credentials.Dispose();
}
