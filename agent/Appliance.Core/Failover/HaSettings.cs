using System.Globalization;
using System.Net;
using Appliance.Core.Heartbeat;

namespace Appliance.Core.Failover;

/// <summary>Automatic: the Passive takes over on its own. Medium: it waits in FailoverPending for an operator.</summary>
public enum FailoverMode
{
    Automatic,
    Medium,
}

/// <summary>What to do when fencing the lost peer cannot be confirmed.</summary>
public enum FencingUnconfirmedPolicy
{
    /// <summary>Enter FailoverPending and announce why; an operator decides (the safe default).</summary>
    Wait,

    /// <summary>Promote only if the peer's BMC is unreachable AND every heartbeat path is silent AND a probe target answers.</summary>
    PromoteIfPeerDark,
}

/// <summary>One connectivity-test target: ICMP echo to a host, or a TCP connect to host:port.</summary>
public sealed record ConnectivityTarget(string Host, int? TcpPort)
{
    public override string ToString() => TcpPort is int port
        ? (Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{port}" : $"{Host}:{port}")
        : Host;

    /// <summary>Parses "host", "host:port", "[v6]:port" or a bare IPv6 literal; host is an IP or a DNS name.</summary>
    public static bool TryParse(string text, out ConnectivityTarget? target)
    {
        target = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string host = text;
        int? port = null;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 2 > text.Length || text[close + 1] != ':' || !TryParsePort(text[(close + 2)..], out int p))
            {
                return false;
            }

            host = text[1..close];
            port = p;
            if (!IPAddress.TryParse(host, out _))
            {
                return false;
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            if (!TryParsePort(text[(colon + 1)..], out int p))
            {
                return false;
            }

            host = text[..colon];
            port = p;
        }

        if (!IPAddress.TryParse(host, out _) && !IsDnsName(host))
        {
            return false;
        }

        target = new ConnectivityTarget(host, port);
        return true;
    }

    private static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;

    // RFC 1123: labels of 1–63 letters, digits and inner hyphens; at most 253 characters.
    private static bool IsDnsName(string host) =>
        host.Length is > 0 and <= 253
        && host.Split('.').All(label => label.Length is > 0 and <= 63
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
            && label[0] != '-' && label[^1] != '-');
}

/// <summary>
/// HA settings, named and ranged after the BeyondTrust B Series failover settings (docs.beyondtrust.com, "Failover") and
/// keepalived/Pacemaker where those are silent. <see cref="Validate"/> names field, value and range.
/// </summary>
public sealed record HaSettings
{
    /// <summary>keepalived's advert_int default (keepalived.conf(5), RFC 5798); range from the BeyondTrust failover settings.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>3 × advert_int, as keepalived's master-down interval and RHEL 8.4's 3 s corosync token (keepalived.conf(5); RHEL 8.4 release notes).</summary>
    public TimeSpan PartnerFailoverTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a starting node waits to hear its peer before it may go Active (wait_for_all, votequorum(5)).</summary>
    public TimeSpan PartnerContactTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After the Active announces a graceful reboot, the Passive holds off this long (BeyondTrust failover settings).</summary>
    public TimeSpan RebootBlackoutWindow { get; init; } = TimeSpan.FromMinutes(14);

    /// <summary>"Mode", the former name, is still read (<see cref="HaSettingsJson"/>).</summary>
    public FailoverMode FailoverMode { get; init; } = FailoverMode.Automatic;

    /// <summary>"host" (ICMP) or "host:port" (TCP); an empty list disables the isolation check.</summary>
    public IReadOnlyList<string> ConnectivityTestTargets { get; init; } = [];

    /// <summary>Node id preferred in ties; null = the node paired first (earliest PairedAt).</summary>
    public string? PreferredActive { get; init; }

    /// <summary>
    /// How long the PreferredActive must stay a Passive beside a heard, unsuspended Active before it takes the role
    /// back by a planned switch with sync (keepalived's preempt_delay). Zero: never, as the appliance, which
    /// switches back only when an operator says so.
    /// </summary>
    public TimeSpan SwitchBackAfter { get; init; } = TimeSpan.Zero;

