using Appliance.Core.Ports;
using Microsoft.Extensions.Logging;

namespace Appliance.Agent.Mqtt;

/// <summary>Source-generated log messages of the MQTT link and embedded broker. Never payloads or secrets.</summary>
internal static partial class MqttLinkLog
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "MQTT path {Path} connected to {Endpoint} as {ClientId}, will generation {Generation}")]
    public static partial void PathConnected(ILogger logger, string path, MqttPathEndpoint endpoint, string clientId, long generation);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "MQTT path {Path} to {Endpoint} failed to connect: {Reason}")]
    public static partial void PathConnectFailed(ILogger logger, string path, MqttPathEndpoint endpoint, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Debug, Message = "MQTT path {Path} to {Endpoint} still failing: {Reason}")]
    public static partial void PathStillFailing(ILogger logger, string path, MqttPathEndpoint endpoint, string reason);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Error, Message = "MQTT path {Path}: broker {Endpoint} refused the connection: {ResultCode} {ReasonString}")]
    public static partial void PathRefused(ILogger logger, string path, MqttPathEndpoint endpoint, MQTTnet.MqttClientConnectResultCode resultCode, string? reasonString);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "MQTT path {Path} to {Endpoint} is down: {Reason}; reconnecting")]
    public static partial void PathLost(ILogger logger, string path, MqttPathEndpoint endpoint, string reason);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "MQTT path {Path}: publish on {Channel} did not complete: {Reason}")]
    public static partial void PublishFailed(ILogger logger, string path, PeerChannel channel, string reason);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Information, Message = "MQTT path {Path}: offline state published, disconnected cleanly (will suppressed)")]
    public static partial void PathDisconnectedGracefully(ILogger logger, string path);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Warning, Message = "MQTT path {Path}: planned disconnect incomplete: {Reason}")]
    public static partial void GracefulDisconnectFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3108, Level = LogLevel.Warning, Message = "MQTT link: incoming queue full, dropped the oldest {Channel} frame from path {Path}")]
    public static partial void IncomingFrameDropped(ILogger logger, PeerChannel channel, string path);

    [LoggerMessage(EventId = 3109, Level = LogLevel.Error, Message = "MQTT path {Path}: PathConnected handler failed")]
    public static partial void PathConnectedHandlerFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Error, Message = "MQTT path {Path}: supervision tick failed; retrying on the next tick")]
    public static partial void SupervisionFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Information, Message = "MQTT path {Path} uses the embedded broker ({Listeners}) in-process, generation {Generation}")]
    public static partial void LocalPathAttached(ILogger logger, string path, string listeners, long generation);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Warning, Message = "MQTT path {Path} is down: the embedded broker stopped; up again when it restarts")]
    public static partial void LocalPathLost(ILogger logger, string path);

    [LoggerMessage(EventId = 3120, Level = LogLevel.Information, Message = "Embedded MQTT broker listening on {Endpoints}")]
    public static partial void BrokerStarted(ILogger logger, EmbeddedBrokerEndpoints endpoints);

    [LoggerMessage(EventId = 3121, Level = LogLevel.Information, Message = "Embedded MQTT broker stopped")]
    public static partial void BrokerStopped(ILogger logger);

    [LoggerMessage(EventId = 3122, Level = LogLevel.Information, Message = "Embedded MQTT broker: client {ClientId} connected from {RemoteEndPoint}")]
    public static partial void BrokerClientConnected(ILogger logger, string clientId, System.Net.EndPoint? remoteEndPoint);

    [LoggerMessage(EventId = 3123, Level = LogLevel.Information, Message = "Embedded MQTT broker: client {ClientId} disconnected ({DisconnectType})")]
    public static partial void BrokerClientDisconnected(ILogger logger, string clientId, MQTTnet.Server.MqttClientDisconnectType disconnectType);
}
