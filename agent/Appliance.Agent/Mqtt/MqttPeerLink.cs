using System.Threading.Channels;
using Appliance.Core.Ports;
using Microsoft.Extensions.Logging;

namespace Appliance.Agent.Mqtt;

/// <summary>
/// <see cref="IPeerLink"/> over MQTT: one path per broker (embedded mode: the own broker in-process and
/// a client of the peer's), publishing on every path and subscribing on every path, so losing one path
/// is not a failover. Frames from all paths share one bounded queue; duplicates across paths are expected
/// and dropped by the codec's sequence check. Payloads are opaque signed bytes, never logged.
/// </summary>
public sealed class MqttPeerLink : IPeerLink
{
    private readonly ILogger<MqttPeerLink> _logger;
    private readonly Channel<PeerFrame> _incoming;
    private readonly List<IMqttLinkPath> _paths = [];
    private long _generation;
    private long _droppedFrames;
    private volatile byte[]? _lastState;
    private Func<long, ReadOnlyMemory<byte>>? _willPayload;
    private int _started;
    private int _disposed;

    /// <param name="options">The link's options.</param>
    /// <param name="ownBroker">This agent's embedded broker (started by its owner); required when the options enable it.</param>
    /// <param name="logger">Log of the link and its paths.</param>
    /// <param name="timeProvider">Timeouts and the paths' supervision.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public MqttPeerLink(MqttLinkOptions options, EmbeddedMqttBroker? ownBroker, ILogger<MqttPeerLink> logger, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate().ToList();
        if (options.EmbeddedBroker.Enabled && ownBroker is null)
        {
            errors.Add($"{MqttLinkOptions.SectionName}:EmbeddedBroker:Enabled is true but no embedded broker was given to the link.");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid MQTT link options: " + string.Join(" ", errors), nameof(options));
        }

        _logger = logger;
        _incoming = Channel.CreateBounded<PeerFrame>(
            // The engine's pump only moves a frame to its own queue: running it inline on MQTTnet's receive
            // thread saves a thread hop per frame (two frames per heartbeat period at 10 Hz).
            new BoundedChannelOptions(options.IncomingCapacity) { FullMode = BoundedChannelFullMode.DropOldest, AllowSynchronousContinuations = true },
            OnFrameDropped);
        var topics = new MqttTopics(options.PairId, options.NodeId, options.PeerNodeId);
        var hooks = new MqttPathHooks(
            () => Interlocked.Increment(ref _generation),
            _incoming.Writer,
            () => _lastState,
            OnPathConnected,
            (name, generation) => PathLost?.Invoke(name, generation));
        if (options.EmbeddedBroker.Enabled)
        {
            _paths.Add(new EmbeddedBrokerPath(ownBroker!, options, topics, hooks, logger));
        }

        foreach (var endpoint in MqttPathEndpoint.FromOptions(options))
        {
            _paths.Add(new MqttPath(endpoint, options, topics, hooks, logger, timeProvider));
        }
    }

    public ChannelReader<PeerFrame> Incoming => _incoming.Reader;

    /// <summary>Raised (on the path's supervision loop) after a path connected and subscribed, e.g. to re-announce state.</summary>
    public event Action<MqttPathStatus>? PathConnected;

    /// <summary>
    /// Raised with the path's name and the lost connection's will generation when a connected path is found
    /// dead (the broker closed it, or a ping failed), possibly late and twice for one connection. Handlers run
    /// on MQTTnet's or the supervision loop's thread: they must only queue work.
    /// </summary>
    public event Action<string, long>? PathLost;

    /// <summary>The most recent will generation issued to any path (0 before the first CONNECT).</summary>
    public long CurrentGeneration => Interlocked.Read(ref _generation);

    /// <summary>Frames dropped because the incoming queue was full.</summary>
    public long DroppedIncomingFrames => Interlocked.Read(ref _droppedFrames);

    public IReadOnlyList<MqttPathStatus> GetPathStatus() => _paths.Select(p => p.Status).ToList();

    /// <summary>
    /// Connects every path concurrently (each bounded by ConnectTimeout) and returns once the paths
    /// that connected have subscribed; paths that did not are retried by their supervision loops.
    /// </summary>
    public async Task StartAsync(Func<long, ReadOnlyMemory<byte>> willPayload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(willPayload);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("the MQTT link is already started");
        }

        _willPayload = willPayload;
        await Task.WhenAll(_paths.Select(p => p.StartAsync(willPayload, cancellationToken)));
    }

    public async ValueTask PublishAsync(PeerChannel channel, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        // A private copy: a timed-out publish may still be queued inside MQTTnet after we return.
        var bytes = payload.ToArray();
        if (channel == PeerChannel.State)
        {
            _lastState = bytes;
        }

        await Task.WhenAll(_paths.Select(p => p.TryPublishAsync(channel, bytes, cancellationToken)));
    }

    /// <summary>
    /// Planned shutdown: on every connected path, publish <paramref name="offlineState"/> (retained)
    /// and DISCONNECT cleanly, which suppresses the will. Afterwards the link stays down.
    /// </summary>
    public async Task DisconnectGracefullyAsync(ReadOnlyMemory<byte> offlineState, CancellationToken cancellationToken)
    {
        var bytes = offlineState.ToArray();
        _lastState = bytes;
        await Task.WhenAll(_paths.Select(p => p.DisconnectGracefullyAsync(bytes, cancellationToken)));
    }

    /// <summary>
    /// Planned shutdown with the offline state the wills carry, built now for the newest generation: signed
    /// by the will's builder and current for every path's connection, so the peer takes it as it would the
    /// will. Nothing happens before <see cref="StartAsync"/> or when the builder has nothing to sign with (an
    /// empty retained payload would only delete the state).
    /// </summary>
    public Task DisconnectGracefullyAsync(CancellationToken cancellationToken)
    {
        ReadOnlyMemory<byte> offlineState = _willPayload?.Invoke(CurrentGeneration) ?? ReadOnlyMemory<byte>.Empty;
        return offlineState.IsEmpty ? Task.CompletedTask : DisconnectGracefullyAsync(offlineState, cancellationToken);
    }

    /// <summary>Abrupt close (no DISCONNECT): brokers publish the wills, as after a crash.</summary>
    public async ValueTask DisposeAsync()
    {
        // DI may hold this instance under two registrations (itself and IPeerLink).
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var path in _paths)
        {
            await path.DisposeAsync();
        }

        _incoming.Writer.TryComplete();
    }

    private void OnFrameDropped(PeerFrame frame)
    {
        Interlocked.Increment(ref _droppedFrames);
        MqttLinkLog.IncomingFrameDropped(_logger, frame.Channel, frame.PathName);
    }

    private void OnPathConnected(MqttPathStatus status)
    {
        try
        {
            PathConnected?.Invoke(status);
        }
#pragma warning disable CA1031 // A subscriber's bug must not stop the path's supervision loop.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            MqttLinkLog.PathConnectedHandlerFailed(_logger, status.Name, ex);
        }
    }
}
