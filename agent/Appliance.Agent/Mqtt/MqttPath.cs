using System.Buffers;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading.Channels;
using Appliance.Core.Ports;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;

namespace Appliance.Agent.Mqtt;

/// <summary>
/// One broker connection of the link, supervised by its own timer loop. MQTTnet 5's connected flag
/// and DisconnectedAsync are not trusted (issues #2248, #2244: swallowed keep-alive timeouts), so
/// the loop pings on every tick and replaces the client when a ping, publish or connect fails.
/// Reconnecting never happens inside DisconnectedAsync (MQTTnet samples: deadlock risk).
/// </summary>
internal sealed class MqttPath : IMqttLinkPath
{
    private readonly MqttPathEndpoint _endpoint;
    private readonly MqttPathCredentials _credentials;
    private readonly MqttLinkOptions _options;
    private readonly MqttTopics _topics;
    private readonly string _clientId;
    private readonly MqttPathHooks _hooks;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    // Serialises connect, teardown and the planned disconnect; publishes never take it.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stopLoop = new();
    private volatile Connection? _connection;
    private Func<long, ReadOnlyMemory<byte>>? _willPayload;
    private Task _loop = Task.CompletedTask;
    private long _generation;
    private long _lastCheckedAliveUnixMs;
    private int _successfulConnects;
    private int _disposed;
    private volatile string? _lastError;

    public MqttPath(MqttPathEndpoint endpoint, MqttLinkOptions options, MqttTopics topics, MqttPathHooks hooks, ILogger logger, TimeProvider time)
    {
        _endpoint = endpoint;
        _credentials = new MqttPathCredentials(endpoint);
        _options = options;
        _topics = topics;
        _clientId = $"{options.PairId}.{options.NodeId}.{endpoint.Name}";
        _hooks = hooks;
        _logger = logger;
        _time = time;
    }

    public string Name => _endpoint.Name;

    public MqttPathStatus Status
    {
        get
        {
            var connection = _connection;
            var lastAlive = Interlocked.Read(ref _lastCheckedAliveUnixMs);
            return new MqttPathStatus(
                _endpoint.Name,
                _endpoint.ToString(),
                connection is { IsBroken: false },
                connection?.Generation ?? Interlocked.Read(ref _generation),
                lastAlive == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(lastAlive),
                Math.Max(0, Volatile.Read(ref _successfulConnects) - 1),
                _lastError);
        }
    }

