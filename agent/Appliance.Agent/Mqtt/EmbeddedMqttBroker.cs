using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Appliance.Agent.Mqtt;

/// <summary>
/// The in-process MQTT broker each agent hosts, so a pair needs no external parts. The peer's link
/// connects to it; this agent's own link uses it in-process (<see cref="PublishAsync"/>,
/// <see cref="MessagePublished"/>), without a socket. Restartable on the same port.
/// </summary>
public sealed class EmbeddedMqttBroker : IHostedService, IAsyncDisposable
{
    private readonly EmbeddedBrokerOptions _options;
    private readonly ILogger<EmbeddedMqttBroker> _logger;
    private readonly EmbeddedBrokerEndpoints _endpoints;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private MqttServer? _server;
    private X509Certificate2? _serverCertificate;
    private int _disposed;

    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public EmbeddedMqttBroker(EmbeddedBrokerOptions options, ILogger<EmbeddedMqttBroker> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Enabled)
        {
            options.Validate(errors, $"{MqttLinkOptions.SectionName}:EmbeddedBroker");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid embedded broker options: " + string.Join(" ", errors), nameof(options));
        }

        _options = options;
        _logger = logger;
        _endpoints = new EmbeddedBrokerEndpoints(options);
    }

    public bool IsRunning => _server?.IsStarted == true;

    /// <summary>Where it listens, for status lines: "127.0.0.1:1883 (plain)".</summary>
    public string ListenerDescription => _endpoints.ToString();

    /// <summary>
    /// Every message the broker accepts (client publishes, wills and <see cref="PublishAsync"/>'s own), with topic and
    /// payload, on the broker's receive thread before it is forwarded; a retained one once it is stored (and only if it
    /// changed the store), so a reader that subscribes and then reads <see cref="RetainedPayloadAsync"/> misses none.
    /// The payload is valid only during the call; handlers must copy what they keep and only queue work. Not raised
    /// once a stop has begun (wills the stop itself causes are the broker going away, not their senders).
    /// </summary>
    public event Action<string, ReadOnlySequence<byte>>? MessagePublished;

    /// <summary>Raised with true after the broker started and with false as a stop begins (before clients are dropped).</summary>
    public event Action<bool>? RunningChanged;

    /// <summary>
    /// Publishes as if a client had, to every subscriber and the retained store, without a socket: this agent's own
    /// path to its broker. False when the broker is not running (nothing published).
    /// </summary>
    public async Task<bool> PublishAsync(
        string senderClientId, string topic, byte[] payload, MqttQualityOfServiceLevel qualityOfService, bool retain, CancellationToken cancellationToken)
    {
        if (_server is not { IsStarted: true } server)
        {
            return false;
        }

        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(qualityOfService)
            .WithRetainFlag(retain)
            .Build();
        try
        {
            await server.InjectApplicationMessage(new InjectedMqttApplicationMessage(message) { SenderClientId = senderClientId }, cancellationToken);
            return true;
        }
        catch (Exception ex) when (StoppedMeanwhile(ex, server))
        {
            return false;
        }
    }

    /// <summary>The retained message's payload on <paramref name="topic"/>, or null (none, or the broker is not running).</summary>
    public async Task<byte[]?> RetainedPayloadAsync(string topic)
    {
        if (_server is not { IsStarted: true } server)
        {
            return null;
        }

        try
        {
            var retained = await server.GetRetainedMessageAsync(topic);
            return retained?.Payload.ToArray();
        }
        catch (Exception ex) when (StoppedMeanwhile(ex, server))
        {
            return null;
        }
    }

    /// <summary>The server was stopped (or replaced) between the caller's running check and its call into it.</summary>
    private bool StoppedMeanwhile(Exception ex, MqttServer server) =>
        (ex is InvalidOperationException or ObjectDisposedException) && !ReferenceEquals(_server, server);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_server is not null)
            {
                return;
            }

            var server = new MqttServerFactory().CreateMqttServer(BuildServerOptions());
            server.ClientConnectedAsync += e =>
            {
                MqttLinkLog.BrokerClientConnected(_logger, e.ClientId, e.RemoteEndPoint);
                return Task.CompletedTask;
            };
            server.ClientDisconnectedAsync += e =>
            {
                MqttLinkLog.BrokerClientDisconnected(_logger, e.ClientId, e.DisconnectType);
                return Task.CompletedTask;
            };
            // A stopping or replaced server's late wills are not news: the broker went away, not their senders.
            server.InterceptingPublishAsync += e =>
            {
                if (ReferenceEquals(_server, server) && !e.ApplicationMessage.Retain && e.ApplicationMessage.Topic is { } topic)
                {
                    MessagePublished?.Invoke(topic, e.ApplicationMessage.Payload);
                }

                return Task.CompletedTask;
            };
            server.RetainedMessageChangedAsync += e =>
            {
                if (ReferenceEquals(_server, server) && e.ChangedRetainedMessage is { Topic: { } topic } message)
                {
                    MessagePublished?.Invoke(topic, message.Payload);
                }

                return Task.CompletedTask;
            };
            try
            {
                await server.StartAsync();
            }
            catch
            {
                server.Dispose();
                throw;
            }

            _server = server;
            MqttLinkLog.BrokerStarted(_logger, _endpoints);
            RunningChanged?.Invoke(true);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops listening and drops every client connection (their wills fire); StartAsync may follow.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_server is not { } server)
            {
                return;
            }

            _server = null;
            RunningChanged?.Invoke(false);
            try
            {
                await server.StopAsync(new MqttServerStopOptions());
            }
            finally
            {
                server.Dispose();
                _serverCertificate?.Dispose();
                _serverCertificate = null;
            }

            MqttLinkLog.BrokerStopped(_logger);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // DI may hold this instance under two registrations (itself and IHostedService).
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync(CancellationToken.None);
        _gate.Dispose();
    }

    private MqttServerOptions BuildServerOptions()
    {
        var bind = IPAddress.Parse(_options.BindAddress);
        // No ReuseAddress: on Linux .NET turns it into SO_REUSEPORT as well, so a second broker (another agent on a
        // colliding port) bound beside this one and the kernel split the peer's connections between the two — establish
        // then saw foreign hellos. Without it a taken port fails the start (exit 4); a restart still rebinds at once,
        // as .NET sets SO_REUSEADDR on Unix listeners by itself (TIME_WAIT does not block the bind).
        var builder = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointPort(_options.Port)
            .WithPersistentSessions(false)
            .WithoutPacketFragmentation();

        // With TLS on, the plain listener serves only this agent's own loopback path.
        var (plainV4, plainV6) = _options.Tls.Enabled
            ? bind.AddressFamily == AddressFamily.InterNetworkV6 ? (IPAddress.None, IPAddress.IPv6Loopback) : (IPAddress.Loopback, IPAddress.None)
            : Listeners(bind);
        builder.WithDefaultEndpointBoundIPAddress(plainV4).WithDefaultEndpointBoundIPV6Address(plainV6);

        if (_options.Tls.Enabled)
        {
            var (tlsV4, tlsV6) = Listeners(bind);
            _serverCertificate = MqttTls.LoadCertificateWithKey(_options.Tls.CertificateFile!, _options.Tls.KeyFile!);
            builder.WithEncryptedEndpoint()
                .WithEncryptedEndpointPort(_options.Tls.Port)
                .WithEncryptedEndpointBoundIPAddress(tlsV4)
                .WithEncryptedEndpointBoundIPV6Address(tlsV6)
                .WithEncryptionCertificate(_serverCertificate)
                .WithEncryptionSslProtocol(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13);
            if (!string.IsNullOrEmpty(_options.Tls.ClientCaFile))
            {
                var roots = MqttTls.LoadCaBundle(_options.Tls.ClientCaFile);
                builder.WithClientCertificate((_, certificate, chain, errors) => MqttTls.ChainsToPinnedRoots(certificate, chain, errors, roots), checkCertificateRevocation: false);
            }
        }

        return builder.Build();
    }

    /// <summary>A wildcard address listens on both families; a specific one only on its own.</summary>
    private static (IPAddress V4, IPAddress V6) Listeners(IPAddress bind)
    {
        if (bind.Equals(IPAddress.Any) || bind.Equals(IPAddress.IPv6Any))
        {
            return (IPAddress.Any, Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.None);
        }

        return bind.AddressFamily == AddressFamily.InterNetworkV6 ? (IPAddress.None, bind) : (bind, IPAddress.None);
    }
}

/// <summary>Human-readable listener list for the startup log line (formatted only when logged).</summary>
internal sealed class EmbeddedBrokerEndpoints(EmbeddedBrokerOptions options)
{
    public override string ToString()
    {
        if (!options.Tls.Enabled)
        {
            return $"{options.BindAddress}:{options.Port} (plain)";
        }

        var clientCertificates = string.IsNullOrEmpty(options.Tls.ClientCaFile) ? "" : ", client certificate required";
        return $"loopback:{options.Port} (plain), {options.BindAddress}:{options.Tls.Port} (TLS{clientCertificates})";
    }
}
