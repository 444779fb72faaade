using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Appliance.Core.Failover;
using Appliance.Core.Ports;

namespace Appliance.Core.Api;

/// <summary>The load balancers' U-Series probe body: <c>{"Role":"Active"}</c>. Member name is fixed by existing LBs.</summary>
public sealed record HighAvailabilityRole(
    [property: JsonPropertyName("Role")] string Role);

/// <summary>Full status for technicians and automation (<c>GET /api/v1/status</c>).</summary>
public sealed record AgentStatus(
    string NodeId,
    string NodeName,
    long BootCount,
    string Version,
    HaRole Role,
    long Epoch,
    PeerStatus Peer,
    bool Healthy,
    string HealthMessage,
    DateTimeOffset StartedAt,
    TimeSpan Uptime,
    string StatusLine);

/// <summary>What this node knows about its peer; <see cref="NodeId"/> is null while unpaired.</summary>
public sealed record PeerStatus(
    string? NodeId,
    string? Address,
    bool Reachable,
    DateTimeOffset? LastHeartbeat);

/// <summary>One status-history entry: a transition or an event, with its cause.</summary>
public sealed record HistoryEntry(
    long Id,
    DateTimeOffset Time,
    string Kind,
    string Message,
    string Cause);

/// <summary>A bearer token as returned once at creation; only its hash is stored.</summary>
public sealed record CreatedToken(string Name, string Token);

/// <summary>Request to create a bearer token for automation.</summary>
public sealed record CreateTokenRequest(string Name);

/// <summary>Request body of <c>POST /api/v1/ha/role</c> (the B-Series <c>set_failover_role</c>).</summary>
public sealed record SetRoleRequest([property: AllowedValues(HaRole.Active, HaRole.Passive)] HaRole Role, string? Cause);

/// <summary><c>POST /api/v1/ha/establish</c>: the peer's broker and the pre-shared key (base64, read from the key file by appliancectl).</summary>
public sealed record EstablishRequest(string PeerHost, int PeerPort, [property: PasswordPropertyText(true)] string KeyBase64);

/// <summary><c>POST /api/v1/ha/rotate-key</c>: the new pre-shared key (base64), the same on both nodes.</summary>
public sealed record RotateKeyRequest([property: PasswordPropertyText(true)] string KeyBase64)
{
    public override string ToString() => "RotateKeyRequest { KeyBase64 = *** }";
}

/// <summary>Planned switch options (<c>become-primary</c> / <c>become-backup</c>).</summary>
public sealed record SwitchRequest(bool Sync, bool EvenIfUnreachable);

/// <summary>
/// <c>POST /api/v1/ha/shutdown</c>: announce, then power off or reboot through <c>Appliance:Ha:Power</c>;
/// <see cref="AnnounceOnly"/> when the appliance goes down by other means (BMC, console).
/// </summary>
public sealed record ShutdownRequest(bool Reboot, bool AnnounceOnly = false);

/// <summary>Answer to a settings change: the history entry that records it.</summary>
public sealed record SettingsChanged(long HistoryId, HaSettings Settings);

/// <summary><c>GET /api/v1/ha/status</c>: the engine's view (null while unpaired), settings and links.</summary>
public sealed record HaStatus(HaRole Role, long Epoch, bool Paired, HaSnapshot? Engine, IReadOnlyDictionary<string, long> Rejections, IReadOnlyList<PathView> Paths);

/// <summary>One broker connection of the peer link.</summary>
public sealed record PathView(string Name, string Endpoint, bool Connected, long Generation, long Reconnects);

/// <summary><c>GET /api/v1/bmc/info</c>: the controller and the server's identity (service tag).</summary>
public sealed record BmcInfo(BmcKind Kind, BmcControllerInfo Controller, BmcFru Fru);

/// <summary><c>POST /api/v1/bmc/users/{id}/password</c>: the new password (never logged, never echoed).</summary>
public sealed record BmcPasswordRequest([property: PasswordPropertyText(true)] string Password)
{
    /// <summary>Redacted: a record would otherwise print the password wherever it is logged or formatted.</summary>
    public override string ToString() => "BmcPasswordRequest { Password = *** }";
}

/// <summary><c>GET /api/v1/bmc/power</c> and the answer to a power action (state read back after it).</summary>
public sealed record BmcPowerStatus(BmcPowerState State);

/// <summary>A BMC change that was applied, in one human line.</summary>
public sealed record BmcDone(string Message);

/// <summary>An API error body: one human line.</summary>
public sealed record ApiError(string Error);

/// <summary>Source-generated JSON for every API contract (trimming- and AOT-safe; shared by agent and CLI).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    WriteIndented = false)]
[JsonSerializable(typeof(HighAvailabilityRole))]
[JsonSerializable(typeof(AgentStatus))]
[JsonSerializable(typeof(HistoryEntry[]))]
[JsonSerializable(typeof(CreatedToken))]
[JsonSerializable(typeof(CreateTokenRequest))]
[JsonSerializable(typeof(SetRoleRequest))]
[JsonSerializable(typeof(CommandResult))]
[JsonSerializable(typeof(EstablishRequest))]
[JsonSerializable(typeof(SwitchRequest))]
[JsonSerializable(typeof(RotateKeyRequest))]
[JsonSerializable(typeof(ShutdownRequest))]
[JsonSerializable(typeof(HaSettings))]
[JsonSerializable(typeof(SettingsChanged))]
[JsonSerializable(typeof(HaStatus))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(BmcInfo))]
[JsonSerializable(typeof(BmcLanConfig))]
[JsonSerializable(typeof(BmcLanRequest))]
[JsonSerializable(typeof(BmcPasswordRequest))]
[JsonSerializable(typeof(BmcPowerStatus))]
[JsonSerializable(typeof(BmcSensor[]))]
[JsonSerializable(typeof(BmcSelEntry[]))]
[JsonSerializable(typeof(BmcDone))]
[JsonSerializable(typeof(FenceResult))]
[JsonSerializable(typeof(PanelView))]
[JsonSerializable(typeof(PanelPressRequest))]
[JsonSerializable(typeof(Panel.PanelSettings))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