    /// <summary>First connect attempt (bounded by ConnectTimeout), then the supervision loop takes over.</summary>
    public async Task StartAsync(Func<long, ReadOnlyMemory<byte>> willPayload, CancellationToken cancellationToken)
    {
        _willPayload = willPayload;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await ConnectAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();

            // Even if this first attempt threw, the loop keeps retrying until DisposeAsync.
            _loop = SuperviseAsync(_stopLoop.Token);
        }
    }

    /// <summary>Publishes on this path if it is up; false when skipped or failed (never waits past OperationTimeout).</summary>
    public async Task<bool> TryPublishAsync(PeerChannel channel, byte[] payload, CancellationToken cancellationToken)
    {
        var connection = _connection;
        if (connection is null || connection.IsBroken)
        {
            return false;
        }

        var message = new MqttApplicationMessageBuilder()
            .WithTopic(_topics.Own(channel))
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttTopics.QualityOfService(channel))
            .WithRetainFlag(MqttTopics.Retain(channel))
            .Build();
        using var timeout = new CancellationTokenSource(_options.OperationTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var result = await connection.Client.PublishAsync(message, linked.Token);
            connection.MarkSent(_time.GetTimestamp());
            if (result.IsSuccess)
            {
                return true;
            }

            // The broker answered (e.g. ACL refusal): the path is alive, the message was not accepted.
            MqttLinkLog.PublishFailed(_logger, Name, channel, $"broker answered {result.ReasonCode}");
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            connection.MarkBroken($"publish not acknowledged within {_options.OperationTimeout.TotalMilliseconds:0} ms");
        }
        catch (Exception ex) when (IsConnectionFault(ex))
        {
            connection.MarkBroken(ex.Message);
        }

        MqttLinkLog.PublishFailed(_logger, Name, channel, connection.BrokenReason ?? "connection lost");
        return false;
    }

    /// <summary>
    /// Planned shutdown of this path: stop supervising, publish the caller's offline state (retained),
    /// then DISCONNECT with reason 0 so the broker discards the will [MQTT-3.1.2-8].
    /// </summary>
    public async Task DisconnectGracefullyAsync(byte[] offlineState, CancellationToken cancellationToken)
    {
        await StopLoopAsync();
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var connection = _connection;
            if (connection is null)
            {
                return;
            }

            if (!await TryPublishAsync(PeerChannel.State, offlineState, cancellationToken))
            {
                // Without the explicit offline state, letting the will fire is the honest signal.
                MqttLinkLog.GracefulDisconnectFailed(_logger, Name, "offline state not acknowledged; leaving the will to the broker");
                TearDown(connection);
                return;
            }

            using var timeout = new CancellationTokenSource(_options.OperationTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            try
            {
                await connection.Client.DisconnectAsync(
                    new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(),
                    linked.Token);
                MqttLinkLog.PathDisconnectedGracefully(_logger, Name);
            }
            catch (Exception ex) when (ex is OperationCanceledException || IsConnectionFault(ex))
            {
                MqttLinkLog.GracefulDisconnectFailed(_logger, Name, ex.Message);
            }

            TearDown(connection);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Abrupt close: the socket is dropped without DISCONNECT, so the broker publishes the will.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopLoopAsync();
        await _gate.WaitAsync();
        try
        {
            if (_connection is { } connection)
            {
                TearDown(connection);
            }
        }
        finally
        {
            _gate.Release();
        }

        _credentials.Dispose();
        _stopLoop.Dispose();
        _gate.Dispose();
    }

    private async Task StopLoopAsync()
    {
        if (!_stopLoop.IsCancellationRequested)
        {
            await _stopLoop.CancelAsync();
        }

        await _loop;
    }

    private async Task SuperviseAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_options.ReconnectInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                await _gate.WaitAsync(stop);
                try
                {
                    await SuperviseOnceAsync(stop);
                }
#pragma warning disable CA1031 // The loop is the path's only way back; one bad tick must not end it.
                catch (Exception ex) when (!stop.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    _lastError = $"supervision error: {ex.GetType().Name}: {ex.Message}";
                    MqttLinkLog.SupervisionFailed(_logger, Name, ex);
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped by DisposeAsync or the planned disconnect.
        }
    }

    private async Task SuperviseOnceAsync(CancellationToken stop)
    {
        if (_connection is { } connection)
        {
            var reason = connection.BrokenReason;
            if (reason is null && !connection.Client.IsConnected)
            {
                // A false flag is trustworthy; only a true one is not (hence the ping below).
                reason = "client reports disconnected";
            }

            if (reason is null)
            {
                // Traffic both ways within the interval proves the connection alive as well as a PINGREQ/PINGRESP
                // would and spares both agents that round trip. A side that only listens still pings: the broker's
                // keep-alive must hear from us, and MQTTnet's own keep-alive ping leaves a thin margin under load.
                if ((_time.GetElapsedTime(connection.LastHeardTimestamp) < _options.ReconnectInterval
                        && _time.GetElapsedTime(connection.LastSentTimestamp) < _options.ReconnectInterval)
                    || await PingAsync(connection, stop))
                {
                    Interlocked.Exchange(ref _lastCheckedAliveUnixMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
                    return;
                }

                reason = $"no PINGRESP within {_options.OperationTimeout.TotalMilliseconds:0} ms";
            }

            _lastError = reason;
            MqttLinkLog.PathLost(_logger, Name, _endpoint, reason);
            TearDown(connection);
            _hooks.Lost(Name, connection.Generation);
        }

        await ConnectAsync(stop);
    }

    private async Task<bool> PingAsync(Connection connection, CancellationToken stop)
    {
        using var timeout = new CancellationTokenSource(_options.OperationTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, timeout.Token);
        try
        {
            return await connection.Client.TryPingAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// One CONNECT with a fresh client and a fresh will generation; subscribes to the peer's topics
    /// before the path counts as up, so nothing published after StartAsync can miss a reply.
    /// </summary>
    private async Task<bool> ConnectAsync(CancellationToken cancellationToken)
    {
        // Every connection gets its own generation (Sparkplug bdSeq), also across paths: the engine announces the
        // live ones, so a will is matched to exactly one connection (a shared start generation let a late will
        // from a replaced connection pass as the other path's current one).
        var generation = _hooks.NextGeneration();
        Interlocked.Exchange(ref _generation, generation);
        var will = _willPayload!(generation).ToArray();
        MqttClientOptions clientOptions;
        try
        {
            clientOptions = _credentials.BuildClientOptions(_clientId, _topics.Own(PeerChannel.State), will, _options);
        }
        catch (InvalidOperationException ex)
        {
            RecordConnectFailure(ex.Message);
            return false;
        }

        var client = new MqttClientFactory().CreateMqttClient();
        var connection = new Connection(client, generation);
        client.ApplicationMessageReceivedAsync += e =>
        {
            connection.MarkHeard(_time.GetTimestamp());
            return OnMessageReceived(e);
        };
        client.DisconnectedAsync += e =>
        {
            // Only flag it and tell the engine (a lost path is no longer evidence the peer is alive);
            // the supervision loop reconnects on its next tick.
            connection.MarkBroken($"disconnected ({e.Reason})");
            if (e.ClientWasConnected)
            {
                _hooks.Lost(Name, connection.Generation);
            }

            return Task.CompletedTask;
        };

        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var result = await client.ConnectAsync(clientOptions, linked.Token);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                var refusal = $"broker refused: {result.ResultCode}";
                if (_lastError != refusal)
                {
                    MqttLinkLog.PathRefused(_logger, Name, _endpoint, result.ResultCode, result.ReasonString);
                }

                _lastError = refusal;
                client.Dispose();
                return false;
            }

            await SubscribeToPeerAsync(client, linked.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested || IsConnectionFault(ex))
        {
            client.Dispose();
            RecordConnectFailure(ex is OperationCanceledException
                ? $"no CONNACK/SUBACK within {_options.ConnectTimeout.TotalMilliseconds:0} ms"
                : Describe(ex));
            return false;
        }
        catch
        {
            client.Dispose();
            throw;
        }

        _connection = connection;
        _lastError = null;
        Interlocked.Exchange(ref _lastCheckedAliveUnixMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
        var connects = Interlocked.Increment(ref _successfulConnects);
        MqttLinkLog.PathConnected(_logger, Name, _endpoint, _clientId, generation);
        if (connects > 1 && _hooks.LastState() is { } lastState)
        {
            // Our will has just replaced the retained state on this broker; restore what we last said.
            await TryPublishAsync(PeerChannel.State, lastState, cancellationToken);
        }

        _hooks.Connected(Status);
        return true;
    }

    private async Task SubscribeToPeerAsync(IMqttClient client, CancellationToken cancellationToken)
    {
        var subscribe = new MqttClientSubscribeOptionsBuilder();
        foreach (var channel in MqttTopics.Channels)
        {
            subscribe.WithTopicFilter(f => f.WithTopic(_topics.Peer(channel)).WithQualityOfServiceLevel(MqttTopics.QualityOfService(channel)));
        }

        var result = await client.SubscribeAsync(subscribe.Build(), cancellationToken);
        var refused = result.Items.Where(i => (int)i.ResultCode > (int)MqttClientSubscribeResultCode.GrantedQoS2).ToList();
        if (refused.Count > 0)
        {
            throw new MqttCommunicationException(
                "broker refused subscription: " + string.Join(", ", refused.Select(i => $"{i.TopicFilter.Topic} {i.ResultCode}")));
        }
    }

    private Task OnMessageReceived(MqttApplicationMessageReceivedEventArgs e)
    {
        if (_topics.TryGetPeerChannel(e.ApplicationMessage.Topic, out var channel))
        {
            // The payload buffer belongs to MQTTnet and is reused after this handler returns.
            _hooks.Incoming.TryWrite(new PeerFrame(channel, Name, e.ApplicationMessage.Payload.ToArray()));
        }

        return Task.CompletedTask;
    }

    private void RecordConnectFailure(string reason)
    {
        if (_lastError == reason)
        {
            MqttLinkLog.PathStillFailing(_logger, Name, _endpoint, reason);
        }
        else
        {
            MqttLinkLog.PathConnectFailed(_logger, Name, _endpoint, reason);
        }

        _lastError = reason;
    }

    /// <summary>Drops the client without DISCONNECT (the broker then publishes this generation's will).</summary>
    private void TearDown(Connection connection)
    {
        connection.MarkBroken("closed by the link");
        if (ReferenceEquals(_connection, connection))
        {
            _connection = null;
        }

        connection.Client.Dispose();
    }

    private static bool IsConnectionFault(Exception ex) =>
        ex is MqttCommunicationException or SocketException or IOException or AuthenticationException or ObjectDisposedException;

    private static string Describe(Exception ex)
    {
        var innermost = ex;
        while (innermost.InnerException is { } inner)
        {
            innermost = inner;
        }

        return ReferenceEquals(innermost, ex) ? ex.Message : $"{ex.Message} ({innermost.Message})";
    }

    private sealed class Connection(IMqttClient client, long generation)
    {
        private volatile string? _brokenReason;

        public IMqttClient Client { get; } = client;

        public long Generation { get; } = generation;

        public string? BrokenReason => _brokenReason;

        public bool IsBroken => _brokenReason is not null;

        public void MarkBroken(string reason) => Interlocked.CompareExchange(ref _brokenReason, reason, null);

        /// <summary>When a message last arrived on this connection (a TimeProvider timestamp; 0 = never).</summary>
        public long LastHeardTimestamp => Interlocked.Read(ref _lastHeardTimestamp);

        /// <summary>When a publish on this connection last completed (a TimeProvider timestamp; 0 = never).</summary>
        public long LastSentTimestamp => Interlocked.Read(ref _lastSentTimestamp);

        public void MarkHeard(long timestamp) => Interlocked.Exchange(ref _lastHeardTimestamp, timestamp);

        public void MarkSent(long timestamp) => Interlocked.Exchange(ref _lastSentTimestamp, timestamp);

        private long _lastHeardTimestamp;
        private long _lastSentTimestamp;
    }
}

/// <summary>What a path needs from its link: shared generation counter, incoming queue, last state, events.</summary>
internal sealed record MqttPathHooks(
    Func<long> NextGeneration,
    ChannelWriter<PeerFrame> Incoming,
    Func<byte[]?> LastState,
    Action<MqttPathStatus> Connected,
    Action<string, long> Lost);
