using Appliance.Agent.Store;
using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;
using Appliance.Core.Ports;

namespace Appliance.Agent.Ha;

/// <summary>Every HA transition and event goes into the store's history (durable) and the log.</summary>
public sealed partial class HaEventsSink(AgentStore store, TransitionHooks hooks, ILogger<HaEventsSink> logger) : IHaEvents
{
    /// <summary>History kind of the rows the peer announced (its own kind leads the message).</summary>
    public const string PeerHistoryKind = "peer";

    public const string HookHistoryKind = "hook";

    public void Record(HaTransition transition, DateTimeOffset at)
    {
        store.AppendHistory("role", $"{transition.From} -> {transition.To} (epoch {transition.Epoch})", transition.Cause);
        LogTransition(logger, transition.From, transition.To, transition.Epoch, transition.Cause);
        hooks.Post(transition);
    }

    public void Notify(HaEventKind kind, string message, DateTimeOffset at)
    {
        store.AppendHistory(kind.ToString(), message, "ha");
        if (kind == HaEventKind.Conflict)
        {
            hooks.PostConflict(message);
        }

        LogEvent(logger, kind, message);
    }

    /// <summary>A finished (or refused) hook run, with its output: the hooks' result callback.</summary>
    public static void RecordHook(AgentStore store, HookResult result)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(result);
        store.AppendHistory(HookHistoryKind, result.HistoryMessage, "ha transition");
    }

    public void RecordPeerEvent(string peerNodeId, PeerEvent peerEvent, DateTimeOffset at)
    {
        store.AppendHistory(PeerHistoryKind, $"{peerEvent.Kind}: {peerEvent.Message}", $"announced by {peerNodeId}");
        LogPeerEvent(logger, peerNodeId, peerEvent.Kind, peerEvent.Message);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Peer {Peer} announced {Kind}: {Message}")]
    private static partial void LogPeerEvent(ILogger logger, string peer, string kind, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Role {From} -> {To} (epoch {Epoch}): {Cause}")]
    private static partial void LogTransition(ILogger logger, HaRole from, HaRole to, long epoch, string cause);

    [LoggerMessage(Level = LogLevel.Information, Message = "HA {Kind}: {Message}")]
    private static partial void LogEvent(ILogger logger, HaEventKind kind, string message);
}
