using System.Buffers;
using Appliance.Core.Ports;
using Microsoft.Extensions.Logging;

namespace Appliance.Agent.Mqtt;

/// <summary>
/// The "local" path in embedded mode: this agent's own broker used in-process. Publishing injects into the
/// broker and the peer's publishes (and its wills) are taken as the broker accepts them, so a heartbeat costs
/// no loopback socket hops (four per message through a client of our own broker: a third of the agent's thread
/// wake-ups at 10 Hz). A will on this path would be moot: the process that could die is the broker's own. Up
/// while the broker runs; a broker restart is a reconnect (new generation, our retained state published again).
/// </summary>
internal sealed class EmbeddedBrokerPath : IMqttLinkPath
{
    private readonly EmbeddedMqttBroker _broker;
    private readonly MqttTopics _topics;
    private readonly MqttPathHooks _hooks;
    private readonly ILogger _logger;
    private readonly string _clientId;
    private readonly Lock _sync = new();
    private Task _attaching = Task.CompletedTask;
    private long _generation;
    private int _attachments;
    private bool _attached;
    private bool _closed;

    public EmbeddedBrokerPath(EmbeddedMqttBroker broker, MqttLinkOptions options, MqttTopics topics, MqttPathHooks hooks, ILogger logger)
    {
        _broker = broker;
        _topics = topics;
        _hooks = hooks;
        _logger = logger;
        _clientId = $"{options.PairId}.{options.NodeId}.{Name}";
    }

    public string Name => MqttPathEndpoint.LocalPathName;

    /// <summary>LastCheckedAlive stays null: there is no connection to check, the path is up exactly while the broker runs.</summary>
    public MqttPathStatus Status
    {
        get
        {
            lock (_sync)
            {
                var up = _attached && _broker.IsRunning;
                return new MqttPathStatus(
                    Name,
                    $"{Name} (in-process, embedded broker {_broker.ListenerDescription})",
                    up,
                    _generation,
                    null,
                    Math.Max(0, _attachments - 1),
                    up ? null : _closed ? "closed by the link" : "embedded broker not running");
            }
        }
    }

    /// <summary>Takes the broker's messages from now on; up at once if the broker runs (the will is not used here).</summary>
    public Task StartAsync(Func<long, ReadOnlyMemory<byte>> willPayload, CancellationToken cancellationToken)
    {
        _broker.MessagePublished += OnMessagePublished;
        _broker.RunningChanged += OnRunningChanged;
        return _broker.IsRunning ? AttachAsync() : Task.CompletedTask;
    }

    public async Task<bool> TryPublishAsync(PeerChannel channel, byte[] payload, CancellationToken cancellationToken)
    {
        if (!Volatile.Read(ref _attached))
        {
            return false;
        }

        return await _broker.PublishAsync(
            _clientId, _topics.Own(channel), payload, MqttTopics.QualityOfService(channel), MqttTopics.Retain(channel), cancellationToken);
    }

    /// <summary>Leaves the offline state retained on the broker for the peer, then stops taking messages.</summary>
    public async Task DisconnectGracefullyAsync(byte[] offlineState, CancellationToken cancellationToken)
    {
        if (!await TryPublishAsync(PeerChannel.State, offlineState, cancellationToken))
        {
            MqttLinkLog.GracefulDisconnectFailed(_logger, Name, "the embedded broker is not running");
        }

        await DetachAsync();
    }

    public ValueTask DisposeAsync() => new(DetachAsync());

    private async Task DetachAsync()
    {
        _broker.MessagePublished -= OnMessagePublished;
        _broker.RunningChanged -= OnRunningChanged;
        Task attaching;
        lock (_sync)
        {
            _closed = true;
            _attached = false;
            attaching = _attaching;
        }

        await attaching;
    }

    private void OnRunningChanged(bool running)
    {
        if (running)
        {
            var attaching = AttachAsync();
            lock (_sync)
            {
                _attaching = attaching;
            }

            return;
        }

        long generation;
        lock (_sync)
        {
            if (!_attached)
            {
                return;
            }

            _attached = false;
            generation = _generation;
        }

        MqttLinkLog.LocalPathLost(_logger, Name);
        _hooks.Lost(Name, generation);
    }

    private async Task AttachAsync()
    {
        int attachments;
        long generation;
        lock (_sync)
        {
            if (_attached || _closed)
            {
                return;
            }

            _attached = true;
            generation = _generation = _hooks.NextGeneration();
            attachments = ++_attachments;
        }

        // What a subscriber gets on SUBSCRIBE: the peer's last retained state (or its will).
        if (await _broker.RetainedPayloadAsync(_topics.Peer(PeerChannel.State)) is { } retained)
        {
            _hooks.Incoming.TryWrite(new PeerFrame(PeerChannel.State, Name, retained));
        }

        if (attachments > 1 && _hooks.LastState() is { } lastState)
        {
            // A restarted broker starts empty: retain what we last said again.
            await TryPublishAsync(PeerChannel.State, lastState, CancellationToken.None);
        }

        MqttLinkLog.LocalPathAttached(_logger, Name, _broker.ListenerDescription, generation);
        _hooks.Connected(Status);
    }

    private void OnMessagePublished(string topic, ReadOnlySequence<byte> payload)
    {
        if (Volatile.Read(ref _attached) && _topics.TryGetPeerChannel(topic, out var channel))
        {
            // The payload buffer belongs to MQTTnet and is reused after this handler returns.
            _hooks.Incoming.TryWrite(new PeerFrame(channel, Name, payload.ToArray()));
        }
    }
}
