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
    private readonly TimeProvider _time;
    private readonly string _nodeName;
    private readonly long _startTimestamp;
    private volatile HaStateRecord _ha;

    public NodeRuntime(AgentStore store, LoopProgress progress, TimeProvider time, string nodeName)
    {
        _store = store;
        _progress = progress;
        _time = time;
        _nodeName = nodeName;
        _startTimestamp = time.GetTimestamp();
        StartedAt = time.GetUtcNow();
        _ha = store.ReadHaState();
    }

    public static string Version { get; } =
        typeof(NodeRuntime).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public DateTimeOffset StartedAt { get; }

    public HaRole Role => _ha.Role;

    public long Epoch => _ha.Epoch;

    /// <summary>Commits a role change durably, then makes it visible: nothing reports a role the disk does not hold.</summary>
    public CommittedChange SetRole(HaRole role, string cause)
    {
        var change = _store.CommitRole(role, cause);
        _ha = _store.ReadHaState();
        return change;
    }

    /// <summary>Healthy unless the main loop stalled; the reason is one human line.</summary>
    public (bool Healthy, string Message) CheckHealth() => Evaluate(_progress);

    internal static (bool Healthy, string Message) Evaluate(LoopProgress progress)
    {
        var stalled = progress.SinceLastProgress;
        return stalled > StallThreshold
            ? (false, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"main loop stalled for {stalled.TotalSeconds:F1} s"))
            : (true, "OK");
    }

    /// <summary>The one line sent as systemd STATUS= and shown by <c>appliancectl status</c>.</summary>
    public string StatusLine => $"role {Role}, epoch {Epoch}, node {_store.Identity.NodeId}";

    public AgentStatus Snapshot()
    {
        var (healthy, message) = CheckHealth();
        return new AgentStatus(
            _store.Identity.NodeId,
            _nodeName,
            _store.Identity.BootCount,
            Version,
            Role,
            Epoch,
            new PeerStatus(null, null, Reachable: false, LastHeartbeat: null),
            healthy,
            message,
            StartedAt,
            _time.GetElapsedTime(_startTimestamp),
            StatusLine);
    }
}