    /// <summary>How often a pending or failed takeover is re-announced.</summary>
    public TimeSpan FailedNotificationRate { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Signed messages older than this are rejected (replay across reboots).</summary>
    public TimeSpan MaxMessageAge { get; init; } = TimeSpan.FromMinutes(600);

    /// <summary>Messages stamped further ahead than this (sender clock) are rejected.</summary>
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>After a key rotation the old key is still accepted this long.</summary>
    public TimeSpan KeyOverlap { get; init; } = TimeSpan.FromMinutes(60);

    /// <summary>STONITH before promotion (Pacemaker Explained, "Fencing"; Red Hat does not support a cluster without it).</summary>
    public bool FencingEnabled { get; init; } = true;

    public FencingUnconfirmedPolicy FencingUnconfirmed { get; init; } = FencingUnconfirmedPolicy.Wait;

    /// <summary>Static delay before the non-preferred node fences, as Pacemaker's pcmk_delay_base (Pacemaker Explained, "Fencing").</summary>
    public TimeSpan FenceDelay { get; init; } = TimeSpan.FromSeconds(5);

    public const int MaxConnectivityTargets = 8;

    public static readonly TimeSpan MinHeartbeatInterval = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxHeartbeatInterval = TimeSpan.FromSeconds(130);
    public static readonly TimeSpan MinPartnerFailoverTimeout = TimeSpan.FromMilliseconds(300);
    public static readonly TimeSpan MaxPartnerFailoverTimeout = TimeSpan.FromMinutes(10_000);

    /// <summary>Shorter would hand the role back before the pair has seen the returned node stay up.</summary>
    public static readonly TimeSpan MinSwitchBackAfter = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan MaxSwitchBackAfter = TimeSpan.FromMinutes(10_000);
    private static readonly string SwitchBackRange = $"0 (never) or {Bound(MinSwitchBackAfter)} – {Bound(MaxSwitchBackAfter)}";

    private const string TargetForm = "an IP or DNS host (ICMP) or host:port with port 1 – 65535 (TCP)";

    /// <summary>Every duration setting with its range: <see cref="Validate"/> checks and <see cref="Accepted"/> describes the same table.</summary>
    private static readonly (string Field, Func<HaSettings, TimeSpan> Get, TimeSpan Min, TimeSpan Max)[] Durations =
    [
        (nameof(HeartbeatInterval), s => s.HeartbeatInterval, MinHeartbeatInterval, MaxHeartbeatInterval),
        (nameof(PartnerFailoverTimeout), s => s.PartnerFailoverTimeout, MinPartnerFailoverTimeout, MaxPartnerFailoverTimeout),
        (nameof(PartnerContactTimeout), s => s.PartnerContactTimeout, TimeSpan.Zero, TimeSpan.FromMinutes(60)),
        (nameof(RebootBlackoutWindow), s => s.RebootBlackoutWindow, TimeSpan.Zero, TimeSpan.FromMinutes(10_000)),
        (nameof(FailedNotificationRate), s => s.FailedNotificationRate, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1_440)),
        (nameof(MaxMessageAge), s => s.MaxMessageAge, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10_000)),
        (nameof(MaxFutureSkew), s => s.MaxFutureSkew, TimeSpan.Zero, TimeSpan.FromMinutes(60)),
        (nameof(KeyOverlap), s => s.KeyOverlap, TimeSpan.Zero, TimeSpan.FromMinutes(10_080)),
        (nameof(FenceDelay), s => s.FenceDelay, TimeSpan.Zero, TimeSpan.FromSeconds(120)),
    ];

    /// <summary>Per setting (any case), the "allowed …" part of its error; declared after <see cref="Durations"/>, which it reads.</summary>
    private static readonly Dictionary<string, string> AcceptedByField = new(
        Durations.Select(d => KeyValuePair.Create(d.Field, $"{Bound(d.Min)} – {Bound(d.Max)} as a duration \"hh:mm:ss[.fff]\""))
            .Concat(new Dictionary<string, string>
            {
                [nameof(FailoverMode)] = string.Join(" | ", Enum.GetNames<FailoverMode>()),
                [nameof(FencingUnconfirmed)] = string.Join(" | ", Enum.GetNames<FencingUnconfirmedPolicy>()),
                [nameof(FencingEnabled)] = "true | false",
                [nameof(ConnectivityTestTargets)] = $"a list of 0 – {MaxConnectivityTargets} entries, each {TargetForm}",
                [nameof(PreferredActive)] = $"null or {NodeIds.Rule}",
                [nameof(SwitchBackAfter)] = $"{SwitchBackRange} as a duration \"hh:mm:ss[.fff]\"",
            }),
        StringComparer.OrdinalIgnoreCase);

    /// <summary>What <paramref name="field"/> accepts, worded as in <see cref="Validate"/>'s errors; null for an unknown field.</summary>
    public static string? Accepted(string field) => AcceptedByField.GetValueOrDefault(field);

    public IReadOnlyList<ConnectivityTarget> ParsedTargets() =>
        [.. ConnectivityTestTargets.Select(t => ConnectivityTarget.TryParse(t, out var target) ? target! : throw new InvalidOperationException(
            $"ConnectivityTestTargets entry '{t}' is invalid; call Validate() first"))];

    /// <summary>Every problem, one line each: "Field=value is out of range: allowed min – max". Empty = valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        foreach (var (field, get, min, max) in Durations)
        {
            Range(errors, field, get(this), min, max);
        }

        if (PartnerFailoverTimeout <= HeartbeatInterval)
        {
            errors.Add($"{nameof(PartnerFailoverTimeout)}={Show(PartnerFailoverTimeout)} must exceed {nameof(HeartbeatInterval)}={Show(HeartbeatInterval)}");
        }

        if (SwitchBackAfter != TimeSpan.Zero && (SwitchBackAfter < MinSwitchBackAfter || SwitchBackAfter > MaxSwitchBackAfter))
        {
            errors.Add($"{nameof(SwitchBackAfter)}={Show(SwitchBackAfter)} is out of range: allowed {SwitchBackRange}");
        }
        else if (SwitchBackAfter != TimeSpan.Zero && FailoverMode == FailoverMode.Medium)
        {
            errors.Add($"{nameof(SwitchBackAfter)}={Show(SwitchBackAfter)} needs {nameof(FailoverMode)}=Automatic: in Medium mode only an operator changes roles (allowed 0 with Medium)");
        }

        if (!Enum.IsDefined(FailoverMode))
        {
            errors.Add($"{nameof(FailoverMode)}={FailoverMode} is not allowed: allowed {Accepted(nameof(FailoverMode))}");
        }

        if (!Enum.IsDefined(FencingUnconfirmed))
        {
            errors.Add($"{nameof(FencingUnconfirmed)}={FencingUnconfirmed} is not allowed: allowed {Accepted(nameof(FencingUnconfirmed))}");
        }

        if (ConnectivityTestTargets.Count > MaxConnectivityTargets)
        {
            errors.Add($"{nameof(ConnectivityTestTargets)} has {ConnectivityTestTargets.Count} entries: allowed 0 – {MaxConnectivityTargets}");
        }

        foreach (string target in ConnectivityTestTargets)
        {
            if (!ConnectivityTarget.TryParse(target, out _))
            {
                errors.Add($"{nameof(ConnectivityTestTargets)} entry '{target}' is invalid: allowed {TargetForm}");
            }
        }

        if (PreferredActive is not null && !NodeIds.IsValid(PreferredActive))
        {
            errors.Add($"{nameof(PreferredActive)}='{PreferredActive}' is invalid: allowed {NodeIds.Rule}");
        }

        return errors;
    }

    /// <summary>
    /// What these settings would break against the peer's announced timing (null: never heard, nothing to check).
    /// Either side may go first, so each refusal says which setting of the peer to change first.
    /// </summary>
    public IReadOnlyList<string> ValidateAgainstPeer(PeerTiming? peer)
    {
        var errors = new List<string>();
        if (peer is null)
        {
            return errors;
        }

        if (PartnerFailoverTimeout < peer.SilenceFloor)
        {
            errors.Add($"{nameof(PartnerFailoverTimeout)}={Show(PartnerFailoverTimeout)} is shorter than twice the peer's " +
                $"{nameof(HeartbeatInterval)}={Show(peer.HeartbeatInterval)}: allowed {Show(peer.SilenceFloor)} or more (shorten the peer's {nameof(HeartbeatInterval)} first)");
        }

        TimeSpan longestInterval = peer.PartnerFailoverTimeout / PeerTiming.IntervalsBeforeLoss;
        if (HeartbeatInterval > longestInterval)
        {
            errors.Add($"{nameof(HeartbeatInterval)}={Show(HeartbeatInterval)} is longer than half the peer's " +
                $"{nameof(PartnerFailoverTimeout)}={Show(peer.PartnerFailoverTimeout)}: allowed {Show(longestInterval)} or less (lengthen the peer's {nameof(PartnerFailoverTimeout)} first)");
        }

        return errors;
    }

    private static void Range(List<string> errors, string field, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{field}={Show(value)} is out of range: allowed {Bound(min)} – {Bound(max)}");
        }
    }

    /// <summary>The value as the user would type it: 50ms, 3s, 14min.</summary>
    public static string Show(TimeSpan value) => value switch
    {
        _ when value.Ticks % TimeSpan.TicksPerMinute == 0 && value != TimeSpan.Zero => $"{value.TotalMinutes.ToString(CultureInfo.InvariantCulture)}min",
        _ when value.Ticks % TimeSpan.TicksPerSecond == 0 => $"{value.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s",
        _ => $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms",
    };

    /// <summary>A range bound with thousands separators: 100 ms, 130 s, 10,000 min.</summary>
    private static string Bound(TimeSpan value) => value switch
    {
        _ when value == TimeSpan.Zero => "0",
        _ when value.Ticks % TimeSpan.TicksPerMinute == 0 && value >= TimeSpan.FromMinutes(1) => $"{value.TotalMinutes.ToString("N0", CultureInfo.InvariantCulture)} min",
        _ when value.Ticks % TimeSpan.TicksPerSecond == 0 => $"{value.TotalSeconds.ToString("N0", CultureInfo.InvariantCulture)} s",
        _ => $"{value.TotalMilliseconds.ToString("N0", CultureInfo.InvariantCulture)} ms",
    };
}

