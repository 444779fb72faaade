namespace Appliance.Agent.Mqtt;

/// <summary>
/// Snapshot of one broker path for the status API.
/// <paramref name="Generation"/> is the will generation of the current (or last attempted) CONNECT;
/// <paramref name="ReconnectCount"/> counts successful connects after the first;
/// <paramref name="LastCheckedAlive"/> is when supervision last found the connection alive (messages both ways, or a PINGRESP);
/// <paramref name="LastError"/> is a one-line reason without secrets, or null.
/// </summary>
public sealed record MqttPathStatus(
    string Name,
    string Endpoint,
    bool Connected,
    long Generation,
    DateTimeOffset? LastCheckedAlive,
    int ReconnectCount,
    string? LastError);
