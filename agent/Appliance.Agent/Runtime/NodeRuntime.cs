using System.Globalization;
using Appliance.Agent.Ha;
using Appliance.Agent.Store;
using Appliance.Core.Api;
using Appliance.Core.Failover;

namespace Appliance.Agent.Runtime;

/// <summary>The live, in-memory view of this node that the API, the panel and systemd STATUS= report.</summary>
public sealed class NodeRuntime
{
    /// <summary>A main loop that has not progressed for this long makes the node unhealthy.</summary>
    public static readonly TimeSpan StallThreshold = TimeSpan.FromSeconds(5);

    private readonly AgentStore _store;
    private readonly LoopProgress _progress;
    private readonly HaService _ha;
    private readonly TimeProvider _time;
    private readonly string _nodeName;
    private readonly long _startTimestamp;

    public NodeRuntime(AgentStore store, LoopProgress progress, HaService ha, TimeProvider time, string nodeName)
    {
        _store = store;
        _progress = progress;
        _ha = ha;
        _time = time;
        _nodeName = nodeName;
        _startTimestamp = time.GetTimestamp();
        StartedAt = time.GetUtcNow();
    }

    public static string Version { get; } =
        typeof(NodeRuntime).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public DateTimeOffset StartedAt { get; }

    /// <summary>The engine's live role; while unpaired, Off (nothing runs without a pair).</summary>
    public HaRole Role => _ha.Snapshot?.Role ?? HaRole.Off;

    public long Epoch => _ha.Snapshot?.Epoch ?? _ha.Persisted.Epoch;

    /// <summary>Healthy unless the main loop or the engine's loop stalled, the engine died, services failed, the pair is in conflict, or a Passive is not synced; one human line.</summary>
    public (bool Healthy, string Message) CheckHealth() => CheckHealth(_progress, _ha);

    /// <summary>
    /// What /check_health answers, from the loop and the HA service only: the engine's heartbeat summary
    /// (<see cref="HeartbeatHealth"/>) is built from the same inputs without going through this class.
    /// </summary>
    public static (bool Healthy, string Message) CheckHealth(LoopProgress progress, HaService ha)
    {
        ArgumentNullException.ThrowIfNull(ha);
        var (healthy, message) = Evaluate(progress);
        if (!healthy)
        {
            return (healthy, message);
        }

        if (ha.EngineFaulted)
        {
            return (false, "failover engine stopped: see the journal");
        }

        if (ha.EngineLoopOverdue is var overdue && overdue > StallThreshold)
        {
            return (false, string.Create(CultureInfo.InvariantCulture, $"failover engine loop stalled for {overdue.TotalSeconds:F1} s"));
        }

        if (ha.ServicesProblem is { } problem)
        {
            return (false, "managed services: " + problem); // an event, not a role change
        }

        return ha.Snapshot switch
        {
            { Conflict: { } conflict } => (false, "HA conflict: " + conflict),
            { } snapshot when PassiveNotSynced(snapshot) is { } why => (false, "Passive and not synced: " + why),
            _ => (true, "OK"),
        };
    }

    /// <summary>The health field of every heartbeat: "ok", or the /check_health reason (the engine cuts it to <see cref="Core.Heartbeat.PeerMessage.MaxHealthLength"/>).</summary>
    public static string HeartbeatHealth(LoopProgress progress, HaService ha)
    {
        var (healthy, message) = CheckHealth(progress, ha);
        return healthy ? "ok" : message;
    }

    /// <summary>
    /// A Passive is a standby only while it hears the Active and, with a data mirror, has applied what the Active
    /// announces; a load balancer must not count it as one otherwise.
    /// </summary>
    internal static string? PassiveNotSynced(HaSnapshot snapshot) => snapshot switch
    {
        { Role: not HaRole.Passive } => null,
        { PeerReachable: false } => "the peer is not heard",
        { MirrorPosition: { } own, PeerMirrorPosition: { } active } when own < active =>
            string.Create(CultureInfo.InvariantCulture, $"mirror at {own}, the Active's at {active}"),
        _ => null,
    };

    internal static (bool Healthy, string Message) Evaluate(LoopProgress progress)
    {
        var stalled = progress.SinceLastProgress;
        return stalled > StallThreshold
            ? (false, string.Create(CultureInfo.InvariantCulture, $"main loop stalled for {stalled.TotalSeconds:F1} s"))
            : (true, "OK");
    }

    /// <summary>The one line sent as systemd STATUS= and shown by <c>appliancectl status</c>.</summary>
    public string StatusLine
    {
        get
        {
            var snapshot = _ha.Snapshot;
            var peer = snapshot is null ? "unpaired" : snapshot.PeerReachable ? "peer up" : "peer DOWN";
            var extra = snapshot?.Conflict is { } c ? ", CONFLICT " + c : snapshot?.PendingReason is { } p ? ", pending: " + p : "";
            return $"role {Role}, epoch {Epoch}, {peer}{extra}, node {_store.Identity.NodeId}";
        }
    }

    public AgentStatus Snapshot()
    {
        var (healthy, message) = CheckHealth();
        var ha = _ha.Snapshot;
        var pairing = _ha.Pairing;
        return new AgentStatus(
            _store.Identity.NodeId,
            _nodeName,
            _store.Identity.BootCount,
            Version,
            Role,
            Epoch,
            new PeerStatus(ha?.PeerNodeId ?? pairing?.PeerNodeId, pairing is null ? null : $"{pairing.PeerHost}:{pairing.PeerPort}", ha?.PeerReachable ?? false, ha?.LastHeartbeatAt),
            healthy,
            message,
            StartedAt,
            _time.GetElapsedTime(_startTimestamp),
            StatusLine);
    }
}