/// <summary>
/// The timing a peer announces in every message ("hi"/"ft", milliseconds). A loss by silence needs our own
/// PartnerFailoverTimeout and never less than <see cref="IntervalsBeforeLoss"/> of the peer's heartbeat
/// intervals: a timeout set shorter than the peer's interval must not fail over against a healthy peer.
/// </summary>
public sealed record PeerTiming(TimeSpan HeartbeatInterval, TimeSpan PartnerFailoverTimeout)
{
    /// <summary>Two intervals: one heartbeat may be lost or late without the peer counting as lost.</summary>
    public const int IntervalsBeforeLoss = 2;

    /// <summary>The least silence from this peer that may count as a loss.</summary>
    public TimeSpan SilenceFloor => IntervalsBeforeLoss * HeartbeatInterval;

    public static PeerTiming Of(HaSettings settings) => new(settings.HeartbeatInterval, settings.PartnerFailoverTimeout);

    /// <summary><paramref name="message"/> carrying this timing.</summary>
    public PeerMessage AnnouncedIn(PeerMessage message) => message with
    {
        HeartbeatIntervalMs = (long)HeartbeatInterval.TotalMilliseconds,
        FailoverTimeoutMs = (long)PartnerFailoverTimeout.TotalMilliseconds,
    };

    /// <summary>
    /// The sender's timing, or null when it announced none (an older agent) or a value outside the settings'
    /// ranges: a signed message still cannot make this node wait for ever or overflow a deadline.
    /// </summary>
    public static PeerTiming? AnnouncedBy(PeerMessage message)
    {
        if (message is not { HeartbeatIntervalMs: { } intervalMs, FailoverTimeoutMs: { } timeoutMs }
            || intervalMs < HaSettings.MinHeartbeatInterval.TotalMilliseconds || intervalMs > HaSettings.MaxHeartbeatInterval.TotalMilliseconds
            || timeoutMs < HaSettings.MinPartnerFailoverTimeout.TotalMilliseconds || timeoutMs > HaSettings.MaxPartnerFailoverTimeout.TotalMilliseconds)
        {
            return null;
        }

        return new PeerTiming(TimeSpan.FromMilliseconds(intervalMs), TimeSpan.FromMilliseconds(timeoutMs));
    }
}

/// <summary>Node ids appear in MQTT topics and history; keep them to a safe alphabet.</summary>
public static class NodeIds
{
    public const string Rule = "1 – 64 characters of letters, digits, '.', '_' or '-'";

    public static bool IsValid(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
