using System.Text.Json.Serialization;
using Appliance.Core.Failover;

namespace Appliance.Core.Heartbeat;

/// <summary>What a peer message announces.</summary>
public enum PeerMessageKind
{
    /// <summary>Periodic liveness beacon (every HeartbeatInterval).</summary>
    Heartbeat,

    /// <summary>A role change or announcement (graceful shutdown, suspend).</summary>
    State,

    /// <summary>The MQTT Last Will: the broker says this connection generation died.</summary>
    OfflineWill,

    /// <summary>A pair command (planned-switch handshake, break).</summary>
    Command,

    /// <summary>An event for the pair's monitoring (…/events): health, fencing, panel. Also proof of life.</summary>
    Event,
}

/// <summary>Commands one node sends the other over the cmd channel.</summary>
public enum PeerCommandKind
{
    /// <summary>Passive → Active: "demote and confirm, I take over" (two-phase planned switch, phase 1).</summary>
    RequestRelease,

    /// <summary>Old Active → Passive: "I released IP and services and persisted Passive; promote" (phase 2).</summary>
    Released,

    /// <summary>Either side: break the pair; both go Off, nothing is deleted.</summary>
    Break,
}

/// <summary>The payload of a <see cref="PeerMessageKind.Event"/> message: never a secret.</summary>
public sealed record PeerEvent(
    [property: JsonPropertyName("k")] string Kind,
    [property: JsonPropertyName("msg")] string Message)
{
    /// <summary>Longest text kept from a peer's event (history rows and log lines stay one line).</summary>
    public const int MaxLength = 500;

    /// <summary>
    /// The peer is trusted to sign, not to format: control characters (forged log lines, terminal
    /// escapes on a serial console) become spaces and overlong text is cut.
    /// </summary>
    public PeerEvent Bounded() => new(Clean(Kind, 64), Clean(Message, MaxLength));

    private static string Clean(string text, int limit)
    {
        string kept = text.Length > limit ? text[..limit] + "…" : text;
        return string.Create(kept.Length, kept, (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? ' ' : source[i];
            }
        });
    }
}

/// <summary>The payload of a <see cref="PeerMessageKind.Command"/> message.</summary>
public sealed record PeerCommand(
    [property: JsonPropertyName("k")] PeerCommandKind Kind,
    [property: JsonPropertyName("id")] string RequestId,
    [property: JsonPropertyName("sy")] bool Sync);

/// <summary>
/// One signed message between the two appliances. Field names are one or two letters because a
/// heartbeat goes out every second on every path; the JSON stays readable with the legend below.
/// </summary>
public sealed record PeerMessage
{
    [JsonPropertyName("n")] public required string NodeId { get; init; }

    /// <summary>Random per process start; the replay window is kept per (node, boot, path).</summary>
    [JsonPropertyName("b")] public required string BootId { get; init; }

    /// <summary>Strictly increasing within a boot (offline wills excepted: they are checked by generation).</summary>
    [JsonPropertyName("s")] public long Sequence { get; init; }

    /// <summary>Sender's wall clock; only used for the MaxMessageAge window, never for timeouts.</summary>
    [JsonPropertyName("t")] public DateTimeOffset SentAt { get; init; }

    [JsonPropertyName("k")] public PeerMessageKind Kind { get; init; }

    [JsonPropertyName("r")] public HaRole Role { get; init; }

    [JsonPropertyName("e")] public long Epoch { get; init; }

    [JsonPropertyName("ip")] public bool HoldsSharedIp { get; init; }

    /// <summary>Short health summary ("ok", "degraded: raid") for the peer's status page; at most <see cref="MaxHealthLength"/>.</summary>
    [JsonPropertyName("h")] public string Health { get; init; } = "";

    /// <summary>Longest <see cref="Health"/> sent: it goes out every HeartbeatInterval on every path.</summary>
    public const int MaxHealthLength = 160;

    /// <summary><paramref name="health"/> as sent: a longer text is cut to <see cref="MaxHealthLength"/>, ending in "…".</summary>
    public static string CutHealth(string health)
    {
        ArgumentNullException.ThrowIfNull(health);
        if (health.Length <= MaxHealthLength)
        {
            return health;
        }

        int keep = MaxHealthLength - 1;
        return health[..(char.IsHighSurrogate(health[keep - 1]) ? keep - 1 : keep)] + "…"; // never half a character
    }

    /// <summary>How far this node's data mirror has applied (opaque, monotonic).</summary>
    [JsonPropertyName("m")] public long MirrorPosition { get; init; }

    /// <summary>Connection generation (as Sparkplug's bdSeq): a will only counts for the generation it was made for.</summary>
    [JsonPropertyName("g")] public long ConnectionGeneration { get; init; }

    /// <summary>
    /// Generations of the sender's connections that are up, one per connected path (null: not announced, as by
    /// older agents). A will counts only if its generation is one of them: the highest generation alone cannot
    /// tell a path that never reconnected (still current, lower number) from one that was replaced (stale).
    /// </summary>
    [JsonPropertyName("lg")] public long[]? LiveGenerations { get; init; }

    /// <summary>
    /// The sender's HeartbeatInterval and PartnerFailoverTimeout in milliseconds (null: not announced, as by older
    /// agents): the receiver never counts silence shorter than two of the sender's intervals as a loss (PeerTiming).
    /// </summary>
    [JsonPropertyName("hi")] public long? HeartbeatIntervalMs { get; init; }

    /// <inheritdoc cref="HeartbeatIntervalMs"/>
    [JsonPropertyName("ft")] public long? FailoverTimeoutMs { get; init; }

    [JsonPropertyName("su")] public bool Suspended { get; init; }

    /// <summary>The sender is shutting down or rebooting on purpose: the peer applies RebootBlackoutWindow.</summary>
    [JsonPropertyName("d")] public bool GoingDown { get; init; }

    /// <summary>When this node was paired (earliest wins the default PreferredActive).</summary>
    [JsonPropertyName("pa")] public DateTimeOffset PairedAt { get; init; }

    [JsonPropertyName("c")] public PeerCommand? Command { get; init; }

    [JsonPropertyName("ev")] public PeerEvent? Event { get; init; }

    /// <summary>Fingerprint of the newest key the sender holds (filled by the codec): drives key rotation.</summary>
    [JsonPropertyName("kf")] public string? KeyFingerprint { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PeerMessage))]
internal sealed partial class PeerMessageJsonContext : JsonSerializerContext;
